//! Fuzz target: arbitrary bytes through the office's sealed record readers.
//!
//! The same input is read five ways, and none may panic:
//! 1. as a sealed record: `seal::open` with the test vectors' office key, then, if it opens,
//!    `RecordBody::decode` and `RecordBody::load` of the body;
//! 2. as a record body: `RecordBody::decode` then `load` into a ballot store;
//! 3. as one record through the office: `records::open_record` and `records::verify_record`;
//! 4. as a results media image: the media walk `records::open_media_report` and
//!    `records::verify_media_report` (and `open_media`);
//! 5. as a media image whose superblock and slot checksums are first recomputed, so that
//!    mutations reach the area, slot and record checks behind the checksums.
//!
//! Every refusal must have a known class and render as one non-empty line.
//! Seeds: `boot-image/fuzz/seeds/sealed_record/` (a media image and a record body made by the
//! firmware's recorder for the event below) and the vectors in `testdata/sealed-record/`.

#![no_main]

use boot_image::records::{self, Expected, RecordError};
use firmware::hal::SECTOR_SIZE_BYTES;
use firmware::media::{slot_checksum, SUPERBLOCK_LABEL};
use firmware::record::RecordBody;
use firmware::seal;
use firmware::store::BallotStore;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

include!("record_event.rs");

/// Largest media image walked (the script's -max_len is the same).
const MAX_MEDIA_BYTES: usize = 64 * 1024;
/// Superblock: checksummed bytes, checksum end, `record_sectors` and `area_count` offsets.
const SUPERBLOCK_FIELDS_BYTES: usize = 100;
const SUPERBLOCK_CHECKSUM_END: usize = 132;
const RECORD_SECTORS_AT: usize = 92;
const AREA_COUNT_AT: usize = 96;
/// Slot header: checksummed fields, `record_len` offset, checksum end.
const SLOT_FIELDS_BYTES: usize = 41;
const SLOT_LEN_AT: usize = 37;
const SLOT_CHECKSUM_END: usize = 49;
/// Most areas a media has.
const MAX_AREAS: usize = 64;

thread_local! {
    static STORE: RefCell<Box<BallotStore>> = RefCell::new(Box::new(BallotStore::new()));
}

/// Counts the bytes of a message and checks that it is one line.
struct OneLine {
    bytes: usize,
}

impl core::fmt::Write for OneLine {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        assert!(!s.contains('\n'), "message spans lines");
        self.bytes += s.len();
        Ok(())
    }
}

fn one_line(message: &dyn core::fmt::Display) {
    let mut line = OneLine { bytes: 0 };
    core::fmt::write(&mut line, format_args!("{message}")).expect("Display never fails");
    assert!(line.bytes > 0, "empty message");
}

fn check(error: &RecordError) {
    assert!(
        RecordError::CLASSES.contains(&error.class()),
        "unknown class {}",
        error.class()
    );
    one_line(error);
    one_line(&error.reason());
}

fn check_result<T>(result: Result<T, RecordError>) -> Option<T> {
    result.map_err(|e| check(&e)).ok()
}

fn load_body(body: &[u8]) {
    match RecordBody::decode(body) {
        Ok(decoded) => STORE.with(|store| {
            let mut store = store.borrow_mut();
            if let Err(e) = decoded.load(fuzz_event(), &mut store) {
                one_line(&e);
            } else {
                let c = decoded.counters;
                assert!(c.balanced(), "an unbalanced body loaded");
                for e in 0..fuzz_event().elections.len() {
                    assert_eq!(
                        store.ballots(e),
                        c.cast as usize,
                        "cast differs from ballots"
                    );
                }
            }
        }),
        Err(e) => one_line(&e),
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let field: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(field)).ok()
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Recompute the superblock checksum and every slot checksum the layout describes.
fn fix_checksums(media: &mut [u8]) -> Option<()> {
    let sum = sha256(&[SUPERBLOCK_LABEL, media.get(..SUPERBLOCK_FIELDS_BYTES)?]);
    media
        .get_mut(SUPERBLOCK_FIELDS_BYTES..SUPERBLOCK_CHECKSUM_END)?
        .copy_from_slice(&sum);
    let record_sectors = u32_at(media, RECORD_SECTORS_AT)?;
    let areas = u32_at(media, AREA_COUNT_AT)?.min(MAX_AREAS);
    let slot_sectors = record_sectors.checked_add(1)?;
    for area in 0..areas {
        for slot in 0..2 {
            let sector = area
                .checked_mul(slot_sectors.checked_mul(2)?)?
                .checked_add(slot * slot_sectors)?
                .checked_add(1)?;
            let header = sector.checked_mul(SECTOR_SIZE_BYTES)?;
            if header.checked_add(SECTOR_SIZE_BYTES)? > media.len() {
                return Some(());
            }
            let len = u32_at(media, header.checked_add(SLOT_LEN_AT)?)?;
            let record = header.checked_add(SECTOR_SIZE_BYTES)?;
            let Some(bytes) = media.get(record..record.saturating_add(len)) else {
                continue;
            };
            let fields = media.get(header..header.checked_add(SLOT_FIELDS_BYTES)?)?;
            let sum = slot_checksum(fields, bytes);
            media
                .get_mut(
                    header.checked_add(SLOT_FIELDS_BYTES)?
                        ..header.checked_add(SLOT_CHECKSUM_END)?,
                )?
                .copy_from_slice(&sum);
        }
    }
    Some(())
}

fn walk(media: &[u8], expected: &Expected<'_>) {
    if let Some(report) = check_result(records::open_media_report(
        media,
        &FUZZ_OFFICE_SECRET,
        expected,
    )) {
        report.failures().for_each(check);
        for session in report.accepted() {
            assert_eq!(session.station, report.station());
            assert!(session.counters.balanced());
        }
    }
    if let Some(report) = check_result(records::verify_media_report(media, expected)) {
        report.failures().for_each(check);
    }
    check_result(records::open_media(media, &FUZZ_OFFICE_SECRET, expected));
}

fuzz_target!(|data: &[u8]| {
    let event = fuzz_event();
    let expected = Expected {
        event,
        image_digest: FUZZ_IMAGE_DIGEST,
    };

    // 1. A sealed record.
    let mut body = vec![0u8; data.len()];
    match seal::open(data, &FUZZ_OFFICE_SECRET, &mut body) {
        Ok(opened) => load_body(opened.body),
        Err(e) => one_line(&e),
    }
    // 2. A record body.
    load_body(data);
    // 3. One record through the office.
    let opened = check_result(records::open_record(data, &FUZZ_OFFICE_SECRET, &expected));
    let verified = check_result(records::verify_record(data, &expected));
    if opened.is_some() {
        assert!(verified.is_some(), "opened without a valid signature");
    }
    // 4. A media image, as given.
    let media = data.get(..data.len().min(MAX_MEDIA_BYTES)).unwrap_or(data);
    walk(media, &expected);
    // 5. The same, padded to whole sectors, with its checksums made right.
    let mut fixed = media.to_vec();
    fixed.resize(
        media.len().div_ceil(SECTOR_SIZE_BYTES).max(1) * SECTOR_SIZE_BYTES,
        0,
    );
    let _ = fix_checksums(&mut fixed);
    walk(&fixed, &expected);
});
