//! Every single-bit flip of a small signed image is refused.
//!
//! Takes the accepted `ok` and `ok-riscv32` vectors (header, manifest, payloads and two
//! signatures), flips each bit in turn, and requires the verifier to refuse every result
//! under the vector's own policy, machine and date. Prints the number of flips per refusal
//! class (`cargo test -p boot-image --test bitflip -- --nocapture`).

use std::collections::BTreeMap;
use std::path::Path;

use boot_image::{verify, MachineKind, TrustPolicy};
use firmware::election::Date;

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
    println!("{name}: {bits} single-bit flips of a {}-byte image:", v.image.len());
    for (class, count) in &by_class {
        println!("  {count:5}  {class}");
    }
    assert!(accepted.is_empty(), "{name}: flips of bits {accepted:?} were accepted");
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
