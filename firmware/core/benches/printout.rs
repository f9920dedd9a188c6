//! What printing costs on the host, next to the record write it follows.
//!
//! Run: `cargo bench -p firmware --bench printout`
//!
//! The event has the shape of the demo day (`docs/examples/demo-election.toml`: three
//! elections of 5, 6 and 4 lists). For each step the bench prints the median and the 99th
//! percentile over many runs, on this machine, natively:
//! - `ticket sign`: encode the three ballots and sign the ticket with the session key
//!   (`Ticket::assemble` with `Recorder::sign_ticket`);
//! - `ticket print`: check, render (words, QR code) and stream the ticket to a RAM printer;
//! - `opening report` and `closing report`: render and stream the reports;
//! - `record write`: seal and write the record after a ballot (with 100 ballots stored),
//!   the step a cast already takes before the ticket is printed.
//!
//! The wasm payload under wasmi costs more (fuel is about one unit per wasm instruction):
//! `docs/benchmarks.md` has the simulator's figures per event.

#![allow(missing_docs)]

use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{RamMedia, RamPrinter, SeededEntropy};
use firmware::record::{RecordContent, RecordScratch, Recorder, RecorderSetup};
use firmware::report::{Report, ReportKind};
use firmware::seal::{self, PollState};
use firmware::store::BallotStore;
use firmware::terminal::Counters;
use firmware::ticket::{Ticket, TicketError};
use std::time::{Duration, Instant};

const RUNS: usize = 200;

fn event() -> &'static Event<'static> {
    let mut event = Event {
        id: "BENCH-2026",
        names: Names::same("Verkiezingen 2026"),
        date: Date::new(2026, 6, 7).unwrap(),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl]).unwrap(),
        elections: heapless::Vec::new(),
    };
    for (id, sizes, seats) in [
        ("chamber", &[18usize, 15, 9, 5, 12][..], 18u16),
        ("region", &[13, 13, 13, 10, 13, 6][..], 13),
        ("europe", &[9, 9, 9, 6][..], 9),
    ] {
        let mut election = Election {
            id,
            names: Names::same(id),
            constituency: Names::same("Kieskring"),
            seats,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: false,
            lists: heapless::Vec::new(),
        };
        for (l, &size) in sizes.iter().enumerate() {
            let people: Vec<Candidate<'static>> = (0..size)
                .map(|_| Candidate {
                    name: "VAN DEN BOSSCHE Sofie",
                    kind: CandidateKind::Titular,
                })
                .collect();
            let buf = vec![0u8; 64 + size * 64].leak();
            election
                .lists
                .push(List {
                    number: u16::try_from(l + 1).unwrap(),
                    name: "LIJST",
                    candidates: Candidates::encode(&people, buf).unwrap(),
                })
                .unwrap();
        }
        event.elections.push(election).unwrap();
    }
    event.validate().unwrap();
    Box::leak(Box::new(event))
}

fn figures(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<16} p50 {:>9.3} ms   p99 {:>9.3} ms   ({} runs)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

fn time(mut f: impl FnMut()) -> Vec<Duration> {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn main() {
    let event = event();
    let mut store = Box::new(BallotStore::new());
    store.reset(event).unwrap();
    let choices: Vec<Choice> = event
        .elections
        .iter()
        .map(|e| Choice::Preferences {
            list: ListIndex::new(0, e).unwrap(),
            candidates: CandidateSet::from_mask(0b1011, e.lists[0].candidates.len()).unwrap(),
        })
        .collect();
    for _ in 0..100 {
        store.cast(event, &choices).unwrap();
    }
    let media_bytes = vec![0u8; 16 * 1024 * 1024].leak();
    let mut media = RamMedia::new(media_bytes);
    let mut entropy = SeededEntropy::new([9; 32]);
    let setup = RecorderSetup {
        event,
        station: "BENCH-001",
        image_digest: [1; 32],
        office_public: seal::office_public_key(&[0x42; 32]),
    };
    let mut recorder = Recorder::open(&setup, &store, &mut media, &mut entropy).unwrap();
    let mut scratch = Box::new(RecordScratch::new());
    let counters = Counters {
        activations: 100,
        cast: 100,
        cancelled: 0,
    };
    let public = recorder.public_key();
    let sign = |recorder: &Recorder| {
        Ticket::assemble(event, &choices, &public, |unsigned| {
            recorder
                .sign_ticket(unsigned)
                .map_err(|e| TicketError::Signing { code: e.code() })
        })
        .unwrap()
    };
    figures(
        "ticket sign",
        time(|| {
            std::hint::black_box(sign(&recorder));
        }),
    );
    let ticket = sign(&recorder);
    let mut printer = Box::new(RamPrinter::<8192>::new());
    figures(
        "ticket print",
        time(|| {
            printer.new_roll();
            ticket.print(event, Language::Nl, &mut *printer).unwrap();
        }),
    );
    let ticket_lines = printer.lines().len();
    for kind in [ReportKind::Opening, ReportKind::Closing] {
        let report = Report {
            kind,
            event,
            language: Language::Nl,
            station: "BENCH-001",
            version: "0.1.0",
            image_fingerprint: &[1; 32],
            session_fingerprint: &recorder.fingerprint(),
            counters,
            store: &store,
            generation: Some(2),
        };
        let name = match kind {
            ReportKind::Opening => "opening report",
            _ => "closing report",
        };
        figures(
            name,
            time(|| {
                printer.new_roll();
                report.print(&mut *printer).unwrap();
            }),
        );
        println!("{name:<16} {} raster lines", printer.lines().len());
        let sliced = format!("{name} / {}", firmware::app::PRINT_ROWS_PER_STEP);
        figures(
            &sliced,
            time(|| {
                printer.new_roll();
                let mut at = firmware::printout::PrintPosition::START;
                loop {
                    let printed = report
                        .print_slice(&mut *printer, at, firmware::app::PRINT_ROWS_PER_STEP)
                        .unwrap();
                    at = printed.next;
                    if printed.done {
                        break;
                    }
                }
            }),
        );
    }
    println!("{:<16} {ticket_lines} raster lines", "ticket");
    figures(
        "record write",
        time(|| {
            recorder
                .write(
                    &RecordContent {
                        state: PollState::Open,
                        counters,
                        store: &store,
                        event,
                    },
                    &mut scratch,
                    &mut media,
                    &mut entropy,
                )
                .unwrap();
        }),
    );
}
