//! The demo day end to end: the demo election and the built payload make a signed image;
//! the simulator's boot ROM verifies it and runs the payload under wasmi through the demo
//! script (20 voters); the screenshots must match the goldens, the closing report the
//! script's counts, the power-off must leave no ballot in memory, and the office must
//! recount from the results media exactly what the voters cast.
//!
//! The end-to-end test needs the payload: `SIMULATOR_PAYLOAD=<path> cargo test -p e2e
//! --test demo -- --ignored` (`cargo xtask payload` prints the path; `cargo xtask test`
//! runs it). `UPDATE_GOLDENS=1` rewrites the goldens in `tests/goldens/demo/`; a mismatch
//! writes `<name>.diff.png` next to the run's screenshots and fails.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use boot_image::definition::Definition;
use boot_image::keys::{dev_office_secret, AuthorityKey, OfficeKey};
use boot_image::records::{open_media, Expected as OfficeExpected};
use boot_image::{build, sign, ImageSpec, MachineKind, Provenance};
use e2e::demo_voters::{self, Vote, ELECTIONS, SCRIPT_PATH, SHOTS, VOTERS};
use firmware::ballot::{BallotCodec, CandidateSet, Choice, ListIndex};
use firmware::election::{Date, Event, Mode};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use simulator::machine::Limits;
use simulator::rom::Trust;
use simulator::script;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn demo_script_is_generated_from_the_voters() {
    let path = root().join(SCRIPT_PATH);
    let generated = demo_voters::script();
    if std::env::var_os("UPDATE_DEMO_SCRIPT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_DEMO_SCRIPT=1 writes it)", path.display()));
    assert!(
        committed == generated,
        "{} differs from the voters in tests/demo_voters.rs; \
         run UPDATE_DEMO_SCRIPT=1 cargo test -p e2e --test demo",
        path.display()
    );
    // It parses as a simulator script.
    script::parse(&committed).unwrap();
}

fn definition() -> Definition {
    Definition::load(&root().join("docs/examples/demo-election.toml")).unwrap()
}

/// The demo image as `cargo xtask image` makes it (training, the three dev authorities,
/// the dev office key), with the PIN verifier at the minimum iteration count to keep the
/// test short.
fn demo_image(payload: &[u8]) -> Vec<u8> {
    let election = definition().to_postcard();
    let verifier = PinVerifier::derive(
        demo_voters::PIN.as_bytes(),
        [0x5d; 16],
        NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
    );
    let spec = ImageSpec {
        event_id: "DEMO-LINDENHOVE-2026",
        mode: Mode::Training,
        version: 1,
        valid_from: Date::new(2026, 6, 7).unwrap(),
        valid_until: Date::new(2026, 6, 7).unwrap(),
        provenance: Provenance {
            source_commit: "e2e-demo",
            source_date_epoch: 1_780_000_000,
            builder: "tests/demo.rs",
        },
        payloads: &[(MachineKind::Wasm32, payload)],
        election: &election,
        office_public_key: OfficeKey::dev().public_key().0,
        pin_verifier: verifier,
    };
    let mut image = build(&spec).unwrap();
    for n in 1..=3 {
        image = sign(&image, AuthorityKey::dev(n).key_pair()).unwrap();
    }
    image
}

/// The stored choice of one vote.
fn choice(event: &Event<'_>, election: usize, vote: Vote) -> Choice {
    let e = &event.elections[election];
    match vote {
        Vote::Blank => Choice::Blank,
        Vote::List(l) => Choice::from_marks(
            ListIndex::new(l - 1, e).unwrap(),
            true,
            CandidateSet::default(),
        )
        .unwrap(),
        Vote::Preferences {
            list,
            top_box,
            candidates,
        } => {
            let count = e.lists[list - 1].candidates.len();
            let mask = candidates.iter().fold(0u64, |m, c| m | 1 << (c - 1));
            Choice::from_marks(
                ListIndex::new(list - 1, e).unwrap(),
                top_box,
                CandidateSet::from_mask(mask, count).unwrap(),
            )
            .unwrap()
        }
    }
}

/// Per election, the encoded ballots the voters cast, sorted (the store's multiset order).
fn cast_ballots(event: &Event<'_>) -> Vec<Vec<Vec<u8>>> {
    (0..ELECTIONS)
        .map(|e| {
            let codec = BallotCodec::new(&event.elections[e]);
            let mut ballots: Vec<Vec<u8>> = VOTERS
                .iter()
                .filter(|v| v.cancelled_after.is_none())
                .map(|v| {
                    let c = choice(event, e, v.final_votes()[e]);
                    codec.encode(&c).unwrap().as_bytes().to_vec()
                })
                .collect();
            ballots.sort();
            ballots
        })
        .collect()
}

/// Byte patterns that only exist while ballots are in memory: each election's sorted
/// multiset, and every pair of adjacent ballots in it that is not mostly zero.
fn ballot_patterns(ballots: &[Vec<Vec<u8>>]) -> Vec<(String, Vec<u8>)> {
    let mut patterns = Vec::new();
    for (e, list) in ballots.iter().enumerate() {
        patterns.push((format!("election {} multiset", e + 1), list.concat()));
        for (i, pair) in list.windows(2).enumerate() {
            let bytes = pair.concat();
            if bytes.iter().filter(|&&b| b != 0).count() >= 3 && pair[0] != pair[1] {
                patterns.push((format!("election {} ballots {i}-{}", e + 1, i + 1), bytes));
            }
        }
    }
    patterns
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    (info.width, info.height, rgb)
}

fn write_rgb(path: &Path, width: u32, height: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(rgb)
        .unwrap();
}

/// Rectangles (x0, y0, x1, y1; end exclusive) that show the image fingerprint, which
/// changes with every payload build: they are not compared. Everything else is, including
/// the session key fingerprint (fixed by the entropy seed).
fn fingerprint_areas(shot: &str) -> &'static [(u32, u32, u32, u32)] {
    match shot {
        "01-boot" => &[(0, 114, 800, 178)],
        "03-opening-report" => &[(0, 112, 410, 234)],
        _ => &[],
    }
}

/// Compare a screenshot with its golden; returns a description of the mismatch.
fn compare(shot: &str, actual: &Path, golden: &Path) -> Option<String> {
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::copy(actual, golden).unwrap();
        return None;
    }
    if !golden.exists() {
        return Some(format!(
            "{shot}: no golden {} (UPDATE_GOLDENS=1 writes it)",
            golden.display()
        ));
    }
    let (w, h, got) = read_png(actual);
    let (gw, gh, want) = read_png(golden);
    if (w, h) != (gw, gh) {
        return Some(format!("{shot}: {w}x{h}, golden {gw}x{gh}"));
    }
    let masked = |x: u32, y: u32| {
        fingerprint_areas(shot)
            .iter()
            .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y))
    };
    let mut diff = vec![0u8; got.len()];
    let mut differing = 0usize;
    for (i, (a, b)) in got.chunks(3).zip(want.chunks(3)).enumerate() {
        let i32 = u32::try_from(i).unwrap();
        let (x, y) = (i32 % w, i32 / w);
        let d = &mut diff[i * 3..i * 3 + 3];
        if a == b || masked(x, y) {
            d.copy_from_slice(&[a[0] / 4, a[1] / 4, a[2] / 4]);
        } else {
            differing += 1;
            d.copy_from_slice(&[255, 0, 255]);
        }
    }
    if differing == 0 {
        return None;
    }
    let diff_path = actual.with_extension("diff.png");
    write_rgb(&diff_path, w, h, &diff);
    Some(format!(
        "{shot}: {differing} pixel(s) differ from {} (diff: {})",
        golden.display(),
        diff_path.display()
    ))
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn demo_day_end_to_end() {
    let payload_path = std::env::var_os("SIMULATOR_PAYLOAD")
        .expect("SIMULATOR_PAYLOAD names the payload (cargo xtask payload prints it)");
    let payload = std::fs::read(&payload_path).unwrap();
    let image = demo_image(&payload);
    let work = tempfile::tempdir().unwrap();
    let media = work.path().join("results.img");
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&demo_voters::ENTROPY_SEED[i * 2..i * 2 + 2], 16).unwrap();
    }
    let options = simulator::Options {
        image: image.clone(),
        trust: Trust::dev(2),
        today: Date::new(2026, 6, 7).unwrap(),
        entropy_seed: Some(seed),
        media: Some(media.clone()),
        station: demo_voters::STATION.into(),
        limits: Limits::default(),
        echo_log: false,
    };
    let (mut machine, verified) = simulator::power_on(&options).unwrap();
    let definition = definition();
    let event = definition.event();
    let ballots = cast_ballots(&event);
    let patterns = ballot_patterns(&ballots);
    assert!(patterns.len() > 3 * 3, "{} patterns", patterns.len());

    // Every script line, including the expect-text lines on the closing report's counters.
    let text = std::fs::read_to_string(root().join(SCRIPT_PATH)).unwrap();
    let lines = script::parse(&text).unwrap();
    // Run up to the president's power-off: the ballots must then be in RAM (the scan
    // works), and gone once the firmware powered off.
    let off = lines
        .iter()
        .position(|l| matches!(l.command, script::Command::Operator(code) if code == device_abi::OPERATOR_POWER_OFF))
        .expect("the demo ends with the president's power-off");
    script::run(&mut machine, &lines[..off], &out).unwrap();
    for (name, pattern) in &patterns {
        if name.ends_with("multiset") {
            assert!(
                machine.find_in_memory(pattern).is_some(),
                "{name} is in RAM while the poll is closed but powered on"
            );
        }
    }
    script::run(&mut machine, &lines[off..], &out).unwrap();
    for (name, pattern) in &patterns {
        assert_eq!(
            machine.find_in_memory(pattern),
            None,
            "{name} survived the president's power-off"
        );
    }
    machine.power_off().unwrap();
    for (name, pattern) in &patterns {
        assert_eq!(
            machine.find_in_memory(pattern),
            None,
            "{name} survived power-off"
        );
    }
    let receipts = script::write_receipts(&machine, &out).unwrap();
    drop(machine);

    // Screenshots against the goldens.
    let goldens = root().join("tests/goldens/demo");
    let mismatches: Vec<String> = SHOTS
        .iter()
        .filter_map(|shot| {
            compare(
                shot,
                &out.join(format!("{shot}.png")),
                &goldens.join(format!("{shot}.png")),
            )
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // The printer: opening report, one ticket per ballot, closing report.
    let expected = demo_voters::expected();
    assert_eq!(
        receipts,
        usize::try_from(expected.cast).unwrap() + 2,
        "opening report + {} tickets + closing report",
        expected.cast
    );

    // The results media opens at the office with exactly what the voters cast.
    let media_bytes = std::fs::read(&media).unwrap();
    assert!(!media_bytes.is_empty());
    let sessions = open_media(
        &media_bytes,
        &dev_office_secret(),
        &OfficeExpected {
            event: &event,
            image_digest: verified.fingerprint,
        },
    )
    .unwrap();
    assert_eq!(sessions.len(), 1, "one boot session");
    let session = &sessions[0];
    assert_eq!(session.station, demo_voters::STATION);
    assert!(!session.never_closed(), "the closing record was written");
    assert_eq!(expected.activations, session.counters.activations);
    assert_eq!(expected.cast, session.counters.cast);
    assert_eq!(expected.cancelled, session.counters.cancelled);
    for (e, want) in expected.elections.iter().enumerate() {
        let tally = session.store.tally(e).unwrap();
        assert_eq!(tally.total(), want.ballots, "election {}", e + 1);
        assert_eq!(tally.blank(), want.blank, "election {} blank", e + 1);
        for l in 0..want.list_votes.len() {
            assert_eq!(tally.list_votes(l), Some(want.list_votes[l]));
            assert_eq!(
                tally.preference_ballots(l),
                Some(want.preference_ballots[l])
            );
            for (c, &votes) in want.preferences[l].iter().enumerate() {
                assert_eq!(
                    tally.preferences(l, c),
                    Some(votes),
                    "election {} list {} candidate {}",
                    e + 1,
                    l + 1,
                    c + 1
                );
            }
        }
    }
    let _ = image;
}
