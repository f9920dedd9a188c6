//! Power cut at every byte of a record write (`power_cut_mid_write`).
//!
//! For the 1st, 2nd and 50th record generation of a session, on RAM media that cut power
//! at byte K of the bytes written, for every K from 0 to the size of the write: write the
//! sealed record, "reboot" (power back, mount the media again as at poll opening) and read
//! back. The last record whose write completed (flush returned `Ok`: "your vote is
//! recorded") must be readable and intact; a write that was cut may show up only if every
//! byte of it landed; a torn slot is never accepted. After the reboot a new session takes
//! a fresh area and never overwrites the earlier one.
//!
//! The record bodies are real serialized ballot stores of a three-election event, sealed
//! with the real session and office keys.

use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{RamMedia, SeededEntropy};
use firmware::hal::SECTOR_SIZE_BYTES;
use firmware::media::{Binding, SessionArea, SlotStatus, Volume, VolumeError};
use firmware::seal::{
    self, office_public_key, sealed_len, Identifier, PollState, RecordHeader, SessionKey,
};
use firmware::store::BallotStore;

const OFFICE_SECRET: [u8; 32] = [0x0F; 32];
const IMAGE_DIGEST: [u8; 32] = [0x1D; 32];
const AREAS: usize = 3;
const GENERATIONS_UNDER_TEST: [u64; 3] = [1, 2, 50];

fn candidates(count: usize) -> Candidates<'static> {
    let people: Vec<Candidate<'static>> = (0..count)
        .map(|c| Candidate {
            name: "SURNAME Given-Name",
            kind: if c < count / 2 {
                CandidateKind::Titular
            } else {
                CandidateKind::Successor
            },
        })
        .collect();
    let buf = vec![0u8; 16 + count * 32].leak();
    Candidates::encode(&people, buf).expect("encode candidates")
}

/// Chamber (12 lists x 20), Flemish Parliament (10 x 24), European Parliament (8 x 14).
fn event() -> Event<'static> {
    let mut elections = heapless::Vec::new();
    for (id, lists, per_list) in [("chamber", 12, 20), ("flemish", 10, 24), ("europe", 8, 14)] {
        let mut election = Election {
            id,
            names: Names::same(id),
            constituency: Names::same("Brussel-Hoofdstad"),
            seats: 15,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: true,
            lists: heapless::Vec::new(),
        };
        for l in 0..lists {
            let list = List {
                number: l + 1,
                name: "LIST",
                candidates: candidates(per_list),
            };
            election.lists.push(list).expect("lists fit");
        }
        elections.push(election).expect("elections fit");
    }
    let event = Event {
        id: "be-2024-06-09",
        names: Names::same("Elections 9 June 2024"),
        date: Date::new(2024, 6, 9).expect("date"),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl, Language::Fr]).expect("languages"),
        elections,
    };
    event.validate().expect("valid event");
    event
}

/// A deterministic voter: blank, list vote or preferences, per election.
fn voter(event: &Event<'_>, seed: &mut u64) -> Vec<Choice> {
    event
        .elections
        .iter()
        .map(|election| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let r = *seed;
            let list_index = (r >> 8) as usize % election.lists.len();
            let list = ListIndex::new(list_index, election).expect("list");
            let count = election.lists[list_index].candidates.len();
            match r % 4 {
                0 => Choice::Blank,
                1 => Choice::List(list),
                _ => {
                    let mask = (r >> 20) & CandidateSet::full_mask(count);
                    let mask = if mask == 0 { 1 } else { mask };
                    Choice::Preferences {
                        list,
                        candidates: CandidateSet::from_mask(mask, count).expect("candidates"),
                    }
                }
            }
        })
        .collect()
}

struct Session {
    /// Sealed record of generation g at index g - 1.
    records: Vec<Vec<u8>>,
}

/// Generation 1 is the opening record (no ballots); generation g holds g - 1 voters.
fn session(event: &Event<'_>, key_seed: u8, generations: u64) -> Session {
    let key = SessionKey::generate(&mut SeededEntropy::new([key_seed; 32])).expect("key");
    let mut store = Box::new(BallotStore::new());
    store.reset(event).expect("reset");
    let mut entropy = SeededEntropy::new([key_seed.wrapping_add(100); 32]);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(key_seed);
    let mut records = Vec::new();
    let mut buf = vec![0u8; store.serialized_len(event).expect("len") + 64 * 1024];
    for generation in 1..=generations {
        if generation > 1 {
            store.cast(event, &voter(event, &mut seed)).expect("cast");
        }
        let body = store
            .serialize(event, &mut buf)
            .expect("serialize")
            .to_vec();
        let header = RecordHeader {
            event_id: Identifier::new(event.id).expect("event id"),
            station_id: Identifier::new("bxl-0042").expect("station id"),
            image_digest: IMAGE_DIGEST,
            generation,
            state: PollState::Open,
        };
        let mut record = vec![0u8; sealed_len(body.len()).expect("size")];
        let n = seal::seal(
            &header,
            &body,
            &office_public_key(&OFFICE_SECRET),
            &key,
            &mut entropy,
            &mut record,
        )
        .expect("seal");
        assert_eq!(n, record.len());
        let mut opened_body = vec![0u8; body.len()];
        let opened = seal::open(&record, &OFFICE_SECRET, &mut opened_body).expect("opens");
        assert_eq!(opened.header.record.generation, generation);
        assert_eq!(opened.header.session_public_key, key.public_key());
        assert_eq!(opened.body, &body[..]);
        let mut reloaded = Box::new(BallotStore::new());
        reloaded
            .load(event, opened.body)
            .expect("body is a valid store");
        assert_eq!(
            reloaded.ballots(0),
            usize::try_from(generation - 1).expect("count")
        );
        records.push(record);
    }
    Session { records }
}

fn binding() -> Binding {
    Binding {
        event_id: Identifier::new("be-2024-06-09").expect("event id"),
        station_id: Identifier::new("bxl-0042").expect("station id"),
    }
}

/// Read back the newest record of `area` and check it is exactly the record sealed for its
/// generation.
fn check_record(session: &Session, volume: &Volume, data: &mut [u8], area: u32) -> Option<u64> {
    let mut media = RamMedia::new(data);
    let capacity = volume.superblock().slot_capacity_bytes();
    let mut out = vec![0u8; capacity];
    let got = volume
        .read_area(&mut media, area, &mut out)
        .expect("read area")?;
    let index = usize::try_from(got.generation - 1).expect("index");
    // Byte-equal to the sealed record of that generation, which `session` checked opens
    // to the right body with the right generation and key.
    assert_eq!(
        &out[..got.len],
        &session.records[index][..],
        "generation {}",
        got.generation
    );
    Some(got.generation)
}

#[derive(Default, Debug)]
struct Outcomes {
    cut_points: u64,
    previous_record: u64,
    new_record_before_flush: u64,
    nothing_yet: u64,
    completed: u64,
}

fn cut_every_byte_of_generation(
    first: &Session,
    second: &Session,
    capacity: usize,
    target: u64,
) -> Outcomes {
    // The media as it is just before generation `target` is written.
    let mut base = vec![0u8; (1 + AREAS * 2 * (1 + capacity.div_ceil(512))) * SECTOR_SIZE_BYTES];
    let (volume, session_area): (Volume, SessionArea) = {
        let mut media = RamMedia::new(&mut base);
        let volume = Volume::open_for_poll(
            &mut media,
            &binding(),
            capacity,
            &mut SeededEntropy::new([3; 32]),
        )
        .expect("initialise");
        assert!(volume.was_initialised());
        let mut area = volume.start_session(&mut media).expect("session area");
        for generation in 1..target {
            let record = &first.records[usize::try_from(generation - 1).expect("index")];
            area.write(&mut media, generation, record).expect("write");
        }
        (volume, area)
    };
    let record = &first.records[usize::try_from(target - 1).expect("index")];
    let sectors = record.len().div_ceil(SECTOR_SIZE_BYTES) as u64 + 1;
    let write_bytes = sectors * SECTOR_SIZE_BYTES as u64;

    let mut outcomes = Outcomes::default();
    let mut data = base.clone();
    for k in 0..=write_bytes {
        data.copy_from_slice(&base);
        let mut area = session_area;
        let completed = {
            let mut media = RamMedia::new(&mut data);
            media.cut_power_at_byte(k);
            let before = media.bytes_written();
            let result = area.write(&mut media, target, record);
            if k < write_bytes {
                assert_eq!(result, Err(VolumeError::PowerLost), "cut at byte {k}");
                assert_eq!(media.bytes_written() - before, k);
            } else {
                assert_eq!(result, Ok(()), "no cut");
                assert_eq!(media.bytes_written() - before, write_bytes);
            }
            result.is_ok()
        };
        outcomes.cut_points += 1;
        let acknowledged = if completed { target } else { target - 1 };

        // Reboot: power is back, the RAM is gone; the poll is opened again.
        let volume_again = {
            let mut media = RamMedia::new(&mut data);
            Volume::open_for_poll(
                &mut media,
                &binding(),
                capacity,
                &mut SeededEntropy::new([4; 32]),
            )
            .expect("media mounts after the cut")
        };
        assert!(
            !volume_again.was_initialised(),
            "cut at byte {k}: re-initialised"
        );
        assert_eq!(volume_again.superblock(), volume.superblock());

        // The earlier session's area: the acknowledged record, or (only if every byte of
        // it landed) the record being written; never anything torn.
        let read = check_record(first, &volume_again, &mut data, 0);
        match read {
            Some(g) if g == acknowledged && completed => outcomes.completed += 1,
            Some(g) if g == acknowledged => outcomes.previous_record += 1,
            Some(g) if g == target => outcomes.new_record_before_flush += 1,
            None if acknowledged == 0 => outcomes.nothing_yet += 1,
            other => panic!(
                "cut at byte {k} of generation {target}: read {other:?}, acknowledged {acknowledged}"
            ),
        }
        {
            let mut media = RamMedia::new(&mut data);
            let summary = volume_again.inspect_area(&mut media, 0).expect("inspect");
            for status in summary.slots {
                if let SlotStatus::Valid { generation, len } = status {
                    assert!(generation + 2 >= target && generation <= target);
                    let index = usize::try_from(generation - 1).expect("index");
                    assert_eq!(len, first.records[index].len());
                }
            }
        }

        // The new session takes a fresh area (or area 0 if nothing was ever recorded
        // there) and its records never disturb the earlier session's.
        {
            let mut media = RamMedia::new(&mut data);
            let mut area = volume_again.start_session(&mut media).expect("new session");
            if area.area() == 0 {
                assert_eq!(
                    read, None,
                    "cut at byte {k}: area 0 reused but held a record"
                );
            } else {
                assert_eq!(area.area(), 1);
            }
            area.write(&mut media, 1, &second.records[0])
                .expect("new session writes");
            let new_area = area.area();
            assert_eq!(
                check_record(second, &volume_again, &mut data, new_area),
                Some(1)
            );
            if new_area != 0 {
                assert_eq!(check_record(first, &volume_again, &mut data, 0), read);
            }
        }
    }
    outcomes
}

#[test]
fn power_cut_mid_write_at_every_byte() {
    let event = event();
    let first = session(&event, 1, 50);
    let second = session(&event, 2, 1);
    let largest = first.records.iter().map(Vec::len).max().expect("records");
    let capacity = largest + 512;
    println!(
        "record sizes: generation 1 = {} bytes, 2 = {} bytes, 50 = {} bytes (slot capacity {})",
        first.records[0].len(),
        first.records[1].len(),
        first.records[49].len(),
        capacity
    );
    let mut total = 0;
    for target in GENERATIONS_UNDER_TEST {
        let outcomes = cut_every_byte_of_generation(&first, &second, capacity, target);
        println!("generation {target}: {outcomes:?}");
        assert_eq!(outcomes.completed, 1);
        assert!(outcomes.previous_record + outcomes.nothing_yet > 0);
        total += outcomes.cut_points;
    }
    println!("power cut points tested: {total}");
}
