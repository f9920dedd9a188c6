//! Signed boot images for the offline voting terminal, and the election office's tool.
//!
//! A boot image holds a header, a signed manifest (event, mode, validity dates, build
//! provenance, payload digests, election definition, office key, PIN verifier), the firmware
//! payloads, and a block of Ed25519 signatures by the election authority. The format is
//! specified in `docs/formats/boot-image.md`.
//!
//! The verification side ([`verify`], [`inspect`], [`fingerprint_groups`]) is `no_std` and
//! uses no heap, so boot ROMs link it with `default-features = false`. The `std` feature
//! (on by default) adds the builder and signer ([`build`], [`sign`]) and the office CLI.
//!
//! ```
//! # use boot_image::*;
//! # use firmware::election::Date;
//! let policy = TrustPolicy { keys: &DEV_AUTHORITY_PUBLIC_KEYS, threshold: 1 };
//! let today = Date::new(2026, 5, 31).unwrap();
//! let refusal = verify(b"not an image", &policy, MachineKind::Wasm32, today).unwrap_err();
//! assert_eq!(refusal.class(), "bad-magic");
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

#[cfg(all(test, not(feature = "std")))]
extern crate std;

pub mod fingerprint;
pub mod image;
pub mod manifest;
pub mod refusal;
pub mod verify;

#[cfg(feature = "std")]
pub mod builder;
#[cfg(feature = "std")]
pub mod definition;
#[cfg(feature = "std")]
pub mod export;
#[cfg(feature = "std")]
pub mod keys;
#[cfg(feature = "std")]
pub mod records;
#[cfg(feature = "std")]
pub mod results;
#[cfg(feature = "std")]
pub mod seats;
#[cfg(feature = "std")]
pub mod tally;

pub use fingerprint::{fingerprint_groups, parse_fingerprint, FINGERPRINT_TEXT_BYTES};
pub use image::{SignatureEntry, Signatures, FORMAT_VERSION, MAGIC, MAX_SIGNATURES};
pub use manifest::{MachineKind, Manifest, ManifestField, PayloadEntry, Provenance, MAX_PAYLOADS};
pub use refusal::{FieldProblem, PolicyProblem, Refusal, Section};
pub use verify::{
    dev_authority_seed, inspect, is_dev_key, verify, InspectedImage, Payload, TrustPolicy,
    VerifiedImage, DEV_AUTHORITY_KEY_COUNT, DEV_AUTHORITY_PUBLIC_KEYS, DEV_AUTHORITY_SEEDS_LABEL,
};

#[cfg(feature = "std")]
pub use builder::{build, sign, BuildError, ImageSpec, SignError};
