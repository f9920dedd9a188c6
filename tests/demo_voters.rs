//! The demo polling-station day: 20 scripted voters over the three elections of
//! `docs/examples/demo-election.toml`, and the headless simulator script made from them.
//!
//! The script `simulator/scripts/demo.sim` is generated from [`VOTERS`] by [`script`]; a
//! test checks the committed file equals the generated text
//! (`UPDATE_DEMO_SCRIPT=1 cargo test -p e2e --test demo` rewrites it). [`expected`] is what
//! an honest terminal must have counted after the script: the end-to-end test compares it
//! with what the office recounts from the results media.

use std::fmt::Write as _;

/// Elections of the demo day (Chamber, region, European Parliament).
pub const ELECTIONS: usize = 3;
/// Lists per election in the demo definition, in ballot order.
pub const LISTS: [usize; ELECTIONS] = [8, 6, 5];
/// Candidates per list, per election, in ballot order.
pub const CANDIDATES: [&[usize]; ELECTIONS] = [
    &[18, 18, 18, 18, 18, 15, 9, 5],
    &[13, 13, 13, 10, 13, 6],
    &[9, 9, 9, 9, 6],
];
/// The operator PIN of the demo image (`dev-keys/dev-operator.pin`).
pub const PIN: &str = "123456";
/// The demo script, relative to the workspace root.
pub const SCRIPT_PATH: &str = "simulator/scripts/demo.sim";
/// The polling station the demo runs as.
pub const STATION: &str = "LINDENHOVE-001";
/// The polling day (the image's validity window).
pub const DAY: &str = "2026-06-07";
/// The entropy seed of the demo run (training images only), so the run replays exactly.
pub const ENTROPY_SEED: &str = "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3";
/// Screenshots the demo takes, in the order a voter and the president see the screens.
pub const SHOTS: &[&str] = &[
    "01-boot",
    "02-pin-open",
    "03-opening-report",
    "04-waiting",
    "05-language",
    "06-lists",
    "07-candidates",
    "08-candidates-marked",
    "09-review",
    "10-recorded",
    "11-large-text",
    "12-cancelled",
    "13-pin-close",
    "14-closing-report",
    "15-powered-off",
];

/// What a voter does in one election. Lists and candidates are 1-based ballot positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// Blank vote.
    Blank,
    /// The list's top box only (a list vote).
    List(usize),
    /// Preference votes for candidates of one list, with or without the top box.
    Preferences {
        /// The list.
        list: usize,
        /// The top box is ticked too.
        top_box: bool,
        /// The candidates ticked.
        candidates: &'static [usize],
    },
}

/// One voter of the demo day.
#[derive(Debug, Clone, Copy)]
pub struct Voter {
    /// Language code chosen on the first screen.
    pub language: &'static str,
    /// The vote per election as first made.
    pub votes: [Vote; ELECTIONS],
    /// From the review screen, the voter changes election N (1-based) to this vote.
    pub change: Option<(usize, Vote)>,
    /// The session is cancelled by the president after this many elections.
    pub cancelled_after: Option<usize>,
    /// The voter switches on large text and high contrast first.
    pub large_text: bool,
}

const fn voter(language: &'static str, votes: [Vote; ELECTIONS]) -> Voter {
    Voter {
        language,
        votes,
        change: None,
        cancelled_after: None,
        large_text: false,
    }
}

use Vote::{Blank, List, Preferences as P};

/// The 20 voters of the demo day: list votes, preference votes (with and without the top
/// box), blank votes, a change of mind from the review screen, one cancelled session and one
/// voter in large-text mode; every election sees several lists.
pub const VOTERS: [Voter; 20] = [
    voter(
        "nl",
        [
            P {
                list: 1,
                top_box: false,
                candidates: &[1, 3],
            },
            List(2),
            List(1),
        ],
    ),
    voter("fr", [List(3), List(3), Blank]),
    voter(
        "de",
        [
            P {
                list: 2,
                top_box: true,
                candidates: &[2],
            },
            Blank,
            List(2),
        ],
    ),
    Voter {
        // Changes the Chamber vote from list 4 to blank on the review screen: only the
        // blank vote may be stored (the 2014 bug stored the first choice).
        change: Some((1, Blank)),
        ..voter("nl", [List(4), List(1), List(5)])
    },
    voter("en", [Blank, Blank, Blank]),
    voter(
        "fr",
        [
            List(5),
            P {
                list: 5,
                top_box: false,
                candidates: &[1, 2, 4],
            },
            List(3),
        ],
    ),
    Voter {
        // The president cancels the session after the first election: counted as
        // cancelled, never as a ballot.
        cancelled_after: Some(1),
        ..voter("nl", [List(1), List(1), List(1)])
    },
    voter(
        "nl",
        [
            List(1),
            P {
                list: 1,
                top_box: true,
                candidates: &[1],
            },
            P {
                list: 1,
                top_box: false,
                candidates: &[2, 5],
            },
        ],
    ),
    Voter {
        large_text: true,
        ..voter("de", [List(6), List(6), List(4)])
    },
    voter("nl", [List(7), List(2), List(2)]),
    voter(
        "fr",
        [
            P {
                list: 8,
                top_box: false,
                candidates: &[1, 2, 3, 4, 5],
            },
            List(4),
            Blank,
        ],
    ),
    voter("nl", [List(2), List(2), List(2)]),
    Voter {
        // Changes the European vote from a list vote to preference votes on another list.
        change: Some((
            3,
            P {
                list: 4,
                top_box: false,
                candidates: &[3],
            },
        )),
        ..voter("en", [List(3), List(5), List(1)])
    },
    voter("nl", [List(1), List(1), List(1)]),
    voter(
        "de",
        [
            P {
                list: 3,
                top_box: false,
                candidates: &[4, 6],
            },
            List(3),
            List(3),
        ],
    ),
    voter("fr", [List(1), Blank, List(5)]),
    voter("nl", [List(5), List(5), List(4)]),
    voter(
        "nl",
        [
            List(2),
            P {
                list: 2,
                top_box: false,
                candidates: &[2],
            },
            List(2),
        ],
    ),
    voter("fr", [Blank, List(6), List(1)]),
    voter(
        "nl",
        [
            P {
                list: 1,
                top_box: false,
                candidates: &[2],
            },
            List(1),
            List(1),
        ],
    ),
];

/// What the terminal must have counted for one election.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElectionCount {
    /// Ballots cast in the election.
    pub ballots: u32,
    /// Blank ballots.
    pub blank: u32,
    /// Per list: top box only.
    pub list_votes: Vec<u32>,
    /// Per list: ballots with preference votes.
    pub preference_ballots: Vec<u32>,
    /// Per list, per candidate: preference votes.
    pub preferences: Vec<Vec<u32>>,
}

/// What the terminal must have counted after the demo day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Voters activated by the president.
    pub activations: u32,
    /// Ballots cast.
    pub cast: u32,
    /// Sessions cancelled.
    pub cancelled: u32,
    /// Per election.
    pub elections: Vec<ElectionCount>,
}

impl Voter {
    /// The votes stored for this voter: the review screen after the change, if any.
    pub fn final_votes(&self) -> [Vote; ELECTIONS] {
        let mut votes = self.votes;
        if let Some((election, vote)) = self.change {
            votes[election - 1] = vote;
        }
        votes
    }
}

/// The counts the demo day must produce.
pub fn expected() -> Expected {
    let mut elections: Vec<ElectionCount> = (0..ELECTIONS)
        .map(|e| ElectionCount {
            list_votes: vec![0; LISTS[e]],
            preference_ballots: vec![0; LISTS[e]],
            preferences: CANDIDATES[e].iter().map(|&n| vec![0; n]).collect(),
            ..ElectionCount::default()
        })
        .collect();
    let mut cast = 0;
    let mut cancelled = 0;
    for voter in &VOTERS {
        if voter.cancelled_after.is_some() {
            cancelled += 1;
            continue;
        }
        cast += 1;
        for (count, vote) in elections.iter_mut().zip(voter.final_votes()) {
            count.ballots += 1;
            match vote {
                Blank => count.blank += 1,
                List(l) => count.list_votes[l - 1] += 1,
                P {
                    list, candidates, ..
                } => {
                    count.preference_ballots[list - 1] += 1;
                    for &c in candidates {
                        count.preferences[list - 1][c - 1] += 1;
                    }
                }
            }
        }
    }
    Expected {
        activations: cast + cancelled,
        cast,
        cancelled,
        elections,
    }
}

/// Script lines that make `vote` on the list screen of an election.
fn vote_lines(out: &mut String, vote: Vote, shots: &mut Shots) {
    match vote {
        Blank => out.push_str("tap blank\n"),
        List(l) => {
            let _ = writeln!(out, "tap list-{l}");
            shots.take(out, "07-candidates");
            out.push_str("tap top-box\n");
            out.push_str("tap next\n");
        }
        P {
            list,
            top_box,
            candidates,
        } => {
            let _ = writeln!(out, "tap list-{list}");
            shots.take(out, "07-candidates");
            if top_box {
                out.push_str("tap top-box\n");
            }
            for c in candidates {
                let _ = writeln!(out, "tap candidate-{c}");
            }
            shots.take(out, "08-candidates-marked");
            out.push_str("tap next\n");
        }
    }
}

/// Each screenshot is taken the first time its screen comes up.
struct Shots(Vec<&'static str>);

impl Shots {
    fn take(&mut self, out: &mut String, name: &'static str) {
        if !self.0.contains(&name) {
            self.0.push(name);
            let _ = writeln!(out, "shot {name}");
        }
    }
}

/// The demo script (the simulator's headless script language), generated from [`VOTERS`].
pub fn script() -> String {
    let expected = expected();
    let mut shots = Shots(Vec::new());
    let mut out = String::new();
    out.push_str(
        "# The demo polling-station day: 20 voters over the 3 demo elections.\n\
         # GENERATED from tests/demo_voters.rs: edit the voters there, then\n\
         # UPDATE_DEMO_SCRIPT=1 cargo test -p e2e --test demo\n\
         #\n\
         # The president boots the terminal and opens the poll with the PIN.\n",
    );
    shots.take(&mut out, "01-boot");
    let _ = writeln!(out, "expect-text {STATION}");
    out.push_str("operator open\n");
    shots.take(&mut out, "02-pin-open");
    let _ = writeln!(out, "pin {PIN}");
    shots.take(&mut out, "03-opening-report");
    out.push_str(OPENING_REPORT_DONE);
    shots.take(&mut out, "04-waiting");
    for (n, voter) in VOTERS.iter().enumerate() {
        let _ = writeln!(out, "#\n# Voter {} ({}).", n + 1, voter.language);
        out.push_str("operator activate\n");
        shots.take(&mut out, "05-language");
        if voter.large_text {
            out.push_str("tap large-text\n");
        }
        let _ = writeln!(out, "tap lang-{}", voter.language);
        for (e, vote) in voter.votes.into_iter().enumerate() {
            if voter.cancelled_after == Some(e) {
                break;
            }
            shots.take(&mut out, "06-lists");
            if voter.large_text && e == 0 {
                shots.take(&mut out, "11-large-text");
            }
            vote_lines(&mut out, vote, &mut shots);
        }
        if voter.cancelled_after.is_some() {
            out.push_str("# The voter leaves the booth; the president cancels the session.\n");
            out.push_str("operator cancel\n");
            shots.take(&mut out, "12-cancelled");
            out.push_str("wait 5000\n");
            continue;
        }
        shots.take(&mut out, "09-review");
        if let Some((election, vote)) = voter.change {
            let _ = writeln!(
                out,
                "# A change of mind on the review screen: election {election}."
            );
            let _ = writeln!(out, "tap change-{election}");
            vote_lines(&mut out, vote, &mut shots);
        }
        out.push_str("tap confirm\n");
        shots.take(&mut out, "10-recorded");
        out.push_str("wait 5000\n");
    }
    out.push_str("#\n# The president closes the poll with the PIN.\n");
    out.push_str("operator close\n");
    shots.take(&mut out, "13-pin-close");
    let _ = writeln!(out, "pin {PIN}");
    shots.take(&mut out, "14-closing-report");
    for (label, value) in [
        (CLOSING_ACTIVATIONS, expected.activations),
        (CLOSING_CAST, expected.cast),
        (CLOSING_CANCELLED, expected.cancelled),
    ] {
        let _ = writeln!(out, "expect-text {label}{value}");
    }
    out.push_str("show\n");
    out.push_str("operator power-off\n");
    shots.take(&mut out, "15-powered-off");
    out
}

/// What the president does on the opening report screen.
const OPENING_REPORT_DONE: &str = "tap continue\n";
/// Closing report labels (the first language of the demo image: Dutch).
const CLOSING_ACTIVATIONS: &str = "Kiezers geactiveerd: ";
const CLOSING_CAST: &str = "Stemmen uitgebracht: ";
const CLOSING_CANCELLED: &str = "Sessies geannuleerd: ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vote_is_on_the_ballot() {
        for (n, voter) in VOTERS.iter().enumerate() {
            let change = voter.change.map(|(e, v)| (e - 1, v));
            for (e, vote) in voter.votes.iter().copied().enumerate().chain(change) {
                let (list, candidates) = match vote {
                    Blank => continue,
                    List(l) => (l, &[][..]),
                    P {
                        list, candidates, ..
                    } => (list, candidates),
                };
                assert!((1..=LISTS[e]).contains(&list), "voter {n}: list {list}");
                for &c in candidates {
                    assert!(
                        (1..=CANDIDATES[e][list - 1]).contains(&c),
                        "voter {n}: candidate {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn expected_counts_add_up() {
        let e = expected();
        assert_eq!(e.activations, 20);
        assert_eq!(e.cast, 19);
        assert_eq!(e.cancelled, 1);
        for count in &e.elections {
            let lists: u32 =
                count.list_votes.iter().sum::<u32>() + count.preference_ballots.iter().sum::<u32>();
            assert_eq!(count.blank + lists, count.ballots);
            assert_eq!(count.ballots, 19);
        }
        // The change of mind: voter 4's Chamber list 4 never counts, the blank does.
        assert_eq!(e.elections[0].list_votes[3], 0);
    }

    #[test]
    fn every_screenshot_is_taken_once() {
        let script = script();
        for shot in SHOTS {
            assert_eq!(
                script.matches(&format!("shot {shot}\n")).count(),
                1,
                "{shot}"
            );
        }
    }
}
