//! `cargo xtask demo`: one scripted polling-station day, run by the firmware core's terminal
//! state machine (`firmware::terminal`) and ballot store (`firmware::store`) on the host.
//!
//! It prints every action and the terminal's answer, then the counters and tallies. It does
//! not involve the simulator, screens, boot image, media or sealed records.

use firmware::ballot::Choice;
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::store::BallotStore;
use firmware::terminal::{Action, Terminal, TerminalError};
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Mutex;

/// The operator PIN of the demo (a training PIN, printed on purpose).
const PIN: &[u8] = b"4821";
/// A wrong PIN, to show the refusal.
const WRONG_PIN: &[u8] = b"1234";
/// Salt of the demo PIN verifier (fixed so every run is the same).
const PIN_SALT: [u8; 16] = *b"demo-salt-v1/pin";

/// The ballot store lives in a static, as on the device (it is about 215 KiB).
static STORE: Mutex<BallotStore> = Mutex::new(BallotStore::new());

/// A list of the demo: number, name, candidates (titulars then successors).
struct DemoList {
    number: u16,
    name: &'static str,
    titulars: &'static [&'static str],
    successors: &'static [&'static str],
}

const CHAMBER: &[DemoList] = &[
    DemoList {
        number: 1,
        name: "ZON",
        titulars: &["PEETERS An", "DUBOIS Marc", "MERTENS Sara"],
        successors: &["CLAES Tom"],
    },
    DemoList {
        number: 2,
        name: "MAAN",
        titulars: &["LAMBERT Julie", "JACOBS Pieter"],
        successors: &[],
    },
    DemoList {
        number: 3,
        name: "STER",
        titulars: &["WILLEMS Eva", "LEROY Karim", "GOOSSENS Ine"],
        successors: &["DUPONT Luc"],
    },
];

const EUROPE: &[DemoList] = &[
    DemoList {
        number: 1,
        name: "RIVIER",
        titulars: &["MAES Lotte", "SIMON Paul"],
        successors: &[],
    },
    DemoList {
        number: 2,
        name: "BERG",
        titulars: &["FONTAINE Iris", "HERMANS Bart"],
        successors: &[],
    },
];

/// Encode the candidates of `list` into `buf`.
fn candidates<'b>(list: &DemoList, buf: &'b mut [u8]) -> Candidates<'b> {
    let people: Vec<Candidate<'_>> = list
        .titulars
        .iter()
        .map(|name| Candidate {
            name,
            kind: CandidateKind::Titular,
        })
        .chain(list.successors.iter().map(|name| Candidate {
            name,
            kind: CandidateKind::Successor,
        }))
        .collect();
    match Candidates::encode(&people, buf) {
        Ok(candidates) => candidates,
        Err(e) => unreachable!("the demo's candidate lists fit their buffers: {e:?}"),
    }
}

/// One election of the demo.
fn election(
    id: &'static str,
    names: Names<'static>,
    constituency: Names<'static>,
    seats: u16,
    lists: &[DemoList],
) -> Election<'static> {
    let mut out = Election {
        id,
        names,
        constituency,
        seats,
        method: SeatMethod::DHondt,
        threshold: 500,
        successors: true,
        lists: heapless::Vec::new(),
    };
    for list in lists {
        // The event borrows its names and candidates for the whole run.
        let buf: &'static mut [u8] = vec![0u8; 1024].leak();
        let list = List {
            number: list.number,
            name: list.name,
            candidates: candidates(list, buf),
        };
        if out.lists.push(list).is_err() {
            unreachable!("the demo has fewer lists than MAX_LISTS");
        }
    }
    out
}

/// The demo event: a Chamber and a European election, in Dutch and French.
fn event() -> Event<'static> {
    let names = |nl, fr| Names {
        nl: Some(nl),
        fr: Some(fr),
        de: None,
        en: None,
    };
    let mut elections = heapless::Vec::new();
    for e in [
        election(
            "chamber",
            names(
                "Kamer van volksvertegenwoordigers",
                "Chambre des représentants",
            ),
            names(
                "Kieskring Brussel-Hoofdstad",
                "Circonscription de Bruxelles-Capitale",
            ),
            15,
            CHAMBER,
        ),
        election(
            "europe",
            names("Europees Parlement", "Parlement européen"),
            names("Nederlandstalig kiescollege", "Collège électoral français"),
            8,
            EUROPE,
        ),
    ] {
        if elections.push(e).is_err() {
            unreachable!("the demo has fewer elections than MAX_ELECTIONS");
        }
    }
    Event {
        id: "DEMO-2026",
        names: names("Oefenverkiezing", "Élection d'exercice"),
        date: Date {
            year: 2026,
            month: 5,
            day: 31,
        },
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl, Language::Fr]).unwrap_or_default(),
        elections,
    }
}

/// Apply `action`, print it with the terminal's answer, and return the answer.
fn act(terminal: &mut Terminal<'_>, who: &str, action: Action<'_>) -> Result<(), TerminalError> {
    let shown = format!("{action:?}");
    let result = terminal.handle(action);
    match &result {
        Ok(()) => println!("  {who:<9} {shown:<28} -> ok, now {:?}", terminal.phase()),
        Err(e) => println!("  {who:<9} {shown:<28} -> refused: {e}"),
    }
    result
}

/// Print the review screen's choices.
fn print_review(terminal: &Terminal<'_>, event: &Event<'_>) {
    let Some(review) = terminal.review() else {
        return;
    };
    println!("  review screen (exactly what confirm will cast):");
    for (election, choice) in event.elections.iter().zip(review) {
        println!("    {:<8} {}", election.id, describe(election, choice));
    }
}

/// A choice in words.
fn describe(election: &Election<'_>, choice: &Choice) -> String {
    let list_name = |index: usize| {
        election.list(index).map_or_else(
            || format!("list #{index}"),
            |l| format!("{} {}", l.number, l.name),
        )
    };
    match choice {
        Choice::Blank => "blank".to_owned(),
        Choice::List(list) => format!("list vote for {}", list_name(list.get())),
        Choice::Preferences { list, candidates } => {
            let names: Vec<&str> = candidates
                .iter()
                .filter_map(|c| election.list(list.get())?.candidates.get(c))
                .map(|c| c.name)
                .collect();
            format!(
                "preference votes on {}: {}",
                list_name(list.get()),
                names.join(", ")
            )
        }
    }
}

fn run() -> Result<(), String> {
    println!("Demo: the firmware core's terminal state machine on the host.");
    println!("(Scripted actions; no simulator, screen, boot image, media or sealed record yet.)\n");
    let event = event();
    event
        .validate()
        .map_err(|e| format!("demo election is invalid: {e}"))?;
    let iterations = NonZeroU32::new(PIN_MIN_ITERATIONS).ok_or("PIN_MIN_ITERATIONS is 0")?;
    let verifier = PinVerifier::derive(PIN, PIN_SALT, iterations);
    let mut store = STORE.lock().map_err(|_| "ballot store lock poisoned")?;
    let mut terminal = Terminal::new(&event, verifier, &mut store)
        .map_err(|e| format!("terminal refused the event: {e}"))?;
    println!(
        "Event {}: {} elections, {} candidates, languages nl and fr; operator PIN {}.",
        event.id,
        event.elections.len(),
        event.candidate_count(),
        String::from_utf8_lossy(PIN)
    );

    let ok = |r: Result<(), TerminalError>| r.map_err(|e| format!("unexpected refusal: {e}"));
    let refused = |r: Result<(), TerminalError>| match r {
        Err(_) => Ok(()),
        Ok(()) => Err("an action that must be refused was accepted".to_owned()),
    };
    let open = |pin| Action::OpenPoll { pin, now_ms: 1_000 };
    let close = |pin| Action::ClosePoll {
        pin,
        now_ms: 9_000_000,
    };

    println!("\nOpening the poll");
    ok(act(&mut terminal, "president", open(PIN)))?;

    println!("\nVoter 1: Dutch; preference votes in the Chamber, blank for Europe");
    ok(act(&mut terminal, "president", Action::ActivateVoter))?;
    ok(act(
        &mut terminal,
        "voter",
        Action::ChooseLanguage(Language::Nl),
    ))?;
    ok(act(&mut terminal, "voter", Action::ChooseList(0)))?;
    ok(act(&mut terminal, "voter", Action::ToggleCandidate(0)))?;
    ok(act(&mut terminal, "voter", Action::ToggleCandidate(2)))?;
    ok(act(&mut terminal, "voter", Action::Next))?;
    ok(act(&mut terminal, "voter", Action::ChooseBlank))?;
    print_review(&terminal, &event);
    ok(act(&mut terminal, "voter", Action::Confirm))?;

    println!("\nVoter 2: French; changes the Chamber vote from the review (the 2014 rule)");
    ok(act(&mut terminal, "president", Action::ActivateVoter))?;
    ok(act(
        &mut terminal,
        "voter",
        Action::ChooseLanguage(Language::Fr),
    ))?;
    ok(act(&mut terminal, "voter", Action::ChooseList(1)))?;
    ok(act(&mut terminal, "voter", Action::ToggleTopBox))?;
    ok(act(&mut terminal, "voter", Action::Next))?;
    ok(act(&mut terminal, "voter", Action::ChooseList(0)))?;
    ok(act(&mut terminal, "voter", Action::ToggleCandidate(1)))?;
    ok(act(&mut terminal, "voter", Action::Next))?;
    print_review(&terminal, &event);
    ok(act(&mut terminal, "voter", Action::ChangeElection(0)))?;
    ok(act(&mut terminal, "voter", Action::ChooseList(2)))?;
    ok(act(&mut terminal, "voter", Action::ToggleTopBox))?;
    ok(act(&mut terminal, "voter", Action::Next))?;
    print_review(&terminal, &event);
    ok(act(&mut terminal, "voter", Action::Confirm))?;

    println!("\nVoter 3: leaves the booth; the president cancels the session");
    ok(act(&mut terminal, "president", Action::ActivateVoter))?;
    ok(act(
        &mut terminal,
        "voter",
        Action::ChooseLanguage(Language::Nl),
    ))?;
    ok(act(&mut terminal, "voter", Action::ChooseList(2)))?;
    refused(act(&mut terminal, "voter", Action::Confirm))?;
    ok(act(&mut terminal, "president", Action::CancelSession))?;

    println!("\nClosing the poll");
    refused(act(&mut terminal, "president", close(WRONG_PIN)))?;
    ok(act(&mut terminal, "president", close(PIN)))?;

    let counters = terminal.counters();
    println!(
        "\nCounters: {} activations = {} cast + {} cancelled ({})",
        counters.activations,
        counters.cast,
        counters.cancelled,
        if counters.balanced() {
            "balanced"
        } else {
            "NOT balanced"
        }
    );
    terminal
        .store()
        .verify(&event)
        .map_err(|e| format!("ballot store integrity check failed: {e}"))?;
    println!("Ballot store: tallies recomputed from the stored ballots and equal.");
    for (e, election) in event.elections.iter().enumerate() {
        let tally = terminal
            .store()
            .tally(e)
            .ok_or_else(|| format!("no tally for election {e}"))?;
        println!(
            "  {}: {} ballots, {} blank",
            election.id,
            tally.total(),
            tally.blank()
        );
        for (l, list) in election.lists.iter().enumerate() {
            let preferences: Vec<String> = list
                .candidates
                .iter()
                .enumerate()
                .filter_map(|(c, candidate)| {
                    let votes = tally.preferences(l, c)?;
                    (votes > 0).then(|| format!("{} {votes}", candidate.name))
                })
                .collect();
            println!(
                "    list {} {:<7} list votes {}, ballots with preferences {}{}",
                list.number,
                list.name,
                tally.list_votes(l).unwrap_or(0),
                tally.preference_ballots(l).unwrap_or(0),
                if preferences.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", preferences.join(", "))
                }
            );
        }
    }

    println!("\nPowering off");
    ok(act(&mut terminal, "president", Action::PowerOff))?;
    println!(
        "Ballots left in RAM after power-off: {}",
        terminal.store().ballots(0)
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}
