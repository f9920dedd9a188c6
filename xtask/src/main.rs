//! `cargo xtask`: the project's build helper.
//!
//! Plain Rust on std (plus the dependency-free `device-abi` names), so it compiles in
//! seconds. Run `cargo xtask help` for the subcommands.

mod demo;
mod image;
mod payload;
mod step;
mod targets;
mod toolchain;
mod wasm;

use std::env;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo           build the payload and the demo image, then boot it in the simulator:
                 a window with a display and SDL2, else the headless demo script
                 (20 voters; screenshots, receipts and media in <target dir>/demo/)
  test           install what is missing, then: rustfmt check, clippy (-D warnings),
                 all tests, check-targets, the simulator tests that need the payload,
                 a fuzz smoke run (10 s per target), repro; stops at the first failure
  check-targets  build the firmware core for wasm32-unknown-unknown and
                 riscv32imac-unknown-none-elf; build, check and rebuild the payload to
                 prove it reproducible; lint it; link-check riscv32 without a heap
  payload        build the wasm payload and print its path
  image          build the payload and the demo boot image (training, signed with the
                 dev keys) into <target dir>/demo/demo.img
  repro          build payload and demo image twice, in two fresh target directories
                 (target/repro/first and target/repro/second), and require identical images
  help           this text

exit codes: 0 ok, 1 a check failed, 2 usage error or missing prerequisites
environment: CARGO_TARGET_DIR (default <workspace>/target); cross builds go to
             <target dir>/cross";

/// Why a command failed, and so the exit code.
enum Failure {
    /// A check or build failed (exit 1).
    Check(String),
    /// Bad usage or a missing prerequisite we may not install (exit 2).
    Usage(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Check(message)
    }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The host target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
            }
        }
        None => root.join("target"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = workspace_root();
    let target_dir = target_dir(&root);
    let command = args.first().map(String::as_str).unwrap_or("help");
    if args.len() > 1 {
        eprintln!("xtask: `{command}` takes no arguments\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let result = match command {
        "test" => test(&root, &target_dir),
        "check-targets" => targets::check(&root, &target_dir, targets::Reproducibility::Check)
            .map(|_| ())
            .map_err(Failure::Check),
        "payload" => payload::build(&root, &target_dir)
            .map(|path| println!("{}", path.display()))
            .map_err(Failure::Check),
        "image" => demo_image(&root, &target_dir).map_err(Failure::Check),
        "repro" => image::repro(&root).map_err(Failure::Check),
        "demo" => demo(&root, &target_dir),
        "help" | "-h" | "--help" => {
            // Not `println!`: `cargo xtask help | head` must not panic on a closed pipe.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!(
            "unknown command `{other}`\n\n{USAGE}"
        ))),
    };
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            println!("\nxtask {command}: ok ({seconds:.1} s)");
            ExitCode::SUCCESS
        }
        Err(Failure::Check(message)) => {
            eprintln!("\nxtask {command}: FAILED after {seconds:.1} s\n{message}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("xtask {command}: {message}");
            ExitCode::from(2)
        }
    }
}

/// Crates outside the host workspace, each its own workspace: (manifest dir, what it is).
const EXTRA_CRATES: &[(&str, &str)] = &[
    (payload::CRATE_DIR, "the wasm payload"),
    (targets::LINK_CHECK_DIR, "the riscv32 link check"),
];

/// Install the Debian packages and rustup components the builds need (as root), or say
/// which command to run (exit 2).
fn install_prerequisites() -> Result<(), Failure> {
    let mut install_failure = None;
    step::run("install prerequisites", || {
        toolchain::install().map_err(|e| {
            let message = match &e {
                toolchain::InstallError::NeedsRoot(m) | toolchain::InstallError::Failed(m) => {
                    m.clone()
                }
            };
            install_failure = Some(e);
            message
        })
    })
    .map_err(|message| match install_failure {
        Some(toolchain::InstallError::NeedsRoot(_)) => Failure::Usage(message),
        _ => Failure::Check(message),
    })?;
    Ok(())
}

/// `cargo xtask test`: install, fmt, clippy, tests, check-targets.
fn test(root: &Path, target_dir: &Path) -> Result<(), Failure> {
    install_prerequisites()?;
    let cargo_in_root = |args: &[&str]| {
        let mut command = toolchain::cargo();
        command.args(args).current_dir(root);
        command
    };
    step::run("rustfmt --check", || {
        toolchain::run(&mut cargo_in_root(&["fmt", "--all", "--", "--check"]))?;
        for (dir, _) in EXTRA_CRATES {
            let manifest = root.join(dir).join("Cargo.toml");
            let mut command = cargo_in_root(&["fmt", "--manifest-path"]);
            command.arg(manifest).args(["--", "--check"]);
            toolchain::run(&mut command)?;
        }
        Ok(())
    })?;
    step::run("clippy -D warnings", || {
        toolchain::run(&mut cargo_in_root(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        // The simulator's window, behind a feature the workspace build leaves off.
        toolchain::run(&mut cargo_in_root(&[
            "clippy",
            "-p",
            "simulator",
            "--features",
            "window",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        // The payload's host-testable code; its wasm-only parts are linted by check-targets.
        let manifest = root.join(payload::CRATE_DIR).join("Cargo.toml");
        let mut command = cargo_in_root(&["clippy", "--manifest-path"]);
        command
            .arg(manifest)
            .args(["--tests", "--", "-D", "warnings"]);
        toolchain::run(&mut command)
    })?;
    step::run("tests", || {
        toolchain::run(&mut cargo_in_root(&["test", "--workspace"]))?;
        let manifest = root.join(payload::CRATE_DIR).join("Cargo.toml");
        let mut command = cargo_in_root(&["test", "--manifest-path"]);
        command.arg(manifest);
        toolchain::run(&mut command)
    })?;
    let mut payload = None;
    step::run("check-targets", || {
        payload = Some(targets::check(
            root,
            target_dir,
            targets::Reproducibility::Later,
        )?);
        Ok(())
    })?;
    step::run(
        "simulator and end-to-end tests that run the payload",
        || {
            let payload = payload.as_ref().ok_or("no payload was built")?;
            let mut command =
                cargo_in_root(&["test", "-p", "simulator", "-p", "e2e", "--", "--ignored"]);
            command.env(SIMULATOR_PAYLOAD_ENV, payload);
            toolchain::run(&mut command)
        },
    )?;
    step::run(
        "simulator window under a virtual display (xvfb-run)",
        || {
            let mut command = std::process::Command::new("xvfb-run");
            command
                .args(["-a", "-s", "-screen 0 1024x768x24"])
                .arg(toolchain::cargo().get_program())
                .args([
                    "test",
                    "-p",
                    "simulator",
                    "--features",
                    "window",
                    "--test",
                    "window",
                    "--",
                    "--ignored",
                ])
                .current_dir(root);
            toolchain::run(&mut command)
        },
    )?;
    for (target, what) in [
        ("parse", "boot image parser"),
        ("sealed_record", "sealed record readers"),
    ] {
        step::run(&format!("fuzz smoke: {what} (libFuzzer, 10 s)"), || {
            let script = root.join("boot-image/fuzz/fuzz-stable.sh");
            let mut command = std::process::Command::new("sh");
            command
                .arg(script)
                .args([target, "10"])
                .env("CARGO_TARGET_DIR", target_dir.join("fuzz"))
                .current_dir(root);
            toolchain::run(&mut command)
        })?;
    }
    step::run("repro: payload and demo image built twice", || {
        image::repro(root)
    })?;
    Ok(())
}

/// The variable naming the payload for the simulator's tests that run it.
const SIMULATOR_PAYLOAD_ENV: &str = "SIMULATOR_PAYLOAD";

/// `cargo xtask image`: the payload, then the demo image; prints the image path.
fn demo_image(root: &Path, target_dir: &Path) -> Result<(), String> {
    let payload = payload::build(root, target_dir)?;
    let out = target_dir.join(image::DEMO_IMAGE);
    image::build_demo_image(root, target_dir, &payload, &out)?;
    println!("{}", out.display());
    Ok(())
}

/// `cargo xtask demo`: install what is missing, build payload and demo image, then run the
/// simulator on it (see `demo.rs`).
fn demo(root: &Path, target_dir: &Path) -> Result<(), Failure> {
    install_prerequisites()?;
    let payload = payload::build(root, target_dir).map_err(Failure::Check)?;
    let image = target_dir.join(image::DEMO_IMAGE);
    image::build_demo_image(root, target_dir, &payload, &image).map_err(Failure::Check)?;
    demo::run(root, target_dir, &image).map_err(Failure::Check)
}
