//! Link check of the firmware core for bare metal (`riscv32imac-unknown-none-elf`).
//!
//! This is not the board (that comes later as `firmware/board-qemu-virt`) and it is never
//! run: `cargo xtask check-targets` links it and inspects the executable. Linking proves
//! that the firmware core and its dependencies, ring's C and assembly included, resolve
//! every symbol on a target without an operating system, and that nothing reachable calls
//! `getrandom` (no `__getrandom_custom` is provided, so such a call would not link). The
//! symbol table then shows whether anything reachable allocates: the global allocator
//! below has no memory, so an allocation would keep `handle_alloc_error` in the executable.
//!
//! What is reachable is what `_start` calls: today decoding and validating an election
//! definition, as the wasm payload's `firmware_boot` does.
#![no_std]
#![no_main]

use core::alloc::{GlobalAlloc, Layout};
use core::hint::black_box;
use firmware::election::Event;

/// Bytes of the election definition input (zeros; hidden from the optimiser).
const INPUT_BYTES: usize = 64 * 1024;

/// The election definition input. `black_box` keeps the optimiser from decoding it at
/// compile time, so the decoder stays in the executable.
static INPUT: [u8; INPUT_BYTES] = [0; INPUT_BYTES];

/// The entry point the linker looks for.
#[allow(unsafe_code)] // `no_mangle`: the linker's entry symbol.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let input: &[u8] = black_box(&INPUT);
    let candidates = match Event::from_postcard(input) {
        Ok(event) => event.candidate_count(),
        Err(_) => 0,
    };
    black_box(candidates);
    loop {
        core::hint::spin_loop();
    }
}

/// A global allocator without memory: every allocation fails.
struct NoHeap;

// SAFETY: `alloc` always returns null, which the `GlobalAlloc` contract allows (allocation
// failure); `dealloc` is never given a pointer from `alloc`, since there are none.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static NO_HEAP: NoHeap = NoHeap;

/// A panic stops the hart.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
