//! Office open + verify + recount throughput on a synthetic national load.
//!
//! Run: `cargo bench -p boot-image --bench office`
//!
//! The load: 4,000 polling stations of the demo election (`docs/examples/demo-election.toml`,
//! three elections), 2,025 voters each: 8,100,000 ballots per election. Each station's
//! results media is made by the firmware's own recorder (`firmware::record::Recorder` on
//! RAM media): an empty opening record, the record after the last voter, and the closing
//! record, so the media holds the closed record in one slot and the previous one in the
//! other, as a terminal leaves it. The ballots are realistic choices (about 4 % blank, lists
//! by popularity, about half with preference votes for 1 to several candidates). Casting
//! verifies the whole store before every ballot (the firmware's rule), which makes casting
//! 8.1 M ballots one by one take minutes; so 64 ballot stores are cast and each station
//! seals one of them with its own station id, session key and ephemeral key. Every record
//! is distinct, and the office's work per record depends only on its size.
//!
//! The media files are generated once and cached under the target directory
//! (`<target>/office-bench/`, about 380 MB). Then the bench runs exactly what
//! `boot-image records open` does per file (read the media file, walk the areas, verify the
//! session signature, decrypt, decode, load and recount the store, check the counters,
//! make the session's tally) over 1/4, 1/2 and all of the files, on 1 and 2 threads, with
//! the files in the page cache. It prints ballots per second, and where the time goes,
//! stage by stage, on one thread.
//!
//! `OFFICE_BENCH_STATIONS=N` runs a smaller load (the cache is per size).

#![allow(missing_docs)]

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use boot_image::definition::Definition;
use boot_image::records::{self, AreaOutcome, Expected, FileMedia, SessionRecord};
use boot_image::tally::StationTally;
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::Event;
use firmware::hal::doubles::{RamMedia, SeededEntropy};
use firmware::hal::SECTOR_SIZE_BYTES;
use firmware::media::Volume;
use firmware::record::{
    max_body_len, RecordBody, RecordContent, RecordScratch, Recorder, RecorderSetup,
};
use firmware::seal::{self, PollState};
use firmware::store::BallotStore;
use firmware::terminal::Counters;

/// Stations in the full load.
const STATIONS: usize = 4_000;
/// Voters per station: 4,000 x 2,025 = 8,100,000.
const VOTERS_PER_STATION: usize = 2_025;
/// Distinct ballot stores the stations seal.
const TEMPLATES: usize = 64;
/// Bump when the generated data changes (2: media slot version 2, CRC-64 slot checksums).
const CACHE_VERSION: u32 = 2;
/// Timed runs per configuration (the best is reported).
const RUNS: usize = 5;
/// Label for the bench's fixed inputs.
const INPUT_LABEL: &[u8] = b"office bench input/";

fn input(name: &str, index: u64) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(INPUT_LABEL);
    ctx.update(name.as_bytes());
    ctx.update(&index.to_le_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// xorshift64*: deterministic choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One voter's choice in `election`: ~4 % blank; lists by popularity (weight 1/(rank+2));
/// ~45 % of list voters mark the top box only, the others 1 to 6 candidates (the list's
/// head most often).
fn choose(rng: &mut Rng, election: &firmware::election::Election<'_>) -> Choice {
    if rng.below(100) < 4 {
        return Choice::Blank;
    }
    let lists = election.lists.len();
    let weights: Vec<f64> = (0..lists).map(|l| 1.0 / (l as f64 + 2.0)).collect();
    let total: f64 = weights.iter().sum();
    let mut pick = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * total;
    let mut list = lists - 1;
    for (l, w) in weights.iter().enumerate() {
        if pick < *w {
            list = l;
            break;
        }
        pick -= w;
    }
    let index = ListIndex::new(list, election).unwrap();
    if rng.below(100) < 45 {
        return Choice::List(index);
    }
    let count = election.lists[list].candidates.len();
    let marks = match rng.below(100) {
        0..=59 => 1,
        60..=79 => 2,
        80..=89 => 3,
        _ => 4 + rng.below(3),
    }
    .min(count);
    let mut mask = 0u64;
    while (mask.count_ones() as usize) < marks {
        let candidate = if rng.below(2) == 0 {
            0
        } else {
            rng.below(count)
        };
        mask |= 1 << candidate;
    }
    Choice::Preferences {
        list: index,
        candidates: CandidateSet::from_mask(mask, count).unwrap(),
    }
}

fn demo_event() -> &'static Event<'static> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/demo-election.toml");
    let definition = Box::leak(Box::new(Definition::load(&file).unwrap()));
    Box::leak(Box::new(definition.event()))
}

/// `<target>/office-bench/`: the bench binary lives in `<target>/<profile>/deps/`.
fn cache_root() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("office-bench")
}

struct Load {
    event: &'static Event<'static>,
    office_secret: [u8; 32],
    image_digest: [u8; 32],
    files: Vec<PathBuf>,
    media_bytes: usize,
}

fn station_id(i: usize) -> String {
    format!("ST-{i:04}")
}

/// A ballot store of `VOTERS_PER_STATION` realistic voters.
fn template(event: &Event<'_>, index: usize) -> Box<BallotStore> {
    let mut store = Box::new(BallotStore::new());
    store.reset(event).unwrap();
    let mut rng =
        Rng(u64::from_le_bytes(input("template", index as u64)[..8].try_into().unwrap()) | 1);
    for _ in 0..VOTERS_PER_STATION {
        let choices: Vec<Choice> = event
            .elections
            .iter()
            .map(|e| choose(&mut rng, e))
            .collect();
        store.cast(event, &choices).unwrap();
    }
    store
}

/// One station's media: opening record, the record after the last voter, closing record.
fn station_media(
    event: &Event<'_>,
    setup: &RecorderSetup<'_>,
    empty: &BallotStore,
    store: &BallotStore,
    station: usize,
    media_bytes: usize,
) -> Vec<u8> {
    let mut data = vec![0u8; media_bytes];
    let mut media = RamMedia::new(&mut data);
    let mut entropy = SeededEntropy::new(input("entropy", station as u64));
    let mut scratch = Box::new(RecordScratch::new());
    let mut recorder = Recorder::open(setup, empty, &mut media, &mut entropy).unwrap();
    let cancelled = (station % 4) as u32;
    let full = Counters {
        activations: VOTERS_PER_STATION as u32 + cancelled,
        cast: VOTERS_PER_STATION as u32,
        cancelled,
    };
    for (state, counters, store) in [
        (PollState::Open, Counters::default(), empty),
        (PollState::Open, full, store),
        (PollState::Closed, full, store),
    ] {
        recorder
            .write(
                &RecordContent {
                    state,
                    counters,
                    store,
                    event,
                },
                &mut scratch,
                &mut media,
                &mut entropy,
            )
            .unwrap();
    }
    data
}

fn generate(stations: usize) -> Load {
    let event = demo_event();
    let office_secret = input("office secret", 0);
    let image_digest = input("image", 0);
    let mut empty = Box::new(BallotStore::new());
    empty.reset(event).unwrap();
    let record_capacity = seal::sealed_len(max_body_len(event, &empty).unwrap()).unwrap();
    let record_sectors = record_capacity.div_ceil(SECTOR_SIZE_BYTES);
    // Superblock and one area of two slots: a media sized for one session.
    let media_bytes = (1 + 2 * (1 + record_sectors)) * SECTOR_SIZE_BYTES;
    let dir = cache_root().join(format!("v{CACHE_VERSION}-{stations}x{VOTERS_PER_STATION}"));
    let files: Vec<PathBuf> = (0..stations)
        .map(|i| dir.join(format!("{}.img", station_id(i))))
        .collect();
    let stamp = dir.join("complete");
    let load = Load {
        event,
        office_secret,
        image_digest,
        files,
        media_bytes,
    };
    if stamp.exists() {
        println!("load: cached in {}", dir.display());
        return load;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let jobs = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let indices: Vec<PathBuf> = (0..TEMPLATES.min(stations))
        .map(|i| PathBuf::from(i.to_string()))
        .collect();
    let templates = records::each_file(
        &indices,
        jobs,
        |i| template(event, i.to_str().unwrap().parse().unwrap()),
        || {},
    );
    println!(
        "load: {} ballot stores of {VOTERS_PER_STATION} voters cast in {:.1} s",
        templates.len(),
        started.elapsed().as_secs_f64()
    );
    let office_public = seal::office_public_key(&office_secret);
    let stations_done = records::each_file(
        &load.files,
        jobs,
        |path| {
            let name = path.file_stem().unwrap().to_str().unwrap();
            let station: usize = name.trim_start_matches("ST-").parse().unwrap();
            let setup = RecorderSetup {
                event,
                station: name,
                image_digest,
                office_public,
            };
            let store = &templates[station % templates.len()];
            let data = station_media(event, &setup, &empty, store, station, media_bytes);
            std::fs::write(path, data).unwrap();
        },
        || {},
    );
    assert_eq!(stations_done.len(), stations);
    std::fs::write(&stamp, b"").unwrap();
    println!(
        "load: {stations} media files of {media_bytes} bytes written to {} in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    load
}

/// What `records open` does per file: read, walk, verify, decrypt, recount, tally.
fn open_file(load: &Load, path: &Path) -> (usize, u64) {
    let expected = Expected {
        event: load.event,
        image_digest: load.image_digest,
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut media = FileMedia::open(path).unwrap();
    let report = records::open_volume(&mut media, &load.office_secret, &expected).unwrap();
    let mut sessions = 0;
    let mut cast = 0;
    for area in report.areas {
        let AreaOutcome::Accepted(record) = area.outcome else {
            panic!("{name}: area {} not accepted", area.area);
        };
        let tally = session_tally(load, &name, &record);
        sessions += 1;
        cast += tally.counters.cast;
    }
    (sessions, cast)
}

fn session_tally(load: &Load, name: &str, record: &SessionRecord) -> StationTally {
    let mut tally = StationTally::new(load.event, &load.image_digest, &record.station);
    tally
        .add_session(&format!("{name}#area 0"), record, load.event)
        .unwrap();
    tally
}

/// CPU time of this process (all threads, user + system), from `/proc/self/stat`, at the
/// kernel's clock tick resolution (usually 10 ms). `None` where there is no `/proc`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / CLOCK_TICKS_PER_SECOND,
    ))
}

/// `sysconf(_SC_CLK_TCK)` on Linux.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// One timed run: wall time and CPU time.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

fn run(load: &Load, files: &[PathBuf], jobs: usize) -> Timing {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let results = records::each_file(
        files,
        NonZeroUsize::new(jobs).unwrap(),
        |path| open_file(load, path),
        || {},
    );
    let elapsed = started.elapsed();
    let cast: u64 = results.iter().map(|(_, c)| c).sum();
    assert_eq!(cast, (files.len() * VOTERS_PER_STATION) as u64);
    assert!(results.iter().all(|(s, _)| *s == 1));
    Timing {
        wall: elapsed,
        cpu: cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before)),
    }
}

/// Time per stage on one thread over `files`, as the office path runs them.
fn stages(load: &Load, files: &[PathBuf]) {
    let expected = Expected {
        event: load.event,
        image_digest: load.image_digest,
    };
    let mut t = [Duration::ZERO; 8];
    let mut record_bytes = 0usize;
    for path in files {
        let s = Instant::now();
        let mut media = FileMedia::open(path).unwrap();
        let volume = Volume::mount(&mut media).unwrap();
        let areas = volume.claimed_areas(&mut media).unwrap();
        let summary = volume.inspect_area(&mut media, 0).unwrap();
        let mut raw = vec![0u8; volume.superblock().slot_capacity_bytes()];
        let found = volume.read_area(&mut media, 0, &mut raw).unwrap().unwrap();
        assert_eq!(areas, 1);
        assert!(summary.claimed());
        let bytes = &raw[..found.len];
        record_bytes += bytes.len();
        t[0] += s.elapsed();

        let s = Instant::now();
        records::verify_record(bytes, &expected).unwrap();
        t[1] += s.elapsed();

        let s = Instant::now();
        let mut body = vec![0u8; bytes.len()];
        let opened = seal::open(bytes, &load.office_secret, &mut body).unwrap();
        t[2] += s.elapsed();

        let s = Instant::now();
        let decoded = RecordBody::decode(opened.body).unwrap();
        t[3] += s.elapsed();

        let s = Instant::now();
        let mut store = Box::new(BallotStore::new());
        t[4] += s.elapsed();

        let s = Instant::now();
        decoded.load(load.event, &mut store).unwrap();
        t[5] += s.elapsed();

        let s = Instant::now();
        let record = SessionRecord {
            area: Some(0),
            slot: Some(found.slot),
            generation: opened.header.record.generation,
            state: opened.header.record.state,
            station: opened.header.record.station_id.as_str().to_string(),
            session_public_key: opened.header.session_public_key,
            session_fingerprint: seal::fingerprint(&opened.header.session_public_key),
            counters: decoded.counters,
            store,
            damaged_slots: Vec::new(),
        };
        let name = path.file_name().unwrap().to_string_lossy();
        let tally = session_tally(load, &name, &record);
        assert_eq!(tally.counters.cast, VOTERS_PER_STATION as u64);
        t[6] += s.elapsed();

        let s = Instant::now();
        drop(record);
        t[7] += s.elapsed();
    }
    let n = files.len() as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / n;
    let signature = t[1];
    let decrypt = t[2].saturating_sub(t[1]);
    let total: Duration = t[0] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
    println!();
    println!(
        "where the time goes, one thread, {} records of {} bytes on average (ms per record):",
        files.len(),
        record_bytes / files.len()
    );
    let rows = [
        ("media: open file, mount, walk, read slot (checksums)", t[0]),
        (
            "signature: SHA-256 over the record + Ed25519 verify",
            signature,
        ),
        ("decrypt: X25519 + HKDF + ChaCha20-Poly1305", decrypt),
        ("decode the record body", t[3]),
        ("allocate the ballot store (215 KiB, zeroed)", t[4]),
        ("load + recount the store, check the counters", t[5]),
        ("station tally of the session", t[6]),
        ("wipe the ballot store on drop", t[7]),
    ];
    for (what, d) in rows {
        println!(
            "  {what:<56} {:>7.3} ms  {:>5.1} %",
            ms(d),
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!("  {:<56} {:>7.3} ms", "sum", ms(total));
    // The fixed costs inside decryption: `seal::open` derives the office public key from
    // the secret (a base point multiplication), then does the X25519 agreement.
    let rounds = 200u32;
    let s = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(seal::office_public_key(std::hint::black_box(
            &load.office_secret,
        )));
    }
    let base = s.elapsed() / rounds;
    let secret = x25519_dalek::StaticSecret::from(load.office_secret);
    let point = x25519_dalek::PublicKey::from(input("point", 0));
    let s = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(secret.diffie_hellman(std::hint::black_box(&point)));
    }
    let agreement = s.elapsed() / rounds;
    println!(
        "  of which X25519: office public key {:.3} ms, key agreement {:.3} ms",
        base.as_secs_f64() * 1e3,
        agreement.as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let stations: usize = std::env::var("OFFICE_BENCH_STATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STATIONS);
    let load = generate(stations);
    println!(
        "load: {stations} stations x {VOTERS_PER_STATION} voters = {} ballots per election \
         ({} elections), media files of {} bytes",
        stations * VOTERS_PER_STATION,
        load.event.elections.len(),
        load.media_bytes
    );
    // Warm the page cache.
    let mut bytes = 0usize;
    for file in &load.files {
        bytes += std::fs::read(file).unwrap().len();
    }
    println!("load: {bytes} bytes read once to warm the page cache");
    println!();
    println!(
        "{:<6} {:>8} {:>10} {:>7} {:>8} {:>12} {:>8} {:>8} {:>12}",
        "size",
        "stations",
        "ballots",
        "threads",
        "wall s",
        "ballots/s",
        "speedup",
        "CPU s",
        "ballots/CPU-s"
    );
    for (label, divisor) in [("1/4", 4), ("1/2", 2), ("full", 1)] {
        let files = &load.files[..stations / divisor];
        let ballots = files.len() * VOTERS_PER_STATION;
        let mut single: Option<Duration> = None;
        for jobs in [1, 2] {
            let runs: Vec<Timing> = (0..RUNS).map(|_| run(&load, files, jobs)).collect();
            let best = runs.iter().min_by_key(|t| t.wall).copied().unwrap();
            let cpu = runs.iter().filter_map(|t| t.cpu).min();
            let speedup = single.map_or(1.0, |s| s.as_secs_f64() / best.wall.as_secs_f64());
            single.get_or_insert(best.wall);
            println!(
                "{label:<6} {:>8} {:>10} {jobs:>7} {:>8.3} {:>12.0} {:>8.2} {:>8} {:>12}",
                files.len(),
                ballots,
                best.wall.as_secs_f64(),
                ballots as f64 / best.wall.as_secs_f64(),
                speedup,
                cpu.map_or("-".to_string(), |c| format!("{:.2}", c.as_secs_f64())),
                cpu.filter(|c| !c.is_zero())
                    .map_or("-".to_string(), |c| format!(
                        "{:.0}",
                        ballots as f64 / c.as_secs_f64()
                    )),
            );
        }
    }
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average during the run (1, 5, 15 min): {}",
        load_average
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    stages(&load, &load.files[..(stations / 4).max(1)]);
}
