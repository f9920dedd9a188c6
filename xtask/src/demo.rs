//! `cargo xtask demo`: build the payload and the demo image, then boot it in the simulator.
//!
//! The demo script `simulator/scripts/demo.sim`: boot, open the poll, 20 voters over the
//! three demo elections, close, power off. With a display (`DISPLAY` or `WAYLAND_DISPLAY`)
//! and SDL2 (`libsdl2-dev`), the simulator window plays it and then stays open for the
//! user; otherwise (or with `XTASK_DEMO=headless`) it runs headless. Screenshots, printed receipts and the results media go to
//! `<target dir>/demo/`; the run ends with a summary of what the terminal counted, read
//! from its own closing report, and of the files written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::toolchain;

/// The demo script, relative to the workspace root.
pub const DEMO_SCRIPT: &str = "simulator/scripts/demo.sim";
/// The demo's polling station.
const STATION: &str = "LINDENHOVE-001";
/// The demo election's polling day.
const DAY: &str = "2026-06-07";
/// Fixed entropy for the headless demo (training images only), so two runs are identical.
const ENTROPY_SEED: &str = "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3";
/// Environment variable forcing the mode: `headless` or `window`.
const MODE_ENV: &str = "XTASK_DEMO";

/// How the simulator shows the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Window,
    Headless,
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn has_sdl2() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "sdl2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn choose_mode() -> Result<Mode, String> {
    match std::env::var(MODE_ENV).as_deref() {
        Ok("headless") => return Ok(Mode::Headless),
        Ok("window") => return Ok(Mode::Window),
        Ok(other) => {
            return Err(format!(
                "{MODE_ENV}={other}: expected `headless` or `window`"
            ))
        }
        Err(_) => {}
    }
    if !has_display() {
        println!("no display (DISPLAY/WAYLAND_DISPLAY unset): running the demo script headless");
        return Ok(Mode::Headless);
    }
    if !has_sdl2() {
        println!(
            "a display is set but SDL2 is missing (apt-get install libsdl2-dev): running the \
             demo script headless"
        );
        return Ok(Mode::Headless);
    }
    Ok(Mode::Window)
}

/// Run the demo with the image at `image`, writing to `<target_dir>/demo/`.
pub fn run(root: &Path, target_dir: &Path, image: &Path) -> Result<(), String> {
    let mode = choose_mode()?;
    let dir = target_dir.join("demo");
    let media = dir.join("results.img");
    // A fresh results media per demo: the day starts with a blank stick.
    if media.exists() {
        fs::remove_file(&media).map_err(|e| format!("cannot remove {}: {e}", media.display()))?;
    }
    let mut command = toolchain::cargo();
    command
        .current_dir(root)
        .args(["run", "--release", "--quiet", "-p", "simulator"]);
    if mode == Mode::Window {
        command.args(["--features", "window"]);
    }
    command
        .arg("--")
        .arg(image)
        .arg("--media")
        .arg(&media)
        .args(["--date", DAY, "--station", STATION]);
    let out = dir.join("run");
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    command
        .arg("--script")
        .arg(root.join(DEMO_SCRIPT))
        .arg("--out")
        .arg(&out)
        .args(["--entropy-seed", ENTROPY_SEED]);
    match mode {
        Mode::Window => {
            println!(
                "the simulator window plays the demo day ({DEMO_SCRIPT}), then stays open: \
                 mouse = touch, arrows/Enter/Backspace = voter keys, F1 activate voter, \
                 F2 cancel, F3 open poll, F4 close poll, F5 power off; operator PIN 123456. \
                 Close the window to finish."
            );
            command.args(["--step-ms", "250"]);
        }
        Mode::Headless => {
            command.arg("--headless");
        }
    }
    toolchain::run(&mut command)?;
    summary(&out, &media, image)
}

fn count_files(dir: &Path, prefix: &str) -> usize {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with(prefix) && name.ends_with(".png")
                })
                .count()
        })
        .unwrap_or(0)
}

fn summary(out: &Path, media: &Path, image: &Path) -> Result<(), String> {
    let receipts = count_files(out, "receipt-");
    let shots = count_files(out, "").saturating_sub(receipts);
    let media_len = fs::metadata(media)
        .map_err(|e| format!("the run wrote no results media {}: {e}", media.display()))?
        .len();
    println!();
    println!("demo done:");
    println!("  screenshots: {shots} in {}", out.display());
    println!("  printed receipts: {receipts} (opening report, voter tickets, closing report) in the same folder");
    println!("  results media: {} ({media_len} bytes)", media.display());
    println!("  boot image: {}", image.display());
    println!(
        "open the results at the office (type the two blanked groups of the session \
         fingerprint from the opening report, {}):",
        out.join("receipt-1.png").display()
    );
    println!(
        "  cargo run -p boot-image -- records open --office-key dev-keys/dev-office.key \
         --image {} {}",
        image.display(),
        PathBuf::from(media).display()
    );
    Ok(())
}
