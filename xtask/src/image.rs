//! The demo boot image, and the check that images are reproducible.
//!
//! `build_demo_image` builds the `boot-image` tool in the given target directory and runs it
//! on the committed inputs: `docs/examples/demo-election.toml`, the development keys in
//! `dev-keys/` (all three authority keys sign; the development office key receives the
//! records) and the development operator PIN. Nothing in the image comes from the clock:
//! the build time is `SOURCE_DATE_EPOCH`, else the commit time of `HEAD`; the PIN salt is
//! derived from the event id, image version and office key.
//!
//! `repro` builds everything twice, payload included, in two fresh target directories and
//! requires byte-identical images.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where `cargo xtask image` writes the demo image, relative to the target directory.
pub const DEMO_IMAGE: &str = "demo/demo.img";
/// The demo election definition, relative to the workspace root.
pub const DEMO_ELECTION: &str = "docs/examples/demo-election.toml";
/// The development keys, relative to the workspace root.
pub const DEV_KEYS_DIR: &str = "dev-keys";
/// Authority keys that sign the demo image (all development keys: any k-of-3 policy accepts it).
pub const DEMO_SIGNERS: &[&str] = &[
    "dev-authority-1.key",
    "dev-authority-2.key",
    "dev-authority-3.key",
];
/// The development office public key file.
pub const DEMO_OFFICE_KEY: &str = "dev-office.pub";
/// The development operator PIN file.
pub const DEMO_PIN_FILE: &str = "dev-operator.pin";
/// Version of the demo image.
pub const DEMO_VERSION: u32 = 1;
/// The two target directories of `repro`, relative to `target/`.
const REPRO_DIRS: [&str; 2] = ["repro/first", "repro/second"];

fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what}: failed ({status})"))
    }
}

/// Standard output of a command that must succeed.
fn output(command: &mut Command, what: &str) -> Result<String, String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what}: failed ({})", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{what}: output is not UTF-8"))
}

/// Output of a git command in the workspace, trimmed; `None` outside a git checkout.
fn git(workspace_root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(workspace_root)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The source commit for the provenance: `HEAD`, with `-dirty` if the tree has changes.
fn source_commit(workspace_root: &Path) -> String {
    match git(workspace_root, &["rev-parse", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = git(workspace_root, &["status", "--porcelain"])
                .is_some_and(|status| !status.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        _ => "unrecorded".to_owned(),
    }
}

/// The build time: `SOURCE_DATE_EPOCH`, else the commit time of `HEAD` (never the clock).
fn source_date_epoch(workspace_root: &Path) -> Result<String, String> {
    if let Some(value) = env::var_os("SOURCE_DATE_EPOCH") {
        let text = value.to_string_lossy().into_owned();
        text.parse::<u64>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds"))?;
        return Ok(text);
    }
    git(workspace_root, &["log", "-1", "--format=%ct"])
        .filter(|t| t.parse::<u64>().is_ok())
        .ok_or_else(|| {
            "no build time: set SOURCE_DATE_EPOCH (outside a git checkout there is no commit \
             time to use)"
                .to_owned()
        })
}

/// Build the `boot-image` tool in `target_dir`; returns the executable's path.
fn build_tool(workspace_root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    run(
        cargo()
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "boot-image",
                "--bin",
                "boot-image",
            ])
            .arg("--target-dir")
            .arg(target_dir)
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(workspace_root),
        "cargo build -p boot-image",
    )?;
    let tool = target_dir
        .join("release")
        .join(format!("boot-image{}", env::consts::EXE_SUFFIX));
    if tool.is_file() {
        Ok(tool)
    } else {
        Err(format!("{}: not built", tool.display()))
    }
}

/// Build the demo image from the committed inputs and `payload_wasm`, writing `out`.
///
/// The `boot-image` tool is built in `target_dir` (release profile) and run from
/// `workspace_root`.
pub fn build_demo_image(
    workspace_root: &Path,
    target_dir: &Path,
    payload_wasm: &Path,
    out: &Path,
) -> Result<(), String> {
    let tool = build_tool(workspace_root, target_dir)?;
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let keys = workspace_root.join(DEV_KEYS_DIR);
    let mut payload = OsString::from("wasm32=");
    payload.push(payload_wasm);
    let mut command = Command::new(&tool);
    command
        .arg("build")
        .arg("--election")
        .arg(workspace_root.join(DEMO_ELECTION))
        .arg("--payload")
        .arg(payload)
        .arg("--pin-file")
        .arg(keys.join(DEMO_PIN_FILE))
        .arg("--office-key")
        .arg(keys.join(DEMO_OFFICE_KEY))
        .arg("--version")
        .arg(DEMO_VERSION.to_string())
        .arg("--source-commit")
        .arg(source_commit(workspace_root))
        .arg("--source-date-epoch")
        .arg(source_date_epoch(workspace_root)?)
        .arg("-o")
        .arg(out)
        .env_remove("SOURCE_DATE_EPOCH")
        .current_dir(workspace_root);
    for signer in DEMO_SIGNERS {
        command.arg("--sign").arg(keys.join(signer));
    }
    run(&mut command, "boot-image build (demo image)")?;
    Ok(())
}

/// The SHA-256 of `image` in hex, as `boot-image inspect` (built in `target_dir`) reports it.
fn image_sha256(target_dir: &Path, image: &Path) -> Result<String, String> {
    let tool = target_dir
        .join("release")
        .join(format!("boot-image{}", env::consts::EXE_SUFFIX));
    let text = output(
        Command::new(tool).arg("inspect").arg(image),
        "boot-image inspect",
    )?;
    text.lines()
        .find_map(|line| line.strip_prefix("sha-256:"))
        .map(|digest| digest.trim().to_owned())
        .ok_or_else(|| format!("boot-image inspect {}: no sha-256 line", image.display()))
}

/// Offset of the first byte where `a` and `b` differ (the shorter length if one is a
/// prefix of the other), or `None` if they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// The state of the sources: `HEAD` and every change against it (tracked files' contents,
/// untracked files' names). `None` outside a git checkout.
fn source_state(workspace_root: &Path) -> Option<String> {
    let head = git(workspace_root, &["rev-parse", "HEAD"])?;
    let diff = git(workspace_root, &["diff", "HEAD", "--binary"])?;
    let untracked = git(
        workspace_root,
        &["ls-files", "--others", "--exclude-standard"],
    )?;
    Some(format!("{head}\n{diff}\n{untracked}"))
}

/// Build the payload and the demo image twice, in two fresh target directories, and require
/// byte-identical images.
///
/// If the sources change while it runs (a commit, an edit), differing images prove nothing
/// and the error says so.
pub fn repro(workspace_root: &Path) -> Result<(), String> {
    let target = workspace_root.join("target");
    let sources_before = source_state(workspace_root);
    let mut images = Vec::new();
    for dir in REPRO_DIRS {
        let target_dir = target.join(dir);
        if target_dir.exists() {
            fs::remove_dir_all(&target_dir)
                .map_err(|e| format!("cannot empty {}: {e}", target_dir.display()))?;
        }
        fs::create_dir_all(&target_dir)
            .map_err(|e| format!("cannot create {}: {e}", target_dir.display()))?;
        println!("repro: building in {}", target_dir.display());
        let payload = crate::payload::build(workspace_root, &target_dir)?;
        let out = target_dir.join(DEMO_IMAGE);
        build_demo_image(workspace_root, &target_dir, &payload, &out)?;
        let bytes = fs::read(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        let digest = image_sha256(&target_dir, &out)?;
        println!(
            "repro: {} ({} bytes) sha-256 {digest}",
            out.display(),
            bytes.len()
        );
        images.push((out, bytes, digest));
    }
    let [(first_path, first, first_digest), (second_path, second, second_digest)] =
        <[_; 2]>::try_from(images).map_err(|_| "repro: expected two images".to_owned())?;
    match first_difference(&first, &second) {
        None => {
            println!("repro: identical images, sha-256 {first_digest}");
            Ok(())
        }
        Some(offset) => {
            let changed = source_state(workspace_root) != sources_before;
            Err(format!(
                "repro: images differ from byte offset {offset} (0x{offset:x}):\n  {} ({} bytes) \
                 sha-256 {first_digest}\n  {} ({} bytes) sha-256 {second_digest}{}",
                first_path.display(),
                first.len(),
                second_path.display(),
                second.len(),
                if changed {
                    "\n  the sources changed while repro ran, so this proves nothing: \
                     rerun on an unchanging tree"
                } else {
                    ""
                }
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_finds_the_offset() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
        assert_eq!(first_difference(b"", b"x"), Some(0));
    }

    #[test]
    fn committed_demo_inputs_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert!(root.join(DEMO_ELECTION).is_file());
        let keys = root.join(DEV_KEYS_DIR);
        for file in DEMO_SIGNERS
            .iter()
            .chain([&DEMO_OFFICE_KEY, &DEMO_PIN_FILE])
        {
            assert!(keys.join(file).is_file(), "{file}");
        }
    }
}
