//! Ballot store cost figures: `cargo run --release -p firmware --example store_bench`.
//!
//! Fills a store with pseudo-random voters for two events (the demo-sized day and three
//! of the largest elections) and prints the time of one `cast` (which includes the full
//! recount), `verify`, `serialize` and `load` at several fill levels. Native host
//! figures; the wasmi interpreter is roughly 10-50x slower.

use firmware::ballot::{BallotCodec, CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::store::{BallotStore, MAX_SERIALIZED_BYTES};
use std::sync::Mutex;
use std::time::Instant;

/// The store lives in a static, as in the firmware.
static STORE: Mutex<BallotStore> = Mutex::new(BallotStore::new());
static COPY: Mutex<BallotStore> = Mutex::new(BallotStore::new());

fn candidates(titulars: usize, successors: usize) -> Candidates<'static> {
    let people: Vec<Candidate<'static>> = (0..titulars + successors)
        .map(|c| Candidate {
            name: "SURNAME Given",
            kind: if c < titulars {
                CandidateKind::Titular
            } else {
                CandidateKind::Successor
            },
        })
        .collect();
    let buf = vec![0u8; 64 + people.len() * 32].leak();
    Candidates::encode(&people, buf).expect("candidate buffer is large enough")
}

/// `(id, seats, lists, titulars, successors)` per election.
fn event(specs: &[(&'static str, u16, usize, usize, usize)]) -> Event<'static> {
    let mut event = Event {
        id: "BENCH-2026",
        names: Names::same("Benchmark"),
        date: Date::new(2026, 5, 31).expect("valid date"),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl]).expect("one language"),
        elections: heapless::Vec::new(),
    };
    for &(id, seats, lists, titulars, successors) in specs {
        let mut election = Election {
            id,
            names: Names::same(id),
            constituency: Names::same("Kieskring"),
            seats,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: successors > 0,
            lists: heapless::Vec::new(),
        };
        let people = candidates(titulars, successors);
        for l in 0..lists {
            let number = u16::try_from(l + 1).expect("few lists");
            let list = List {
                number,
                name: "LIST",
                candidates: people,
            };
            election.lists.push(list).expect("at most 40 lists");
        }
        event.elections.push(election).expect("at most 8 elections");
    }
    event.validate().expect("benchmark event is valid");
    event
}

fn voter(event: &Event<'_>, seed: &mut u64) -> Vec<Choice> {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *seed >> 11
    };
    event
        .elections
        .iter()
        .map(|election| {
            let codec = BallotCodec::new(election);
            let l = (next() % codec.lists() as u64) as usize;
            let list = ListIndex::new(l, election).expect("list in range");
            let mask = (next() | next() << 53) & CandidateSet::full_mask(codec.candidates(l));
            let set = CandidateSet::from_mask(mask, codec.candidates(l)).expect("in range");
            match next() % 10 {
                0 => Choice::Blank,
                1..=3 => Choice::List(list),
                _ => Choice::from_marks(list, true, set).expect("top box ticked"),
            }
        })
        .collect()
}

fn micros(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e6
}

fn bench(name: &str, event: &Event<'_>) {
    let mut store = STORE.lock().expect("store lock");
    let mut copy = COPY.lock().expect("copy lock");
    store.reset(event).expect("event fits");
    let capacity = store.capacity();
    println!("{name}: capacity {capacity} voters");
    println!(
        "{:>7} {:>10} {:>11} {:>13} {:>10} {:>11}",
        "voters", "cast us", "verify us", "serialize us", "load us", "bytes"
    );
    let mut seed = 1u64;
    let mut buf = vec![0u8; MAX_SERIALIZED_BYTES];
    // Each figure is the fastest of REPEAT runs (the machine is shared); the cast
    // figure is the fastest of REPEAT consecutive casts ending at the checkpoint.
    const REPEAT: usize = 5;
    let last = capacity - REPEAT;
    let mut cast = 0usize;
    for target in [0usize, 100, 1_000, 2_500, last] {
        while cast + REPEAT < target {
            store
                .cast(event, &voter(event, &mut seed))
                .expect("room left");
            cast += 1;
        }
        let mut cast_us = f64::MAX;
        for _ in 0..REPEAT {
            let choices = voter(event, &mut seed);
            let start = Instant::now();
            store.cast(event, &choices).expect("room left");
            cast_us = cast_us.min(micros(start));
            cast += 1;
        }
        let (mut verify_us, mut serialize_us, mut load_us) = (f64::MAX, f64::MAX, f64::MAX);
        let mut len = 0;
        for _ in 0..REPEAT {
            let start = Instant::now();
            store.verify(event).expect("consistent");
            verify_us = verify_us.min(micros(start));
            let start = Instant::now();
            len = store.serialize(event, &mut buf).expect("fits").len();
            serialize_us = serialize_us.min(micros(start));
            let start = Instant::now();
            copy.load(event, &buf[..len]).expect("loads");
            load_us = load_us.min(micros(start));
        }
        println!(
            "{cast:>7} {cast_us:>10.0} {verify_us:>11.0} {serialize_us:>13.0} {load_us:>10.0} {len:>11}"
        );
    }
}

fn main() {
    bench(
        "demo day (Chamber 8x(12+12), region 8x(15+10), Europe 8x(21+8))",
        &event(&[
            ("chamber", 12, 8, 12, 12),
            ("region", 15, 8, 15, 10),
            ("europe", 21, 8, 21, 8),
        ]),
    );
    bench(
        "3 x largest (40 lists x 64 candidates)",
        &event(&[
            ("largest-1", 64, 40, 64, 0),
            ("largest-2", 64, 40, 64, 0),
            ("largest-3", 64, 40, 64, 0),
        ]),
    );
}
