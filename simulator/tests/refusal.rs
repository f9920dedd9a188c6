//! Negative scenarios: each image is refused with its reason, exit code 1, and the payload
//! never runs (the WAT payloads here would print a receipt if they ran a script line, and the
//! ROM refusal screen is the only file written).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn simulator(dir: &Path, image: &[u8], extra: &[&str]) -> Output {
    let image_path = dir.join("image.bin");
    std::fs::write(&image_path, image).unwrap();
    let script = dir.join("script.txt");
    std::fs::write(&script, "tap 10 10\nshot after-tap\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_simulator"))
        .arg(&image_path)
        .args(["--headless", "--date", DAY, "--script"])
        .arg(&script)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

fn assert_refused(name: &str, image: &[u8], extra: &[&str], reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = simulator(dir.path(), image, extra);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    assert!(
        stderr.contains(reason),
        "{name}: expected `{reason}` in: {stderr}"
    );
    assert!(
        !dir.path().join("out/after-tap.png").exists(),
        "{name}: the script ran"
    );
    assert!(
        !dir.path().join("out/receipt-1.png").exists(),
        "{name}: the payload printed"
    );
}

#[test]
fn tampered_payload_is_refused() {
    let mut image = image_signed_by(&good_wat_payload(), &[1]);
    // The payload follows the manifest; flip a byte inside it (the wasm body, near the end
    // before the signature block).
    let payload = good_wat_payload();
    let at = image
        .windows(payload.len())
        .position(|w| w == payload.as_slice())
        .unwrap()
        + payload.len() / 2;
    image[at] ^= 0x01;
    assert_refused("tampered", &image, &[], "boot ROM refused the image");
}

#[test]
fn unknown_key_is_refused() {
    let image = image_signed_by_stranger(&good_wat_payload());
    assert_refused("unknown key", &image, &[], "boot ROM refused the image");
}

#[test]
fn below_threshold_is_refused() {
    let image = image_signed_by(&good_wat_payload(), &[1]);
    assert_refused(
        "below threshold",
        &image,
        &["--threshold", "2"],
        "boot ROM refused the image",
    );
}

#[test]
fn refusal_screen_is_written_headless() {
    let dir = tempfile::tempdir().unwrap();
    let image = image_signed_by_stranger(&good_wat_payload());
    let out = simulator(dir.path(), &image, &[]);
    assert_eq!(out.status.code(), Some(1));
    let png = std::fs::read(dir.path().join("out/refused.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn foreign_import_is_refused_before_it_starts() {
    let payload = wat_payload(
        "i32.const 0",
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
    );
    let image = image_signed_by(&payload, &[1]);
    assert_refused(
        "foreign import",
        &image,
        &[],
        "imports `wasi_snapshot_preview1.fd_write`",
    );
}

#[test]
fn foreign_name_in_device_module_is_refused() {
    let payload = wat_payload(
        "i32.const 0",
        r#"(import "device" "socket_open" (func (result i32)))"#,
    );
    let image = image_signed_by(&payload, &[1]);
    assert_refused(
        "device.socket_open",
        &image,
        &[],
        "imports `device.socket_open`",
    );
}

#[test]
fn runaway_payload_is_stopped() {
    let payload = wat_payload("(loop $forever (br $forever)) i32.const 0", "");
    let image = image_signed_by(&payload, &[1]);
    assert_refused(
        "runaway",
        &image,
        &["--fuel", "10000000"],
        "firmware not responding",
    );
}

#[test]
fn memory_beyond_the_limit_is_refused() {
    // 32 pages = 2 MiB of initial memory against a 1 MiB limit.
    let image = image_signed_by(&good_wat_payload(), &[1]);
    assert_refused(
        "memory",
        &image,
        &["--memory-mib", "1"],
        "cannot instantiate",
    );
}

#[test]
fn entropy_seed_is_refused_for_official_images() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authority.pub");
    official_authority().public_key().write(&key).unwrap();
    let key = key.to_str().unwrap();
    let image = official_image(&good_wat_payload());
    let before = simulator::machine::instances_started();
    // Control: the official image boots under its authority, with OS entropy.
    let out = simulator(dir.path(), &image, &["--trust", key]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("out/after-tap.png").exists());
    // With a seed: a usage error before the payload is loaded.
    let dir = tempfile::tempdir().unwrap();
    let seed = "ab".repeat(32);
    let out = simulator(
        dir.path(),
        &image,
        &["--trust", key, "--entropy-seed", &seed],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--entropy-seed is accepted only for training images"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out/after-tap.png").exists(),
        "the script ran"
    );
    // The library refuses the same way, without instantiating the payload.
    let options = simulator::Options {
        image,
        trust: simulator::rom::Trust {
            keys: vec![official_authority().public_key().0],
            threshold: 1,
        },
        today: firmware::election::Date::new(2026, 6, 7).unwrap(),
        entropy_seed: Some([0xab; 32]),
        media: None,
        station: "LINDENHOVE-001".into(),
        limits: simulator::machine::Limits::default(),
        echo_log: false,
    };
    assert!(matches!(
        simulator::power_on(&options),
        Err(simulator::Failure::SeedForOfficial)
    ));
    // The subprocesses have their own counters; this process started none.
    assert_eq!(simulator::machine::instances_started(), before);
}

#[test]
fn entropy_seed_is_accepted_for_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let image = image_signed_by(&good_wat_payload(), &[1]);
    let out = simulator(dir.path(), &image, &["--entropy-seed", &"ab".repeat(32)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_script_line_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let image_path = dir.path().join("image.bin");
    std::fs::write(&image_path, image_signed_by(&good_wat_payload(), &[1])).unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "tap 1 1\n# fine\nkey sideways\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_simulator"))
        .arg(&image_path)
        .args(["--headless", "--date", DAY, "--script"])
        .arg(&script)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("script line 3"), "{stderr}");
}
