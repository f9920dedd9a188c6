//! The test vectors in `testdata/sealed-record/`.
//!
//! Each file starts with `name: value` lines (`expect:` first), then `record:` and the
//! record in hex. [`generate`] rebuilds every vector from fixed inputs with the real
//! sealing code; `committed_vectors_match_the_generator` keeps the files in step with it
//! (`UPDATE_VECTORS=1` rewrites them). One test per file opens it as the office would and
//! asserts the class of the outcome.

use super::*;
use crate::hal::doubles::FixedEntropy;
use std::collections::BTreeSet;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// Label of the fixed test inputs: input `x` is SHA-256(`VECTOR_INPUT_LABEL` || x).
const VECTOR_INPUT_LABEL: &str = "sealed-record test vector/";
const EVENT_ID: &str = "be-2024-06-09";
const STATION_ID: &str = "bxl-0042";
/// The body of the `ok` vector: opaque bytes standing in for the postcard record body.
const BODY: &[u8] = b"opaque record body: counters, per-election ballots, tallies.";

fn input(name: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(VECTOR_INPUT_LABEL.as_bytes());
    ctx.update(name.as_bytes());
    digest32(ctx.finish())
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sealed-record")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| {
            let s = core::str::from_utf8(pair).expect("hex is ASCII");
            u8::from_str_radix(s, 16).expect("hex digit")
        })
        .collect()
}

struct Vector {
    file: &'static str,
    expect: &'static str,
    description: &'static str,
    record: Vec<u8>,
    body: Option<&'static [u8]>,
}

fn record_header(event: &str, image_digest: [u8; 32], generation: u64) -> RecordHeader {
    RecordHeader {
        event_id: Identifier::new(event).expect("event id"),
        station_id: Identifier::new(STATION_ID).expect("station id"),
        image_digest,
        generation,
        state: PollState::Open,
    }
}

fn seal_with(
    header: &RecordHeader,
    body: &[u8],
    office_secret: &[u8; 32],
    session: &SessionKey,
) -> Vec<u8> {
    let ephemeral = input("ephemeral");
    let mut out = vec![0u8; sealed_len(body.len()).expect("small body")];
    let n = seal(
        header,
        body,
        &office_public_key(office_secret),
        session,
        &mut FixedEntropy::new(&ephemeral),
        &mut out,
    )
    .expect("seal");
    assert_eq!(n, out.len());
    out
}

/// Replace the signature with a fresh one by `session` over the (edited) record.
fn resign(record: &mut [u8], session: &SessionKey) {
    let signed_len = record.len() - SIGNATURE_BYTES;
    let sig = session
        .sign(&signed_message(&record[..signed_len]))
        .expect("sign");
    record[signed_len..].copy_from_slice(&sig);
}

/// Every vector, built from the fixed inputs.
fn generate() -> Vec<Vector> {
    let office = input("office secret");
    let session = SessionKey::from_seed(&input("session seed")).expect("session key");
    let image = input("image");
    let base_header = record_header(EVENT_ID, image, 7);
    let ok = seal_with(&base_header, BODY, &office, &session);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut r = ok.clone();
        f(&mut r);
        r
    };
    let ciphertext_start = HEADER_BYTES + EPHEMERAL_KEY_BYTES;
    let mut closed = record_header(EVENT_ID, image, 1234);
    closed.state = PollState::Closed;
    let other_session = SessionKey::from_seed(&input("other session seed")).expect("key");

    vec![
        Vector {
            file: "ok.txt",
            expect: "ok",
            description: "a record of an open poll, generation 7, with a 60-byte body",
            record: ok.clone(),
            body: Some(BODY),
        },
        Vector {
            file: "ok-closed-empty-body.txt",
            expect: "ok",
            description: "a record of a closed poll, generation 1234, with an empty body",
            record: seal_with(&closed, &[], &office, &session),
            body: Some(&[]),
        },
        Vector {
            file: "bad-signature-flipped-bit.txt",
            expect: "bad-signature",
            description: "the last bit of the signature flipped",
            record: edit(&|r| {
                let last = r.len() - 1;
                r[last] ^= 0x80;
            }),
            body: None,
        },
        Vector {
            file: "bad-signature-edited-generation.txt",
            expect: "bad-signature",
            description: "header generation changed from 7 to 8, not re-signed",
            record: edit(&|r| r[138] = 8),
            body: None,
        },
        Vector {
            file: "bad-signature-edited-ciphertext.txt",
            expect: "bad-signature",
            description: "one ciphertext bit flipped, not re-signed",
            record: edit(&|r| r[ciphertext_start] ^= 1),
            body: None,
        },
        Vector {
            file: "bad-header-magic.txt",
            expect: "bad-header",
            description: "magic VTSEAL changed to VTSEAM",
            record: edit(&|r| r[5] = b'M'),
            body: None,
        },
        Vector {
            file: "bad-header-version.txt",
            expect: "bad-header",
            description: "version 2 (only version 1 exists)",
            record: edit(&|r| r[6] = 2),
            body: None,
        },
        Vector {
            file: "bad-header-identifier-padding.txt",
            expect: "bad-header",
            description: "a non-zero byte in the padding of the event id field",
            record: edit(&|r| r[8 + 1 + 31] = b'x'),
            body: None,
        },
        Vector {
            file: "bad-header-poll-state.txt",
            expect: "bad-header",
            description: "poll state byte 2 (only 0 = open and 1 = closed exist)",
            record: edit(&|r| r[146] = 2),
            body: None,
        },
        Vector {
            file: "truncated-last-byte.txt",
            expect: "truncated",
            description: "the last byte of the signature missing",
            record: edit(&|r| {
                r.pop();
            }),
            body: None,
        },
        Vector {
            file: "truncated-in-header.txt",
            expect: "truncated",
            description: "only the first 100 bytes (inside the header)",
            record: edit(&|r| r.truncate(100)),
            body: None,
        },
        Vector {
            file: "trailing-bytes.txt",
            expect: "trailing-bytes",
            description: "one zero byte after the signature",
            record: edit(&|r| r.push(0)),
            body: None,
        },
        Vector {
            file: "decrypt-failure-wrong-office-key.txt",
            expect: "decrypt-failure",
            description: "sealed to another office key; the signature is valid",
            record: seal_with(&base_header, BODY, &input("other office secret"), &session),
            body: None,
        },
        Vector {
            file: "decrypt-failure-flipped-ciphertext.txt",
            expect: "decrypt-failure",
            description: "one ciphertext bit flipped, then re-signed with the session key",
            record: edit(&|r| {
                r[ciphertext_start] ^= 1;
                resign(r, &session);
            }),
            body: None,
        },
        Vector {
            file: "decrypt-failure-session-key-replaced.txt",
            expect: "decrypt-failure",
            description: "header session key replaced by another key that re-signs; \
                          the header is bound into the key derivation and the AEAD",
            record: edit(&|r| {
                r[106..138].copy_from_slice(&other_session.public_key());
                resign(r, &other_session);
            }),
            body: None,
        },
        Vector {
            file: "decrypt-failure-low-order-ephemeral.txt",
            expect: "decrypt-failure",
            description: "ephemeral key replaced by the all-zero (low-order) point, re-signed",
            record: edit(&|r| {
                r[HEADER_BYTES..ciphertext_start].fill(0);
                resign(r, &session);
            }),
            body: None,
        },
        Vector {
            file: "wrong-event.txt",
            expect: "wrong-event",
            description: "a valid record of event be-2019-05-26; the office expects be-2024-06-09",
            record: seal_with(
                &record_header("be-2019-05-26", image, 7),
                BODY,
                &office,
                &session,
            ),
            body: None,
        },
        Vector {
            file: "wrong-image.txt",
            expect: "wrong-image",
            description: "a valid record made by another boot image",
            record: seal_with(
                &record_header(EVENT_ID, input("other image"), 7),
                BODY,
                &office,
                &session,
            ),
            body: None,
        },
    ]
}

fn render(v: &Vector) -> String {
    let mut text = String::new();
    text.push_str(&format!("expect: {}\n", v.expect));
    text.push_str(&format!("description: {}\n", v.description));
    text.push_str(&format!(
        "office-secret: {}\n",
        hex(&input("office secret"))
    ));
    text.push_str(&format!("expected-event: {EVENT_ID}\n"));
    text.push_str(&format!("expected-image: {}\n", hex(&input("image"))));
    if let Some(body) = v.body {
        text.push_str(&format!("body: {}\n", hex(body)));
    }
    text.push_str("record:\n");
    for chunk in v.record.chunks(32) {
        text.push_str(&hex(chunk));
        text.push('\n');
    }
    text
}

struct Parsed {
    expect: String,
    office_secret: [u8; 32],
    expected_event: Identifier,
    expected_image: [u8; 32],
    body: Option<Vec<u8>>,
    record: Vec<u8>,
}

fn parse(text: &str) -> Parsed {
    let (head, record) = text.split_once("record:\n").expect("a record: line");
    let mut fields = std::collections::BTreeMap::new();
    for line in head.lines() {
        let (name, value) = line.split_once(": ").expect("name: value");
        fields.insert(name.to_string(), value.to_string());
    }
    let field = |name: &str| {
        fields
            .get(name)
            .unwrap_or_else(|| panic!("no {name}:"))
            .clone()
    };
    let arr = |name: &str| -> [u8; 32] { unhex(&field(name)).try_into().expect("32 bytes") };
    assert_eq!(
        head.lines().next().map(|l| l.starts_with("expect: ")),
        Some(true)
    );
    Parsed {
        expect: field("expect"),
        office_secret: arr("office-secret"),
        expected_event: Identifier::new(&field("expected-event")).expect("event id"),
        expected_image: arr("expected-image"),
        body: fields.get("body").map(|b| unhex(b)),
        record: unhex(record),
    }
}

/// Open as the office does: open, then check event and image.
fn outcome(p: &Parsed, body_out: &mut [u8]) -> Result<Vec<u8>, OpenError> {
    let opened = open(&p.record, &p.office_secret, body_out)?;
    opened.expect_event(&p.expected_event)?;
    opened.expect_image(&p.expected_image)?;
    Ok(opened.body.to_vec())
}

fn check(file: &str) {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let p = parse(&text);
    let mut body_out = vec![0u8; 1024];
    match outcome(&p, &mut body_out) {
        Ok(body) => {
            assert_eq!(p.expect, "ok", "{file}: opened, expected {}", p.expect);
            assert_eq!(Some(body), p.body, "{file}: body differs");
        }
        Err(e) => {
            assert_eq!(
                e.class().label(),
                p.expect,
                "{file}: failed with {e} ({}), expected {}",
                e.class(),
                p.expect
            );
            // Event and image are checked on an opened record; every other failure
            // leaves no plaintext behind.
            if !matches!(
                e.class(),
                FailureClass::WrongEvent | FailureClass::WrongImage
            ) {
                assert!(
                    body_out.iter().all(|&b| b == 0),
                    "{file}: plaintext left in the buffer"
                );
            }
        }
    }
}

#[test]
fn committed_vectors_match_the_generator() {
    let update = std::env::var_os("UPDATE_VECTORS").is_some();
    let vectors = generate();
    if update {
        std::fs::create_dir_all(dir()).expect("create testdata/sealed-record");
    }
    let mut names = BTreeSet::new();
    for v in &vectors {
        names.insert(v.file.to_string());
        let path = dir().join(v.file);
        let text = render(v);
        if update {
            std::fs::write(&path, &text).expect("write vector");
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_VECTORS=1 writes it)", path.display()));
        assert_eq!(committed, text, "{} differs from the generator", v.file);
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("read testdata/sealed-record")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    assert_eq!(
        on_disk, names,
        "vector files without a generator entry (or missing)"
    );
    let tested: BTreeSet<String> = TESTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(tested, names, "every vector file needs its own test below");
}

#[test]
fn vector_inputs_are_as_documented() {
    // docs/formats/sealed-record.md quotes these; keep them in step.
    let office = input("office secret");
    std::println!("office secret  {}", hex(&office));
    std::println!("office public  {}", hex(&office_public_key(&office)));
    let session = SessionKey::from_seed(&input("session seed")).expect("key");
    std::println!("session seed   {}", hex(&input("session seed")));
    std::println!("session public {}", hex(&session.public_key()));
    std::println!("session fpr    {}", hex(&session.fingerprint()));
    std::println!("ephemeral      {}", hex(&input("ephemeral")));
    std::println!("image digest   {}", hex(&input("image")));
    assert_eq!(BODY.len(), 60);
}

macro_rules! vector_tests {
    ($($name:ident => $file:literal,)*) => {
        const TESTED: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $name() {
                check($file);
            }
        )*
    };
}

vector_tests! {
    vector_ok => "ok.txt",
    vector_ok_closed_empty_body => "ok-closed-empty-body.txt",
    vector_bad_signature_flipped_bit => "bad-signature-flipped-bit.txt",
    vector_bad_signature_edited_generation => "bad-signature-edited-generation.txt",
    vector_bad_signature_edited_ciphertext => "bad-signature-edited-ciphertext.txt",
    vector_bad_header_magic => "bad-header-magic.txt",
    vector_bad_header_version => "bad-header-version.txt",
    vector_bad_header_identifier_padding => "bad-header-identifier-padding.txt",
    vector_bad_header_poll_state => "bad-header-poll-state.txt",
    vector_truncated_last_byte => "truncated-last-byte.txt",
    vector_truncated_in_header => "truncated-in-header.txt",
    vector_trailing_bytes => "trailing-bytes.txt",
    vector_decrypt_failure_wrong_office_key => "decrypt-failure-wrong-office-key.txt",
    vector_decrypt_failure_flipped_ciphertext => "decrypt-failure-flipped-ciphertext.txt",
    vector_decrypt_failure_session_key_replaced => "decrypt-failure-session-key-replaced.txt",
    vector_decrypt_failure_low_order_ephemeral => "decrypt-failure-low-order-ephemeral.txt",
    vector_wrong_event => "wrong-event.txt",
    vector_wrong_image => "wrong-image.txt",
}

/// HKDF output length as raw bytes (for printing the record key of the worked example).
struct KeyBytes;

impl hkdf::KeyType for KeyBytes {
    fn len(&self) -> usize {
        32
    }
}

#[test]
fn worked_example_intermediate_values() {
    // The `ok` vector, recomputed step by step as docs/formats/sealed-record.md shows it;
    // decrypting with the printed key proves the steps are the ones `seal` takes.
    let text = std::fs::read_to_string(dir().join("ok.txt")).expect("ok.txt");
    let p = parse(&text);
    let record = &p.record;
    let wire: [u8; HEADER_BYTES] = record[..HEADER_BYTES].try_into().expect("header");
    let ephemeral_public: [u8; 32] = record[HEADER_BYTES..CIPHERTEXT_OFFSET]
        .try_into()
        .expect("ephemeral");
    assert_eq!(
        ephemeral_public,
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(input("ephemeral")))
            .to_bytes()
    );
    let office_public = office_public_key(&p.office_secret);
    let shared = x25519_dalek::x25519(p.office_secret, ephemeral_public);
    let mut salt = Vec::new();
    salt.extend_from_slice(&ephemeral_public);
    salt.extend_from_slice(&office_public);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&shared);
    let info: [&[u8]; 2] = [SEAL_LABEL, &wire];
    let mut key = [0u8; 32];
    prk.expand(&info, KeyBytes)
        .expect("expand")
        .fill(&mut key)
        .expect("fill");
    let body_len = BODY.len();
    let mut plain = record[CIPHERTEXT_OFFSET..CIPHERTEXT_OFFSET + body_len + TAG_BYTES].to_vec();
    let aead_key =
        aead::LessSafeKey::new(aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &key).expect("key"));
    let opened = aead_key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(NONCE),
            aead::Aad::from(&wire),
            &mut plain,
        )
        .expect("decrypts with the printed key");
    assert_eq!(opened, BODY);
    let signed_len = record.len() - SIGNATURE_BYTES;
    let mut labelled = SEAL_SIGNATURE_LABEL.to_vec();
    labelled.extend_from_slice(&record[..signed_len]);
    let signed_digest = digest::digest(&digest::SHA256, &labelled);
    let message = signed_message(&record[..signed_len]);
    assert_eq!(&message[..], signed_digest.as_ref());
    signature::UnparsedPublicKey::new(&signature::ED25519, &record[106..138])
        .verify(&message, &record[signed_len..])
        .expect("signature");
    std::println!("ephemeral public {}", hex(&ephemeral_public));
    std::println!("shared secret    {}", hex(&shared));
    std::println!("record key       {}", hex(&key));
    std::println!("signed digest    {}", hex(signed_digest.as_ref()));
}
