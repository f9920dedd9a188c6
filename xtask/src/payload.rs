//! The simulator payload: build `firmware/wasm` for wasm32, check it, and write the shipped
//! bytes.
//!
//! The build is reproducible: paths of the workspace, the cargo home, the target directory
//! and the standard library sources are remapped, there is no debug info, one codegen unit
//! and fat LTO (see `firmware/wasm/Cargo.toml`). The linker output is then checked:
//! - **imports only from the device ABI**: functions of module `device` named in
//!   `device_abi::import::ALL`, so the payload can reach nothing else outside its sandbox.
//!   A reachable `getrandom` call would not even link (no `__getrandom_custom` is
//!   registered), so ring's `SystemRandom` cannot be used;
//! - **no heap**: the payload's global allocator has no memory, so every allocation fails
//!   and ends in `handle_alloc_error`; if that function is reachable from an export, the
//!   linker keeps it and its name is in the `name` section, and the build is refused;
//! - **the exports**: `memory` and `firmware_abi_version` exist, and every device-ABI export
//!   has the right kind.
//!
//! The shipped payload is the linker output without custom sections (names, producers,
//! debug info of C objects) and with only the device-ABI exports (the linker also exports
//! `__data_end`, `__heap_base` and `#[no_mangle]` functions of dependencies).

use crate::toolchain::{self, CrossBuild, WASM_TARGET};
use crate::wasm::{Kind, Module};
use device_abi::{export, import, IMPORT_MODULE};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The payload crate, relative to the workspace root.
pub const CRATE_DIR: &str = "firmware/wasm";
/// The cargo profile the payload is built with.
const PROFILE: &str = "release";
/// The linker's output file name.
const LINKED_FILE: &str = "firmware_wasm.wasm";
/// Where the shipped payload goes, relative to the target directory.
pub const SHIPPED_FILE: &str = "payload/firmware-wasm32.wasm";

/// Exports the shipped payload may have: the device ABI's. The linker also exports
/// `__data_end`, `__heap_base` and dependencies' `#[no_mangle]` functions; they are dropped.
pub fn abi_exports() -> Vec<(&'static str, Kind)> {
    let mut exports = vec![(export::MEMORY, Kind::Memory)];
    exports.extend(export::FUNCTIONS.iter().map(|name| (*name, Kind::Function)));
    exports
}

/// Exports every payload must have, whatever else it implements.
pub const REQUIRED_EXPORTS: &[&str] = &[export::MEMORY, export::ABI_VERSION];

/// Function names whose presence in the linked payload means an allocation is reachable.
pub const HEAP_MARKERS: &[&str] = &[
    "handle_alloc_error",
    "alloc_error_handler",
    "__rust_alloc",
    "__rg_alloc",
    "__rdl_alloc",
];

/// Path prefixes hidden from the compiler output, with what they become.
fn remapped_prefixes(workspace_root: &Path, target_dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    // Order matters: rustc applies the last matching prefix, so the most specific comes last
    // (the target directory may be inside the workspace).
    let mut prefixes = vec![(workspace_root.to_path_buf(), "/project")];
    if let Some(cargo_home) = cargo_home {
        prefixes.push((cargo_home, "/cargo"));
    }
    prefixes.push((PathBuf::from(toolchain::DEBIAN_RUST_SRC), "/rust-src"));
    prefixes.push((target_dir.to_path_buf(), "/target"));
    prefixes
}

/// Build the payload, check it and write the shipped bytes; returns their path.
///
/// `target_dir` is the host target directory (`target/` or `$CARGO_TARGET_DIR`): the cross
/// build goes to `<target_dir>/cross`, the payload to `<target_dir>/payload/`.
pub fn build(workspace_root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let cross_dir = target_dir.join("cross");
    let build = CrossBuild::new(WASM_TARGET, &cross_dir);
    println!("payload: {WASM_TARGET} with {}", build.toolchain.name());
    let manifest = workspace_root.join(CRATE_DIR).join("Cargo.toml");
    let mut command = build.cargo("build");
    command
        .arg("--release")
        .arg("--manifest-path")
        .arg(&manifest)
        .current_dir(workspace_root);
    let prefixes = remapped_prefixes(workspace_root, &cross_dir);
    // The stack size is stated, not left to the linker's default: the payload zeroes its
    // whole stack at power-off (`firmware/wasm/src/lib.rs`, `STACK_BYTES`).
    let mut rustflags = vec![
        "-C".to_owned(),
        "debuginfo=0".to_owned(),
        "-C".to_owned(),
        "link-arg=-zstack-size=1048576".to_owned(),
    ];
    let mut cflags = String::new();
    for (from, to) in &prefixes {
        rustflags.push(format!("--remap-path-prefix={}={to}", from.display()));
        cflags.push_str(&format!(" -ffile-prefix-map={}={to}", from.display()));
    }
    // Separated by 0x1f so that paths with spaces survive.
    command.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\u{1f}"));
    let t = WASM_TARGET.replace('-', "_");
    let base_cflags = command
        .get_envs()
        .find(|(key, _)| key.to_str() == Some(&format!("CFLAGS_{t}")))
        .and_then(|(_, value)| value.map(|v| v.to_string_lossy().into_owned()))
        .unwrap_or_default();
    command.env(format!("CFLAGS_{t}"), format!("{base_cflags}{cflags}"));
    toolchain::run(&mut command)?;

    let linked_path = build.out_dir(PROFILE).join(LINKED_FILE);
    let linked = fs::read(&linked_path).map_err(|e| {
        format!(
            "cannot read the linked payload {}: {e}",
            linked_path.display()
        )
    })?;
    let shipped = check_and_strip(&linked)
        .map_err(|e| format!("payload {} refused: {e}", linked_path.display()))?;
    let module = Module::parse(&shipped)?;
    let (imports, exports) = (module.imports()?.len(), module.exports()?.len());
    let out = target_dir.join(SHIPPED_FILE);
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(&out, &shipped).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "payload: {} ({} bytes; {imports} device imports, {exports} device exports, \
         no reachable allocation)",
        out.display(),
        shipped.len()
    );
    Ok(out)
}

/// Check a linked payload (imports, heap, exports) and return the shipped bytes.
pub fn check_and_strip(linked: &[u8]) -> Result<Vec<u8>, String> {
    let module = Module::parse(linked)?;
    let unexpected: Vec<String> = module
        .imports()?
        .into_iter()
        .filter(|i| {
            !(i.module == IMPORT_MODULE
                && i.kind == Kind::Function
                && import::ALL.contains(&i.name.as_str()))
        })
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "it imports {} outside the device ABI",
            unexpected.join(", ")
        ));
    }
    let names = module.function_names()?;
    if names.is_empty() {
        return Err("the linked payload has no function names to check for heap use".into());
    }
    let allocating: Vec<&String> = names
        .iter()
        .filter(|name| HEAP_MARKERS.iter().any(|marker| name.contains(marker)))
        .collect();
    if !allocating.is_empty() {
        return Err(format!(
            "it can allocate: {} reachable from an export",
            allocating
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let exports = module.exports()?;
    let abi = abi_exports();
    for export in &exports {
        if let Some((_, kind)) = abi.iter().find(|(name, _)| *name == export.name) {
            if *kind != export.kind {
                return Err(format!(
                    "the ABI export `{}` is a {:?}, not a {kind:?}",
                    export.name, export.kind
                ));
            }
        }
    }
    for name in REQUIRED_EXPORTS {
        if !exports.iter().any(|e| e.name == *name) {
            return Err(format!("the ABI export `{name}` is missing"));
        }
    }
    let keep: Vec<&str> = abi.iter().map(|(name, _)| *name).collect();
    module.stripped(&keep)
}

/// Build the payload in `target_dir` and again in `<target_dir>/payload-repro`, and compare the
/// bytes; returns the path of the first.
pub fn check_reproducible(workspace_root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let first = build(workspace_root, target_dir)?;
    let second_dir = target_dir.join("payload-repro");
    let second = build(workspace_root, &second_dir)?;
    let a = fs::read(&first).map_err(|e| format!("cannot read {}: {e}", first.display()))?;
    let b = fs::read(&second).map_err(|e| format!("cannot read {}: {e}", second.display()))?;
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        return Err(format!(
            "payload is not reproducible: {} ({} bytes) and {} ({} bytes) differ from byte {at}",
            first.display(),
            a.len(),
            second.display(),
            b.len()
        ));
    }
    println!(
        "payload: reproducible ({} bytes identical from {} and {})",
        a.len(),
        target_dir.display(),
        second_dir.display()
    );
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::tests::module;

    /// The payload's exports today, as `(name, kind byte)`.
    fn payload_exports() -> Vec<(&'static str, u8)> {
        vec![
            (export::MEMORY, 2),
            (export::ABI_VERSION, 0),
            (export::BOOT_BLOCK, 0),
            (export::BOOT, 0),
        ]
    }

    #[test]
    fn ships_an_abi_only_module_without_names() {
        let mut exports = payload_exports();
        exports.push(("ring_core_0_17_14__bn_mul_mont", 0));
        exports.push(("__heap_base", 3));
        let linked = module(&[], &exports, &["firmware_boot", "core::fmt::write"]);
        let shipped = check_and_strip(&linked).unwrap();
        let shipped = Module::parse(&shipped).unwrap();
        let names: Vec<String> = shipped
            .exports()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        let expected: Vec<&str> = payload_exports().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, expected);
        assert!(shipped.function_names().unwrap().is_empty());
    }

    #[test]
    fn accepts_device_imports_and_refuses_others() {
        let device = [
            (IMPORT_MODULE, import::ENTROPY_FILL),
            (IMPORT_MODULE, import::LOG),
        ];
        assert!(check_and_strip(&module(&device, &payload_exports(), &["f"])).is_ok());
        let linked = module(&[("env", "__getrandom_custom")], &payload_exports(), &["f"]);
        let err = check_and_strip(&linked).unwrap_err();
        assert!(err.contains("imports env.__getrandom_custom"), "{err}");
        let linked = module(
            &[(IMPORT_MODULE, "network_send")],
            &payload_exports(),
            &["f"],
        );
        let err = check_and_strip(&linked).unwrap_err();
        assert!(err.contains("device.network_send"), "{err}");
    }

    #[test]
    fn refuses_a_reachable_allocation() {
        let names = [
            "firmware_boot",
            "_RNvNtCs4IGM2d01JyL_5alloc5alloc18handle_alloc_error",
        ];
        let err = check_and_strip(&module(&[], &payload_exports(), &names)).unwrap_err();
        assert!(err.contains("can allocate"), "{err}");
        assert!(err.contains("handle_alloc_error"), "{err}");
    }

    #[test]
    fn refuses_a_module_without_names_or_with_a_missing_export() {
        let err = check_and_strip(&module(&[], &payload_exports(), &[])).unwrap_err();
        assert!(err.contains("no function names"), "{err}");
        let mut exports = payload_exports();
        exports.retain(|(name, _)| *name != export::ABI_VERSION);
        let err = check_and_strip(&module(&[], &exports, &["f"])).unwrap_err();
        assert!(err.contains("`firmware_abi_version`"), "{err}");
        let wrong_kind = [(export::MEMORY, 0), (export::ABI_VERSION, 0)];
        let err = check_and_strip(&module(&[], &wrong_kind, &["f"])).unwrap_err();
        assert!(err.contains("is a Function, not a Memory"), "{err}");
    }

    #[test]
    fn remaps_the_most_specific_prefix_last() {
        let prefixes = remapped_prefixes(Path::new("/w"), Path::new("/w/target/cross"));
        assert_eq!(prefixes.first().unwrap().1, "/project");
        assert_eq!(prefixes.last().unwrap().1, "/target");
    }
}
