//! `boot-image records open|verify|tally` run as the election office would, on results media
//! written by the firmware core's recorder on the host (the terminal's own code, RAM media,
//! seeded entropy): good runs, the fingerprint re-typing, bad files among good ones, several
//! stations, torn and partial media, and the office key file left untouched.

#[macro_use]
mod common;

use common::*;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use boot_image::keys::OfficeKey;
use boot_image::tally::StationTally;
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::Event;
use firmware::hal::doubles::{RamMedia, SeededEntropy};
use firmware::hal::SECTOR_SIZE_BYTES;
use firmware::media::slot_checksum;
use firmware::record::{RecordBody, RecordContent, RecordScratch, Recorder, RecorderSetup};
use firmware::seal::PollState;
use firmware::store::BallotStore;
use firmware::terminal::Counters;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// A fixed build time (2026-06-01T00:00:00Z).
const EPOCH: &str = "1780272000";
/// A minimal WebAssembly module standing in for the firmware payload.
const PAYLOAD: &[u8] = b"\0asm\x01\0\0\0";
/// Results media size: room for a few dozen sessions of the demo election.
const MEDIA_BYTES: usize = 2 * 1024 * 1024;
/// Groups blanked with `--blank-groups 3,9` (0-based).
const GROUPS: (usize, usize) = (2, 8);

/// The office's setup: an office key pair, a training image of the demo election signed by
/// development authority key 1, and what the terminals need from the image.
struct Office {
    s: Scratch,
    event: &'static Event<'static>,
    image_digest: [u8; 32],
    office_public: [u8; 32],
}

fn office(name: &str) -> Office {
    office_with(name, "training")
}

fn office_with(name: &str, mode: &str) -> Office {
    let s = Scratch::new(name);
    let ok = |output: Output| assert_exit(&output, 0);
    ok(run(&s.0, &["keygen", "--office", "-o", "office"]));
    ok(run(&s.0, &["keygen", "--authority", "-o", "authority"]));
    let definition =
        std::fs::read_to_string(Path::new(ROOT).join("docs/examples/demo-election.toml"))
            .unwrap()
            .replacen("mode = \"training\"", &format!("mode = \"{mode}\""), 1);
    std::fs::write(s.path("demo.toml"), definition).unwrap();
    std::fs::write(s.path("pin.txt"), b"246810\n").unwrap();
    std::fs::write(s.path("firmware.wasm"), PAYLOAD).unwrap();
    let dev_key = Path::new(ROOT).join("dev-keys/dev-authority-1.key");
    let signer = if mode == "training" {
        dev_key.to_str().unwrap().to_string()
    } else {
        "authority.key".to_string()
    };
    ok(run(
        &s.0,
        &[
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
            "--sign",
            &signer,
            "-o",
            "demo.img",
        ],
    ));
    let image: &'static [u8] = std::fs::read(s.path("demo.img")).unwrap().leak();
    let inspected = boot_image::inspect(image).unwrap();
    let event = Box::leak(Box::new(
        Event::from_postcard(inspected.manifest.election).unwrap(),
    ));
    let office_public = OfficeKey::load(&s.path("office.key"))
        .unwrap()
        .public_key()
        .0;
    assert_eq!(office_public, inspected.manifest.office_public_key);
    Office {
        s,
        event,
        image_digest: inspected.fingerprint,
        office_public,
    }
}

/// Voter `voter`'s choices: blank, a list vote or preference votes, varying per election.
fn choices(event: &Event<'_>, voter: usize) -> Vec<Choice> {
    event
        .elections
        .iter()
        .enumerate()
        .map(|(e, election)| {
            let lists = election.lists.len();
            match (voter + e) % 3 {
                0 => Choice::Blank,
                1 => Choice::List(ListIndex::new(voter % lists, election).unwrap()),
                _ => {
                    let list = (voter + 1) % lists;
                    let count = election.lists[list].candidates.len();
                    Choice::Preferences {
                        list: ListIndex::new(list, election).unwrap(),
                        candidates: CandidateSet::from_mask(1 << (voter % count), count).unwrap(),
                    }
                }
            }
        })
        .collect()
}

/// How a session ends.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Closed,
    /// Power lost between records: the newest record is still open.
    PowerLoss,
    /// Power cut during the record of the next voter, `k` bytes into the write.
    CutWriting(u64),
    /// Power cut during the session's very first record, `k` bytes into the write.
    CutFirstWrite(u64),
}

/// One terminal's media; sessions are added in order, as the terminal reboots.
struct Terminal {
    office_public: [u8; 32],
    image_digest: [u8; 32],
    event: &'static Event<'static>,
    station: &'static str,
    data: Vec<u8>,
    next_seed: u8,
}

impl Terminal {
    fn new(o: &Office, station: &'static str, seed: u8) -> Terminal {
        Terminal {
            office_public: o.office_public,
            image_digest: o.image_digest,
            event: o.event,
            station,
            data: vec![0u8; MEDIA_BYTES],
            next_seed: seed,
        }
    }

    /// One boot session: open the poll, one record per voter, then `end`. Returns the
    /// session fingerprint.
    fn session(&mut self, voters: std::ops::Range<usize>, cancelled: u32, end: End) -> [u8; 32] {
        let event = self.event;
        let mut entropy = SeededEntropy::new([self.next_seed; 32]);
        self.next_seed += 1;
        let mut media = RamMedia::new(&mut self.data);
        let mut store = Box::new(BallotStore::new());
        let mut scratch = Box::new(RecordScratch::new());
        store.reset(event).unwrap();
        let setup = RecorderSetup {
            event,
            station: self.station,
            image_digest: self.image_digest,
            office_public: self.office_public,
        };
        let mut recorder = Recorder::open(&setup, &store, &mut media, &mut entropy).unwrap();
        let fingerprint = recorder.fingerprint();
        let mut counters = Counters {
            activations: cancelled,
            cast: 0,
            cancelled,
        };
        let mut write = |store: &BallotStore, counters, state, media: &mut RamMedia<'_>| {
            recorder.write(
                &RecordContent {
                    state,
                    counters,
                    store,
                    event,
                },
                &mut scratch,
                media,
                &mut entropy,
            )
        };
        if let End::CutFirstWrite(k) = end {
            media.cut_power_at_byte(k);
            assert!(write(&store, counters, PollState::Open, &mut media).is_err());
            return fingerprint;
        }
        write(&store, counters, PollState::Open, &mut media).unwrap();
        for voter in voters.clone() {
            store.cast(event, &choices(event, voter)).unwrap();
            counters.activations += 1;
            counters.cast += 1;
            write(&store, counters, PollState::Open, &mut media).unwrap();
        }
        match end {
            End::Closed => write(&store, counters, PollState::Closed, &mut media).unwrap(),
            End::CutWriting(k) => {
                store.cast(event, &choices(event, voters.end)).unwrap();
                counters.activations += 1;
                counters.cast += 1;
                media.cut_power_at_byte(k);
                assert!(write(&store, counters, PollState::Open, &mut media).is_err());
            }
            End::PowerLoss | End::CutFirstWrite(_) => {}
        }
        fingerprint
    }

    /// Bytes the first write of a session (an empty open record) puts on the media: its
    /// record sectors, then the slot header sector.
    fn first_write_bytes(&self) -> u64 {
        let mut store = Box::new(BallotStore::new());
        store.reset(self.event).unwrap();
        let mut body = vec![0u8; firmware::record::MAX_RECORD_BODY_BYTES];
        let len = RecordBody::encode(
            PollState::Open,
            Counters::default(),
            &store,
            self.event,
            &mut body,
        )
        .unwrap()
        .len();
        let record = firmware::seal::sealed_len(len).unwrap();
        (record.div_ceil(SECTOR_SIZE_BYTES) * SECTOR_SIZE_BYTES + SECTOR_SIZE_BYTES) as u64
    }

    fn save(&self, path: &Path) {
        std::fs::write(path, &self.data).unwrap();
    }
}

fn group(fingerprint: &[u8; 32], index: usize) -> String {
    format!(
        "{:02x}{:02x}",
        fingerprint[2 * index],
        fingerprint[2 * index + 1]
    )
}

/// The answer to the prompt for one session with `--blank-groups 3,9`.
fn answer(fingerprint: &[u8; 32]) -> String {
    format!(
        "{} {}\n",
        group(fingerprint, GROUPS.0),
        group(fingerprint, GROUPS.1)
    )
}

fn open_args<'a>(extra: &[&'a str], media: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "records",
        "open",
        "--office-key",
        "office.key",
        "--image",
        "demo.img",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(media);
    args
}

fn tally_args<'a>(out: &'a str, extra: &[&'a str], media: &[&'a str]) -> Vec<&'a str> {
    let mut args = open_args(extra, media);
    args[1] = "tally";
    args.push("--out");
    args.push(out);
    args
}

/// Station GNT-0007 with two terminals: terminal 1 rebooted once (its first session lost
/// power), terminal 2 ran one session. 7 voters, 1 cancelled.
struct Station {
    fingerprints: Vec<[u8; 32]>,
    cast: u64,
}

fn station(o: &Office) -> Station {
    let mut t1 = Terminal::new(o, "GNT-0007", 1);
    let a = t1.session(0..3, 0, End::PowerLoss);
    let b = t1.session(3..5, 1, End::Closed);
    t1.save(&o.s.path("t1.img"));
    let mut t2 = Terminal::new(o, "GNT-0007", 50);
    let c = t2.session(5..7, 0, End::Closed);
    t2.save(&o.s.path("t2.img"));
    Station {
        fingerprints: vec![a, b, c],
        cast: 7,
    }
}

fn answers(fingerprints: &[[u8; 32]]) -> String {
    fingerprints.iter().map(answer).collect()
}

#[test]
fn records_help_lists_the_subcommands() {
    let s = Scratch::new("help");
    let output = run(&s.0, &["records", "--help"]);
    assert_exit(&output, 0);
    for word in ["open", "verify", "tally", "Exit codes"] {
        assert!(
            stdout(&output).contains(word),
            "{word}:\n{}",
            stdout(&output)
        );
    }
    let output = run(&s.0, &["records", "open", "--help"]);
    for word in [
        "--office-key",
        "--paper",
        "--blank-groups",
        "--trust",
        "--jobs",
    ] {
        assert!(stdout(&output).contains(word), "{word}");
    }
    // Usage errors exit 2.
    let output = run(&s.0, &["records", "open", "--blank-groups", "3,3", "x.img"]);
    assert_exit(&output, 2);
}

#[test]
fn good_run_opens_shows_and_tallies_every_session() {
    let o = office("good");
    let st = station(&o);
    let dir = &o.s.0;
    let output = run_with_stdin(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["t1.img", "t2.img"]),
        &answers(&st.fingerprints),
    );
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("image demo.img: verified: event DEMO-LINDENHOVE-2026 (training)"));
    assert!(out.contains("t1.img: area 0: station GNT-0007, generation 4, open (never closed)"));
    assert!(out.contains("t1.img: area 1: station GNT-0007, generation 4, closed"));
    assert!(out.contains("t2.img: area 0: station GNT-0007, generation 4, closed"));
    assert!(
        out.contains("counters: activations 3, cast 2, cancelled 1"),
        "{out}"
    );
    assert!(out.contains("ballots per election: chamber 3,"), "{out}");
    // The fingerprint is shown with groups 3 and 9 blanked, and nowhere in full.
    for fingerprint in &st.fingerprints {
        let mut groups: Vec<String> = (0..16).map(|i| group(fingerprint, i)).collect();
        let full = groups.join(" ");
        groups[GROUPS.0] = "____".into();
        groups[GROUPS.1] = "____".into();
        assert!(out.contains(&groups.join(" ")), "{out}");
        assert!(!out.contains(&full));
    }
    assert_eq!(
        out.matches("groups 3 and 9 match the paper opening report")
            .count(),
        3
    );
    assert!(out.contains("anomaly: station GNT-0007: t1.img#area 0: the session never closed"));
    assert!(out.contains("station GNT-0007: 3 session(s), activations 8, cast 7, cancelled 1"));
    assert!(out.contains("2 file(s), 3 session(s) opened, 0 problem(s) in 0 file(s)"));
    let err = stderr(&output);
    assert_eq!(err.matches("type groups 3 and 9").count(), 3, "{err}");

    // The tally of the station, written for `results`.
    let output = run_with_stdin(
        dir,
        &tally_args(
            "GNT-0007.json",
            &["--blank-groups", "3,9"],
            &["t1.img", "t2.img"],
        ),
        &answers(&st.fingerprints),
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("wrote GNT-0007.json: station GNT-0007, 3 session(s)"));
    let text = std::fs::read_to_string(o.s.path("GNT-0007.json")).unwrap();
    let tally = StationTally::from_json(&text).unwrap();
    assert_eq!(tally.station, "GNT-0007");
    assert_eq!(tally.counters.cast, st.cast);
    assert_eq!(tally.counters.cancelled, 1);
    assert_eq!(tally.sessions.len(), 3);
    assert_eq!(tally.sessions[0].source, "t1.img#area 0");
    assert!(!tally.sessions[0].closed);
    for (e, election) in tally.elections.iter().enumerate() {
        assert_eq!(election.ballots, st.cast);
        let blank = (0..7).filter(|v| (v + e) % 3 == 0).count() as u64;
        assert_eq!(election.blank, blank, "{}", election.id);
        let preferences: u64 = election
            .lists
            .iter()
            .flat_map(|l| &l.candidates)
            .map(|c| c.preferences)
            .sum();
        let preference_voters = (0..7).filter(|v| (v + e) % 3 == 2).count() as u64;
        assert_eq!(preferences, preference_voters, "{}", election.id);
    }
    // Never over an existing file without --force.
    let output = run_with_stdin(
        dir,
        &tally_args(
            "GNT-0007.json",
            &["--blank-groups", "3,9"],
            &["t1.img", "t2.img"],
        ),
        &answers(&st.fingerprints),
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("GNT-0007.json: already exists; give --force"));
    let output = run_with_stdin(
        dir,
        &tally_args(
            "GNT-0007.json",
            &["--blank-groups", "3,9", "--force", "--quiet", "--jobs", "1"],
            &["t2.img", "t1.img"],
        ),
        &answers(&[st.fingerprints[2], st.fingerprints[0], st.fingerprints[1]]),
    );
    assert_exit(&output, 0);
    let again = std::fs::read_to_string(o.s.path("GNT-0007.json")).unwrap();
    assert_eq!(
        again, text,
        "the tally does not depend on the order of the media"
    );

    // The courier's check, without the office key: full fingerprints, signatures valid.
    let output = run(
        dir,
        &[
            "records", "verify", "--image", "demo.img", "t1.img", "t2.img",
        ],
    );
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert_eq!(
        out.matches("signature valid, event and image match")
            .count(),
        3
    );
    assert!(out.contains(
        &(0..16)
            .map(|i| group(&st.fingerprints[1], i))
            .collect::<Vec<_>>()
            .join(" ")
    ));
}

#[test]
fn a_wrong_fingerprint_fails_its_session_and_blocks_the_tally() {
    let o = office("retype");
    let st = station(&o);
    let dir = &o.s.0;
    // The second session's groups are typed wrong (groups 4 and 9 instead of 3 and 9).
    let wrong = format!(
        "{}{} {}\n{}",
        answer(&st.fingerprints[0]),
        group(&st.fingerprints[1], 3),
        group(&st.fingerprints[1], 8),
        answer(&st.fingerprints[2])
    );
    let output = run_with_stdin(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["t1.img", "t2.img"]),
        &wrong,
    );
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("t1.img: area 1: fingerprint-mismatch: station GNT-0007: the groups typed"),
        "{err}"
    );
    assert_eq!(
        stdout(&output)
            .matches("match the paper opening report")
            .count(),
        2
    );
    // The session is not counted.
    assert!(stdout(&output).contains("station GNT-0007: 2 session(s), activations 5, cast 5"));

    let output = run_with_stdin(
        dir,
        &tally_args(
            "out.json",
            &["--blank-groups", "3,9"],
            &["t1.img", "t2.img"],
        ),
        &wrong,
    );
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("out.json: not written"));
    assert!(!o.s.path("out.json").exists());

    // No answer at all: an input error.
    let output = run(dir, &open_args(&["--blank-groups", "3,9"], &["t1.img"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("stdin ended before the fingerprint groups"));

    // Random groups: the prompt names them; answering them passes.
    let mut child = Command::new(BIN)
        .args(open_args(&[], &["t2.img"]))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut prompt = Vec::new();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let mut byte = [0u8; 1];
    while !prompt.ends_with(b"): ") {
        use std::io::Read;
        assert_eq!(stderr_pipe.read(&mut byte).unwrap(), 1, "{prompt:?}");
        prompt.push(byte[0]);
    }
    let prompt = String::from_utf8(prompt).unwrap();
    let numbers: Vec<usize> = prompt
        .split("type groups ")
        .nth(1)
        .unwrap()
        .split(" of")
        .next()
        .unwrap()
        .split(" and ")
        .map(|n| n.parse().unwrap())
        .collect();
    let fingerprint = &st.fingerprints[2];
    writeln!(
        child.stdin.take().unwrap(),
        "{} {}",
        group(fingerprint, numbers[0] - 1).to_uppercase(),
        group(fingerprint, numbers[1] - 1)
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
}

#[test]
fn paper_reports_replace_typing() {
    let o = office("paper");
    let st = station(&o);
    let dir = &o.s.0;
    let line = |fingerprint: &[u8; 32]| {
        let groups: Vec<String> = (0..16).map(|i| group(fingerprint, i)).collect();
        format!("GNT-0007 {}\n", groups.join(" "))
    };
    let paper: String = format!(
        "# opening reports of station GNT-0007\n{}{}\n{}",
        line(&st.fingerprints[0]),
        line(&st.fingerprints[1]),
        line(&st.fingerprints[2])
    );
    std::fs::write(o.s.path("paper.txt"), &paper).unwrap();
    let output = run(
        dir,
        &open_args(&["--paper", "paper.txt"], &["t1.img", "t2.img"]),
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("fingerprint check: matches line 3 of paper.txt"));

    // Terminal 2's media is missing: its paper report matches no session.
    let output = run(dir, &open_args(&["--paper", "paper.txt"], &["t1.img"]));
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("paper.txt: line 5: fingerprint-unmatched: station GNT-0007"),
        "{}",
        stderr(&output)
    );

    // A report of another session: mismatch.
    let other = paper.replace(&line(&st.fingerprints[2]), &line(&[7; 32]));
    std::fs::write(o.s.path("other.txt"), other).unwrap();
    let output = run(dir, &open_args(&["--paper", "other.txt"], &["t2.img"]));
    assert_exit(&output, 1);
    assert!(stderr(&output).contains(
        "t2.img: area 0: fingerprint-mismatch: station GNT-0007: the session fingerprint \
         matches none of the 3 paper opening report(s)"
    ));

    // A malformed paper file is an input error naming the line.
    std::fs::write(o.s.path("bad.txt"), "GNT-0007 1234 5678\n").unwrap();
    let output = run(dir, &open_args(&["--paper", "bad.txt"], &["t2.img"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("bad.txt: line 1: expected `STATION FINGERPRINT`"));
}

/// Flip one byte inside the newest record of `area` and recompute the slot checksum, as
/// someone editing the media would: the media layout is intact, the seal is not.
fn forge_record(media: &mut [u8], area: usize) {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let record_sectors = u32_at(media, 92) as usize;
    let slot_sectors = record_sectors + 1;
    let slot_start = |slot: usize| (1 + area * 2 * slot_sectors + slot * slot_sectors) * 512;
    let generation = |slot: usize| {
        let at = slot_start(slot);
        u64::from_le_bytes(media[at + 29..at + 37].try_into().unwrap())
    };
    let slot = if generation(1) > generation(0) { 1 } else { 0 };
    let header = slot_start(slot);
    let len = u32_at(media, header + 37) as usize;
    let record = header + SECTOR_SIZE_BYTES;
    media[record + len / 2] ^= 0x01;
    let sum = slot_checksum(&media[header..header + 41], &media[record..record + len]);
    media[header + 41..header + 49].copy_from_slice(&sum);
}

#[test]
fn one_bad_file_is_reported_and_the_others_still_open() {
    let o = office("badfile");
    let st = station(&o);
    let dir = &o.s.0;
    let mut t3 = Terminal::new(&o, "GNT-0007", 90);
    let d = t3.session(7..9, 0, End::Closed);
    let e = t3.session(9..10, 0, End::Closed);
    forge_record(&mut t3.data, 0);
    t3.save(&o.s.path("t3.img"));
    std::fs::write(o.s.path("notes.txt"), b"not a results media at all\n").unwrap();
    let mut fat = vec![0u8; 4096];
    fat[0..3].copy_from_slice(&[0xeb, 0x3c, 0x90]);
    std::fs::write(o.s.path("fat.img"), fat).unwrap();

    let files = [
        "t1.img",
        "missing.img",
        "t3.img",
        "notes.txt",
        "fat.img",
        "t2.img",
    ];
    let stdin = format!(
        "{}{}{}{}",
        answer(&st.fingerprints[0]),
        answer(&st.fingerprints[1]),
        answer(&e),
        answer(&st.fingerprints[2])
    );
    let output = run_with_stdin(dir, &open_args(&["--blank-groups", "3,9"], &files), &stdin);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("missing.img: unreadable: no such file"),
        "{err}"
    );
    assert!(
        err.contains(
            "t3.img: area 0: bad-signature: sealed record: session signature does not verify"
        ),
        "{err}"
    );
    assert!(err.contains("notes.txt: media: media image of 27 bytes is not a multiple of 512"));
    assert!(
        err.contains("fat.img: media: results media: sector 0 is not a results media superblock"),
        "{err}"
    );
    let out = stdout(&output);
    // The good files and the good session of t3 are shown and counted.
    assert!(out.contains("t1.img: area 1: station GNT-0007"));
    assert!(out.contains("t2.img: area 0: station GNT-0007"));
    assert!(out.contains("t3.img: area 1: station GNT-0007, generation 3, closed"));
    assert!(!out.contains(&blanked_text(&d)));
    assert!(out.contains("station GNT-0007: 4 session(s), activations 9, cast 8"));
    assert!(
        out.contains("6 file(s), 4 session(s) opened, 4 problem(s) in 4 file(s)"),
        "{out}"
    );

    // The tally refuses to miss a terminal ...
    let output = run_with_stdin(
        dir,
        &tally_args("GNT-0007.json", &["--blank-groups", "3,9"], &files),
        &stdin,
    );
    assert_exit(&output, 1);
    assert!(!o.s.path("GNT-0007.json").exists());
    // ... unless told to, and then it lists what it skipped.
    let output = run_with_stdin(
        dir,
        &tally_args(
            "GNT-0007.json",
            &["--blank-groups", "3,9", "--allow-partial"],
            &files,
        ),
        &stdin,
    );
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("GNT-0007.json: PARTIAL: 4 problem(s)"));
    let tally =
        StationTally::from_json(&std::fs::read_to_string(o.s.path("GNT-0007.json")).unwrap())
            .unwrap();
    assert_eq!(tally.counters.cast, st.cast + 1);
    let skipped = std::fs::read_to_string(o.s.path("GNT-0007.json.skipped")).unwrap();
    assert!(
        skipped.contains("t3.img: area 0: bad-signature"),
        "{skipped}"
    );
    assert!(skipped.contains("missing.img: unreadable"));

    // Without the office key, the courier sees the same forged record.
    let output = run(
        dir,
        &[
            "records", "verify", "--image", "demo.img", "t3.img", "t2.img",
        ],
    );
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("t3.img: area 0: bad-signature"));
    assert!(stdout(&output).contains("t2.img: area 0: station GNT-0007"));
}

fn blanked_text(fingerprint: &[u8; 32]) -> String {
    let mut groups: Vec<String> = (0..16).map(|i| group(fingerprint, i)).collect();
    groups[GROUPS.0] = "____".into();
    groups[GROUPS.1] = "____".into();
    groups.join(" ")
}

#[test]
fn media_of_two_stations() {
    let o = office("stations");
    let st = station(&o);
    let dir = &o.s.0;
    let mut other = Terminal::new(&o, "BXL-0042", 70);
    let f = other.session(20..24, 2, End::Closed);
    other.save(&o.s.path("bxl.img"));
    let stdin = format!("{}{}", answers(&st.fingerprints), answer(&f));
    let output = run_with_stdin(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["t1.img", "t2.img", "bxl.img"]),
        &stdin,
    );
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("station BXL-0042: 1 session(s), activations 6, cast 4, cancelled 2"));
    assert!(out.contains("station GNT-0007: 3 session(s), activations 8, cast 7"));

    let output = run_with_stdin(
        dir,
        &tally_args(
            "mixed.json",
            &["--blank-groups", "3,9"],
            &["t1.img", "bxl.img"],
        ),
        &stdin,
    );
    assert_exit(&output, 2);
    let err = stderr(&output);
    assert!(
        err.contains("media of different stations in one tally: t1.img (station GNT-0007), bxl.img (station BXL-0042)"),
        "{err}"
    );
    assert!(!o.s.path("mixed.json").exists());

    // The same media given twice would count its sessions twice.
    std::fs::copy(o.s.path("t2.img"), o.s.path("t2-copy.img")).unwrap();
    let stdin = format!(
        "{}{}",
        answer(&st.fingerprints[2]),
        answer(&st.fingerprints[2])
    );
    let output = run_with_stdin(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["t2.img", "t2-copy.img"]),
        &stdin,
    );
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("t2-copy.img: area 0: tally: session"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("counted twice"));
}

#[test]
fn the_office_key_file_is_only_read() {
    let o = office("key");
    let st = station(&o);
    let key = o.s.path("office.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    let before = std::fs::read(&key).unwrap();
    let modified = std::fs::metadata(&key).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let output = run_with_stdin(
        &o.s.0,
        &tally_args("t.json", &["--blank-groups", "3,9"], &["t1.img", "t2.img"]),
        &answers(&st.fingerprints),
    );
    assert_exit(&output, 0);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&key).unwrap().modified().unwrap(),
        modified
    );
    let names: Vec<String> = std::fs::read_dir(&o.s.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("office.key") && n != "office.key"),
        "{names:?}"
    );

    // Another office key than the image's: refused before any media is read.
    assert_exit(&run(&o.s.0, &["keygen", "--office", "-o", "other"]), 0);
    let mut args = open_args(&["--blank-groups", "3,9"], &["t1.img"]);
    args[3] = "other.key";
    let output = run(&o.s.0, &args);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("other.key: this office key"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn torn_and_partial_media() {
    let o = office("torn");
    let dir = &o.s.0;
    let mut t = Terminal::new(&o, "GNT-0009", 3);
    // Session 1: two voters, then power is cut 700 bytes into the third voter's record.
    // The terminal never said "recorded", so that voter votes again after the reboot.
    let a = t.session(0..2, 0, End::CutWriting(700));
    // Session 2: that voter, closed.
    let b = t.session(2..3, 0, End::Closed);
    // Session 3: power cut 40 bytes into the slot header of its very first record.
    let header_at = t.first_write_bytes() - SECTOR_SIZE_BYTES as u64;
    t.session(0..0, 0, End::CutFirstWrite(header_at + 40));
    t.save(&o.s.path("torn.img"));

    let stdin = format!("{}{}", answer(&a), answer(&b));
    let output = run_with_stdin(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["torn.img"]),
        &stdin,
    );
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(
        out.contains("torn.img: area 0: station GNT-0009, generation 3, open (never closed)"),
        "{out}"
    );
    assert!(out.contains("anomaly: station GNT-0009: torn.img#area 0: slot B damaged (its header states generation 2)"), "{out}");
    assert!(out.contains("anomaly: station GNT-0009: torn.img#area 0: the session never closed"));
    assert!(out.contains("torn.img: area 1: station GNT-0009, generation 3, closed"));
    assert!(out.contains("anomaly: station GNT-0009: torn.img#area 2: slot A damaged (its header states generation 1)"), "{out}");
    assert!(
        out.contains("anomaly: station GNT-0009: torn.img#area 2: no completed record"),
        "{out}"
    );
    // Every voter whose record completed is counted once: 2 in session 1, 1 in session 2.
    assert!(
        out.contains("station GNT-0009: 2 session(s), activations 3, cast 3, cancelled 0"),
        "{out}"
    );

    // A media image copied only in part: shorter than its superblock says.
    let data = std::fs::read(o.s.path("torn.img")).unwrap();
    std::fs::write(o.s.path("short.img"), &data[..64 * 1024]).unwrap();
    std::fs::write(o.s.path("odd.img"), &data[..64 * 1024 + 100]).unwrap();
    let output = run(
        dir,
        &open_args(&["--blank-groups", "3,9"], &["short.img", "odd.img"]),
    );
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("short.img: media: results media:"), "{err}");
    assert!(
        err.contains("odd.img: media: media image of 65636 bytes is not a multiple of 512"),
        "{err}"
    );
}

#[test]
fn official_images_need_the_authority_keys() {
    let o = office_with("official", "official");
    let mut t = Terminal::new(&o, "GNT-0001", 9);
    let a = t.session(0..2, 0, End::Closed);
    t.save(&o.s.path("t.img"));
    let dir = &o.s.0;
    let output = run(dir, &open_args(&["--blank-groups", "3,9"], &["t.img"]));
    assert_exit(&output, 1);
    assert!(stderr(&output)
        .contains("demo.img: an official image: give the authority public keys with --trust"));
    let output = run_with_stdin(
        dir,
        &open_args(
            &["--blank-groups", "3,9", "--trust", "authority.pub"],
            &["t.img"],
        ),
        &answer(&a),
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("event DEMO-LINDENHOVE-2026 (official)"));
    // A key that did not sign it.
    let dev = Path::new(ROOT).join("dev-keys/dev-authority-2.pub");
    let output = run(
        dir,
        &open_args(
            &["--blank-groups", "3,9", "--trust", dev.to_str().unwrap()],
            &["t.img"],
        ),
    );
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("demo.img: refused ("),
        "{}",
        stderr(&output)
    );
}
