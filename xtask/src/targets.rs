//! `check-targets`: the firmware core builds and links for the simulator payload
//! (wasm32-unknown-unknown) and for bare metal (riscv32imac-unknown-none-elf), heap-free.

use crate::payload::{self, HEAP_MARKERS};
use crate::step;
use crate::toolchain::{self, CrossBuild, RISCV_TARGET, WASM_TARGET};
use std::fs;
use std::path::{Path, PathBuf};

/// The riscv32 link check crate, relative to the workspace root.
pub const LINK_CHECK_DIR: &str = "xtask/link-check";
/// The linked executable's name.
const LINK_CHECK_BIN: &str = "firmware-link-check";
/// The entry symbol, whose presence shows the symbol table was kept.
const ENTRY_SYMBOL: &[u8] = b"_start";

/// Whether `check` also proves the payload reproducible by building it a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reproducibility {
    /// Build the payload again in another target directory and compare the bytes.
    Check,
    /// Build it once: a later step (`repro`) rebuilds everything and compares images.
    Later,
}

/// Run every target check; `target_dir` is the host target directory. Returns the path of
/// the shipped payload.
pub fn check(root: &Path, target_dir: &Path, repro: Reproducibility) -> Result<PathBuf, String> {
    let cross_dir = target_dir.join("cross");
    for target in [WASM_TARGET, RISCV_TARGET] {
        let build = CrossBuild::new(target, &cross_dir);
        step::run(
            &format!("firmware (lib) for {target} [{}]", build.toolchain.name()),
            || {
                toolchain::run(
                    build
                        .cargo("build")
                        .args(["-p", "firmware", "--lib"])
                        .current_dir(root),
                )
            },
        )?;
    }
    let mut shipped = None;
    match repro {
        Reproducibility::Check => {
            step::run("payload: build, check, rebuild elsewhere, compare", || {
                shipped = Some(payload::check_reproducible(root, target_dir)?);
                Ok(())
            })?
        }
        Reproducibility::Later => step::run("payload: build and check", || {
            shipped = Some(payload::build(root, target_dir)?);
            Ok(())
        })?,
    }
    step::run(&format!("payload: clippy for {WASM_TARGET}"), || {
        let build = CrossBuild::new(WASM_TARGET, &cross_dir);
        toolchain::run(
            build
                .clippy()
                .arg("--manifest-path")
                .arg(root.join(payload::CRATE_DIR).join("Cargo.toml"))
                .args(["--release", "--", "-D", "warnings"])
                .current_dir(root),
        )
    })?;
    step::run(
        &format!("link check for {RISCV_TARGET}: links, no heap"),
        || link_check(root, &cross_dir),
    )?;
    shipped.ok_or_else(|| "the payload step produced no payload".to_owned())
}

/// Link the firmware core into a bare-metal riscv32 executable and check its symbols.
fn link_check(root: &Path, cross_dir: &Path) -> Result<(), String> {
    let build = CrossBuild::new(RISCV_TARGET, cross_dir);
    let manifest = root.join(LINK_CHECK_DIR).join("Cargo.toml");
    toolchain::run(
        build
            .clippy()
            .arg("--manifest-path")
            .arg(&manifest)
            .args(["--release", "--", "-D", "warnings"])
            .current_dir(root),
    )?;
    toolchain::run(
        build
            .cargo("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(&manifest)
            .current_dir(root),
    )?;
    let path = build.out_dir("release").join(LINK_CHECK_BIN);
    let elf = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    check_heap_free_elf(&elf).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "link check: {} ({} bytes) links and has no reachable allocation",
        path.display(),
        elf.len()
    );
    Ok(())
}

/// Refuse an executable whose symbol names show a reachable allocation.
fn check_heap_free_elf(elf: &[u8]) -> Result<(), String> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if !contains(elf, ENTRY_SYMBOL) {
        return Err("no symbol table to check (stripped?)".into());
    }
    let found: Vec<&str> = HEAP_MARKERS
        .iter()
        .copied()
        .filter(|marker| contains(elf, marker.as_bytes()))
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "it can allocate: symbols containing {} are linked in",
            found.join(", ")
        ))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_heap_check_finds_allocator_symbols() {
        let mut elf = b"\x7fELF....\0_start\0firmware\0".to_vec();
        assert_eq!(check_heap_free_elf(&elf), Ok(()));
        elf.extend_from_slice(b"_ZN5alloc5alloc18handle_alloc_error17h0E\0");
        let err = check_heap_free_elf(&elf).unwrap_err();
        assert!(err.contains("handle_alloc_error"), "{err}");
        assert!(check_heap_free_elf(b"\x7fELF\0\0")
            .unwrap_err()
            .contains("stripped"));
        assert!(check_heap_free_elf(b"\0asm")
            .unwrap_err()
            .contains("not an ELF"));
    }
}
