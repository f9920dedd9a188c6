//! Seat allocation test vectors: `testdata/seats/*.vector`.
//!
//! Each vector is a text file: `#` comments (the source of published figures), then
//! `expect: ok` or an error class of [`boot_image::seats::SeatError::class`], the method
//! (`dhondt` or `imperiali`), the seats, the threshold in hundredths of a percent, and one
//! line per list: `list NUMBER VOTES EXPECTED-SEATS NAME`. One test per file checks the
//! allocation (or the class of the error).

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use boot_image::seats::{allocate, ListVotes};
use boot_image::tally::SeatMethodName;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/seats")
}

struct Vector {
    expect: String,
    method: SeatMethodName,
    seats: u16,
    threshold: u16,
    lists: Vec<(ListVotes, u16, String)>,
}

fn parse_vector(file: &str, text: &str) -> Vector {
    let mut expect = None;
    let mut method = None;
    let mut seats = None;
    let mut threshold = None;
    let mut lists = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = format!("{file}:{}", index + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("list ") {
            let mut fields = rest.splitn(4, ' ');
            let mut next = |what: &str| {
                fields
                    .next()
                    .unwrap_or_else(|| panic!("{at}: missing {what}"))
                    .to_string()
            };
            let number = next("list number").parse().expect("list number");
            let votes = next("votes").parse().expect("votes");
            let expected = next("expected seats").parse().expect("expected seats");
            let name = next("name");
            lists.push((ListVotes { number, votes }, expected, name));
            continue;
        }
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{at}: not `key: value`"));
        match key {
            "expect" => expect = Some(value.to_string()),
            "method" => {
                method = Some(match value {
                    "dhondt" => SeatMethodName::DHondt,
                    "imperiali" => SeatMethodName::Imperiali,
                    other => panic!("{at}: unknown method {other}"),
                })
            }
            "seats" => seats = Some(value.parse().expect("seats")),
            "threshold" => threshold = Some(value.parse().expect("threshold")),
            other => panic!("{at}: unknown key {other}"),
        }
    }
    Vector {
        expect: expect.unwrap_or_else(|| panic!("{file}: no expect line")),
        method: method.unwrap_or_else(|| panic!("{file}: no method")),
        seats: seats.unwrap_or_else(|| panic!("{file}: no seats")),
        threshold: threshold.unwrap_or_else(|| panic!("{file}: no threshold")),
        lists,
    }
}

fn check_vector(file: &str) {
    let text = std::fs::read_to_string(testdata().join(file)).unwrap();
    assert!(
        text.starts_with("# Seat allocation test vector, format version 1."),
        "{file}: missing the format line"
    );
    let vector = parse_vector(file, &text);
    let input: Vec<ListVotes> = vector.lists.iter().map(|(l, _, _)| *l).collect();
    let result = allocate(vector.method, vector.seats, vector.threshold, &input);
    match (vector.expect.as_str(), result) {
        ("ok", Ok(allocation)) => {
            for ((_, expected, name), got) in vector.lists.iter().zip(&allocation.lists) {
                assert_eq!(
                    got.seats, *expected,
                    "{file}: list {} {name}: {} seats, expected {expected}",
                    got.number, got.seats
                );
            }
        }
        ("ok", Err(e)) => panic!("{file}: expected an allocation, got {e}"),
        (class, Ok(_)) => panic!("{file}: expected {class}, got an allocation"),
        (class, Err(e)) => assert_eq!(e.class(), class, "{file}: {e}"),
    }
}

vector_tests! {
    be_2024_chamber_hainaut => "be-2024-chamber-hainaut.vector",
    be_2024_chamber_hainaut_no_threshold => "be-2024-chamber-hainaut-no-threshold.vector",
    be_2024_chamber_liege => "be-2024-chamber-liege.vector",
    be_2006_municipal_tintigny => "be-2006-municipal-tintigny.vector",
    textbook_dhondt => "textbook-dhondt.vector",
    textbook_imperiali => "textbook-imperiali.vector",
    tie_larger_votes => "tie-larger-votes.vector",
    tie_lower_number => "tie-lower-number.vector",
    threshold_exact => "threshold-exact.vector",
    no_seats => "no-seats.vector",
    no_valid_votes => "no-valid-votes.vector",
    no_eligible_list => "no-eligible-list.vector",
}
