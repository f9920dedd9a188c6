#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(all(not(test), not(target_arch = "wasm32")))]
compile_error!(
    "firmware-wasm is the wasm32 payload: build it with `cargo xtask payload`; \
     on the host only its tests build (`cargo test --manifest-path firmware/wasm/Cargo.toml`)"
);

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use device_abi::{
    pack_area, BootBlock, BootBlockError, BootStatus, EventKind, ABI_VERSION, APP_ERROR_BASE,
    NOT_BOOTED, STATUS_OK, UNKNOWN_EVENT,
};
use firmware::app::{App, AppError, BootInfo, Devices};
use firmware::election::{DecodeError, Event};
use firmware::hal::{Framebuffer, InputEvent, Key, OperatorKey};
use firmware::pin::{PinError, PinVerifier};
use firmware::record::RecordScratch;
use firmware::store::BallotStore;
use zeroize::Zeroize;

mod device;

/// Bytes of the boot block buffer the boot ROM writes into (40 wasm pages of 64 KiB).
///
/// The largest valid event (8 elections x 40 lists x 64 candidates, every name at its
/// maximum length) encodes to about 2.05 MB; a test checks that its boot block fits.
pub const BOOT_BLOCK_CAPACITY_BYTES: usize = 40 * 64 * 1024;

/// Why the payload refused to boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootError {
    /// The boot block is malformed.
    BootBlock(BootBlockError),
    /// The election definition does not decode or breaks a rule of the model.
    Election(DecodeError),
    /// The PIN verifier is too weak or too costly.
    PinVerifier(PinError),
    /// `firmware_boot` already succeeded once.
    AlreadyBooted,
}

impl BootError {
    /// The device-ABI status for this error.
    pub const fn status(&self) -> BootStatus {
        match self {
            BootError::BootBlock(_) => BootStatus::BadBootBlock,
            BootError::Election(_) => BootStatus::BadElection,
            BootError::PinVerifier(_) => BootStatus::BadPinVerifier,
            BootError::AlreadyBooted => BootStatus::AlreadyBooted,
        }
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::BootBlock(e) => write!(f, "{e}"),
            BootError::Election(e) => write!(f, "{e}"),
            BootError::PinVerifier(e) => write!(f, "PIN verifier: {e}"),
            BootError::AlreadyBooted => f.write_str("the firmware was already booted"),
        }
    }
}

/// What a valid boot block holds, decoded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booted<'a> {
    /// The boot block.
    pub block: BootBlock<'a>,
    /// Its election definition, decoded and validated.
    pub event: Event<'a>,
    /// Its PIN verifier, within the accepted strength.
    pub verifier: PinVerifier,
}

/// Decode and check a boot block: its layout, the election definition and the PIN verifier.
pub fn check_boot_block(bytes: &[u8]) -> Result<Booted<'_>, BootError> {
    let block = BootBlock::decode(bytes).map_err(BootError::BootBlock)?;
    let event = Event::from_postcard(block.election).map_err(BootError::Election)?;
    let verifier = PinVerifier {
        salt: block.pin_salt,
        iterations: block.pin_iterations,
        hash: block.pin_hash,
    };
    verifier.check().map_err(BootError::PinVerifier)?;
    Ok(Booted {
        block,
        event,
        verifier,
    })
}

/// The buffer the boot ROM writes the boot block into.
struct BootBlockBuffer(UnsafeCell<[u8; BOOT_BLOCK_CAPACITY_BYTES]>);

// SAFETY: the payload runs single-threaded (wasm32-unknown-unknown without threads), and the
// host only writes the buffer between calls, never while an export runs.
#[allow(unsafe_code)]
unsafe impl Sync for BootBlockBuffer {}

static BOOT_BLOCK: BootBlockBuffer =
    BootBlockBuffer(UnsafeCell::new([0; BOOT_BLOCK_CAPACITY_BYTES]));

/// Bytes of the text buffer shared by `firmware_element` and `firmware_screen_text`.
pub const TEXT_CAPACITY_BYTES: usize = 16 * 1024;

/// A static the host never touches while an export runs.
struct Slot<T>(UnsafeCell<T>);

// SAFETY: the payload runs single-threaded (wasm32-unknown-unknown without threads); each
// export takes the references it needs at its start and drops them before returning, and
// exports never nest (the host does not call into the payload from an import).
#[allow(unsafe_code)]
unsafe impl<T> Sync for Slot<T> {}

/// The ballot store: large, so it lives in a static and is never copied.
static STORE: Slot<BallotStore> = Slot(UnsafeCell::new(BallotStore::new()));
/// The framebuffer the app draws into; flushes copy dirty rectangles to the host.
static FRAME: Slot<Framebuffer> = Slot(UnsafeCell::new(Framebuffer::new()));
/// Buffers for sealing the ballot record (body + sealed record); large, so a static.
static RECORDS: Slot<RecordScratch> = Slot(UnsafeCell::new(RecordScratch::new()));
/// The election event decoded from the boot block (borrows the boot block buffer).
static EVENT: Slot<Option<Event<'static>>> = Slot(UnsafeCell::new(None));
/// The running firmware, after a successful `firmware_boot`.
static APP: Slot<Option<App<'static>>> = Slot(UnsafeCell::new(None));
/// Names in (element), text out (screen text).
static TEXT: Slot<[u8; TEXT_CAPACITY_BYTES]> = Slot(UnsafeCell::new([0; TEXT_CAPACITY_BYTES]));

/// Whether `firmware_boot` succeeded.
static BOOTED: AtomicBool = AtomicBool::new(false);

/// ABI: the device ABI version ([`device_abi::ABI_VERSION`]).
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_abi_version() -> u32 {
    ABI_VERSION
}

/// ABI: address in linear memory of the boot block buffer.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_boot_block() -> *mut u8 {
    BOOT_BLOCK.0.get().cast()
}

/// ABI: capacity of the boot block buffer in bytes ([`BOOT_BLOCK_CAPACITY_BYTES`]).
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_boot_block_capacity() -> u32 {
    // 2.5 MiB always fits in u32.
    u32::try_from(BOOT_BLOCK_CAPACITY_BYTES).unwrap_or(u32::MAX)
}

/// The status an export returns for an application error.
fn app_status(e: &AppError) -> i32 {
    APP_ERROR_BASE.saturating_add(i32::from(e.code()))
}

/// ABI: check the boot block the boot ROM wrote ([`check_boot_block`]) and start the
/// firmware app on it (draws and flushes the first screen).
///
/// Returns [`STATUS_OK`], a [`BootStatus`] code, or [`APP_ERROR_BASE`] + the app's error
/// code. Succeeds at most once.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_boot() -> i32 {
    if BOOTED.load(Ordering::Relaxed) {
        return BootError::AlreadyBooted.status().code();
    }
    // SAFETY: single-threaded payload; the host writes the boot block only before this
    // export, and after a successful boot never again (the firmware refuses a second boot),
    // so the shared `'static` borrow of the buffer is never aliased by a write.
    #[allow(unsafe_code)]
    let bytes: &'static [u8; BOOT_BLOCK_CAPACITY_BYTES] = unsafe { &*BOOT_BLOCK.0.get() };
    let booted = match check_boot_block(bytes) {
        Ok(booted) => booted,
        Err(e) => return e.status().code(),
    };
    // SAFETY: see `Slot`; before a successful boot nothing else borrows EVENT, STORE, FRAME,
    // RECORDS or APP, and after it this code is not reached again (BOOTED), so these
    // exclusive `'static` borrows are the only ones for the rest of the run (APP owns them).
    #[allow(unsafe_code)]
    let (event_slot, store, frame, records, app_slot) = unsafe {
        (
            &mut *EVENT.0.get(),
            &mut *STORE.0.get(),
            &mut *FRAME.0.get(),
            &mut *RECORDS.0.get(),
            &mut *APP.0.get(),
        )
    };
    let event: &'static Event<'static> = event_slot.insert(booted.event);
    let info = BootInfo {
        event,
        image_fingerprint: booted.block.image_fingerprint,
        office_public_key: booted.block.office_public_key,
        pin_verifier: booted.verifier,
        station: booted.block.station,
    };
    let mut hw = device::Hardware::new();
    let result = App::boot(info, store, frame, &mut hw.devices());
    match result {
        Ok(mut app) => {
            app.attach_records(records);
            *app_slot = Some(app);
            BOOTED.store(true, Ordering::Relaxed);
            STATUS_OK
        }
        Err(e) => app_status(&e),
    }
}

/// Run `f` on the booted app, or return [`NOT_BOOTED`].
fn with_app(f: impl FnOnce(&mut App<'static>, &mut Devices<'_>) -> i32) -> i32 {
    // SAFETY: see `Slot`: this is the only borrow of APP during the export.
    #[allow(unsafe_code)]
    let slot = unsafe { &mut *APP.0.get() };
    match slot {
        Some(app) => {
            let mut hw = device::Hardware::new();
            f(app, &mut hw.devices())
        }
        None => NOT_BOOTED,
    }
}

/// The input event for an ABI `(kind, a, b)` triple.
pub fn input_event(kind: i32, a: i32, b: i32) -> Option<InputEvent> {
    let code = |v: i32| u8::try_from(v).ok();
    Some(match EventKind::from_code(kind)? {
        EventKind::Tap => InputEvent::Tap {
            x: u16::try_from(a).ok()?,
            y: u16::try_from(b).ok()?,
        },
        EventKind::Key => InputEvent::Key(Key::from_code(code(a)?)?),
        EventKind::Operator => InputEvent::Operator(OperatorKey::from_code(code(a)?)?),
        _ => return None,
    })
}

/// ABI: one input event (see [`device_abi::EventKind`]).
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_handle(kind: i32, a: i32, b: i32) -> i32 {
    let Some(event) = input_event(kind, a, b) else {
        return UNKNOWN_EVENT;
    };
    with_app(|app, dev| match app.handle(event, dev) {
        Ok(()) => STATUS_OK,
        Err(e) => app_status(&e),
    })
}

/// ABI: periodic work.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_tick() -> i32 {
    with_app(|app, dev| match app.tick(dev) {
        Ok(()) => STATUS_OK,
        Err(e) => app_status(&e),
    })
}

/// ABI: the power is failing: the same wipes as an orderly power-off, the stack included
/// (about 0.5 M fuel).
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_power_fail() {
    with_app(|app, dev| {
        app.power_fail(dev);
        STATUS_OK
    });
    wipe_buffers();
    scrub_stack();
}

/// ABI: orderly power-off: the app wipes the store, the session and the framebuffer; the
/// payload then wipes its own buffers (boot block, text) and its stack.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_power_off() {
    with_app(|app, dev| {
        app.power_off(dev);
        STATUS_OK
    });
    wipe_buffers();
    scrub_stack();
}

/// Bytes of the payload's stack: `cargo xtask payload` links with `-zstack-size=1048576`,
/// and wasm-ld puts the stack first, at addresses `0 .. STACK_BYTES`, growing down.
pub const STACK_BYTES: usize = 1 << 20;
/// The top of the stack the scrub leaves alone: the frames of the export that calls it,
/// which hold nothing of a session by then.
pub const STACK_SCRUB_MARGIN_BYTES: usize = 16 * 1024;

/// Zero the stack below the caller's frame. Frames of earlier calls leave their locals
/// behind: ring's key pairs and AEAD keys (which do not zeroize), ballot encodings and screen
/// text. Called from an export, whose frames take less than the margin, it zeroes from the
/// caller's frame down to below address `STACK_SCRUB_MARGIN_BYTES`, where no call ever
/// reached; the power-off test (`simulator/tests/firmware.rs`) checks that every byte below
/// `STACK_BYTES - STACK_SCRUB_MARGIN_BYTES` is zero afterwards.
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u64; (STACK_BYTES - STACK_SCRUB_MARGIN_BYTES) / 8];
    // Volatile writes: not removed as dead stores.
    area.zeroize();
    core::hint::black_box(&area);
}

/// Zero the text buffer (it may hold screen text with choices).
fn wipe_buffers() {
    // SAFETY: see `Slot`: the only borrow of TEXT during the export.
    #[allow(unsafe_code)]
    let text = unsafe { &mut *TEXT.0.get() };
    text.zeroize();
}

/// ABI: address of the text buffer.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_text_buffer() -> *mut u8 {
    TEXT.0.get().cast()
}

/// ABI: capacity of the text buffer ([`TEXT_CAPACITY_BYTES`]).
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_text_capacity() -> u32 {
    u32::try_from(TEXT_CAPACITY_BYTES).unwrap_or(0)
}

/// ABI: the area of the touch target named by the first `len` bytes of the text buffer,
/// packed by [`device_abi::pack_area`], or -1.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_element(len: i32) -> i64 {
    // SAFETY: see `Slot`: the host wrote the name before the call; the only borrows of TEXT
    // and APP during the export.
    #[allow(unsafe_code)]
    let (text, slot) = unsafe { (&*TEXT.0.get(), &*APP.0.get()) };
    let name = usize::try_from(len)
        .ok()
        .and_then(|n| text.get(..n))
        .and_then(|bytes| core::str::from_utf8(bytes).ok());
    match (name, slot) {
        (Some(name), Some(app)) => match app.element(name) {
            Some(a) => pack_area(a.x(), a.y(), a.width(), a.height()),
            None => -1,
        },
        _ => -1,
    }
}

/// Writes into the text buffer, failing when it is full.
struct TextWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// ABI: write the visible text into the text buffer; returns its length or -1.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_screen_text() -> i32 {
    // SAFETY: see `Slot`: the only borrows of TEXT and APP during the export.
    #[allow(unsafe_code)]
    let (text, slot) = unsafe { (&mut *TEXT.0.get(), &*APP.0.get()) };
    let Some(app) = slot else {
        return NOT_BOOTED.saturating_neg();
    };
    let mut out = TextWriter { buf: text, len: 0 };
    match app.screen_text(&mut out) {
        Ok(()) => i32::try_from(out.len).unwrap_or(-1),
        Err(_) => -1,
    }
}

/// A panic aborts the payload with a wasm trap: the host sees the trap and halts the
/// terminal. No panic message is kept (nothing would show it, and it would embed paths).
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The payload never allocates. ring links the `alloc` crate (for code we do not call), so
/// a global allocator must exist; this one has no memory and every allocation fails. An
/// allocation reachable from an export therefore keeps `handle_alloc_error` in the linked
/// module, and `cargo xtask payload` refuses it; at run time it would trap.
///
/// There is deliberately no `getrandom` registration either: a reachable `getrandom` call
/// (ring's `SystemRandom`) would leave `__getrandom_custom` undefined and fail to link.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};

    /// The global allocator of a heap-free payload.
    struct NoHeap;

    // SAFETY: `alloc` always returns null, which the `GlobalAlloc` contract allows
    // (allocation failure); `dealloc` is never given a pointer from `alloc`, as there are none.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for NoHeap {
        unsafe fn alloc(&self, _: Layout) -> *mut u8 {
            core::ptr::null_mut()
        }

        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static NO_HEAP: NoHeap = NoHeap;
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use device_abi::{BootMode, BOOT_BLOCK_HEADER_BYTES};
    use firmware::election::{
        Candidate, CandidateKind, Candidates, Date, Election, Language, List, Mode, Names,
        SeatMethod, MAX_CANDIDATES, MAX_ELECTIONS, MAX_LISTS, MAX_NAME_BYTES,
    };
    use firmware::pin::PIN_MIN_ITERATIONS;
    use heapless::Vec;
    use std::boxed::Box;
    use std::num::NonZeroU32;
    use std::string::String;
    use std::vec;

    /// A name of exactly `MAX_NAME_BYTES` bytes.
    fn longest_name() -> String {
        let mut name = String::from("LONGEST ");
        while name.len() < MAX_NAME_BYTES {
            name.push('X');
        }
        name
    }

    /// The largest event the model allows, encoded.
    fn largest_event_bytes() -> std::vec::Vec<u8> {
        let name: &'static str = Box::leak(longest_name().into_boxed_str());
        let people = vec![
            Candidate {
                name,
                kind: CandidateKind::Titular,
            };
            MAX_CANDIDATES
        ];
        let raw = vec![0u8; MAX_CANDIDATES * (MAX_NAME_BYTES + 8)].leak();
        let candidates = Candidates::encode(&people, raw).unwrap();
        let mut event = Box::new(Event {
            id: "LARGEST-2026",
            names: Names::same(name),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: Vec::from_slice(&Language::ALL).unwrap(),
            elections: Vec::new(),
        });
        for e in 0..MAX_ELECTIONS {
            let id: &'static str = Box::leak(std::format!("election-{e}").into_boxed_str());
            let mut election = Election {
                id,
                names: Names::same(name),
                constituency: Names::same(name),
                seats: u16::try_from(MAX_CANDIDATES).unwrap(),
                method: SeatMethod::DHondt,
                threshold: 500,
                successors: true,
                lists: Vec::new(),
            };
            for l in 0..MAX_LISTS {
                let number = u16::try_from(l + 1).unwrap();
                let list = List {
                    number,
                    name,
                    candidates,
                };
                election.lists.push(list).unwrap();
            }
            event.elections.push(election).unwrap();
        }
        encode_event(&event)
    }

    /// A small valid event: one election, one list, one candidate.
    fn small_event_bytes() -> std::vec::Vec<u8> {
        let mut raw = [0u8; 64];
        let people = [Candidate {
            name: "JANSSENS An",
            kind: CandidateKind::Titular,
        }];
        let candidates = Candidates::encode(&people, &mut raw).unwrap();
        let mut lists = Vec::new();
        lists
            .push(List {
                number: 1,
                name: "LIST A",
                candidates,
            })
            .unwrap();
        let mut elections = Vec::new();
        elections
            .push(Election {
                id: "chamber",
                names: Names::same("Kamer"),
                constituency: Names::same("Brussel"),
                seats: 1,
                method: SeatMethod::DHondt,
                threshold: 0,
                successors: false,
                lists,
            })
            .unwrap();
        let event = Event {
            id: "SMALL-2026",
            names: Names::same("Test"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: Vec::from_slice(&[Language::Nl]).unwrap(),
            elections,
        };
        encode_event(&event)
    }

    fn encode_event(event: &Event<'_>) -> std::vec::Vec<u8> {
        event.validate().unwrap();
        let mut buf = vec![0u8; 4 * BOOT_BLOCK_CAPACITY_BYTES];
        let used = event.to_postcard(&mut buf).unwrap().len();
        buf.truncate(used);
        buf
    }

    /// A boot block around `election` with a PIN verifier of `iterations`.
    fn boot_block(election: &[u8], iterations: u32) -> std::vec::Vec<u8> {
        let verifier = PinVerifier::derive(
            b"4821",
            [7; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
        );
        let block = BootBlock {
            image_fingerprint: [1; 32],
            office_public_key: [2; 32],
            pin_salt: verifier.salt,
            pin_iterations: iterations,
            pin_hash: verifier.hash,
            mode: BootMode::Training,
            station: "Brussel 001",
            election,
        };
        let mut buf = vec![0u8; block.encoded_len()];
        block.encode_into(&mut buf).unwrap();
        buf
    }

    #[test]
    fn largest_event_fits_the_boot_block_buffer() {
        let election = largest_event_bytes();
        let block = boot_block(&election, PIN_MIN_ITERATIONS);
        assert_eq!(block.len(), BOOT_BLOCK_HEADER_BYTES + election.len());
        assert!(
            block.len() <= BOOT_BLOCK_CAPACITY_BYTES,
            "largest boot block is {} bytes, the buffer holds {BOOT_BLOCK_CAPACITY_BYTES}",
            block.len()
        );
        let mut buffer = vec![0u8; BOOT_BLOCK_CAPACITY_BYTES];
        buffer[..block.len()].copy_from_slice(&block);
        let booted = check_boot_block(&buffer).unwrap();
        assert_eq!(booted.event.elections.len(), MAX_ELECTIONS);
        assert_eq!(
            booted.event.candidate_count(),
            MAX_ELECTIONS * MAX_LISTS * MAX_CANDIDATES
        );
        assert!(booted.verifier.verify(b"4821"));
        assert_eq!(booted.block.station, "Brussel 001");
    }

    #[test]
    fn refuses_bad_blocks_elections_and_verifiers() {
        let election = small_event_bytes();

        let mut bad_magic = boot_block(&election, PIN_MIN_ITERATIONS);
        bad_magic[0] ^= 1;
        let err = check_boot_block(&bad_magic).unwrap_err();
        assert_eq!(err, BootError::BootBlock(BootBlockError::BadMagic));
        assert_eq!(err.status(), BootStatus::BadBootBlock);

        let mut trailing = election.clone();
        trailing.push(0);
        let err = check_boot_block(&boot_block(&trailing, PIN_MIN_ITERATIONS)).unwrap_err();
        assert_eq!(
            err,
            BootError::Election(DecodeError::TrailingBytes { count: 1 })
        );
        assert_eq!(err.status(), BootStatus::BadElection);

        let cut = &election[..election.len() - 1];
        let err = check_boot_block(&boot_block(cut, PIN_MIN_ITERATIONS)).unwrap_err();
        assert_eq!(err, BootError::Election(DecodeError::Malformed));

        let err = check_boot_block(&boot_block(&election, PIN_MIN_ITERATIONS - 1)).unwrap_err();
        assert!(matches!(err, BootError::PinVerifier(_)), "{err:?}");
        assert_eq!(err.status(), BootStatus::BadPinVerifier);
        assert!(std::format!("{err}").starts_with("PIN verifier: "));
    }

    #[test]
    fn exports_boot_once_from_the_buffer() {
        assert_eq!(firmware_abi_version(), ABI_VERSION);
        assert_eq!(
            usize::try_from(firmware_boot_block_capacity()).unwrap(),
            BOOT_BLOCK_CAPACITY_BYTES
        );
        // The buffer starts zeroed: no magic.
        assert_eq!(firmware_boot(), BootStatus::BadBootBlock.code());

        let block = boot_block(&small_event_bytes(), PIN_MIN_ITERATIONS);
        let buffer = firmware_boot_block();
        // SAFETY: `buffer` points at the static boot block buffer of
        // BOOT_BLOCK_CAPACITY_BYTES bytes; only this test writes it, and no reference to it
        // is alive while it does (as the host between calls).
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::copy_nonoverlapping(block.as_ptr(), buffer, block.len());
        }
        assert_eq!(firmware_boot(), STATUS_OK);
        assert_eq!(firmware_boot(), BootStatus::AlreadyBooted.code());
        assert!(
            *device::host::FLUSHES.lock().unwrap() > 0,
            "the first screen was flushed"
        );

        // The app answers through the text buffer: visible text and named elements.
        let len = usize::try_from(firmware_screen_text()).unwrap();
        // SAFETY: the text buffer is a static of TEXT_CAPACITY_BYTES; no export runs now.
        #[allow(unsafe_code)]
        let text = unsafe { core::slice::from_raw_parts(firmware_text_buffer(), len) };
        let text = core::str::from_utf8(text).unwrap();
        assert!(text.contains("Brussel 001"), "{text}");
        assert_eq!(firmware_element(0), -1, "the empty name is no element");

        // Operator: open the poll shows the PIN pad, with its digits as elements.
        let open = device_abi::OPERATOR_OPEN;
        assert_eq!(
            firmware_handle(EventKind::Operator.code(), open, 0),
            STATUS_OK
        );
        let name = b"pin-7";
        // SAFETY: as above; the host writes the name between calls.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::copy_nonoverlapping(name.as_ptr(), firmware_text_buffer(), name.len());
        }
        assert!(device_abi::unpack_area(firmware_element(5)).is_some());
        assert_eq!(firmware_handle(99, 0, 0), UNKNOWN_EVENT);
        assert_eq!(firmware_handle(EventKind::Key.code(), 77, 0), UNKNOWN_EVENT);
        assert_eq!(firmware_tick(), STATUS_OK);

        // Power-off wipes the text buffer.
        firmware_power_off();
        // SAFETY: as above.
        #[allow(unsafe_code)]
        let text = unsafe { core::slice::from_raw_parts(firmware_text_buffer(), 64) };
        assert!(text.iter().all(|&b| b == 0));
    }
}
