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

use firmware::election::{DecodeError, ElectionError, Event};

/// Version of the firmware ABI (the exports below and their meaning).
///
/// A host refuses a payload whose version it does not know. Any change to an export's
/// name, signature or meaning bumps this number.
pub const FIRMWARE_ABI_VERSION: u32 = 1;

/// Bytes the host may write into the election buffer (40 wasm pages of 64 KiB).
///
/// The largest valid event (8 elections x 40 lists x 64 candidates, every name at its
/// maximum length) encodes to about 2.05 MB; a test checks that it fits.
pub const ELECTION_CAPACITY_BYTES: usize = 40 * 64 * 1024;

/// Return code of [`firmware_boot`] for success.
pub const BOOT_OK: i32 = 0;

/// Why booting on an election definition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootError {
    /// The host announced more bytes than the election buffer holds.
    TooLong {
        /// Announced length in bytes.
        len: u32,
        /// Capacity of the election buffer in bytes.
        capacity: usize,
    },
    /// The bytes are not a postcard election definition.
    Malformed,
    /// Bytes remain after the election definition.
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// The definition decoded but breaks a rule of the election model.
    Invalid(ElectionError),
}

impl BootError {
    /// The stable code returned to the host by [`firmware_boot`] (never 0).
    pub const fn code(&self) -> i32 {
        match self {
            BootError::TooLong { .. } => 1,
            BootError::Malformed => 2,
            BootError::TrailingBytes { .. } => 3,
            BootError::Invalid(_) => 4,
        }
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::TooLong { len, capacity } => write!(
                f,
                "election definition of {len} bytes exceeds the {capacity}-byte election buffer"
            ),
            BootError::Malformed => f.write_str("election definition is malformed"),
            BootError::TrailingBytes { count } => {
                write!(f, "election definition has {count} trailing bytes")
            }
            BootError::Invalid(e) => write!(f, "election definition is invalid: {e}"),
        }
    }
}

impl From<DecodeError> for BootError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TrailingBytes { count } => BootError::TrailingBytes { count },
            DecodeError::Invalid(e) => BootError::Invalid(e),
            // `Malformed` and any variant added later.
            _ => BootError::Malformed,
        }
    }
}

/// Decode and validate the first `len` bytes of `buffer` as the election definition.
pub fn boot_with(buffer: &[u8], len: u32) -> Result<Event<'_>, BootError> {
    let too_long = BootError::TooLong {
        len,
        capacity: buffer.len(),
    };
    let used = usize::try_from(len).map_err(|_| too_long)?;
    let bytes = buffer.get(..used).ok_or(too_long)?;
    Ok(Event::from_postcard(bytes)?)
}

/// The buffer the host writes the postcard election definition into.
struct ElectionBuffer(UnsafeCell<[u8; ELECTION_CAPACITY_BYTES]>);

// SAFETY: the payload runs single-threaded (wasm32-unknown-unknown without threads), and the
// host only writes the buffer between calls, never while an export runs.
#[allow(unsafe_code)]
unsafe impl Sync for ElectionBuffer {}

static ELECTION: ElectionBuffer = ElectionBuffer(UnsafeCell::new([0; ELECTION_CAPACITY_BYTES]));

/// ABI: the firmware ABI version, [`FIRMWARE_ABI_VERSION`].
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_abi_version() -> u32 {
    FIRMWARE_ABI_VERSION
}

/// ABI: address in linear memory of the election buffer the host writes into.
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_election_buffer() -> *mut u8 {
    ELECTION.0.get().cast()
}

/// ABI: capacity of the election buffer in bytes, [`ELECTION_CAPACITY_BYTES`].
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_election_capacity() -> u32 {
    // 2.5 MiB always fits in u32.
    u32::try_from(ELECTION_CAPACITY_BYTES).unwrap_or(u32::MAX)
}

/// ABI: decode and validate the `len` bytes the host wrote into the election buffer.
///
/// Returns [`BOOT_OK`] or a [`BootError::code`].
#[allow(unsafe_code)] // `no_mangle`: the export name is the ABI.
#[no_mangle]
pub extern "C" fn firmware_boot(len: u32) -> i32 {
    // SAFETY: single-threaded payload; the host does not write the buffer while this export
    // runs, and no other reference to it exists during the call (see `ElectionBuffer`).
    #[allow(unsafe_code)]
    let buffer: &[u8; ELECTION_CAPACITY_BYTES] = unsafe { &*ELECTION.0.get() };
    match boot_with(buffer, len) {
        Ok(_) => BOOT_OK,
        Err(e) => e.code(),
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
/// a global allocator must exist; this one makes any allocation reachable from an export
/// visible at build time and fatal at run time:
/// - its methods call the import `forbidden.heap_allocation`, which the linker keeps only if
///   an allocation is reachable; `cargo xtask payload` refuses a payload with any import,
///   and a host would refuse to instantiate it (nothing provides that import);
/// - should a host provide it anyway, the call is followed by a trap.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};

    #[link(wasm_import_module = "forbidden")]
    extern "C" {
        /// Never provided by any host: its presence in the import section means the
        /// payload can allocate.
        fn heap_allocation();
    }

    fn refuse() -> ! {
        // SAFETY: a call to a host import without arguments; no memory is shared with it.
        // No host provides it, so a payload with a reachable allocation is refused before
        // it runs.
        #[allow(unsafe_code)]
        unsafe {
            heap_allocation();
        }
        core::arch::wasm32::unreachable()
    }

    /// The global allocator of a heap-free payload.
    struct NoHeap;

    // SAFETY: `alloc` never returns (so never returns a bad pointer), and `dealloc` is
    // unreachable because nothing was ever allocated; both trap.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for NoHeap {
        unsafe fn alloc(&self, _: Layout) -> *mut u8 {
            refuse()
        }

        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {
            refuse()
        }
    }

    #[global_allocator]
    static NO_HEAP: NoHeap = NoHeap;
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmware::election::{
        Candidate, CandidateKind, Candidates, Date, Election, Language, List, Mode, Names,
        SeatMethod, MAX_CANDIDATES, MAX_ELECTIONS, MAX_LISTS, MAX_NAME_BYTES,
    };
    use heapless::Vec;
    use std::boxed::Box;
    use std::string::String;
    use std::vec;

    /// A name of exactly `MAX_NAME_BYTES` bytes.
    fn longest_name(tag: usize) -> String {
        let mut name = std::format!("{tag:08}");
        while name.len() < MAX_NAME_BYTES {
            name.push('X');
        }
        name
    }

    /// Encode the largest event the model allows into a fresh buffer.
    fn largest_event_bytes() -> std::vec::Vec<u8> {
        let name: &'static str = Box::leak(longest_name(0).into_boxed_str());
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
            id: "LARGEST-2026-XXXXXXXXXXXXXXXXXXX",
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
                election
                    .lists
                    .push(List {
                        number: u16::try_from(l + 1).unwrap(),
                        name,
                        candidates,
                    })
                    .unwrap();
            }
            event.elections.push(election).unwrap();
        }
        event.validate().unwrap();
        let mut buf = vec![0u8; 4 * ELECTION_CAPACITY_BYTES];
        let used = event.to_postcard(&mut buf).unwrap().len();
        buf.truncate(used);
        buf
    }

    #[test]
    fn largest_event_fits_the_election_buffer() {
        let bytes = largest_event_bytes();
        assert!(
            bytes.len() <= ELECTION_CAPACITY_BYTES,
            "largest event is {} bytes, buffer holds {ELECTION_CAPACITY_BYTES}",
            bytes.len()
        );
        let mut buffer = vec![0u8; ELECTION_CAPACITY_BYTES];
        buffer[..bytes.len()].copy_from_slice(&bytes);
        let event = boot_with(&buffer, u32::try_from(bytes.len()).unwrap()).unwrap();
        assert_eq!(event.elections.len(), MAX_ELECTIONS);
        assert_eq!(event.candidate_count(), MAX_ELECTIONS * MAX_LISTS * MAX_CANDIDATES);
    }

    #[test]
    fn refuses_length_beyond_the_buffer() {
        let buffer = [0u8; 16];
        assert_eq!(
            boot_with(&buffer, 17).unwrap_err(),
            BootError::TooLong {
                len: 17,
                capacity: 16
            }
        );
        assert_eq!(boot_with(&buffer, 17).unwrap_err().code(), 1);
    }

    #[test]
    fn refuses_malformed_trailing_and_invalid_definitions() {
        let bytes = largest_event_bytes();
        let mut buffer = vec![0u8; ELECTION_CAPACITY_BYTES];
        buffer[..bytes.len()].copy_from_slice(&bytes);
        let len = u32::try_from(bytes.len()).unwrap();

        // Cut short: malformed.
        let err = boot_with(&buffer, len - 1).unwrap_err();
        assert_eq!(err, BootError::Malformed);
        assert_eq!(err.code(), 2);

        // One byte too many.
        let err = boot_with(&buffer, len + 1).unwrap_err();
        assert_eq!(err, BootError::TrailingBytes { count: 1 });
        assert_eq!(err.code(), 3);

        // Empty event id (first byte is the id length): decodes, but breaks a rule.
        let mut invalid = vec![0u8; 64 * 1024];
        let tiny = tiny_event_bytes();
        invalid[..tiny.len()].copy_from_slice(&tiny);
        assert_eq!(boot_with(&invalid, u32::try_from(tiny.len()).unwrap()).unwrap_err().code(), 4);
    }

    /// An event whose id is empty: structurally fine, invalid by the model.
    fn tiny_event_bytes() -> std::vec::Vec<u8> {
        let mut raw = [0u8; 256];
        let candidates = Candidates::encode(
            &[Candidate {
                name: "JANSSENS An",
                kind: CandidateKind::Titular,
            }],
            &mut raw,
        )
        .unwrap();
        let mut event = Event {
            id: "",
            names: Names::same("Test"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: Vec::from_slice(&[Language::Nl]).unwrap(),
            elections: Vec::new(),
        };
        let mut election = Election {
            id: "chamber",
            names: Names::same("Kamer"),
            constituency: Names::same("Brussel"),
            seats: 1,
            method: SeatMethod::DHondt,
            threshold: 0,
            successors: false,
            lists: Vec::new(),
        };
        election
            .lists
            .push(List {
                number: 1,
                name: "A",
                candidates,
            })
            .unwrap();
        event.elections.push(election).unwrap();
        let mut buf = vec![0u8; 4096];
        let used = event.to_postcard(&mut buf).unwrap().len();
        buf.truncate(used);
        buf
    }

    #[test]
    fn valid_definition_boots_and_codes_are_distinct() {
        let tiny = tiny_event_bytes();
        // Fix the id: a one-byte id "T" replaces the empty one (postcard: length then bytes).
        let mut fixed = std::vec![1u8, b'T'];
        fixed.extend_from_slice(&tiny[1..]);
        let mut buffer = vec![0u8; 1024];
        buffer[..fixed.len()].copy_from_slice(&fixed);
        let event = boot_with(&buffer, u32::try_from(fixed.len()).unwrap()).unwrap();
        assert_eq!(event.id, "T");

        let codes = [
            BootError::TooLong {
                len: 0,
                capacity: 0,
            }
            .code(),
            BootError::Malformed.code(),
            BootError::TrailingBytes { count: 0 }.code(),
            BootError::Invalid(model_error()).code(),
        ];
        for (i, a) in codes.iter().enumerate() {
            assert_ne!(*a, BOOT_OK);
            for b in &codes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    /// A real validation error, produced by the model, to build `BootError::Invalid`.
    fn model_error() -> ElectionError {
        let tiny = tiny_event_bytes();
        let error = match Event::from_postcard(&tiny) {
            Err(DecodeError::Invalid(e)) => e,
            other => panic!("expected an invalid event, got {other:?}"),
        };
        error
    }

    #[test]
    fn exports_report_version_and_capacity() {
        assert_eq!(firmware_abi_version(), FIRMWARE_ABI_VERSION);
        assert_eq!(
            usize::try_from(firmware_election_capacity()).unwrap(),
            ELECTION_CAPACITY_BYTES
        );
        assert!(!firmware_election_buffer().is_null());
        // The buffer is zeroed: zero bytes is not an event.
        assert_eq!(firmware_boot(0), BootError::Malformed.code());
    }
}
