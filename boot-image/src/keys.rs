//! Key files of the election office (format in `docs/formats/key-files.md`).
//!
//! * The election **authority** signs boot images with Ed25519. Its secret key file holds
//!   the 32-byte seed; `ring` derives the key pair from it.
//! * The election **office** receives sealed ballot records encrypted to its X25519 key.
//! * The operator **PIN verifier** file holds a PBKDF2 verifier so that an image can be
//!   built without the PIN itself on the build machine.
//!
//! Every file is UTF-8 text: a header line naming the kind and version, `# ` comment
//! lines, then `field: value` lines (keys in lowercase hex, fingerprints as 16 groups of 4
//! hex digits). Loading checks everything it can (the public key matches the secret, the
//! fingerprint matches the key) and names the file and the reason on failure. Files are
//! created with `create_new` (never overwritten); secret files with mode 0600 on Unix.
//!
//! The development keys under `dev-keys/` are derived from public seeds (see
//! [`crate::dev_authority_seed`] and [`dev_office_secret`]); verifiers refuse development
//! authority keys on official images.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use firmware::pin::{PinVerifier, PIN_HASH_BYTES, PIN_MAX_DIGITS, PIN_MIN_DIGITS, PIN_SALT_BYTES};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::{Zeroize, Zeroizing};

use crate::{dev_authority_seed, fingerprint_groups, is_dev_key};

/// Bytes of an Ed25519 seed, an X25519 secret, and either public key.
pub const KEY_BYTES: usize = 32;
/// First line of an authority secret key file.
pub const AUTHORITY_SECRET_HEADER: &str = "voting-terminal authority secret key v1";
/// First line of an authority public key file.
pub const AUTHORITY_PUBLIC_HEADER: &str = "voting-terminal authority public key v1";
/// First line of an office secret key file.
pub const OFFICE_SECRET_HEADER: &str = "voting-terminal office secret key v1";
/// First line of an office public key file.
pub const OFFICE_PUBLIC_HEADER: &str = "voting-terminal office public key v1";
/// First line of an operator PIN verifier file.
pub const PIN_VERIFIER_HEADER: &str = "voting-terminal pin verifier v1";
/// Label hashed to derive the development office secret: `SHA-256(label)`.
pub const DEV_OFFICE_SEED_LABEL: &[u8] = b"voting-terminal dev office key v1";
/// Label hashed with the event id, image version and office key to derive a reproducible
/// PIN salt (see [`derived_pin_salt`]).
pub const PIN_SALT_DERIVATION_LABEL: &[u8] = b"voting-terminal pin salt v1/";
/// File mode of secret key files on Unix (owner read/write only).
pub const SECRET_FILE_MODE: u32 = 0o600;
/// File mode of public files on Unix (before the umask).
pub const PUBLIC_FILE_MODE: u32 = 0o644;

const FIELD_SEED: &str = "seed";
const FIELD_SECRET_KEY: &str = "secret-key";
const FIELD_PUBLIC_KEY: &str = "public-key";
const FIELD_FINGERPRINT: &str = "fingerprint";
const FIELD_SALT: &str = "salt";
const FIELD_ITERATIONS: &str = "iterations";
const FIELD_HASH: &str = "hash";

/// Why a key, PIN or verifier file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The file could not be read.
    Unreadable {
        /// The system's reason.
        reason: String,
    },
    /// The file exists; key files are never overwritten.
    AlreadyExists,
    /// The file could not be written.
    Unwritable {
        /// The system's reason.
        reason: String,
    },
    /// The first line is not the expected header.
    WrongHeader {
        /// The header expected.
        expected: &'static str,
        /// The first line found (shortened).
        found: String,
    },
    /// A required field is missing.
    MissingField {
        /// The field name.
        field: &'static str,
    },
    /// A field appears twice.
    DuplicateField {
        /// The field name.
        field: String,
        /// 1-based line of the second occurrence.
        line: usize,
    },
    /// A field this kind of file does not have.
    UnknownField {
        /// The field name.
        field: String,
        /// 1-based line.
        line: usize,
    },
    /// A line that is neither a comment nor `field: value`.
    MalformedLine {
        /// 1-based line.
        line: usize,
    },
    /// A value is not the expected number of lowercase hex digits.
    BadHex {
        /// The field name.
        field: &'static str,
        /// Hex digits expected.
        digits: usize,
    },
    /// A value is not a decimal number in range.
    BadNumber {
        /// The field name.
        field: &'static str,
    },
    /// The public key does not belong to the secret key in the same file.
    PublicKeyMismatch,
    /// The fingerprint does not match the key.
    FingerprintMismatch,
    /// The PIN file does not hold a PIN of the allowed number of digits.
    BadPin {
        /// Characters on the PIN line.
        length: usize,
        /// Whether every character is a digit 0-9.
        digits_only: bool,
    },
    /// The system random generator failed.
    RandomUnavailable,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Unreadable { reason } => write!(f, "cannot read: {reason}"),
            KeyProblem::AlreadyExists => f.write_str("already exists; refusing to overwrite it"),
            KeyProblem::Unwritable { reason } => write!(f, "cannot write: {reason}"),
            KeyProblem::WrongHeader { expected, found } => match kind_of_header(found) {
                Some(kind) => write!(f, "this is {kind}, expected {}", describe(expected)),
                None => write!(
                    f,
                    "not {}: the first line must be `{expected}`",
                    describe(expected)
                ),
            },
            KeyProblem::MissingField { field } => write!(f, "missing field `{field}`"),
            KeyProblem::DuplicateField { field, line } => {
                write!(f, "line {line}: field `{field}` given twice")
            }
            KeyProblem::UnknownField { field, line } => {
                write!(f, "line {line}: unknown field `{field}`")
            }
            KeyProblem::MalformedLine { line } => {
                write!(f, "line {line}: expected `field: value` or a `#` comment")
            }
            KeyProblem::BadHex { field, digits } => {
                write!(f, "field `{field}`: expected {digits} lowercase hex digits")
            }
            KeyProblem::BadNumber { field } => write!(f, "field `{field}`: not a valid number"),
            KeyProblem::PublicKeyMismatch => {
                f.write_str("the public key does not belong to the secret key")
            }
            KeyProblem::FingerprintMismatch => {
                f.write_str("the fingerprint does not match the key (damaged or edited file)")
            }
            KeyProblem::BadPin {
                digits_only: false, ..
            } => f.write_str("the PIN holds a character other than the digits 0-9"),
            KeyProblem::BadPin { length, .. } => write!(
                f,
                "the PIN has {length} digits; it must have {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS}"
            ),
            KeyProblem::RandomUnavailable => f.write_str("the system random generator failed"),
        }
    }
}

/// An error about one file: which file, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The file as named by the user.
    pub file: String,
    /// What is wrong.
    pub problem: KeyProblem,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for KeyError {}

fn describe(header: &str) -> &'static str {
    match header {
        AUTHORITY_SECRET_HEADER => "an authority secret key file",
        AUTHORITY_PUBLIC_HEADER => "an authority public key file",
        OFFICE_SECRET_HEADER => "an office secret key file",
        OFFICE_PUBLIC_HEADER => "an office public key file",
        PIN_VERIFIER_HEADER => "a PIN verifier file",
        _ => "a key file",
    }
}

fn kind_of_header(line: &str) -> Option<&'static str> {
    [
        AUTHORITY_SECRET_HEADER,
        AUTHORITY_PUBLIC_HEADER,
        OFFICE_SECRET_HEADER,
        OFFICE_PUBLIC_HEADER,
        PIN_VERIFIER_HEADER,
    ]
    .into_iter()
    .find(|h| *h == line)
    .map(describe)
}

fn error(path: &Path, problem: KeyProblem) -> KeyError {
    KeyError {
        file: path.display().to_string(),
        problem,
    }
}

// ---------------------------------------------------------------------------------------
// Hex and fingerprints.

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len().saturating_mul(2));
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() != N.checked_mul(2)? {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// The fingerprint of a public key: SHA-256 of its 32 bytes, as 16 groups of 4 hex digits.
pub fn key_fingerprint(public_key: &[u8; KEY_BYTES]) -> String {
    let mut digest_bytes = [0u8; 32];
    digest_bytes.copy_from_slice(digest::digest(&digest::SHA256, public_key).as_ref());
    fingerprint_groups(&digest_bytes).as_str().to_string()
}

// ---------------------------------------------------------------------------------------
// The text format.

/// The fields of a parsed file, in the order given.
struct Fields {
    entries: Vec<(String, String)>,
}

impl Fields {
    /// Parse `text` with header `header` and the allowed field names.
    fn parse(
        path: &Path,
        text: &str,
        header: &'static str,
        allowed: &[&'static str],
    ) -> Result<Fields, KeyError> {
        let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or("");
        if first != header {
            let found: String = first.chars().take(60).collect();
            return Err(error(
                path,
                KeyProblem::WrongHeader {
                    expected: header,
                    found,
                },
            ));
        }
        let mut entries: Vec<(String, String)> = Vec::new();
        for (index, line) in lines.enumerate() {
            let number = index.saturating_add(2);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(error(path, KeyProblem::MalformedLine { line: number }));
            };
            let name = name.trim();
            if !allowed.contains(&name) {
                return Err(error(
                    path,
                    KeyProblem::UnknownField {
                        field: name.to_string(),
                        line: number,
                    },
                ));
            }
            if entries.iter().any(|(n, _)| n == name) {
                return Err(error(
                    path,
                    KeyProblem::DuplicateField {
                        field: name.to_string(),
                        line: number,
                    },
                ));
            }
            entries.push((name.to_string(), value.trim().to_string()));
        }
        Ok(Fields { entries })
    }

    fn get(&self, path: &Path, field: &'static str) -> Result<&str, KeyError> {
        self.entries
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| error(path, KeyProblem::MissingField { field }))
    }

    fn hex<const N: usize>(&self, path: &Path, field: &'static str) -> Result<[u8; N], KeyError> {
        from_hex::<N>(self.get(path, field)?).ok_or_else(|| {
            error(
                path,
                KeyProblem::BadHex {
                    field,
                    digits: N.saturating_mul(2),
                },
            )
        })
    }

    /// Check the public key and fingerprint fields against `public_key`.
    fn check_public(&self, path: &Path, public_key: &[u8; KEY_BYTES]) -> Result<(), KeyError> {
        let given: [u8; KEY_BYTES] = self.hex(path, FIELD_PUBLIC_KEY)?;
        if &given != public_key {
            return Err(error(path, KeyProblem::PublicKeyMismatch));
        }
        self.check_fingerprint(path, public_key)
    }

    fn check_fingerprint(&self, path: &Path, public_key: &[u8; KEY_BYTES]) -> Result<(), KeyError> {
        if self.get(path, FIELD_FINGERPRINT)? != key_fingerprint(public_key) {
            return Err(error(path, KeyProblem::FingerprintMismatch));
        }
        Ok(())
    }
}

/// Render a file: header, comment lines, then `field: value` lines.
fn render(header: &str, comments: &[&str], fields: &[(&str, &str)]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::new());
    text.push_str(header);
    text.push('\n');
    for comment in comments {
        text.push_str("# ");
        text.push_str(comment);
        text.push('\n');
    }
    for (name, value) in fields {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push('\n');
    }
    text
}

fn read_text(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        error(
            path,
            KeyProblem::Unreadable {
                reason: io_reason(&e),
            },
        )
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(error(
            path,
            KeyProblem::Unreadable {
                reason: "not UTF-8 text".to_string(),
            },
        )),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Create `path` (never overwriting) with `contents`; secret files get mode 0600 on Unix.
pub fn create_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), KeyError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret {
            SECRET_FILE_MODE
        } else {
            PUBLIC_FILE_MODE
        });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| {
        error(
            path,
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyProblem::AlreadyExists
            } else {
                KeyProblem::Unwritable {
                    reason: io_reason(&e),
                }
            },
        )
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            error(
                path,
                KeyProblem::Unwritable {
                    reason: io_reason(&e),
                },
            )
        })
}

fn random_bytes(path: &Path) -> Result<Zeroizing<[u8; KEY_BYTES]>, KeyError> {
    let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| error(path, KeyProblem::RandomUnavailable))?;
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------
// Authority keys (Ed25519).

/// An election authority signing key: an Ed25519 key pair kept as its 32-byte seed.
pub struct AuthorityKey {
    seed: Zeroizing<[u8; KEY_BYTES]>,
    pair: Ed25519KeyPair,
}

impl fmt::Debug for AuthorityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the seed.
        f.debug_struct("AuthorityKey")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl AuthorityKey {
    /// The key pair with this seed.
    pub fn from_seed(seed: [u8; KEY_BYTES]) -> AuthorityKey {
        let seed = Zeroizing::new(seed);
        // ring refuses only seeds of the wrong length; this one has 32 bytes.
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .expect("a 32-byte seed is a valid Ed25519 seed");
        AuthorityKey { seed, pair }
    }

    /// A fresh key from the system random generator (`path` names the file it is for).
    pub fn generate(path: &Path) -> Result<AuthorityKey, KeyError> {
        Ok(AuthorityKey::from_seed(*random_bytes(path)?))
    }

    /// Development authority key `number` (1..=3), whose seed is public.
    pub fn dev(number: u8) -> AuthorityKey {
        AuthorityKey::from_seed(dev_authority_seed(number))
    }

    /// The ring key pair, for [`crate::sign`].
    pub fn key_pair(&self) -> &Ed25519KeyPair {
        &self.pair
    }

    /// The public key.
    pub fn public_key(&self) -> AuthorityPublicKey {
        let mut bytes = [0u8; KEY_BYTES];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        AuthorityPublicKey(bytes)
    }

    /// The secret key file's text.
    pub fn file_text(&self) -> Zeroizing<String> {
        let public = self.public_key();
        let mut comments = std::vec![
            "Election authority signing key (Ed25519 seed).",
            "SECRET: whoever holds this file can sign boot images. Keep it offline.",
        ];
        if public.is_dev() {
            comments.push(DEV_AUTHORITY_COMMENT);
        }
        let seed = Zeroizing::new(to_hex(self.seed.as_ref()));
        render(
            AUTHORITY_SECRET_HEADER,
            &comments,
            &[
                (FIELD_SEED, &seed),
                (FIELD_PUBLIC_KEY, &to_hex(&public.0)),
                (FIELD_FINGERPRINT, &public.fingerprint()),
            ],
        )
    }

    /// Read a secret key file.
    pub fn load(path: &Path) -> Result<AuthorityKey, KeyError> {
        let text = read_text(path)?;
        let fields = Fields::parse(
            path,
            &text,
            AUTHORITY_SECRET_HEADER,
            &[FIELD_SEED, FIELD_PUBLIC_KEY, FIELD_FINGERPRINT],
        )?;
        let seed = Zeroizing::new(fields.hex::<KEY_BYTES>(path, FIELD_SEED)?);
        let key = AuthorityKey::from_seed(*seed);
        fields.check_public(path, &key.public_key().0)?;
        Ok(key)
    }

    /// Write the secret key file (mode 0600, never overwriting).
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        create_file(path, self.file_text().as_bytes(), true)
    }
}

const DEV_AUTHORITY_COMMENT: &str =
    "DEVELOPMENT KEY: its seed is public. Verifiers accept it on training images only.";
const DEV_OFFICE_COMMENT: &str = "DEVELOPMENT KEY: its secret is public. Use it for training only.";

/// An election authority public key (Ed25519).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorityPublicKey(pub [u8; KEY_BYTES]);

impl AuthorityPublicKey {
    /// Fingerprint: SHA-256 of the key as 16 groups of 4 hex digits.
    pub fn fingerprint(&self) -> String {
        key_fingerprint(&self.0)
    }

    /// Whether this is one of the development authority keys.
    pub fn is_dev(&self) -> bool {
        is_dev_key(&self.0)
    }

    /// The public key file's text.
    pub fn file_text(&self) -> String {
        let mut comments =
            std::vec!["Election authority public key (Ed25519): trust it to verify boot images."];
        if self.is_dev() {
            comments.push(DEV_AUTHORITY_COMMENT);
        }
        let text = render(
            AUTHORITY_PUBLIC_HEADER,
            &comments,
            &[
                (FIELD_PUBLIC_KEY, &to_hex(&self.0)),
                (FIELD_FINGERPRINT, &self.fingerprint()),
            ],
        );
        text.as_str().to_string()
    }

    /// Read a public key file.
    pub fn load(path: &Path) -> Result<AuthorityPublicKey, KeyError> {
        let text = read_text(path)?;
        let fields = Fields::parse(
            path,
            &text,
            AUTHORITY_PUBLIC_HEADER,
            &[FIELD_PUBLIC_KEY, FIELD_FINGERPRINT],
        )?;
        let key: [u8; KEY_BYTES] = fields.hex(path, FIELD_PUBLIC_KEY)?;
        fields.check_fingerprint(path, &key)?;
        Ok(AuthorityPublicKey(key))
    }

    /// Write the public key file (never overwriting).
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        create_file(path, self.file_text().as_bytes(), false)
    }
}

// ---------------------------------------------------------------------------------------
// Office keys (X25519).

/// The election office's record-opening key: an X25519 static secret.
pub struct OfficeKey {
    secret: x25519_dalek::StaticSecret,
}

impl fmt::Debug for OfficeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("OfficeKey")
            .field("public_key", &self.public_key())
            .finish()
    }
}

/// The secret of the development office key: `SHA-256(DEV_OFFICE_SEED_LABEL)`.
pub fn dev_office_secret() -> [u8; KEY_BYTES] {
    let mut secret = [0u8; KEY_BYTES];
    secret.copy_from_slice(digest::digest(&digest::SHA256, DEV_OFFICE_SEED_LABEL).as_ref());
    secret
}

impl OfficeKey {
    /// The key with these secret bytes.
    pub fn from_bytes(secret: [u8; KEY_BYTES]) -> OfficeKey {
        let mut secret = secret;
        let key = OfficeKey {
            secret: x25519_dalek::StaticSecret::from(secret),
        };
        secret.zeroize();
        key
    }

    /// A fresh key from the system random generator (`path` names the file it is for).
    pub fn generate(path: &Path) -> Result<OfficeKey, KeyError> {
        Ok(OfficeKey::from_bytes(*random_bytes(path)?))
    }

    /// The development office key, whose secret is public.
    pub fn dev() -> OfficeKey {
        OfficeKey::from_bytes(dev_office_secret())
    }

    /// The X25519 secret, for opening sealed records.
    pub fn secret(&self) -> &x25519_dalek::StaticSecret {
        &self.secret
    }

    /// The public key.
    pub fn public_key(&self) -> OfficePublicKey {
        OfficePublicKey(x25519_dalek::PublicKey::from(&self.secret).to_bytes())
    }

    /// The secret key file's text.
    pub fn file_text(&self) -> Zeroizing<String> {
        let public = self.public_key();
        let mut comments = std::vec![
            "Election office record key (X25519 secret).",
            "SECRET: whoever holds this file can open the sealed ballot records.",
        ];
        if public.is_dev() {
            comments.push(DEV_OFFICE_COMMENT);
        }
        let secret = Zeroizing::new(to_hex(self.secret.as_bytes()));
        render(
            OFFICE_SECRET_HEADER,
            &comments,
            &[
                (FIELD_SECRET_KEY, &secret),
                (FIELD_PUBLIC_KEY, &to_hex(&public.0)),
                (FIELD_FINGERPRINT, &public.fingerprint()),
            ],
        )
    }

    /// Read a secret key file.
    pub fn load(path: &Path) -> Result<OfficeKey, KeyError> {
        let text = read_text(path)?;
        let fields = Fields::parse(
            path,
            &text,
            OFFICE_SECRET_HEADER,
            &[FIELD_SECRET_KEY, FIELD_PUBLIC_KEY, FIELD_FINGERPRINT],
        )?;
        let secret = Zeroizing::new(fields.hex::<KEY_BYTES>(path, FIELD_SECRET_KEY)?);
        let key = OfficeKey::from_bytes(*secret);
        fields.check_public(path, &key.public_key().0)?;
        Ok(key)
    }

    /// Write the secret key file (mode 0600, never overwriting).
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        create_file(path, self.file_text().as_bytes(), true)
    }
}

/// The election office's public key (X25519); sealed records are encrypted to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfficePublicKey(pub [u8; KEY_BYTES]);

impl OfficePublicKey {
    /// Fingerprint: SHA-256 of the key as 16 groups of 4 hex digits.
    pub fn fingerprint(&self) -> String {
        key_fingerprint(&self.0)
    }

    /// Whether this is the development office key.
    pub fn is_dev(&self) -> bool {
        OfficeKey::dev().public_key() == *self
    }

    /// The public key file's text.
    pub fn file_text(&self) -> String {
        let mut comments =
            std::vec!["Election office public key (X25519): boot images carry it to seal records."];
        if self.is_dev() {
            comments.push(DEV_OFFICE_COMMENT);
        }
        let text = render(
            OFFICE_PUBLIC_HEADER,
            &comments,
            &[
                (FIELD_PUBLIC_KEY, &to_hex(&self.0)),
                (FIELD_FINGERPRINT, &self.fingerprint()),
            ],
        );
        text.as_str().to_string()
    }

    /// Read a public key file.
    pub fn load(path: &Path) -> Result<OfficePublicKey, KeyError> {
        let text = read_text(path)?;
        let fields = Fields::parse(
            path,
            &text,
            OFFICE_PUBLIC_HEADER,
            &[FIELD_PUBLIC_KEY, FIELD_FINGERPRINT],
        )?;
        let key: [u8; KEY_BYTES] = fields.hex(path, FIELD_PUBLIC_KEY)?;
        fields.check_fingerprint(path, &key)?;
        Ok(OfficePublicKey(key))
    }

    /// Write the public key file (never overwriting).
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        create_file(path, self.file_text().as_bytes(), false)
    }
}

// ---------------------------------------------------------------------------------------
// Operator PIN and PIN verifier files.

/// Read an operator PIN file: one line of [`PIN_MIN_DIGITS`]..=[`PIN_MAX_DIGITS`] digits,
/// optionally followed by a line break.
pub fn load_pin(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let text = read_text(path)?;
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    let pin = Zeroizing::new(line.as_bytes().to_vec());
    let digits_only = pin.iter().all(u8::is_ascii_digit);
    if !digits_only || !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&pin.len()) {
        return Err(error(
            path,
            KeyProblem::BadPin {
                length: line.chars().count(),
                digits_only,
            },
        ));
    }
    Ok(pin)
}

/// A reproducible PIN salt: the first 16 bytes of
/// `SHA-256(PIN_SALT_DERIVATION_LABEL || event_id || 0x00 || version (u32 big-endian) ||
/// office_public_key)`.
///
/// The salt differs for every event, image version and office, which is all a salt must do
/// (no two verifiers share precomputation); it needs no secrecy and no randomness, so the
/// same inputs give the same image.
pub fn derived_pin_salt(
    event_id: &str,
    version: u32,
    office_public_key: &[u8; KEY_BYTES],
) -> [u8; PIN_SALT_BYTES] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(PIN_SALT_DERIVATION_LABEL);
    context.update(event_id.as_bytes());
    context.update(&[0]);
    context.update(&version.to_be_bytes());
    context.update(office_public_key);
    let mut salt = [0u8; PIN_SALT_BYTES];
    salt.copy_from_slice(&context.finish().as_ref()[..PIN_SALT_BYTES]);
    salt
}

/// The PIN verifier file's text.
pub fn pin_verifier_text(verifier: &PinVerifier) -> String {
    let text = render(
        PIN_VERIFIER_HEADER,
        &["Operator PIN verifier (PBKDF2-HMAC-SHA256); the PIN itself is not in this file."],
        &[
            (FIELD_SALT, &to_hex(&verifier.salt)),
            (FIELD_ITERATIONS, &verifier.iterations.to_string()),
            (FIELD_HASH, &to_hex(&verifier.hash)),
        ],
    );
    text.as_str().to_string()
}

/// Write a PIN verifier file (never overwriting).
pub fn write_pin_verifier(path: &Path, verifier: &PinVerifier) -> Result<(), KeyError> {
    create_file(path, pin_verifier_text(verifier).as_bytes(), false)
}

/// Read a PIN verifier file.
pub fn load_pin_verifier(path: &Path) -> Result<PinVerifier, KeyError> {
    let text = read_text(path)?;
    let fields = Fields::parse(
        path,
        &text,
        PIN_VERIFIER_HEADER,
        &[FIELD_SALT, FIELD_ITERATIONS, FIELD_HASH],
    )?;
    let salt: [u8; PIN_SALT_BYTES] = fields.hex(path, FIELD_SALT)?;
    let hash: [u8; PIN_HASH_BYTES] = fields.hex(path, FIELD_HASH)?;
    let iterations_text = fields.get(path, FIELD_ITERATIONS)?;
    let iterations = iterations_text
        .parse::<u32>()
        .ok()
        .filter(|_| iterations_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            error(
                path,
                KeyProblem::BadNumber {
                    field: FIELD_ITERATIONS,
                },
            )
        })?;
    Ok(PinVerifier {
        salt,
        iterations,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::num::NonZeroU32;
    use std::path::PathBuf;

    const DEV_KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../dev-keys");

    /// A fresh empty directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("boot-image-keys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The committed development key files and their derived contents.
    fn dev_files() -> Vec<(String, String)> {
        let mut files = Vec::new();
        for number in 1..=3u8 {
            let key = AuthorityKey::dev(number);
            files.push((
                format!("dev-authority-{number}.key"),
                key.file_text().as_str().to_string(),
            ));
            files.push((
                format!("dev-authority-{number}.pub"),
                key.public_key().file_text(),
            ));
        }
        let office = OfficeKey::dev();
        files.push((
            "dev-office.key".to_string(),
            office.file_text().as_str().to_string(),
        ));
        files.push((
            "dev-office.pub".to_string(),
            office.public_key().file_text(),
        ));
        files
    }

    #[test]
    fn committed_dev_keys_equal_their_derivation() {
        let dir = Path::new(DEV_KEYS);
        if std::env::var_os("UPDATE_DEV_KEYS").is_some() {
            for (name, text) in dev_files() {
                std::fs::write(dir.join(name), text).unwrap();
            }
        }
        for (name, text) in dev_files() {
            let committed = std::fs::read_to_string(dir.join(&name)).unwrap();
            assert_eq!(
                committed, text,
                "dev-keys/{name} differs from its derivation"
            );
        }
        for number in 1..=3u8 {
            let key = AuthorityKey::load(&dir.join(format!("dev-authority-{number}.key"))).unwrap();
            let public =
                AuthorityPublicKey::load(&dir.join(format!("dev-authority-{number}.pub"))).unwrap();
            assert_eq!(key.public_key(), public);
            assert_eq!(
                public.0,
                crate::DEV_AUTHORITY_PUBLIC_KEYS[usize::from(number - 1)],
                "the verifier's compiled-in dev key {number}"
            );
            assert!(public.is_dev());
        }
        let office = OfficeKey::load(&dir.join("dev-office.key")).unwrap();
        assert_eq!(
            OfficePublicKey::load(&dir.join("dev-office.pub")).unwrap(),
            office.public_key()
        );
        assert!(office.public_key().is_dev());
    }

    #[test]
    fn generated_keys_round_trip_with_private_mode() {
        let dir = scratch("round-trip");
        let path = dir.join("authority.key");
        let key = AuthorityKey::generate(&path).unwrap();
        assert!(!key.public_key().is_dev());
        key.write(&path).unwrap();
        key.public_key().write(&dir.join("authority.pub")).unwrap();
        let loaded = AuthorityKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert_eq!(
            AuthorityPublicKey::load(&dir.join("authority.pub")).unwrap(),
            key.public_key()
        );
        let office_path = dir.join("office.key");
        let office = OfficeKey::generate(&office_path).unwrap();
        office.write(&office_path).unwrap();
        assert_eq!(
            OfficeKey::load(&office_path).unwrap().public_key(),
            office.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for secret in [&path, &office_path] {
                let mode = std::fs::metadata(secret).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, SECRET_FILE_MODE, "{}", secret.display());
            }
        }
        // Never overwritten.
        let again = AuthorityKey::generate(&path).unwrap();
        let err = again.write(&path).unwrap_err();
        assert_eq!(err.problem, KeyProblem::AlreadyExists);
        assert_eq!(
            AuthorityKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secret_file_shows_header_and_fingerprint() {
        let text = AuthorityKey::from_seed([7; 32]).file_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], AUTHORITY_SECRET_HEADER);
        let fingerprint = lines.last().unwrap().strip_prefix("fingerprint: ").unwrap();
        assert_eq!(fingerprint.split(' ').count(), 16);
        assert!(fingerprint.split(' ').all(|g| g.len() == 4));
        assert!(lines.contains(&format!("seed: {}", "07".repeat(32)).as_str()));
    }

    /// Load `text` as an authority secret key file and return the error line.
    fn secret_error(text: &str) -> String {
        let dir = scratch("errors");
        let path = dir.join("k.key");
        std::fs::write(&path, text).unwrap();
        let err = AuthorityKey::load(&path).unwrap_err();
        std::fs::remove_dir_all(dir).unwrap();
        format!("{}", err.problem)
    }

    #[test]
    fn loader_errors_name_the_reason() {
        let good = AuthorityKey::from_seed([9; 32])
            .file_text()
            .as_str()
            .to_string();
        let public = AuthorityKey::from_seed([9; 32]).public_key().file_text();
        assert_eq!(
            secret_error(&public),
            "this is an authority public key file, expected an authority secret key file"
        );
        assert_eq!(
            secret_error("hello\n"),
            "not an authority secret key file: the first line must be \
             `voting-terminal authority secret key v1`"
        );
        let seed_line = format!("seed: {}", "09".repeat(32));
        assert_eq!(
            secret_error(&good.replace(&seed_line, "seed: 0909")),
            "field `seed`: expected 64 lowercase hex digits"
        );
        assert_eq!(
            secret_error(&good.replace(&seed_line, &format!("seed: {}", "0A".repeat(32)))),
            "field `seed`: expected 64 lowercase hex digits"
        );
        assert_eq!(
            secret_error(&good.replace(&seed_line, &format!("seed: {}", "0a".repeat(32)))),
            "the public key does not belong to the secret key"
        );
        assert_eq!(
            secret_error(&good.replace(&seed_line, "")),
            "missing field `seed`"
        );
        assert_eq!(
            secret_error(&format!("{good}{seed_line}\n")),
            "line 7: field `seed` given twice"
        );
        assert_eq!(
            secret_error(&format!("{good}colour: blue\n")),
            "line 7: unknown field `colour`"
        );
        assert_eq!(
            secret_error(&format!("{good}just words\n")),
            "line 7: expected `field: value` or a `#` comment"
        );
        let fingerprint = good.lines().last().unwrap().to_string();
        let mut broken = fingerprint.clone().into_bytes();
        let last = broken.last_mut().unwrap();
        *last = if *last == b'0' { b'1' } else { b'0' };
        assert_eq!(
            secret_error(&good.replace(&fingerprint, std::str::from_utf8(&broken).unwrap())),
            "the fingerprint does not match the key (damaged or edited file)"
        );
        let err = AuthorityKey::load(Path::new("/nonexistent/k.key")).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "/nonexistent/k.key: cannot read: no such file"
        );
    }

    #[test]
    fn pin_files() {
        let dir = scratch("pin");
        let path = dir.join("pin");
        let check = |text: &str| {
            std::fs::write(&path, text).unwrap();
            load_pin(&path)
                .map(|p| p.to_vec())
                .map_err(|e| format!("{}", e.problem))
        };
        assert_eq!(check("123456\n"), Ok(b"123456".to_vec()));
        assert_eq!(check("0000"), Ok(b"0000".to_vec()));
        assert_eq!(
            check("123\n"),
            Err("the PIN has 3 digits; it must have 4 to 12".to_string())
        );
        assert_eq!(
            check("12 34\n"),
            Err("the PIN holds a character other than the digits 0-9".to_string())
        );
        assert_eq!(
            check("1234\n\n"),
            Err("the PIN holds a character other than the digits 0-9".to_string())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pin_verifier_file_round_trips() {
        let dir = scratch("verifier");
        let path = dir.join("pin.verifier");
        let salt = derived_pin_salt("DEMO", 1, &[3; 32]);
        assert_ne!(salt, derived_pin_salt("DEMO", 2, &[3; 32]));
        assert_ne!(salt, derived_pin_salt("DEMO2", 1, &[3; 32]));
        let verifier = PinVerifier::derive(
            b"2468",
            salt,
            NonZeroU32::new(firmware::pin::PIN_MIN_ITERATIONS).unwrap(),
        );
        write_pin_verifier(&path, &verifier).unwrap();
        let loaded = load_pin_verifier(&path).unwrap();
        assert_eq!(loaded, verifier);
        assert!(loaded.verify(b"2468"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("iterations: 10000", "iterations: -5")).unwrap();
        assert_eq!(
            format!("{}", load_pin_verifier(&path).unwrap_err().problem),
            "field `iterations`: not a valid number"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    proptest::proptest! {
        // Each case writes and syncs six files: keep the count modest.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Every authority and office key survives its file text.
        #[test]
        fn key_files_round_trip(seed in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let dir = scratch(&format!("prop-{}", to_hex(&seed[..4])));
            let key = AuthorityKey::from_seed(seed);
            let path = dir.join("a.key");
            key.write(&path).unwrap();
            let loaded = AuthorityKey::load(&path).unwrap();
            proptest::prop_assert_eq!(loaded.public_key(), key.public_key());
            proptest::prop_assert_eq!(&*loaded.file_text(), &*key.file_text());
            let public_path = dir.join("a.pub");
            key.public_key().write(&public_path).unwrap();
            proptest::prop_assert_eq!(AuthorityPublicKey::load(&public_path).unwrap(), key.public_key());
            let office = OfficeKey::from_bytes(seed);
            let office_path = dir.join("o.key");
            office.write(&office_path).unwrap();
            let loaded = OfficeKey::load(&office_path).unwrap();
            proptest::prop_assert_eq!(loaded.public_key(), office.public_key());
            proptest::prop_assert_eq!(loaded.secret().to_bytes(), seed);
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    proptest::proptest! {
        /// Hex encoding round trips.
        #[test]
        fn hex_round_trips(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
            proptest::prop_assert_eq!(from_hex::<16>(&to_hex(&bytes)), Some(bytes));
        }

        /// Arbitrary text is refused with the file named, never a panic.
        #[test]
        fn arbitrary_key_text_is_refused_cleanly(text in "(?s)(voting-terminal authority secret key v1\n)?.{0,120}") {
            let dir = scratch(&format!("fuzz-{}", text.len()));
            let path = dir.join("k.key");
            std::fs::write(&path, &text).unwrap();
            if let Err(e) = AuthorityKey::load(&path) {
                let shown = e.to_string();
                proptest::prop_assert!(shown.starts_with(&path.display().to_string()), "{}", shown);
            }
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn hex_round_trip() {
        let bytes: [u8; 4] = [0x00, 0x9f, 0xa0, 0xff];
        assert_eq!(to_hex(&bytes), "009fa0ff");
        assert_eq!(from_hex::<4>("009fa0ff"), Some(bytes));
        assert_eq!(from_hex::<4>("009fa0f"), None);
        assert_eq!(from_hex::<4>("009fa0fg"), None);
    }
}
