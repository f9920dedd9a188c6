//! The toolchain: host prerequisites (Debian packages, rustup components) and the cargo
//! invocations for the cross targets.
//!
//! Cross builds use the rustup target when `rustup target list --installed` has it, and
//! otherwise Debian's `rustc-web` (a complete rustc with the target's code generator) with
//! `-Z build-std`. See DEVELOPERS.md for the recipe spelled out.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian packages the checks need, with why:
/// - `rustc-web`, `rust-web-src`: a rustc that can build `core`/`alloc` for the cross
///   targets from source (`-Z build-std`) when rustup has no target installed;
/// - `rust-web-clippy`: clippy for that rustc, to lint the payload for wasm32;
/// - `clang`, `llvm`: compile and archive ring's C and assembly for the cross targets;
/// - `lld-22`: `rust-lld`, the linker for wasm32 and riscv32;
/// - `xxd`: turns the boot image test vectors into seeds for the fuzz smoke run;
/// - `libsdl2-dev`, `pkg-config`: the simulator's window (feature `window`);
/// - `xvfb`, `xauth`: a virtual display for the window tests (`xvfb-run`).
pub const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "rust-web-clippy",
    "clang",
    "llvm",
    "lld-22",
    "xxd",
    "libsdl2-dev",
    "pkg-config",
    "xvfb",
    "xauth",
];

/// Debian's rustc (package `rustc-web`).
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Debian's clippy (package `rust-web-clippy`).
pub const DEBIAN_CARGO_CLIPPY: &str = "/usr/bin/cargo-clippy";
/// Where Debian's `rust-web-src` puts the standard library sources.
pub const DEBIAN_RUST_SRC: &str = "/usr/lib/rustlib/src/rust";

/// The simulator payload's target.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The bare-metal board's target.
pub const RISCV_TARGET: &str = "riscv32imac-unknown-none-elf";

/// C flags for ring's C and assembly on bare targets: no libc headers.
const RING_CFLAGS: &str = "-DRING_CORE_NOSTDLIBINC=1 -ffreestanding -nostdlibinc";

/// Environment variables that would change a cross build behind our back.
const CLEARED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_BOOTSTRAP",
];

/// The `cargo` to run: the one that runs us, else `cargo` on the PATH.
pub fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Run `command` with inherited output; an error names it and its exit status.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = describe(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Run `command` quietly and return its standard output, or `None` if it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command as a shell-like line (for logs and errors).
pub fn describe(command: &Command) -> String {
    let mut line = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            line.push_str(&format!(
                "{}={} ",
                key.to_string_lossy(),
                quote(&value.to_string_lossy())
            ));
        }
    }
    line.push_str(&command.get_program().to_string_lossy());
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line
}

fn quote(word: &str) -> String {
    // CARGO_ENCODED_RUSTFLAGS separates flags with 0x1f; show it.
    let word = &word.replace('\u{1f}', "\\x1f");
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Which compiler builds a cross target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// The active rustup toolchain with the target's prebuilt standard library.
    Rustup,
    /// Debian's `rustc-web`, building `core` and `alloc` from `rust-web-src`.
    Debian,
}

impl Toolchain {
    /// The toolchain for `target`: rustup if it has the target installed, else Debian.
    pub fn for_target(target: &str) -> Toolchain {
        let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
            .unwrap_or_default();
        if installed.lines().any(|line| line.trim() == target) {
            Toolchain::Rustup
        } else {
            Toolchain::Debian
        }
    }

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Toolchain::Rustup => "rustup target",
            Toolchain::Debian => "Debian rustc-web + build-std",
        }
    }
}

/// A cargo invocation for one cross target, with its own target directory.
#[derive(Debug, Clone)]
pub struct CrossBuild {
    /// The target triple.
    pub target: &'static str,
    /// Which compiler builds it.
    pub toolchain: Toolchain,
    /// Cargo's `--target-dir`.
    pub target_dir: PathBuf,
}

impl CrossBuild {
    /// A cross build of `target` into `target_dir`, with the toolchain found on this machine.
    pub fn new(target: &'static str, target_dir: &Path) -> CrossBuild {
        CrossBuild {
            target,
            toolchain: Toolchain::for_target(target),
            target_dir: target_dir.to_path_buf(),
        }
    }

    /// Environment for ring's C code on this target, and the Debian compiler if used.
    fn configure(&self, command: &mut Command) {
        for key in CLEARED_ENV {
            command.env_remove(key);
        }
        let t = self.target.replace('-', "_");
        command
            .env(format!("CC_{t}"), "clang")
            .env(format!("AR_{t}"), "llvm-ar")
            .env(format!("CFLAGS_{t}"), RING_CFLAGS);
        if self.toolchain == Toolchain::Debian {
            command
                .env("RUSTC", DEBIAN_RUSTC)
                .env("RUSTC_BOOTSTRAP", "1");
        }
    }

    /// Arguments after the cargo subcommand: target, target dir and build-std if needed.
    fn target_args(&self, command: &mut Command) {
        command
            .arg("--target")
            .arg(self.target)
            .arg("--target-dir")
            .arg(&self.target_dir);
        if self.toolchain == Toolchain::Debian {
            command.args(["-Z", "build-std=core,alloc"]);
        }
    }

    /// `cargo <subcommand> --target .. --target-dir ..` with the cross environment.
    pub fn cargo(&self, subcommand: &str) -> Command {
        let mut command = cargo();
        command.arg(subcommand);
        self.target_args(&mut command);
        self.configure(&mut command);
        command
    }

    /// `cargo clippy` for this target: rustup's clippy, or Debian's `cargo-clippy` (which
    /// matches Debian's rustc) driving our cargo.
    pub fn clippy(&self) -> Command {
        let mut command = match self.toolchain {
            Toolchain::Rustup => {
                let mut command = cargo();
                command.arg("clippy");
                command
            }
            Toolchain::Debian => {
                let mut command = Command::new(DEBIAN_CARGO_CLIPPY);
                command.arg("clippy");
                // Debian's cargo-clippy runs the cargo named by $CARGO.
                command.env("CARGO", cargo().get_program());
                command
            }
        };
        self.target_args(&mut command);
        self.configure(&mut command);
        command
    }

    /// The directory cargo writes `profile` artifacts of this target to.
    pub fn out_dir(&self, profile: &str) -> PathBuf {
        self.target_dir.join(self.target).join(profile)
    }
}

/// Whether the process runs as root (it may then install packages itself).
fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// Debian packages from [`DEBIAN_PACKAGES`] that are not installed.
fn missing_packages() -> Vec<&'static str> {
    DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|package| {
            let status = output(Command::new("dpkg-query").args([
                "--show",
                "--showformat=${Status}",
                package,
            ]));
            status.as_deref() != Some("install ok installed")
        })
        .collect()
}

/// What to tell a user who is not root about `missing` packages.
fn needs_root_message(missing: &[&str]) -> String {
    let list = missing.join(" ");
    format!(
        "missing Debian packages: {list}; install them as root with:\n  apt-get update && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {list}"
    )
}

/// Why the prerequisites could not be installed.
#[derive(Debug)]
pub enum InstallError {
    /// Something is missing and we may not install it; the message has the command.
    NeedsRoot(String),
    /// An install command failed.
    Failed(String),
}

/// Install what the checks need and is missing: Debian packages (as root, through apt) and
/// the rustfmt and clippy components (through rustup).
pub fn install() -> Result<(), InstallError> {
    if output(Command::new("dpkg-query").arg("--version")).is_none() {
        println!(
            "not a Debian system (no dpkg-query): make sure these are installed: {}",
            DEBIAN_PACKAGES.join(" ")
        );
    } else {
        let missing = missing_packages();
        if missing.is_empty() {
            println!("Debian packages present: {}", DEBIAN_PACKAGES.join(" "));
        } else if is_root() {
            run(Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"))
            .map_err(InstallError::Failed)?;
            run(Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"))
            .map_err(InstallError::Failed)?;
        } else {
            return Err(InstallError::NeedsRoot(needs_root_message(&missing)));
        }
    }
    let has = |tool: &str| output(cargo().args([tool, "--version"])).is_some();
    if has("fmt") && has("clippy") {
        println!("rustup components present: rustfmt clippy");
    } else {
        run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))
            .map_err(InstallError::Failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_build_sets_ring_environment_and_target() {
        let build = CrossBuild {
            target: RISCV_TARGET,
            toolchain: Toolchain::Debian,
            target_dir: PathBuf::from("/tmp/x"),
        };
        let line = describe(&build.cargo("build"));
        assert!(
            line.contains("CC_riscv32imac_unknown_none_elf=clang"),
            "{line}"
        );
        assert!(
            line.contains("AR_riscv32imac_unknown_none_elf=llvm-ar"),
            "{line}"
        );
        assert!(
            line.contains("CFLAGS_riscv32imac_unknown_none_elf='-DRING_CORE_NOSTDLIBINC=1"),
            "{line}"
        );
        assert!(line.contains("RUSTC=/usr/bin/rustc"), "{line}");
        assert!(line.contains("RUSTC_BOOTSTRAP=1"), "{line}");
        assert!(
            line.ends_with(
                "build --target riscv32imac-unknown-none-elf --target-dir /tmp/x \
                 -Z build-std=core,alloc"
            ),
            "{line}"
        );
    }

    #[test]
    fn rustup_cross_build_uses_the_normal_compiler() {
        let build = CrossBuild {
            target: WASM_TARGET,
            toolchain: Toolchain::Rustup,
            target_dir: PathBuf::from("/tmp/y"),
        };
        let line = describe(&build.cargo("build"));
        assert!(!line.contains("RUSTC="), "{line}");
        assert!(!line.contains("build-std"), "{line}");
        assert!(line.contains("CC_wasm32_unknown_unknown=clang"), "{line}");
    }

    #[test]
    fn non_root_users_get_the_exact_install_command() {
        let message = needs_root_message(&["clang", "lld-22"]);
        assert!(message.starts_with("missing Debian packages: clang lld-22;"));
        assert!(message.ends_with(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
             --no-install-recommends clang lld-22"
        ));
    }

    #[test]
    fn quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(quote("--target"), "--target");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
