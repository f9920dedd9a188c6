// The election event, keys and image digest of the `sealed_record` fuzz target. Included
// (`include!`) by `fuzz_targets/sealed_record.rs` and by `boot_image::records`' unit tests,
// which generate the seeds in `boot-image/fuzz/seeds/sealed_record/` from it. The event id,
// image digest and office secret are those of the committed test vectors in
// `testdata/sealed-record/`, so the `ok` vectors open too.

/// Event id of the test vectors.
const FUZZ_EVENT_ID: &str = "be-2024-06-09";
/// Station of the generated seeds (the fuzz target takes whatever the media says).
#[allow(dead_code)]
const FUZZ_STATION: &str = "bxl-0042";
/// Image digest of the test vectors.
const FUZZ_IMAGE_DIGEST: [u8; 32] = [
    0xa9, 0x9d, 0x8b, 0x1f, 0x55, 0x2c, 0x25, 0x5d, 0xd2, 0x58, 0x0d, 0xed, 0xf9, 0xc4, 0x45, 0xfe,
    0x74, 0xcf, 0x5f, 0xc7, 0x3e, 0x7f, 0x77, 0x0b, 0x96, 0x0f, 0x35, 0x68, 0x42, 0x4f, 0x94, 0x9c,
];
/// Office secret of the test vectors.
const FUZZ_OFFICE_SECRET: [u8; 32] = [
    0xad, 0x5e, 0x0e, 0x28, 0xa5, 0x57, 0xa5, 0x8f, 0x50, 0xbf, 0x12, 0xd0, 0x52, 0x88, 0x5c, 0xae,
    0x1a, 0x29, 0xde, 0xcb, 0xe6, 0xd8, 0xd8, 0xb3, 0x6a, 0x35, 0x7d, 0x80, 0xd3, 0x84, 0xc6, 0x90,
];

/// Two elections: 3 lists of 4 candidates, and 2 lists of 3 titulars and 2 successors.
fn fuzz_event() -> &'static firmware::election::Event<'static> {
    use firmware::election::{
        Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
        SeatMethod,
    };
    static EVENT: std::sync::OnceLock<Event<'static>> = std::sync::OnceLock::new();
    EVENT.get_or_init(|| {
        let names = |text: &'static str| Names {
            nl: Some(text),
            fr: None,
            de: None,
            en: None,
        };
        let people = |titulars: usize, successors: usize| -> Candidates<'static> {
            const NAMES: [&str; 5] = [
                "AERTS An",
                "BOSMANS Bo",
                "CLAES Cis",
                "DE WIT Dirk",
                "EGGERMONT Els",
            ];
            let list: Vec<Candidate<'static>> = NAMES
                .iter()
                .take(titulars + successors)
                .enumerate()
                .map(|(i, name)| Candidate {
                    name,
                    kind: if i < titulars {
                        CandidateKind::Titular
                    } else {
                        CandidateKind::Successor
                    },
                })
                .collect();
            Candidates::encode(&list, vec![0u8; 256].leak()).expect("candidates encode")
        };
        let election = |id: &'static str, lists: &[(&'static str, usize, usize)], successors| {
            let mut election = Election {
                id,
                names: names(id),
                constituency: names("Brussel"),
                seats: 4,
                method: SeatMethod::DHondt,
                threshold: 500,
                successors,
                lists: heapless::Vec::new(),
            };
            for (number, (name, titulars, successors)) in lists.iter().enumerate() {
                let list = List {
                    number: u16::try_from(number + 1).expect("few lists"),
                    name,
                    candidates: people(*titulars, *successors),
                };
                election.lists.push(list).expect("few lists");
            }
            election
        };
        let mut event = Event {
            id: FUZZ_EVENT_ID,
            names: names("Fuzz"),
            date: Date::new(2024, 6, 9).expect("a date"),
            mode: Mode::Training,
            languages: heapless::Vec::from_slice(&[Language::Nl]).expect("one language"),
            elections: heapless::Vec::new(),
        };
        let kamer = election(
            "kamer",
            &[("ROOD", 4, 0), ("GROEN", 4, 0), ("BLAUW", 4, 0)],
            false,
        );
        let europa = election("europa", &[("GEEL", 3, 2), ("PAARS", 3, 2)], true);
        event.elections.push(kamer).expect("two elections");
        event.elections.push(europa).expect("two elections");
        event.validate().expect("the fuzz event is valid");
        event
    })
}
