//! The boot ROM refuses before the sandbox instantiates anything (one test per process, so
//! the process-wide instantiation counter is not disturbed by other tests).

mod common;

use common::*;
use firmware::election::Date;
use simulator::machine::{instances_started, Limits};
use simulator::rom::Trust;
use simulator::{power_on, Failure, Options};

fn options(image: Vec<u8>, threshold: usize) -> Options {
    Options {
        image,
        trust: Trust::dev(threshold),
        today: Date::new(2026, 6, 7).unwrap(),
        entropy_seed: None,
        media: None,
        station: "Test".into(),
        limits: Limits::default(),
        echo_log: false,
    }
}

#[test]
fn refused_images_are_never_instantiated() {
    let payload = good_wat_payload();
    let mut tampered = image_signed_by(&payload, &[1]);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80; // inside the signature block
    let cases = [
        ("tampered", options(tampered, 1)),
        (
            "unknown key",
            options(image_signed_by_stranger(&payload), 1),
        ),
        (
            "below threshold",
            options(image_signed_by(&payload, &[2]), 2),
        ),
        ("unsigned", options(unsigned_image(&payload), 1)),
        ("not an image", options(b"MZ\x90\x00".to_vec(), 1)),
    ];
    for (name, opts) in cases {
        let before = instances_started();
        let failure = power_on(&opts).map(|_| ()).unwrap_err();
        assert!(matches!(failure, Failure::Refused(_)), "{name}: {failure}");
        assert_eq!(failure.exit_code(), 1);
        assert_eq!(
            instances_started(),
            before,
            "{name}: a payload was instantiated"
        );
    }
    // And a good image is instantiated exactly once.
    let before = instances_started();
    power_on(&options(image_signed_by(&payload, &[1, 2]), 2)).unwrap();
    assert_eq!(instances_started(), before + 1);
}
