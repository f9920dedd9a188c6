//! Every single-bit flip of a small signed image is refused, and no mutation panics.
//!
//! Takes the accepted `ok` and `ok-riscv32` vectors (header, manifest, payloads and two
//! signatures), flips each bit in turn, and requires the verifier to refuse every result
//! under the vector's own policy, machine and date. Prints the number of flips per refusal
//! class (`cargo test -p boot-image --test bitflip -- --nocapture`).
//!
//! The proptests at the end are the stable-toolchain smoke run of the fuzz target
//! (`boot-image/fuzz/fuzz_targets/parse.rs`): random bytes and random edits of signed
//! images go through `inspect` and `verify`, which must not panic and must refuse every
//! image that differs from the signed one.

use std::collections::BTreeMap;
use std::path::Path;

use boot_image::{inspect, verify, MachineKind, Refusal, TrustPolicy, MAGIC};
use firmware::election::Date;
use proptest::prelude::*;
use proptest::sample::Index;

struct Vector {
    trusted: Vec<[u8; 32]>,
    threshold: usize,
    machine: MachineKind,
    today: Date,
    image: Vec<u8>,
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn load(name: &str) -> Vector {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/boot-image")
        .join(format!("{name}.vector"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut v = Vector {
        trusted: Vec::new(),
        threshold: 0,
        machine: MachineKind::Wasm32,
        today: Date::new(2000, 1, 1).unwrap(),
        image: Vec::new(),
    };
    let mut lines = text.lines();
    for line in lines.by_ref() {
        match line.split_once(": ") {
            Some(("expect", expect)) => assert_eq!(expect, "ok", "{name} must be accepted"),
            Some(("trusted", key)) => v.trusted.push(unhex(key).try_into().unwrap()),
            Some(("threshold", n)) => v.threshold = n.parse().unwrap(),
            Some(("machine", m)) => v.machine = MachineKind::from_name(m).unwrap(),
            Some(("today", d)) => v.today = Date::parse(d).unwrap(),
            Some(("image", _)) => break,
            _ => {}
        }
    }
    v.image = unhex(&lines.collect::<String>());
    v
}

fn every_flip_is_refused(name: &str) {
    let v = load(name);
    let policy = TrustPolicy {
        keys: &v.trusted,
        threshold: v.threshold,
    };
    verify(&v.image, &policy, v.machine, v.today).expect("the unflipped image is accepted");
    let mut by_class: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut accepted = Vec::new();
    let mut image = v.image.clone();
    let bits = image.len() * 8;
    for bit in 0..bits {
        image[bit / 8] ^= 1 << (bit % 8);
        match verify(&image, &policy, v.machine, v.today) {
            Ok(_) => accepted.push(bit),
            Err(refusal) => *by_class.entry(refusal.class()).or_default() += 1,
        }
        image[bit / 8] ^= 1 << (bit % 8);
    }
    println!(
        "{name}: {bits} single-bit flips of a {}-byte image:",
        v.image.len()
    );
    for (class, count) in &by_class {
        println!("  {count:5}  {class}");
    }
    assert!(
        accepted.is_empty(),
        "{name}: flips of bits {accepted:?} were accepted"
    );
    assert_eq!(by_class.values().sum::<usize>(), bits);
}

#[test]
fn every_bit_flip_of_the_ok_image_is_refused() {
    every_flip_is_refused("ok");
}

#[test]
fn every_bit_flip_of_a_two_payload_image_is_refused() {
    every_flip_is_refused("ok-riscv32");
}

/// One edit of an image: overwrite, insert or delete a byte, or cut the image short.
#[derive(Debug, Clone)]
enum Edit {
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(image: &mut Vec<u8>, edit: &Edit) {
    if image.is_empty() {
        return;
    }
    match edit {
        Edit::Set(i, b) => {
            let at = i.index(image.len());
            image[at] = *b;
        }
        Edit::Insert(i, b) => image.insert(i.index(image.len() + 1), *b),
        Edit::Delete(i) => {
            image.remove(i.index(image.len()));
        }
        Edit::Truncate(i) => image.truncate(i.index(image.len())),
    }
}

/// What the fuzz target checks: no panic, and a refusal renders as one line of a known class.
fn refusal_is_well_formed(refusal: &Refusal) {
    assert!(Refusal::CLASSES.contains(&refusal.class()), "{refusal:?}");
    let message = refusal.to_string();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{message:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn edited_images_are_refused_without_panicking(
        which in prop_oneof![Just("ok"), Just("ok-riscv32"), Just("ok-training-dev-key")],
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let v = load(which);
        let policy = TrustPolicy { keys: &v.trusted, threshold: v.threshold };
        let mut image = v.image.clone();
        for e in &edits {
            apply(&mut image, e);
        }
        if let Err(refusal) = inspect(&image) {
            refusal_is_well_formed(&refusal);
        }
        match verify(&image, &policy, v.machine, v.today) {
            Ok(_) => prop_assert_eq!(&image, &v.image, "an edited image was accepted"),
            Err(refusal) => refusal_is_well_formed(&refusal),
        }
    }

    #[test]
    fn random_bytes_are_refused_without_panicking(
        versioned in any::<bool>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        // Half the inputs start with a valid magic and version to reach the later checks.
        let mut image = Vec::new();
        if versioned {
            image.extend_from_slice(&MAGIC);
            image.extend_from_slice(&[1, 0, 16, 0]);
        }
        image.extend_from_slice(&bytes);
        let v = load("ok");
        let policy = TrustPolicy { keys: &v.trusted, threshold: v.threshold };
        if let Err(refusal) = inspect(&image) {
            refusal_is_well_formed(&refusal);
        }
        let refusal = verify(&image, &policy, v.machine, v.today).unwrap_err();
        refusal_is_well_formed(&refusal);
    }
}
