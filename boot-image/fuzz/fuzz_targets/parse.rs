//! Fuzz target: arbitrary bytes through the boot image parser and verifier.
//!
//! `inspect` reaches every structural check, the payload digests and the election
//! definition decoder without needing valid signatures; `verify` adds the trust policy,
//! dev-key, machine and date logic. Neither may panic, and every refusal must render as
//! one line with a known class.

#![no_main]

use boot_image::{inspect, verify, MachineKind, Refusal, TrustPolicy, DEV_AUTHORITY_PUBLIC_KEYS};
use firmware::election::Date;
use libfuzzer_sys::fuzz_target;

/// Counts the bytes of a refusal's message and checks it is one line.
struct OneLine {
    bytes: usize,
}

impl core::fmt::Write for OneLine {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        assert!(!s.contains('\n'), "refusal message spans lines");
        self.bytes += s.len();
        Ok(())
    }
}

fn check(refusal: &Refusal) {
    assert!(Refusal::CLASSES.contains(&refusal.class()), "unknown class");
    let mut line = OneLine { bytes: 0 };
    core::fmt::write(&mut line, format_args!("{refusal}")).expect("Display never fails");
    assert!(line.bytes > 0, "empty refusal message");
}

fuzz_target!(|image: &[u8]| {
    if let Err(refusal) = inspect(image) {
        check(&refusal);
    }
    let policy = TrustPolicy {
        keys: &DEV_AUTHORITY_PUBLIC_KEYS,
        threshold: 1,
    };
    let today = Date {
        year: 2026,
        month: 5,
        day: 31,
    };
    for machine in [MachineKind::Wasm32, MachineKind::Riscv32] {
        match verify(image, &policy, machine, today) {
            Ok(verified) => assert!(verified.valid_signatures >= 1),
            Err(refusal) => check(&refusal),
        }
    }
});
