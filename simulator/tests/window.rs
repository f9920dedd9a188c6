//! The SDL window (feature `window`), run under a virtual X server: a script played in the
//! window writes the same screenshots as headless, the receipts are written when the window
//! closes, and a refused image exits 1 without running the payload.
//!
//! Run with `xvfb-run -a cargo test -p simulator --features window --test window --
//! --ignored` (`cargo xtask test` does); without a display the tests are ignored.
#![cfg(feature = "window")]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn window_run(dir: &Path, image: &[u8], script: &str) -> Output {
    let image_path = dir.join("image.bin");
    std::fs::write(&image_path, image).unwrap();
    let script_path = dir.join("script.sim");
    std::fs::write(&script_path, script).unwrap();
    Command::new(env!("CARGO_BIN_EXE_simulator"))
        .arg(&image_path)
        .args(["--date", DAY, "--step-ms", "20", "--close-after-script"])
        .arg("--script")
        .arg(&script_path)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--media")
        .arg(dir.join("results.img"))
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs a display (xvfb-run)"]
fn script_plays_in_the_window() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "run under xvfb-run: DISPLAY is not set"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = window_run(
        dir.path(),
        &image_signed_by(&good_wat_payload(), &[1]),
        "tap 200 100\nshot in-window\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The WAT payload fills the screen with the tap's x as colour and prints a line.
    let shot = std::fs::read(dir.path().join("out/in-window.png")).unwrap();
    assert!(shot.starts_with(b"\x89PNG"));
    assert!(dir.path().join("out/receipt-1.png").exists());
}

#[test]
#[ignore = "needs a display (xvfb-run)"]
fn refused_image_exits_1_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = window_run(
        dir.path(),
        &image_signed_by_stranger(&good_wat_payload()),
        "tap 10 10\nshot after-tap\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("boot ROM refused the image"), "{stderr}");
    assert!(!dir.path().join("out/after-tap.png").exists());
}

#[test]
#[ignore = "needs a display (xvfb-run)"]
fn bad_script_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = window_run(
        dir.path(),
        &image_signed_by(&good_wat_payload(), &[1]),
        "tap 1 1\nexpect-text nowhere to be seen\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("script line 2"), "{stderr}");
}
