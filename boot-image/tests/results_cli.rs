//! `boot-image results` and `boot-image export`, run as a user would: station tally files
//! in, results and exports out; every exit code (0 ok, 1 a file skipped or input refused,
//! 2 usage or output error); a bad file is reported and skipped; exports never replace a
//! file without `--force`; the EML export parses back with the totals.

#[macro_use]
mod common;

use common::*;

use boot_image::export::EML_NAMESPACE;
use boot_image::fingerprint::fingerprint_groups;
use boot_image::tally::{
    CandidateTally, CounterTotals, ElectionTally, ListTally, SeatMethodName, SessionSummary,
    StationTally, TALLY_FORMAT_VERSION,
};

/// A station with one Chamber election (Hainaut, 3 seats, D'Hondt, 5 %): `counts` gives
/// each list's (list-only, preference ballots); the first candidate takes every
/// preference.
fn station(name: &str, seed: u8, event: &str, blank: u64, counts: &[(u64, u64)]) -> StationTally {
    let names = ["MR", "PS", "LES ENGAGÉS", "PETITE, \"LISTE\""];
    let lists: Vec<ListTally> = counts
        .iter()
        .enumerate()
        .map(|(i, &(only, prefs))| ListTally {
            number: [2, 4, 6, 24][i],
            name: names[i].to_string(),
            ballots: only + prefs,
            list_only: only,
            candidates: vec![
                CandidateTally {
                    name: format!("Tête {}", i + 1),
                    titular: true,
                    preferences: prefs,
                },
                CandidateTally {
                    name: format!("Suppléant {}", i + 1),
                    titular: false,
                    preferences: 0,
                },
            ],
        })
        .collect();
    let ballots = blank + lists.iter().map(|l| l.ballots).sum::<u64>();
    let counters = CounterTotals {
        activations: ballots + 1,
        cast: ballots,
        cancelled: 1,
    };
    StationTally {
        format: TALLY_FORMAT_VERSION,
        event_id: event.to_string(),
        image_fingerprint: fingerprint_groups(&[0x5a; 32]).as_str().to_string(),
        station: name.to_string(),
        sessions: vec![SessionSummary {
            source: format!("{name}.img#area 0"),
            session_fingerprint: fingerprint_groups(&[seed; 32]).as_str().to_string(),
            generation: ballots + 2,
            closed: true,
            counters,
        }],
        counters,
        elections: vec![ElectionTally {
            id: "chambre".to_string(),
            constituency: "Hainaut".to_string(),
            seats: 3,
            method: SeatMethodName::DHondt,
            threshold_hundredths: 500,
            ballots,
            blank,
            lists,
        }],
    }
}

/// Two good stations; returns their file names.
fn two_stations(dir: &Scratch) -> [String; 2] {
    dir.write(
        "mons-001.json",
        station(
            "MONS-001",
            1,
            "BE-2026",
            4,
            &[(40, 20), (30, 20), (10, 5), (2, 0)],
        )
        .to_json(),
    );
    dir.write(
        "mons-002.json",
        station(
            "MONS-002",
            2,
            "BE-2026",
            6,
            &[(35, 25), (25, 15), (12, 3), (1, 0)],
        )
        .to_json(),
    );
    ["mons-001.json".to_string(), "mons-002.json".to_string()]
}

#[test]
fn results_show_totals_seats_threshold_and_stations() {
    let dir = Scratch::new("text");
    let [a, b] = two_stations(&dir);
    let out = run(&dir.0, &["results", &a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // MR 120, PS 90, LES ENGAGÉS 30, small list 3 of 243 valid votes (1.23 % < 5 %).
    for needle in [
        "event BE-2026: 2 station(s), 1 contest(s)",
        "chambre / Hainaut: 3 seats, D'Hondt, threshold 5 % of the valid votes",
        "ballots 253, blank 10, valid 243",
        "MR",
        "120",
        "49.38 %",
        "PETITE, \"LISTE\"",
        "below threshold",
        "seat order (list numbers): 2 4 2",
        "MONS-001  mons-001.json  sessions 1  activations 132 cast 131 cancelled 1",
        "anomalies: 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn results_as_json() {
    let dir = Scratch::new("json");
    let [a, b] = two_stations(&dir);
    let out = run(&dir.0, &["results", "--format", "json", &a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["format"], "boot-image-results");
    let lists = &value["contests"][0]["lists"];
    let seats: Vec<u64> = (0..4)
        .map(|i| lists[i]["seats"].as_u64().unwrap())
        .collect();
    assert_eq!(seats, [2, 1, 0, 0]);
    assert_eq!(lists[3]["eligible"], false);
}

#[test]
fn a_bad_file_is_reported_and_skipped() {
    let dir = Scratch::new("bad");
    let [a, b] = two_stations(&dir);
    dir.write("garbage.json", "{\"format\": 1,\n  \"oops\"");
    let mut broken = station(
        "MONS-003",
        3,
        "BE-2026",
        1,
        &[(1, 1), (1, 0), (0, 0), (0, 0)],
    );
    broken.elections[0].blank = 50;
    dir.write("broken.json", broken.to_json());
    let out = run(
        &dir.0,
        &[
            "results",
            &a,
            "garbage.json",
            "missing.json",
            "broken.json",
            &b,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("garbage.json: line 2, column"), "{err}");
    assert!(err.contains("missing.json: no such file; skipped"), "{err}");
    assert!(err.contains("broken.json: election \"chambre\""), "{err}");
    assert!(err.contains("3 tally file(s) skipped"), "{err}");
    // The good stations are still counted and shown.
    assert!(stdout(&out).contains("2 station(s)"), "{}", stdout(&out));
}

#[test]
fn contradictory_files_are_refused_naming_both() {
    let dir = Scratch::new("contradict");
    let [a, _] = two_stations(&dir);
    dir.write(
        "again.json",
        station(
            "MONS-001",
            9,
            "BE-2026",
            1,
            &[(1, 1), (1, 0), (0, 0), (0, 0)],
        )
        .to_json(),
    );
    let out = run(
        &dir.0,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            "x.csv",
            &a,
            "again.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("duplicate-station") && err.contains("mons-001.json"),
        "{err}"
    );
    assert!(err.contains("again.json"), "{err}");
    assert!(!dir.path("x.csv").exists(), "nothing is written");

    dir.write(
        "other-event.json",
        station(
            "MONS-009",
            8,
            "BE-2027",
            1,
            &[(1, 1), (1, 0), (0, 0), (0, 0)],
        )
        .to_json(),
    );
    let out = run(&dir.0, &["results", &a, "other-event.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("mixed events") && err.contains("other-event.json"),
        "{err}"
    );
}

#[test]
fn exports_are_written_once_unless_forced() {
    let dir = Scratch::new("export");
    let [a, b] = two_stations(&dir);
    for (format, file) in [("json", "r.json"), ("csv", "r.csv"), ("eml", "r.eml.xml")] {
        let out = run(
            &dir.0,
            &["export", "--format", format, "--out", file, &a, &b],
        );
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert!(stdout(&out).contains(&format!("wrote {file}: event BE-2026")));
        let first = std::fs::read(dir.path(file)).unwrap();
        // Same input, same bytes.
        let again = run(
            &dir.0,
            &["export", "--format", format, "--out", file, &a, &b],
        );
        assert_eq!(again.status.code(), Some(2), "refuses to replace");
        assert!(stderr(&again).contains("already exists; give --force"));
        let forced = run(
            &dir.0,
            &[
                "export", "--format", format, "--out", file, "--force", &a, &b,
            ],
        );
        assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
        assert_eq!(std::fs::read(dir.path(file)).unwrap(), first, "{format}");
    }
    let csv = std::fs::read_to_string(dir.path("r.csv")).unwrap();
    assert!(csv.starts_with("event_id,election,constituency,station,row,"));
    assert!(csv
        .contains("BE-2026,chambre,Hainaut,,list,24,\"PETITE, \"\"LISTE\"\"\",,,,3,3,0,false\r\n"));
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, tag: &str) -> roxmltree::Node<'a, 'i> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .unwrap_or_else(|| panic!("no {tag}"))
}

#[test]
fn eml_export_parses_back_with_the_totals() {
    let dir = Scratch::new("eml");
    let [a, b] = two_stations(&dir);
    let out = run(
        &dir.0,
        &["export", "--format", "eml", "--out", "count.xml", &a, &b],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path("count.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some(EML_NAMESPACE)
    );
    let count = child(doc.root_element(), "Count");
    assert_eq!(
        child(count, "EventIdentifier").attribute("Id"),
        Some("BE-2026")
    );
    let election = child(count, "Election");
    assert_eq!(
        child(election, "ElectionIdentifier").attribute("Id"),
        Some("chambre")
    );
    let contest = child(child(election, "Contests"), "Contest");
    assert_eq!(
        child(contest, "ContestIdentifier").attribute("Id"),
        Some("Hainaut")
    );
    let value = |node: roxmltree::Node<'_, '_>, tag: &str| -> u64 {
        child(node, tag).text().unwrap().parse().unwrap()
    };
    let total = child(contest, "TotalVotes");
    assert_eq!(value(total, "Cast"), 253);
    assert_eq!(value(total, "TotalCounted"), 243);
    let reason = |node: roxmltree::Node<'_, '_>, tag: &str, code: &str| -> u64 {
        node.children()
            .find(|n| n.has_tag_name(tag) && n.attribute("ReasonCode") == Some(code))
            .and_then(|n| n.text())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(reason(total, "RejectedVotes", "blanco"), 10);
    assert_eq!(reason(total, "UncountedVotes", "toegelaten kiezers"), 255);
    // List votes and candidate preferences, in ballot order.
    let mut lists = Vec::new();
    let mut preferences = Vec::new();
    for selection in total.children().filter(|n| n.has_tag_name("Selection")) {
        let votes = value(selection, "ValidVotes");
        if let Some(a) = selection
            .children()
            .find(|n| n.has_tag_name("AffiliationIdentifier"))
        {
            lists.push((a.attribute("Id").unwrap().to_string(), votes));
        } else {
            preferences.push(votes);
        }
    }
    assert_eq!(
        lists,
        [
            ("2".to_string(), 120),
            ("4".to_string(), 90),
            ("6".to_string(), 30),
            ("24".to_string(), 3)
        ]
    );
    assert_eq!(preferences, [45, 0, 35, 0, 8, 0, 0, 0]);
    // One reporting unit per station; their counts add up to the total.
    let units: Vec<roxmltree::Node<'_, '_>> = contest
        .children()
        .filter(|n| n.has_tag_name("ReportingUnitVotes"))
        .collect();
    assert_eq!(units.len(), 2);
    assert_eq!(
        child(units[0], "ReportingUnitIdentifier").attribute("Id"),
        Some("MONS-001")
    );
    let cast: u64 = units.iter().map(|u| value(*u, "Cast")).sum();
    assert_eq!(cast, 253);
}

#[test]
fn anomalies_are_shown_and_exported() {
    let dir = Scratch::new("anomaly");
    let [a, _] = two_stations(&dir);
    let mut odd = station(
        "MONS-002",
        2,
        "BE-2026",
        6,
        &[(35, 25), (25, 15), (12, 3), (1, 0)],
    );
    odd.elections[0].lists[1].candidates[1].preferences = 16; // 15 preference ballots
    dir.write("odd.json", odd.to_json());
    let out = run(&dir.0, &["results", &a, "odd.json"]);
    assert_eq!(out.status.code(), Some(0), "anomalies are warnings");
    let text = stdout(&out);
    assert!(text.contains("anomalies: 1"), "{text}");
    assert!(
        text.contains(
            "preferences-above-ballots: station MONS-002 (odd.json): chambre: list 4: \
             candidate \"Suppléant 2\" has 16 preference votes"
        ),
        "{text}"
    );
    let out = run(
        &dir.0,
        &[
            "export", "--format", "json", "--out", "x.json", &a, "odd.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("warning: preferences-above-ballots: station MONS-002"));
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("x.json")).unwrap()).unwrap();
    assert_eq!(value["anomalies"][0]["class"], "preferences-above-ballots");
    assert_eq!(value["anomalies"][0]["station"], "MONS-002");
}

#[test]
fn usage_errors_exit_2() {
    let dir = Scratch::new("usage");
    let [a, _] = two_stations(&dir);
    for args in [
        vec!["results"],
        vec!["results", "--format", "xml", a.as_str()],
        vec!["export", "--out", "x.json", a.as_str()],
        vec!["export", "--format", "pdf", "--out", "x", a.as_str()],
        vec!["export", "--format", "csv", a.as_str()],
    ] {
        let out = run(&dir.0, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let help = run(&dir.0, &["export", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("--force"));
}

mod from_the_store {
    //! Ballots cast into the firmware's ballot store, through `StationTally::add_session`,
    //! a tally file and `boot-image results`: the results equal the ballots cast.

    use super::*;
    use boot_image::records::SessionRecord;
    use firmware::ballot::{CandidateSet, Choice, ListIndex};
    use firmware::election::{
        Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
        SeatMethod,
    };
    use firmware::seal::PollState;
    use firmware::store::BallotStore;
    use firmware::terminal::Counters;

    fn names(text: &'static str) -> Names<'static> {
        Names {
            nl: Some(text),
            fr: None,
            de: None,
            en: None,
        }
    }

    fn event() -> &'static Event<'static> {
        let mut event = Event {
            id: "BE-2026-STORE",
            names: names("Verkiezingen"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: heapless::Vec::from_slice(&[Language::Nl]).unwrap(),
            elections: heapless::Vec::new(),
        };
        let mut election = Election {
            id: "kamer",
            names: names("Kamer"),
            constituency: names("Limburg"),
            seats: 3,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: false,
            lists: heapless::Vec::new(),
        };
        for (number, name) in [(1u16, "ROOD"), (2, "GROEN"), (3, "BLAUW")] {
            let people: Vec<Candidate<'static>> = ["A", "B", "C"]
                .iter()
                .map(|name| Candidate {
                    name,
                    kind: CandidateKind::Titular,
                })
                .collect();
            election
                .lists
                .push(List {
                    number,
                    name,
                    candidates: Candidates::encode(&people, vec![0u8; 512].leak()).unwrap(),
                })
                .unwrap();
        }
        event.elections.push(election).unwrap();
        event.validate().unwrap();
        Box::leak(Box::new(event))
    }

    fn session(event: &Event<'_>, station: &str, seed: u8, choices: &[Choice]) -> SessionRecord {
        let mut store = Box::new(BallotStore::new());
        store.reset(event).unwrap();
        for choice in choices {
            store.cast(event, &[*choice]).unwrap();
        }
        let cast = u32::try_from(choices.len()).unwrap();
        SessionRecord {
            area: Some(0),
            slot: None,
            generation: u64::from(cast) + 1,
            state: PollState::Closed,
            station: station.to_string(),
            session_public_key: [seed; 32],
            session_fingerprint: [seed; 32],
            counters: Counters {
                activations: cast,
                cast,
                cancelled: 0,
            },
            store,
            damaged_slots: Vec::new(),
        }
    }

    #[test]
    fn results_equal_the_ballots_cast() {
        let event = event();
        let election = &event.elections[0];
        let list = |i| ListIndex::new(i, election).unwrap();
        let prefs = |i, mask| Choice::Preferences {
            list: list(i),
            candidates: CandidateSet::from_mask(mask, 3).unwrap(),
        };
        let mut first = vec![Choice::List(list(0)); 10];
        first.extend([prefs(1, 0b011); 5]);
        first.extend([Choice::Blank; 2]);
        let mut second = vec![prefs(0, 0b100); 3];
        second.extend([Choice::List(list(2)); 7]);
        second.push(Choice::Blank);

        let dir = Scratch::new("store");
        for (station, seed, choices) in [("HS-001", 1u8, &first), ("HS-002", 2, &second)] {
            let mut tally = StationTally::new(event, &[0x42; 32], station);
            tally
                .add_session(
                    &format!("{station}.img#area 0"),
                    &session(event, station, seed, choices),
                    event,
                )
                .unwrap();
            dir.write(&format!("{station}.json"), tally.to_json());
        }
        let out = run(
            &dir.0,
            &["results", "--format", "json", "HS-001.json", "HS-002.json"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let contest = &value["contests"][0];
        assert_eq!(contest["constituency"], "Limburg");
        assert_eq!(contest["ballots"], 28);
        assert_eq!(contest["blank"], 3);
        let field = |i: usize, key: &str| contest["lists"][i][key].as_u64().unwrap();
        assert_eq!(
            [
                field(0, "ballots"),
                field(1, "ballots"),
                field(2, "ballots")
            ],
            [13, 5, 7]
        );
        assert_eq!(
            [
                field(0, "list_only"),
                field(1, "list_only"),
                field(2, "list_only")
            ],
            [10, 0, 7]
        );
        let preferences = |i: usize| -> Vec<u64> {
            (0..3)
                .map(|c| {
                    contest["lists"][i]["candidates"][c]["preferences"]
                        .as_u64()
                        .unwrap()
                })
                .collect()
        };
        assert_eq!(preferences(0), [0, 0, 3]);
        assert_eq!(preferences(1), [5, 5, 0]);
        assert_eq!(preferences(2), [0, 0, 0]);
        // D'Hondt, 3 seats: 13 (ROOD), 7 (BLAUW), then 13/2 = 6.5 (ROOD) beats 5 (GROEN).
        assert_eq!(
            [field(0, "seats"), field(1, "seats"), field(2, "seats")],
            [2, 0, 1]
        );
        assert_eq!(value["anomalies"].as_array().unwrap().len(), 0);
    }
}
