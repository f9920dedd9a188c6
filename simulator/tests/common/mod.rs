//! Shared helpers of the simulator's end-to-end tests: signed images built with the
//! boot-image library and dev keys, and small ABI-conforming wasm modules written in WAT.
#![allow(dead_code)]

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use boot_image::definition::Definition;
use boot_image::keys::{AuthorityKey, OfficeKey};
use boot_image::{build, sign, ImageSpec, MachineKind, Provenance};
use firmware::election::{Date, Mode};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};

/// The operator PIN of the test images.
pub const PIN: &[u8] = b"123456";
/// The polling day of the demo election.
pub const DAY: &str = "2026-06-07";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The demo election, postcard-encoded.
pub fn demo_election() -> Vec<u8> {
    Definition::load(&workspace_root().join("docs/examples/demo-election.toml"))
        .unwrap()
        .to_postcard()
}

/// The demo election declared official (the image's mode must match the definition's).
pub fn official_demo_election() -> Vec<u8> {
    let path = workspace_root().join("docs/examples/demo-election.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let official = text.replacen("mode = \"training\"", "mode = \"official\"", 1);
    assert_ne!(text, official, "the demo election declares its mode");
    Definition::parse("demo-election (official)", &official)
        .unwrap()
        .to_postcard()
}

/// An unsigned image around `payload` and the demo election.
pub fn unsigned_image(payload: &[u8]) -> Vec<u8> {
    unsigned_image_in_mode(payload, Mode::Training)
}

/// An unsigned image around `payload` and the demo election, in `mode`.
pub fn unsigned_image_in_mode(payload: &[u8], mode: Mode) -> Vec<u8> {
    let election = match mode {
        Mode::Official => official_demo_election(),
        _ => demo_election(),
    };
    let office = OfficeKey::dev().public_key().0;
    let verifier = PinVerifier::derive(
        PIN,
        [0x5a; 16],
        NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
    );
    let spec = ImageSpec {
        event_id: "DEMO-LINDENHOVE-2026",
        mode,
        version: 1,
        valid_from: Date::new(2026, 6, 1).unwrap(),
        valid_until: Date::new(2026, 6, 30).unwrap(),
        provenance: Provenance {
            source_commit: "simulator-tests",
            source_date_epoch: 1_780_000_000,
            builder: "simulator e2e tests",
        },
        payloads: &[(MachineKind::Wasm32, payload)],
        election: &election,
        office_public_key: office,
        pin_verifier: verifier,
    };
    build(&spec).unwrap()
}

/// The image signed by dev authority keys `signers` (1..=3).
pub fn image_signed_by(payload: &[u8], signers: &[u8]) -> Vec<u8> {
    let mut image = unsigned_image(payload);
    for &n in signers {
        image = sign(&image, AuthorityKey::dev(n).key_pair()).unwrap();
    }
    image
}

/// The image signed by a key no boot ROM trusts.
pub fn image_signed_by_stranger(payload: &[u8]) -> Vec<u8> {
    let stranger = AuthorityKey::from_seed([0x42; 32]);
    sign(&unsigned_image(payload), stranger.key_pair()).unwrap()
}

/// The authority key of the official test images: not a dev key, so it may sign official
/// images; trusted only through `--trust`.
pub fn official_authority() -> AuthorityKey {
    AuthorityKey::from_seed([0x0f; 32])
}

/// An official image signed by [`official_authority`].
pub fn official_image(payload: &[u8]) -> Vec<u8> {
    let unsigned = unsigned_image_in_mode(payload, Mode::Official);
    sign(&unsigned, official_authority().key_pair()).unwrap()
}

/// A WAT module with every device ABI export. `boot` is the body of `firmware_boot`
/// (must leave an i32); `extra` is spliced in at module level (imports, functions).
///
/// Its `firmware_handle` fills the 800x480 framebuffer at 0x10000 with the tap's x as colour,
/// flushes it, writes sector 0 and prints one raster line; `firmware_power_off` zeroes the
/// first page of the framebuffer area.
pub fn wat_payload(boot: &str, extra: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "device" "display_flush" (func $flush (param i32 i32 i32 i32 i32) (result i32)))
  (import "device" "media_write" (func $media_write (param i32 i32) (result i32)))
  (import "device" "printer_line" (func $line (param i32) (result i32)))
  (import "device" "entropy_fill" (func $entropy (param i32 i32) (result i32)))
  {extra}
  (memory (export "memory") 32)
  (func (export "firmware_abi_version") (result i32) i32.const 1)
  (func (export "firmware_boot_block") (result i32) i32.const 0x100000)
  (func (export "firmware_boot_block_capacity") (result i32) i32.const 0x100000)
  (func (export "firmware_boot") (result i32) {boot})
  (func (export "firmware_handle") (param $kind i32) (param $a i32) (param $b i32) (result i32)
    (local $i i32)
    (block $done
      (loop $fill
        (br_if $done (i32.ge_u (local.get $i) (i32.const 768000)))
        (i32.store16 (i32.add (i32.const 0x10000) (local.get $i)) (local.get $a))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $fill)))
    (drop (call $entropy (i32.const 0x200) (i32.const 32)))
    (drop (call $media_write (i32.const 0) (i32.const 0x200)))
    (drop (call $line (i32.const 0x200)))
    (call $flush (i32.const 0x10000) (i32.const 0) (i32.const 0) (i32.const 800) (i32.const 480)))
  (func (export "firmware_tick") (result i32) i32.const 0)
  (func (export "firmware_power_fail"))
  (func (export "firmware_power_off")
    (memory.fill (i32.const 0x200) (i32.const 0) (i32.const 32)))
  (func (export "firmware_text_buffer") (result i32) i32.const 0x1000)
  (func (export "firmware_text_capacity") (result i32) i32.const 256)
  (func (export "firmware_element") (param i32) (result i64)
    (if (result i64) (i32.eq (i32.load8_u (i32.const 0x1000)) (i32.const 0x6f))
      (then (i64.const 0x0064_00c8_0010_0010))
      (else (i64.const -1))))
  (func (export "firmware_screen_text") (result i32)
    (i32.store (i32.const 0x1000) (i32.const 0x6b6f6f6c))
    i32.const 4)
)"#
    );
    wat::parse_str(&text).unwrap()
}

/// A WAT payload whose boot succeeds.
pub fn good_wat_payload() -> Vec<u8> {
    wat_payload("i32.const 0", "")
}

/// The built firmware payload, if `SIMULATOR_PAYLOAD` names it (see `cargo xtask payload`).
pub fn firmware_payload() -> Option<Vec<u8>> {
    let path = std::env::var_os("SIMULATOR_PAYLOAD")?;
    Some(
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("SIMULATOR_PAYLOAD={}: {e}", PathBuf::from(&path).display())
        }),
    )
}
