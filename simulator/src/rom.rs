//! The boot ROM: verifies the whole image under the trust policy before anything of it is
//! loaded, then hands the payload its boot block.

use boot_image::{verify, MachineKind, Refusal, TrustPolicy, DEV_AUTHORITY_PUBLIC_KEYS};
use device_abi::{BootBlock, BootMode, KEY_BYTES, PIN_SALT_BYTES};
use firmware::election::{Date, Mode};

/// What the boot ROM keeps of a verified image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBoot {
    /// The wasm32 payload bytes (covered by the signatures).
    pub payload: Vec<u8>,
    /// SHA-256 fingerprint of the signed manifest.
    pub fingerprint: [u8; KEY_BYTES],
    /// The office X25519 public key.
    pub office_public_key: [u8; KEY_BYTES],
    /// PIN verifier salt.
    pub pin_salt: [u8; PIN_SALT_BYTES],
    /// PIN verifier iterations.
    pub pin_iterations: u32,
    /// PIN verifier hash.
    pub pin_hash: [u8; KEY_BYTES],
    /// Training or official.
    pub mode: BootMode,
    /// The postcard election definition.
    pub election: Vec<u8>,
    /// Signatures that verified under the policy.
    pub valid_signatures: usize,
}

impl VerifiedBoot {
    /// The boot block for this image and `station`.
    pub fn boot_block<'a>(&'a self, station: &'a str) -> BootBlock<'a> {
        BootBlock {
            image_fingerprint: self.fingerprint,
            office_public_key: self.office_public_key,
            pin_salt: self.pin_salt,
            pin_iterations: self.pin_iterations,
            pin_hash: self.pin_hash,
            mode: self.mode,
            station,
            election: &self.election,
        }
    }
}

/// The authority keys the boot ROM trusts, with the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// Ed25519 public keys.
    pub keys: Vec<[u8; 32]>,
    /// Valid signatures needed.
    pub threshold: usize,
}

impl Trust {
    /// The dev authority keys (training images only: official images signed by them are
    /// refused by the verifier).
    pub fn dev(threshold: usize) -> Trust {
        Trust {
            keys: DEV_AUTHORITY_PUBLIC_KEYS.to_vec(),
            threshold,
        }
    }
}

/// Verify `image` for a wasm32 machine on `today`; nothing of the image runs here.
pub fn verify_image(image: &[u8], trust: &Trust, today: Date) -> Result<VerifiedBoot, Refusal> {
    let policy = TrustPolicy {
        keys: &trust.keys,
        threshold: trust.threshold,
    };
    let verified = verify(image, &policy, MachineKind::Wasm32, today)?;
    let manifest = &verified.manifest;
    Ok(VerifiedBoot {
        payload: verified.payload.to_vec(),
        fingerprint: verified.fingerprint,
        office_public_key: manifest.office_public_key,
        pin_salt: manifest.pin_verifier.salt,
        pin_iterations: manifest.pin_verifier.iterations,
        pin_hash: manifest.pin_verifier.hash,
        mode: match manifest.mode {
            Mode::Training => BootMode::Training,
            // Official, and any mode added later: the strictest treatment.
            _ => BootMode::Official,
        },
        election: manifest.election.to_vec(),
        valid_signatures: verified.valid_signatures,
    })
}
