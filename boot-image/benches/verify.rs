//! Boot image verification throughput, next to `openssl dgst -sha256` on the same file.
//!
//! Run: `cargo bench -p boot-image --bench verify`
//!
//! Builds signed images (2 of 3 TEST-ONLY authority keys) with 1 MiB and 4 MiB payloads,
//! measures `boot_image::verify` with criterion, then prints MB/s (10^6 bytes per second)
//! of verify and of `openssl dgst -sha256` hashing the same image file, and their ratio;
//! and, as a stricter reference, `openssl speed -evp sha256` hashing in memory.
//! Verification is one SHA-256 pass over the payload plus two Ed25519 checks, so the
//! goal is a ratio of at least 0.7.

// `criterion_main!` generates an undocumented `main`.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use boot_image::{build, inspect, sign, verify, ImageSpec, MachineKind, TrustPolicy};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firmware::election::Date;
use ring::signature::{Ed25519KeyPair, KeyPair};

const MIB: usize = 1024 * 1024;
const SIZES_MIB: [usize; 2] = [1, 4];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/boot-image")
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// The image of the committed `ok` vector (an official image, polling day 2026-05-31).
fn ok_vector() -> Vec<u8> {
    let text = std::fs::read_to_string(testdata().join("ok.vector")).unwrap();
    let hex: String = text
        .lines()
        .skip_while(|l| !l.starts_with("image:"))
        .skip(1)
        .collect();
    unhex(&hex)
}

fn test_authority(name: &str) -> Ed25519KeyPair {
    let text = std::fs::read_to_string(testdata().join("TEST-ONLY-keys.txt")).unwrap();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap();
    let seed = unhex(line.split_whitespace().nth(1).unwrap());
    Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
}

/// Deterministic payload bytes (xorshift), so every run hashes the same data.
fn payload(bytes: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A signed image like the `ok` vector but with a payload of `bytes` bytes.
fn image(bytes: usize, signers: &[Ed25519KeyPair]) -> Vec<u8> {
    let template = ok_vector();
    let m = inspect(&template).unwrap().manifest;
    let payload = payload(bytes);
    let payloads = [(MachineKind::Wasm32, payload.as_slice())];
    let unsigned = build(&ImageSpec {
        event_id: m.event_id,
        mode: m.mode,
        version: m.version,
        valid_from: m.valid_from,
        valid_until: m.valid_until,
        provenance: m.provenance,
        payloads: &payloads,
        election: m.election,
        office_public_key: m.office_public_key,
        pin_verifier: m.pin_verifier,
    })
    .unwrap();
    signers
        .iter()
        .fold(unsigned, |image, key| sign(&image, key).unwrap())
}

fn polling_day() -> Date {
    Date::new(2026, 5, 31).unwrap()
}

/// Best wall time of `runs` runs of `f`.
fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// MB/s of `openssl dgst -sha256` on `file`: one process hashing the file `copies` times,
/// minus one process hashing it once (process start-up), best of 5.
fn openssl_mb_per_s(file: &Path, bytes: usize, copies: usize) -> Option<f64> {
    let run = |n: usize| {
        best_of(5, || {
            let status = Command::new("openssl")
                .arg("dgst")
                .arg("-sha256")
                .args(std::iter::repeat_n(file, n))
                .stdout(std::process::Stdio::null())
                .status();
            assert!(status.is_ok_and(|s| s.success()), "openssl dgst failed");
        })
    };
    Command::new("openssl").arg("version").output().ok()?;
    let many = run(copies);
    let one = run(1);
    let hashing = many.checked_sub(one)?.as_secs_f64();
    Some((bytes * (copies - 1)) as f64 / hashing / 1e6)
}

/// MB/s of `openssl speed -evp sha256` on `bytes`-byte blocks: in-memory hashing, no file
/// reads; a stricter reference than `openssl dgst`.
fn openssl_speed_mb_per_s(bytes: usize) -> Option<f64> {
    let output = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-seconds", "1", "-bytes"])
        .arg(bytes.to_string())
        .output()
        .ok()?;
    // The last line is "sha256   1273761.99k": thousands of bytes per second.
    let text = String::from_utf8(output.stdout).ok()?;
    let figure = text.lines().last()?.split_whitespace().last()?;
    let thousands: f64 = figure.strip_suffix('k')?.parse().ok()?;
    Some(thousands / 1e3)
}

fn verify_throughput(c: &mut Criterion) {
    let keys = [
        test_authority("test-authority-1"),
        test_authority("test-authority-2"),
        test_authority("test-authority-3"),
    ];
    let trusted: Vec<[u8; 32]> = keys
        .iter()
        .map(|k| k.public_key().as_ref().try_into().unwrap())
        .collect();
    let policy = TrustPolicy {
        keys: &trusted,
        threshold: 2,
    };
    let images: Vec<(usize, Vec<u8>)> = SIZES_MIB
        .iter()
        .map(|&mib| (mib, image(mib * MIB, &keys[..2])))
        .collect();

    let mut group = c.benchmark_group("verify");
    for (mib, image) in &images {
        verify(image, &policy, MachineKind::Wasm32, polling_day()).unwrap();
        group.throughput(Throughput::Bytes(image.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{mib}MiB")),
            image,
            |b, image| {
                b.iter(|| verify(image, &policy, MachineKind::Wasm32, polling_day()).unwrap())
            },
        );
    }
    group.finish();

    println!("\nverify vs openssl dgst -sha256 on the same file (MB = 10^6 bytes, best of runs):");
    for (mib, image) in &images {
        let ours = best_of(30, || {
            verify(image, &policy, MachineKind::Wasm32, polling_day()).unwrap();
        });
        let ours = image.len() as f64 / ours.as_secs_f64() / 1e6;
        let file = std::env::temp_dir().join(format!("boot-image-bench-{mib}MiB.img"));
        std::fs::write(&file, image).unwrap();
        let copies = 256 / mib;
        println!(
            "  {mib} MiB image ({} bytes): verify {ours:.0} MB/s",
            image.len()
        );
        match openssl_mb_per_s(&file, image.len(), copies) {
            Some(openssl) => println!(
                "    openssl dgst -sha256 (same file): {openssl:.0} MB/s, ratio {:.2}",
                ours / openssl
            ),
            None => println!("    openssl dgst -sha256: not available"),
        }
        if let Some(speed) = openssl_speed_mb_per_s(image.len()) {
            println!(
                "    openssl speed -evp sha256 (in memory): {speed:.0} MB/s, ratio {:.2}",
                ours / speed
            );
        }
        let _ = std::fs::remove_file(&file);
    }
}

criterion_group!(benches, verify_throughput);
criterion_main!(benches);
