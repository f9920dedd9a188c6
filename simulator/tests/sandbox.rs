//! The sandbox and devices with a small ABI-conforming WAT payload: replay determinism,
//! files written, memory scanning after power-off.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn run(dir: &Path, image: &[u8], script: &str, seed: Option<&str>) -> std::process::Output {
    let image_path = dir.join("image.bin");
    std::fs::write(&image_path, image).unwrap();
    let script_path = dir.join("script.txt");
    std::fs::write(&script_path, script).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simulator"));
    cmd.arg(&image_path)
        .args(["--headless", "--date", DAY, "--script"])
        .arg(&script_path)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--media")
        .arg(dir.join("results.img"));
    if let Some(seed) = seed {
        cmd.args(["--entropy-seed", seed]);
    }
    cmd.output().unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in walk(dir) {
        all.push(entry.strip_prefix(dir).unwrap().to_path_buf());
    }
    all.sort();
    all
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

const SCRIPT: &str = "tap 300 200\nshot first\ntap open\nwait 250\nshot second\nexpect-text look\n";

#[test]
fn replay_is_deterministic_and_writes_only_media_and_out() {
    let image = image_signed_by(&good_wat_payload(), &[1]);
    let seed = "07".repeat(32);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [a.path(), b.path()] {
        let out = run(dir, &image, SCRIPT, Some(&seed));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let expected: Vec<PathBuf> = [
        "image.bin",
        "out",
        "out/first.png",
        "out/receipt-1.png",
        "out/second.png",
        "results.img",
        "script.txt",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(files(a.path()), expected);
    for f in [
        "out/first.png",
        "out/second.png",
        "out/receipt-1.png",
        "results.img",
    ] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(x == y, "{f} differs between two replays");
    }
    // The two taps drew different screens, and the media holds the seeded entropy.
    let first = std::fs::read(a.path().join("out/first.png")).unwrap();
    let second = std::fs::read(a.path().join("out/second.png")).unwrap();
    assert_ne!(first, second);
    let media = std::fs::read(a.path().join("results.img")).unwrap();
    assert_eq!(media.len(), 32_768 * 512);
    assert!(media[..32].iter().any(|&b| b != 0));
}

#[test]
fn different_seeds_give_different_media() {
    let image = image_signed_by(&good_wat_payload(), &[1]);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    run(a.path(), &image, "tap 1 1\n", Some(&"01".repeat(32)));
    run(b.path(), &image, "tap 1 1\n", Some(&"02".repeat(32)));
    let x = std::fs::read(a.path().join("results.img")).unwrap();
    let y = std::fs::read(b.path().join("results.img")).unwrap();
    assert_ne!(x[..512], y[..512]);
}

#[test]
fn failed_expectation_names_the_line() {
    let image = image_signed_by(&good_wat_payload(), &[1]);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &image,
        "tap 1 1\nexpect-text nothing here\n",
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("script line 2"), "{stderr}");
    assert!(stderr.contains("is not on the screen"), "{stderr}");
}

#[test]
fn power_off_memory_scan_finds_no_entropy() {
    use simulator::machine::Limits;
    use simulator::rom::Trust;
    use simulator::script::{self, Command as Cmd};
    let image = image_signed_by(&good_wat_payload(), &[1]);
    let options = simulator::Options {
        image,
        trust: Trust::dev(1),
        today: firmware::election::Date::new(2026, 6, 7).unwrap(),
        entropy_seed: Some([9; 32]),
        media: None,
        station: "Test".into(),
        limits: Limits::default(),
        echo_log: false,
    };
    let (mut machine, _) = simulator::power_on(&options).unwrap();
    machine.devices_mut().entropy_record = Some(Vec::new());
    let lines = script::parse("tap 5 5\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    script::run(&mut machine, &lines, out.path()).unwrap();
    let secret = machine.devices().entropy_record.clone().unwrap();
    assert_eq!(secret.len(), 32);
    assert!(
        machine.find_in_memory(&secret).is_some(),
        "the secret is in RAM while on"
    );
    assert_eq!(lines[0].command, Cmd::TapAt { x: 5, y: 5 });
    machine.power_off().unwrap();
    assert!(!machine.is_on());
    assert_eq!(
        machine.find_in_memory(&secret),
        None,
        "the secret survived power-off"
    );
}
