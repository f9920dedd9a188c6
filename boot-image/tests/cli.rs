//! The `boot-image` command line, run as a user would: every exit code (0 ok, 1 verification
//! failed, 2 usage or input error), key files, reproducible builds and in-place signing.

#[macro_use]
mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// A fixed build time for reproducible builds (2026-06-01T00:00:00Z).
const EPOCH: &str = "1780272000";
/// A minimal WebAssembly module (magic and version), standing in for the firmware payload.
const PAYLOAD: &[u8] = b"\0asm\x01\0\0\0";

fn demo_definition() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("docs/examples/demo-election.toml")).unwrap()
}

/// Keys, PIN, payload and definition for building in `s`.
fn setup(s: &Scratch) {
    for (kind, name) in [
        ("--authority", "a1"),
        ("--authority", "a2"),
        ("--office", "office"),
    ] {
        assert_exit(&run(&s.0, &["keygen", kind, "-o", name]), 0);
    }
    s.write("pin.txt", b"246810\n");
    s.write("firmware.wasm", PAYLOAD);
    s.write("demo.toml", demo_definition().as_bytes());
}

fn build_args<'a>(output: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "build",
        "--election",
        "demo.toml",
        "--payload",
        "wasm32=firmware.wasm",
        "--pin-file",
        "pin.txt",
        "--office-key",
        "office.pub",
        "--source-date-epoch",
        EPOCH,
        "--source-commit",
        "0123456789abcdef",
        "-o",
        output,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn help_lists_the_subcommands() {
    let s = Scratch::new("help");
    let output = run(&s.0, &["--help"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    for command in [
        "keygen", "build", "sign", "verify", "inspect", "check", "pin",
    ] {
        assert!(text.contains(command), "--help mentions {command}:\n{text}");
    }
    assert!(text.contains("Exit codes"));
    let output = run(&s.0, &["build", "--help"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("SOURCE_DATE_EPOCH"));
}

#[test]
fn usage_errors_exit_2() {
    let s = Scratch::new("usage");
    assert_exit(&run(&s.0, &["frobnicate"]), 2);
    assert_exit(&run(&s.0, &["keygen", "-o", "x"]), 2); // neither --authority nor --office
    assert_exit(&run(&s.0, &["verify", "image.img"]), 2); // no --threshold
    let output = run(
        &s.0,
        &[
            "build",
            "--election",
            "e.toml",
            "--payload",
            "x86=f",
            "-o",
            "i",
        ],
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("unknown machine kind `x86`"));
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites() {
    let s = Scratch::new("keygen");
    let output = run(&s.0, &["keygen", "--authority", "-o", "auth"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("fingerprint: "));
    let secret = std::fs::read_to_string(s.path("auth.key")).unwrap();
    let public = std::fs::read_to_string(s.path("auth.pub")).unwrap();
    assert!(secret.starts_with("voting-terminal authority secret key v1\n"));
    assert!(public.starts_with("voting-terminal authority public key v1\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("auth.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(&s.0, &["keygen", "--authority", "-o", "auth"]);
    assert_exit(&again, 2);
    assert!(stderr(&again).contains("auth.key: already exists; refusing to overwrite it"));
    assert_eq!(std::fs::read_to_string(s.path("auth.key")).unwrap(), secret);

    assert_exit(&run(&s.0, &["keygen", "--office", "-o", "office"]), 0);
    let office = std::fs::read_to_string(s.path("office.key")).unwrap();
    assert!(office.starts_with("voting-terminal office secret key v1\n"));
}

#[test]
fn build_sign_verify_inspect() {
    let s = Scratch::new("flow");
    setup(&s);
    let output = run(&s.0, &build_args("demo.img", &["--sign", "a1.key"]));
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("1 signature(s)"));

    let verify = |threshold: &str| {
        run(
            &s.0,
            &[
                "verify",
                "--trust",
                "a1.pub",
                "--trust",
                "a2.pub",
                "--threshold",
                threshold,
                "demo.img",
            ],
        )
    };
    // One of two required signatures: refused.
    let output = verify("2");
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "demo.img: refused (below-threshold): only 1 of 2 required signatures by trusted keys\n"
    );
    assert_exit(&verify("1"), 0);

    // The second authority signs in place; no temporary file is left behind.
    let output = run(&s.0, &["sign", "--key", "a2.key", "demo.img"]);
    assert_exit(&output, 0);
    let leftovers: Vec<_> = std::fs::read_dir(&s.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let output = verify("2");
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("2 of 2 required signatures valid"));

    // Signing twice with the same key is an input error; the image is unchanged.
    let before = std::fs::read(s.path("demo.img")).unwrap();
    let output = run(&s.0, &["sign", "--key", "a2.key", "demo.img"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("has already signed it"));
    assert_eq!(std::fs::read(s.path("demo.img")).unwrap(), before);

    let output = run(&s.0, &["inspect", "demo.img"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let fingerprint = text
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint:"))
        .unwrap()
        .trim();
    let groups: Vec<&str> = fingerprint.split(' ').collect();
    assert_eq!(groups.len(), 16, "{fingerprint}");
    assert!(groups
        .iter()
        .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit())));
    for expected in [
        "event:        DEMO-LINDENHOVE-2026",
        "mode:         training",
        "valid:        2026-06-07 to 2026-06-07",
        "commit 0123456789abcdef, SOURCE_DATE_EPOCH 1780272000 (2026-06-01)",
        "signatures:   2",
        "chamber: Chamber of Representatives, Lindenhove constituency: 12 seats, D'Hondt, \
         threshold 5 %, 8 lists",
        "region: Parliament of the Lindenhove Region",
        "wasm32      8 bytes, SHA-256 ",
    ] {
        assert!(
            text.contains(expected),
            "inspect shows `{expected}`:\n{text}"
        );
    }
}

#[test]
fn tampered_image_is_refused_in_one_line() {
    let s = Scratch::new("tamper");
    setup(&s);
    assert_exit(
        &run(&s.0, &build_args("demo.img", &["--sign", "a1.key"])),
        0,
    );
    let mut image = std::fs::read(s.path("demo.img")).unwrap();
    // The payload sits just before the signature block (6 + 96 bytes for one signature).
    let index = image.len() - 6 - 96 - 1;
    image[index] ^= 0x01;
    s.write("tampered.img", &image);
    let output = run(
        &s.0,
        &[
            "verify",
            "--trust",
            "a1.pub",
            "--threshold",
            "1",
            "tampered.img",
        ],
    );
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tampered.img: refused (digest-mismatch): "),
        "{err}"
    );

    // Inspect refuses it too (exit 1): the contents do not match the signed digests.
    assert_exit(&run(&s.0, &["inspect", "tampered.img"]), 1);

    // Truncation and garbage.
    s.write("short.img", &image[..image.len() / 2]);
    let output = run(
        &s.0,
        &[
            "verify",
            "--trust",
            "a1.pub",
            "--threshold",
            "1",
            "short.img",
        ],
    );
    assert_exit(&output, 1);
    assert_eq!(stderr(&output).lines().count(), 1);
    s.write("garbage.img", b"hello");
    let output = run(
        &s.0,
        &[
            "verify",
            "--trust",
            "a1.pub",
            "--threshold",
            "1",
            "garbage.img",
        ],
    );
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "garbage.img: refused (bad-magic): not a boot image: bad magic\n"
    );
}

#[test]
fn input_errors_exit_2_naming_the_file() {
    let s = Scratch::new("input");
    setup(&s);
    let output = run(
        &s.0,
        &[
            "verify",
            "--trust",
            "a1.pub",
            "--threshold",
            "1",
            "missing.img",
        ],
    );
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "boot-image: error: missing.img: no such file\n"
    );

    s.write("bad.toml", b"format = 1\nid = = \"x\"\n");
    let mut args = build_args("x.img", &[]);
    args[2] = "bad.toml";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).starts_with("boot-image: error: bad.toml:2:6: "),
        "{}",
        stderr(&output)
    );

    args[2] = "nothing.toml";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "boot-image: error: nothing.toml: no such file\n"
    );

    let broken = demo_definition().replacen("seats = 12", "seats = 0", 1);
    s.write("zero.toml", broken.as_bytes());
    args[2] = "zero.toml";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "boot-image: error: zero.toml:23:9: elections[0].seats: zero seats\n"
    );

    // A public key where a secret key is expected.
    let output = run(&s.0, &["sign", "--key", "a1.pub", "whatever.img"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains(
        "a1.pub: this is an authority public key file, expected an authority secret key file"
    ));

    // A bad PIN file.
    s.write("short-pin.txt", b"12\n");
    let mut args = build_args("x.img", &[]);
    args[6] = "short-pin.txt";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("short-pin.txt: the PIN has 2 digits"));

    // Threshold above the trusted keys is a usage error, not a refusal of the image.
    let output = run(
        &s.0,
        &["verify", "--trust", "a1.pub", "--threshold", "2", "x.img"],
    );
    assert_exit(&output, 2);
}

#[test]
fn builds_are_reproducible_and_never_read_the_clock() {
    let s = Scratch::new("repro");
    setup(&s);
    assert_exit(&run(&s.0, &build_args("one.img", &["--sign", "a1.key"])), 0);
    // The same inputs with SOURCE_DATE_EPOCH from the environment give the same bytes.
    let mut args = build_args("two.img", &["--sign", "a1.key"]);
    args.retain(|a| *a != "--source-date-epoch" && *a != EPOCH);
    let output = Command::new(BIN)
        .args(&args)
        .current_dir(&s.0)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read(s.path("one.img")).unwrap(),
        std::fs::read(s.path("two.img")).unwrap()
    );
    // Another directory, other file names, absolute paths: still the same bytes.
    let elsewhere = Scratch::new("repro-elsewhere");
    let mut copies = Vec::new();
    for (from, to) in [
        ("demo.toml", "election-copy.toml"),
        ("firmware.wasm", "payload-copy.wasm"),
        ("pin.txt", "operator.pin"),
        ("office.pub", "records.pub"),
        ("a1.key", "signer.key"),
    ] {
        let target = elsewhere.path(to);
        std::fs::copy(s.path(from), &target).unwrap();
        copies.push(target.to_str().unwrap().to_owned());
    }
    let payload = format!("wasm32={}", copies[1]);
    let output = run(
        &elsewhere.0,
        &[
            "build",
            "--election",
            &copies[0],
            "--payload",
            &payload,
            "--pin-file",
            &copies[2],
            "--office-key",
            &copies[3],
            "--sign",
            &copies[4],
            "--source-date-epoch",
            EPOCH,
            "--source-commit",
            "0123456789abcdef",
            "-o",
            "copy.img",
        ],
    );
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read(s.path("one.img")).unwrap(),
        std::fs::read(elsewhere.path("copy.img")).unwrap()
    );
    // Without a build time the tool refuses rather than reading the clock.
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("set SOURCE_DATE_EPOCH or give --source-date-epoch"));
    // A different version gives a different image (and a different PIN salt).
    assert_exit(
        &run(
            &s.0,
            &build_args("three.img", &["--sign", "a1.key", "--version", "2"]),
        ),
        0,
    );
    assert_ne!(
        std::fs::read(s.path("one.img")).unwrap(),
        std::fs::read(s.path("three.img")).unwrap()
    );
}

#[test]
fn pin_verifier_files_keep_the_pin_off_the_build_machine() {
    let s = Scratch::new("pin");
    setup(&s);
    let output = run(
        &s.0,
        &[
            "pin",
            "--pin-file",
            "pin.txt",
            "--salt",
            "000102030405060708090a0b0c0d0e0f",
            "-o",
            "pin.verifier",
        ],
    );
    assert_exit(&output, 0);
    let text = std::fs::read_to_string(s.path("pin.verifier")).unwrap();
    assert!(text.starts_with("voting-terminal pin verifier v1\n"));
    assert!(text.contains("salt: 000102030405060708090a0b0c0d0e0f\n"));
    let mut args = build_args("pin.img", &[]);
    args[5] = "--pin-verifier";
    args[6] = "pin.verifier";
    assert_exit(&run(&s.0, &args), 0);
    // The verifier file is never overwritten.
    let output = run(
        &s.0,
        &["pin", "--pin-file", "pin.txt", "-o", "pin.verifier"],
    );
    assert_exit(&output, 2);
}

#[test]
fn dev_keys_sign_training_images_only() {
    let s = Scratch::new("dev");
    setup(&s);
    let dev = |name: &str| Path::new(ROOT).join("dev-keys").join(name);
    let k1 = dev("dev-authority-1.key");
    let k2 = dev("dev-authority-2.key");
    let office = dev("dev-office.pub");
    let mut args = build_args(
        "training.img",
        &[
            "--sign",
            k1.to_str().unwrap(),
            "--sign",
            k2.to_str().unwrap(),
        ],
    );
    args[8] = office.to_str().unwrap();
    assert_exit(&run(&s.0, &args), 0);
    let output = run(
        &s.0,
        &["verify", "--trust-dev", "--threshold", "2", "training.img"],
    );
    assert_exit(&output, 0);
    let output = run(&s.0, &["inspect", "training.img"]);
    assert!(stdout(&output).contains("(development authority key 1)"));
    assert!(stdout(&output).contains("(development office key)"));

    // An official definition: the dev office key and dev authority keys are refused.
    let official = demo_definition().replacen("mode = \"training\"", "mode = \"official\"", 1);
    s.write("official.toml", official.as_bytes());
    args[2] = "official.toml";
    args[14] = "official.img";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("the development office key is public"));
    args[8] = "office.pub";
    let output = run(&s.0, &args);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("a development authority key may only sign training images"));
}

#[test]
fn official_images_are_refused_outside_their_dates() {
    let s = Scratch::new("dates");
    setup(&s);
    let official = demo_definition().replacen("mode = \"training\"", "mode = \"official\"", 1);
    s.write("official.toml", official.as_bytes());
    let mut args = build_args(
        "official.img",
        &[
            "--sign",
            "a1.key",
            "--valid-from",
            "2026-06-01",
            "--valid-until",
            "2026-06-08",
        ],
    );
    args[2] = "official.toml";
    assert_exit(&run(&s.0, &args), 0);
    let verify = |date: &str| {
        run(
            &s.0,
            &[
                "verify",
                "--trust",
                "a1.pub",
                "--threshold",
                "1",
                "--date",
                date,
                "official.img",
            ],
        )
    };
    assert_exit(&verify("2026-06-07"), 0);
    let output = verify("2026-06-09");
    assert_exit(&output, 1);
    assert!(stderr(&output).starts_with("official.img: refused (expired): "));
    let output = verify("2026-05-31");
    assert_exit(&output, 1);
    assert!(stderr(&output).starts_with("official.img: refused (not-yet-valid): "));
    // A machine kind the image has no payload for.
    let output = run(
        &s.0,
        &[
            "verify",
            "--trust",
            "a1.pub",
            "--threshold",
            "1",
            "--date",
            "2026-06-07",
            "--machine",
            "riscv32",
            "official.img",
        ],
    );
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("(wrong-machine)"));
}

#[test]
fn check_summarises_the_examples() {
    let s = Scratch::new("check");
    let demo = Path::new(ROOT).join("docs/examples/demo-election.toml");
    let output = run(&s.0, &["check", demo.to_str().unwrap()]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("event DEMO-LINDENHOVE-2026"), "{text}");
    assert!(text.contains("europe: European Parliament"), "{text}");
    let stress = Path::new(ROOT).join("docs/examples/stress-election.toml");
    let output = run(&s.0, &["check", stress.to_str().unwrap()]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("40 lists, 2560 candidates"));
}
