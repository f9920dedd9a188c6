//! End-to-end with the real firmware payload: image -> boot ROM -> wasmi -> app.
//!
//! These need the payload built by `cargo xtask payload`; they are ignored by default and
//! run with `SIMULATOR_PAYLOAD=<target>/payload/firmware-wasm32.wasm cargo test -p simulator
//! --test firmware -- --ignored`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use firmware::election::Date;
use simulator::machine::Limits;
use simulator::rom::Trust;
use simulator::script;

const NEEDS: &str = "needs SIMULATOR_PAYLOAD (cargo xtask payload)";

/// Open the poll, vote once (list 1, candidate 1 in every election), screenshots on the way.
const VOTE: &str = "\
shot boot
expect-text Stembureau: LINDENHOVE-001
operator open
pin 123456
shot opened
expect-text Openingsrapport
expect-text Kiezers geactiveerd: 0
tap continue
expect-text Wachten op de volgende kiezer
operator activate
shot activated
tap lang-nl
tap list-1
expect-text ORTEGEM An
tap candidate-1
tap next
tap list-1
tap candidate-1
tap next
tap list-1
tap candidate-1
tap next
shot review
tap confirm
shot recorded
wait 6000
expect-text Stemmen uitgebracht: 1
";

fn payload() -> Vec<u8> {
    firmware_payload().expect(NEEDS)
}

/// Options with fresh results media in `dir` (opening the poll needs media).
fn options(seed: [u8; 32], dir: &tempfile::TempDir) -> simulator::Options {
    simulator::Options {
        image: image_signed_by(&payload(), &[1]),
        trust: Trust::dev(1),
        today: Date::new(2026, 6, 7).unwrap(),
        entropy_seed: Some(seed),
        media: Some(dir.path().join("results.img")),
        station: "LINDENHOVE-001".into(),
        limits: Limits::default(),
        echo_log: false,
    }
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn boots_opens_the_poll_and_shows_text() {
    let media = tempfile::tempdir().unwrap();
    let opts = options([3; 32], &media);
    let (mut machine, verified) = simulator::power_on(&opts).unwrap();
    assert!(
        machine.devices().screen.flushes > 0,
        "the first screen was flushed"
    );
    let text = machine.screen_text().unwrap();
    assert!(!text.is_empty());
    let _ = verified;
    let out = tempfile::tempdir().unwrap();
    script::run(&mut machine, &script::parse(VOTE).unwrap(), out.path()).unwrap();
    for shot in ["boot", "opened", "activated", "review", "recorded"] {
        assert!(out.path().join(format!("{shot}.png")).exists());
    }
    // The opening report, then the voter's ticket: each printed and cut.
    let receipts = &machine.devices().printer.receipts;
    assert_eq!(receipts.len(), 2, "opening report and one voter ticket");
    assert!(receipts.iter().all(|r| r.len() > 400));
    assert!(machine.devices().printer.current.is_empty());
}

/// Nonzero bytes in the payload's stack: addresses 0 .. 1 MiB (`-zstack-size=1048576`,
/// stack first), of which power-off and a power-fail notice zero all but the top 16 KiB
/// (`firmware/wasm/src/lib.rs`, `STACK_BYTES`, `STACK_SCRUB_MARGIN_BYTES`).
fn stack_in_use(machine: &simulator::machine::Machine) -> usize {
    machine.memory()[..(1 << 20) - 16 * 1024]
        .iter()
        .filter(|&&b| b != 0)
        .count()
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn a_power_cut_notice_also_zeroes_the_stack() {
    let media = tempfile::tempdir().unwrap();
    let (mut machine, _) = simulator::power_on(&options([5; 32], &media)).unwrap();
    let out = tempfile::tempdir().unwrap();
    script::run(&mut machine, &script::parse(VOTE).unwrap(), out.path()).unwrap();
    let before = stack_in_use(&machine);
    assert!(before > 1_000, "the vote left {before} nonzero stack bytes");
    machine.power_cut().unwrap();
    assert_eq!(
        stack_in_use(&machine),
        0,
        "stack bytes left after the power-fail notice"
    );
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn power_off_leaves_no_entropy_or_pin_in_memory() {
    let media = tempfile::tempdir().unwrap();
    let opts = options([4; 32], &media);
    let (mut machine, _) = simulator::power_on(&opts).unwrap();
    machine.devices_mut().entropy_record = Some(Vec::new());
    let out = tempfile::tempdir().unwrap();
    script::run(&mut machine, &script::parse(VOTE).unwrap(), out.path()).unwrap();
    // Every byte the entropy source handed out: the media id (public: it is written to
    // the results media's superblock), the session key seed and each record's ephemeral
    // X25519 key (secret). Secret bytes must be gone from RAM after power-off.
    let entropy = machine.devices().entropy_record.clone().unwrap();
    let before = stack_in_use(&machine);
    assert!(before > 1_000, "the vote left {before} nonzero stack bytes");
    machine.power_off().unwrap();
    assert_eq!(
        stack_in_use(&machine),
        0,
        "stack bytes left after power-off ({before} before)"
    );
    let on_media = std::fs::read(media.path().join("results.img")).unwrap();
    let is_public = |window: &[u8]| on_media.windows(window.len()).any(|w| w == window);
    let secret_chunks = entropy
        .chunks(16)
        .filter(|w| w.len() == 16 && !is_public(w))
        .count();
    assert!(
        secret_chunks >= 4,
        "the session key and record keys were drawn ({} bytes of entropy)",
        entropy.len()
    );
    for (i, window) in entropy.chunks(16).enumerate() {
        if window.len() == 16 && !is_public(window) {
            assert_eq!(
                machine.find_in_memory(window),
                None,
                "entropy chunk {i} survived power-off"
            );
        }
    }
    // What the firmware derives from a secret seed: an Ed25519 key pair expands its seed to
    // SHA-512(seed) = clamped scalar || nonce prefix, and ring's key pair (which does not
    // zeroize) held them on the payload's stack at every signature. None of it may survive.
    let mut derived = 0;
    for start in (0..entropy.len().saturating_sub(31)).step_by(16) {
        let seed = &entropy[start..start + 32];
        if is_public(&seed[..16]) || is_public(&seed[16..]) {
            continue;
        }
        let expanded = ring::digest::digest(&ring::digest::SHA512, seed);
        let expanded = expanded.as_ref();
        // Scalar bytes 1..17 (untouched by clamping), then the prefix's two halves.
        for (what, part) in [
            ("scalar", &expanded[1..17]),
            ("nonce prefix", &expanded[32..48]),
            ("nonce prefix", &expanded[48..64]),
        ] {
            derived += 1;
            assert_eq!(
                machine.find_in_memory(part),
                None,
                "the Ed25519 {what} expanded from the entropy at byte {start} survived power-off"
            );
        }
    }
    assert!(derived >= 3, "the session key's expansion was checked");
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn replay_gives_identical_pictures_and_media() {
    let payload = payload();
    let image = image_signed_by(&payload, &[1]);
    let seed = "0b".repeat(32);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let image_path = dir.path().join("image.bin");
        std::fs::write(&image_path, &image).unwrap();
        std::fs::write(dir.path().join("s.txt"), VOTE).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_simulator"))
            .arg(&image_path)
            .args(["--headless", "--date", DAY, "--entropy-seed", &seed])
            .args(["--station", "LINDENHOVE-001", "--script"])
            .arg(dir.path().join("s.txt"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--media")
            .arg(dir.path().join("results.img"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runs.push(dir);
    }
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    for f in [
        "out/boot.png",
        "out/opened.png",
        "out/review.png",
        "out/recorded.png",
        "results.img",
    ] {
        assert!(
            read(runs[0].path(), f) == read(runs[1].path(), f),
            "{f} differs"
        );
    }
}
