//! A whole session with the keyboard only, on the real firmware payload: the president
//! opens the poll with the operator keys and the PIN pad driven by arrow keys, one voter
//! votes in three elections with up/down/enter (a list vote, preferences, a blank, a change
//! from the review), the president closes the poll. The script is
//! `simulator/scripts/keyboard-vote.sim`; it checks the screens with `expect-text`, and this
//! test then opens the results media as the office does and checks the counters and the
//! ballot.
//!
//! Needs the payload: `SIMULATOR_PAYLOAD=<target>/payload/firmware-wasm32.wasm cargo test
//! -p simulator --test keyboard -- --ignored` (`cargo xtask payload` prints the path).

mod common;

use boot_image::keys::dev_office_secret;
use boot_image::records::{open_media, Expected};
use common::*;
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{Date, Event};
use firmware::seal::PollState;
use firmware::terminal::Counters;
use simulator::machine::Limits;
use simulator::rom::Trust;
use simulator::script::{self, Command};

const SCRIPT: &str = "scripts/keyboard-vote.sim";

fn script_text() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_script_parses_and_never_touches_the_screen() {
    let lines = script::parse(&script_text()).unwrap();
    let mut keys = 0;
    for line in &lines {
        match &line.command {
            Command::Key(_) => keys += 1,
            Command::Operator(_) | Command::ExpectText(_) | Command::Wait(_) | Command::Shot(_) => {
            }
            other => panic!(
                "line {} `{}` is not a key, an operator key or a check: {other:?}",
                line.number, line.text
            ),
        }
    }
    assert!(keys > 50, "{keys} keys");
}

#[test]
#[ignore = "needs SIMULATOR_PAYLOAD (cargo xtask payload)"]
fn a_whole_session_by_keyboard_is_recorded_on_the_media() {
    let payload = firmware_payload().expect("needs SIMULATOR_PAYLOAD (cargo xtask payload)");
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("results.img");
    let options = simulator::Options {
        image: image_signed_by(&payload, &[1]),
        trust: Trust::dev(1),
        today: Date::new(2026, 6, 7).unwrap(),
        entropy_seed: Some([0x6b; 32]),
        media: Some(media.clone()),
        station: "LINDENHOVE-001".into(),
        limits: Limits::default(),
        echo_log: false,
    };
    let (mut machine, verified) = simulator::power_on(&options).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let lines = script::parse(&script_text()).unwrap();
    if let Err(e) = script::run(&mut machine, &lines, &out) {
        panic!("{SCRIPT}: {e}");
    }
    for n in 1..=7 {
        let found = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("kb-0{n}-"))
            });
        assert!(found, "screenshot kb-0{n}-* was written");
    }

    // The office opens the media: one session, closed, one voter, exactly that ballot.
    let image = machine.devices_mut().media.contents().unwrap();
    let event = Event::from_postcard(&verified.election).unwrap();
    let expected = Expected {
        event: &event,
        image_digest: verified.fingerprint,
    };
    let sessions = open_media(&image, &dev_office_secret(), &expected).unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = &sessions[0];
    assert_eq!(session.state, PollState::Closed);
    assert_eq!(
        session.counters,
        Counters {
            activations: 1,
            cast: 1,
            cancelled: 0,
        }
    );
    let chamber = &event.elections[0];
    let region = &event.elections[1];
    let list_vote = Choice::List(ListIndex::new(1, chamber).unwrap());
    let kompas = &region.lists[2];
    let preferences = Choice::Preferences {
        list: ListIndex::new(2, region).unwrap(),
        // Candidates 1 and 2: candidate 3 was taken back from the review.
        candidates: CandidateSet::from_mask(0b011, kompas.candidates.len()).unwrap(),
    };
    for (election, choice) in [(0, list_vote), (1, preferences), (2, Choice::Blank)] {
        assert_eq!(session.store.ballots(election), 1, "election {election}");
        assert_eq!(
            session.store.count(&event, election, &choice),
            Ok(1),
            "election {election}: {choice:?}"
        );
    }
}
