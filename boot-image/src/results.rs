//! Results: aggregate the station tallies of one event into constituencies, allocate the
//! seats, and flag anomalies.
//!
//! Input is one [`StationTally`] per polling station (the JSON files written by
//! `boot-image records tally`). [`aggregate`] checks every tally (its sums and counters),
//! refuses contradictory input (two tallies of the same station, tallies of different
//! events, the same session in two files, two stations describing an election
//! differently), sums the stations of each election and constituency, and allocates the
//! seats with the election's method and threshold ([`crate::seats`]).
//!
//! **Anomalies** are warnings, not failures: they are shown and exported, each naming the
//! station (and its file):
//! - `preferences-above-ballots`: a candidate has more preference votes than the list has
//!   ballots with preferences (ballots minus list-only ballots), hence possibly more than
//!   the list's ballots. One ballot gives a candidate at most one preference vote.
//! - `counters-unbalanced`: a session's activations differ from cast plus cancelled.
//! - `session-not-closed`: a session's newest record is still open (power loss, reboot).
//! - `outlier`: a list's share at the station is far from the rest of the constituency.
//!
//! **Outlier rule.** For station *s* and list *l* of a contest, with *n* the station's
//! valid votes and *v* the list's ballots there, *p* = *a* / *b* is the list's share in the
//! **other** stations of the constituency (*a* its ballots there, *b* their valid votes;
//! leaving the station out keeps one large outlier from hiding itself). Under a binomial
//! model the station's count has mean *n p* and standard error √(*n p* (1 − *p*)). The
//! station is flagged when |*v* − *n p*| > [`OUTLIER_STANDARD_ERRORS`] standard errors,
//! evaluated exactly in integers as `(v·b − n·a)² > k²·n·a·(b − a)`, and only when
//! *n* ≥ [`OUTLIER_MIN_STATION_VOTES`], *b* ≥ [`OUTLIER_MIN_REST_VOTES`] and the deviation
//! is at least [`OUTLIER_MIN_DEVIATION_VOTES`] ballots (so a stray vote for a list that
//! has none elsewhere, where the binomial variance is zero, is not a flag).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

use std::fmt;

use crate::seats::{self, Allocation, ListVotes, SeatError};
use crate::tally::{CounterTotals, ElectionTally, StationTally, TallyError};

/// Standard errors a station's list share may deviate before it is flagged (k).
pub const OUTLIER_STANDARD_ERRORS: u64 = 5;
/// Valid votes a station needs before its shares are tested.
pub const OUTLIER_MIN_STATION_VOTES: u64 = 30;
/// Valid votes the rest of the constituency needs before a station is tested against it.
pub const OUTLIER_MIN_REST_VOTES: u64 = 30;
/// Smallest deviation from the expected count, in ballots, that is flagged.
pub const OUTLIER_MIN_DEVIATION_VOTES: u64 = 10;

/// One station tally and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyFile {
    /// The file name, as given (for messages).
    pub file: String,
    /// The tally.
    pub tally: StationTally,
}

/// One station of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationResult {
    /// Station id.
    pub station: String,
    /// The tally file.
    pub file: String,
    /// Fingerprint of the boot image the station's terminals ran.
    pub image_fingerprint: String,
    /// Sessions merged into the station's tally.
    pub sessions: usize,
    /// Sessions whose newest record is still open.
    pub sessions_not_closed: usize,
    /// The station's counters.
    pub counters: CounterTotals,
}

/// One station's counts in a contest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationContest {
    /// Station id.
    pub station: String,
    /// The station's counts for the election.
    pub tally: ElectionTally,
}

/// One election in one constituency: the stations' sum and the seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contest {
    /// The sum over the stations (names, seats, method and threshold of the election).
    pub total: ElectionTally,
    /// The stations, sorted by station id.
    pub stations: Vec<StationContest>,
    /// The seat allocation, or why there is none (e.g. no valid votes yet).
    pub seats: Result<Allocation, SeatError>,
}

impl Contest {
    /// Seats won by the list at `index` (0 when not allocated).
    pub fn seats_of(&self, index: usize) -> u16 {
        self.seats
            .as_ref()
            .ok()
            .and_then(|a| a.lists.get(index))
            .map_or(0, |l| l.seats)
    }

    /// Whether the list at `index` reached the threshold (false when not allocated).
    pub fn eligible(&self, index: usize) -> bool {
        self.seats
            .as_ref()
            .ok()
            .and_then(|a| a.lists.get(index))
            .is_some_and(|l| l.eligible)
    }
}

/// A warning about one station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// The station.
    pub station: String,
    /// The station's tally file.
    pub file: String,
    /// What is odd.
    pub kind: AnomalyKind,
}

/// The kinds of anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// A candidate has more preference votes than the list has ballots with preferences.
    PreferencesAboveBallots {
        /// Election id.
        election: String,
        /// List number.
        list: u16,
        /// Candidate name.
        candidate: String,
        /// The candidate's preference votes.
        preferences: u64,
        /// The list's ballots with preferences (ballots minus list-only).
        preference_ballots: u64,
        /// The list's ballots.
        list_ballots: u64,
    },
    /// A session's activations differ from cast plus cancelled.
    CountersUnbalanced {
        /// The session's source (media file and area).
        session: String,
        /// Activations.
        activations: u64,
        /// Ballots cast.
        cast: u64,
        /// Cancelled voting sessions.
        cancelled: u64,
    },
    /// A session's newest record is still open: it never closed.
    SessionNotClosed {
        /// The session's source (media file and area).
        session: String,
    },
    /// A list's share at the station is far off the rest of the constituency.
    Outlier {
        /// Election id.
        election: String,
        /// Constituency.
        constituency: String,
        /// List number.
        list: u16,
        /// The list's ballots at the station.
        list_ballots: u64,
        /// The station's valid votes.
        station_votes: u64,
        /// Expected ballots from the rest of the constituency, in tenths.
        expected_tenths: u64,
        /// Deviation in standard errors, in tenths; `None` when the rest of the
        /// constituency gives the list all or none of its votes (zero variance).
        standard_errors_tenths: Option<u64>,
    },
}

impl AnomalyKind {
    /// A stable class label: `preferences-above-ballots`, `counters-unbalanced`,
    /// `session-not-closed`, `outlier`.
    pub fn class(&self) -> &'static str {
        match self {
            AnomalyKind::PreferencesAboveBallots { .. } => "preferences-above-ballots",
            AnomalyKind::CountersUnbalanced { .. } => "counters-unbalanced",
            AnomalyKind::SessionNotClosed { .. } => "session-not-closed",
            AnomalyKind::Outlier { .. } => "outlier",
        }
    }
}

/// A number in tenths as text: `123` -> `12.3`.
fn tenths(value: u64) -> String {
    format!("{}.{}", value / 10, value % 10)
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnomalyKind::PreferencesAboveBallots {
                election,
                list,
                candidate,
                preferences,
                preference_ballots,
                list_ballots,
            } => write!(
                f,
                "{election}: list {list}: candidate {candidate:?} has {preferences} preference \
                 votes but the list has {preference_ballots} ballots with preferences \
                 ({list_ballots} ballots)"
            ),
            AnomalyKind::CountersUnbalanced {
                session,
                activations,
                cast,
                cancelled,
            } => write!(
                f,
                "session {session}: {activations} activations but {cast} cast + {cancelled} \
                 cancelled"
            ),
            AnomalyKind::SessionNotClosed { session } => {
                write!(f, "session {session} never closed (power loss or reboot)")
            }
            AnomalyKind::Outlier {
                election,
                constituency,
                list,
                list_ballots,
                station_votes,
                expected_tenths,
                standard_errors_tenths,
            } => {
                write!(
                    f,
                    "{election} ({constituency}): list {list} has {list_ballots} of \
                     {station_votes} valid votes; the rest of the constituency predicts {}",
                    tenths(*expected_tenths)
                )?;
                match standard_errors_tenths {
                    Some(z) => write!(f, " ({} standard errors)", tenths(*z)),
                    None => write!(f, " (the other stations are unanimous)"),
                }
            }
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: station {} ({}): {}",
            self.kind.class(),
            self.station,
            self.file,
            self.kind
        )
    }
}

/// The aggregated results of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    /// The event id.
    pub event_id: String,
    /// The stations, sorted by station id.
    pub stations: Vec<StationResult>,
    /// One contest per election and constituency.
    pub contests: Vec<Contest>,
    /// Warnings, station by station.
    pub anomalies: Vec<Anomaly>,
}

/// Why the tallies cannot be aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultsError {
    /// No tally was given.
    NoTallies,
    /// A tally fails its own checks (format, sums, counters).
    BadTally {
        /// The file.
        file: String,
        /// The problem.
        error: TallyError,
    },
    /// Tallies of different events.
    MixedEvents {
        /// The first file.
        first_file: String,
        /// Its event.
        first_event: String,
        /// The file of another event.
        file: String,
        /// That event.
        event: String,
    },
    /// Two tallies of the same station.
    DuplicateStation {
        /// The station.
        station: String,
        /// The first file.
        first_file: String,
        /// The second file.
        file: String,
    },
    /// The same session appears in two tallies.
    DuplicateSession {
        /// The session fingerprint.
        fingerprint: String,
        /// The first file.
        first_file: String,
        /// The second file.
        file: String,
    },
    /// Two stations describe an election of a constituency differently.
    ElectionMismatch {
        /// The election id.
        election: String,
        /// The constituency.
        constituency: String,
        /// A file of the constituency's first station.
        first_file: String,
        /// The file that differs.
        file: String,
        /// What differs.
        reason: String,
    },
}

impl ResultsError {
    /// A stable class label: `no-tallies`, `bad-tally`, `mixed-events`, `duplicate-station`,
    /// `duplicate-session`, `election-mismatch`.
    pub fn class(&self) -> &'static str {
        match self {
            ResultsError::NoTallies => "no-tallies",
            ResultsError::BadTally { .. } => "bad-tally",
            ResultsError::MixedEvents { .. } => "mixed-events",
            ResultsError::DuplicateStation { .. } => "duplicate-station",
            ResultsError::DuplicateSession { .. } => "duplicate-session",
            ResultsError::ElectionMismatch { .. } => "election-mismatch",
        }
    }
}

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResultsError::NoTallies => write!(f, "no station tally to aggregate"),
            ResultsError::BadTally { file, error } => write!(f, "{file}: {error}"),
            ResultsError::MixedEvents {
                first_file,
                first_event,
                file,
                event,
            } => write!(
                f,
                "mixed events: {first_file} is event {first_event:?} but {file} is event \
                 {event:?}"
            ),
            ResultsError::DuplicateStation {
                station,
                first_file,
                file,
            } => write!(
                f,
                "station {station:?} appears twice: {first_file} and {file} (merge a \
                 station's terminals with `records tally` first)"
            ),
            ResultsError::DuplicateSession {
                fingerprint,
                first_file,
                file,
            } => write!(
                f,
                "session {fingerprint} is counted in both {first_file} and {file}"
            ),
            ResultsError::ElectionMismatch {
                election,
                constituency,
                first_file,
                file,
                reason,
            } => write!(
                f,
                "election {election:?} in {constituency:?}: {file} differs from {first_file}: \
                 {reason}"
            ),
        }
    }
}

impl std::error::Error for ResultsError {}

/// Aggregate station tallies of one event. The result does not depend on the order of
/// `tallies`: stations are sorted by id, contests appear in election order.
pub fn aggregate(tallies: &[TallyFile]) -> Result<Results, ResultsError> {
    let first = tallies.first().ok_or(ResultsError::NoTallies)?;
    for input in tallies {
        input
            .tally
            .check()
            .map_err(|error| ResultsError::BadTally {
                file: input.file.clone(),
                error,
            })?;
        if input.tally.event_id != first.tally.event_id {
            return Err(ResultsError::MixedEvents {
                first_file: first.file.clone(),
                first_event: first.tally.event_id.clone(),
                file: input.file.clone(),
                event: input.tally.event_id.clone(),
            });
        }
    }
    let mut sorted: Vec<&TallyFile> = tallies.iter().collect();
    sorted.sort_by(|a, b| {
        (a.tally.station.as_str(), a.file.as_str())
            .cmp(&(b.tally.station.as_str(), b.file.as_str()))
    });
    for pair in sorted.windows(2) {
        if let [a, b] = pair {
            if a.tally.station == b.tally.station {
                return Err(ResultsError::DuplicateStation {
                    station: a.tally.station.clone(),
                    first_file: a.file.clone(),
                    file: b.file.clone(),
                });
            }
        }
    }
    check_sessions_unique(&sorted)?;
    let mut contests: Vec<(Contest, String)> = Vec::new();
    for input in &sorted {
        for election in &input.tally.elections {
            let found = contests.iter_mut().find(|(c, _)| {
                c.total.id == election.id && c.total.constituency == election.constituency
            });
            match found {
                Some((contest, first_file)) => {
                    contest.total.merge_counts(election).map_err(|error| {
                        ResultsError::ElectionMismatch {
                            election: election.id.clone(),
                            constituency: election.constituency.clone(),
                            first_file: first_file.clone(),
                            file: input.file.clone(),
                            reason: error.to_string(),
                        }
                    })?;
                    contest.stations.push(StationContest {
                        station: input.tally.station.clone(),
                        tally: election.clone(),
                    });
                }
                None => contests.push((
                    Contest {
                        total: election.clone(),
                        stations: vec![StationContest {
                            station: input.tally.station.clone(),
                            tally: election.clone(),
                        }],
                        seats: Err(SeatError::NoSeats),
                    },
                    input.file.clone(),
                )),
            }
        }
    }
    let mut contests: Vec<Contest> = contests.into_iter().map(|(c, _)| c).collect();
    for contest in &mut contests {
        contest.seats = allocate(&contest.total);
    }
    let stations = sorted
        .iter()
        .map(|input| StationResult {
            station: input.tally.station.clone(),
            file: input.file.clone(),
            image_fingerprint: input.tally.image_fingerprint.clone(),
            sessions: input.tally.sessions.len(),
            sessions_not_closed: input.tally.sessions.iter().filter(|s| !s.closed).count(),
            counters: input.tally.counters,
        })
        .collect();
    let mut anomalies = Vec::new();
    for input in &sorted {
        station_anomalies(input, &mut anomalies);
    }
    for contest in &contests {
        outliers(contest, &sorted, &mut anomalies);
    }
    Ok(Results {
        event_id: first.tally.event_id.clone(),
        stations,
        contests,
        anomalies,
    })
}

fn check_sessions_unique(sorted: &[&TallyFile]) -> Result<(), ResultsError> {
    let mut seen: Vec<(&str, &str)> = sorted
        .iter()
        .flat_map(|input| {
            input
                .tally
                .sessions
                .iter()
                .map(|s| (s.session_fingerprint.as_str(), input.file.as_str()))
        })
        .collect();
    seen.sort_unstable();
    for pair in seen.windows(2) {
        if let [(a, first_file), (b, file)] = pair {
            if a == b {
                return Err(ResultsError::DuplicateSession {
                    fingerprint: (*a).to_string(),
                    first_file: (*first_file).to_string(),
                    file: (*file).to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Allocate the seats of a contest from its lists' ballots.
fn allocate(total: &ElectionTally) -> Result<Allocation, SeatError> {
    let lists: Vec<ListVotes> = total
        .lists
        .iter()
        .map(|l| ListVotes {
            number: l.number,
            votes: l.ballots,
        })
        .collect();
    seats::allocate(
        total.method,
        total.seats,
        total.threshold_hundredths,
        &lists,
    )
}

fn station_anomalies(input: &TallyFile, out: &mut Vec<Anomaly>) {
    let mut flag = |kind| {
        out.push(Anomaly {
            station: input.tally.station.clone(),
            file: input.file.clone(),
            kind,
        })
    };
    for session in &input.tally.sessions {
        if !session.counters.balanced() {
            flag(AnomalyKind::CountersUnbalanced {
                session: session.source.clone(),
                activations: session.counters.activations,
                cast: session.counters.cast,
                cancelled: session.counters.cancelled,
            });
        }
        if !session.closed {
            flag(AnomalyKind::SessionNotClosed {
                session: session.source.clone(),
            });
        }
    }
    for election in &input.tally.elections {
        for list in &election.lists {
            let preference_ballots = list.ballots.saturating_sub(list.list_only);
            for candidate in &list.candidates {
                if candidate.preferences > preference_ballots {
                    flag(AnomalyKind::PreferencesAboveBallots {
                        election: election.id.clone(),
                        list: list.number,
                        candidate: candidate.name.clone(),
                        preferences: candidate.preferences,
                        preference_ballots,
                        list_ballots: list.ballots,
                    });
                }
            }
        }
    }
}

/// The binomial outlier test of one list at one station (see the module docs): `v` list
/// ballots of `n` valid votes at the station, `a` of `b` in the rest of the constituency.
/// Returns the expected count and the deviation in standard errors (tenths) when flagged.
pub fn outlier_test(v: u64, n: u64, a: u64, b: u64) -> Option<(u64, Option<u64>)> {
    if n < OUTLIER_MIN_STATION_VOTES || b < OUTLIER_MIN_REST_VOTES || a > b || v > n {
        return None;
    }
    let (v, n, a, b) = (u128::from(v), u128::from(n), u128::from(a), u128::from(b));
    let deviation = v.checked_mul(b)?.abs_diff(n.checked_mul(a)?);
    if deviation < u128::from(OUTLIER_MIN_DEVIATION_VOTES).checked_mul(b)? {
        return None;
    }
    let rest = b.checked_sub(a)?;
    let variance = n.checked_mul(a)?.checked_mul(rest)?;
    let k = u128::from(OUTLIER_STANDARD_ERRORS);
    let squared = deviation.checked_mul(deviation)?;
    if squared <= k.checked_mul(k)?.checked_mul(variance)? {
        return None;
    }
    let expected_tenths = n.checked_mul(a)?.checked_mul(10)?.checked_div(b)?;
    // z = deviation / sqrt(variance) (the b factors cancel); in tenths: sqrt(100 d² / var).
    let z = squared
        .checked_mul(100)
        .and_then(|s| s.checked_div(variance))
        .map(isqrt)
        .and_then(|z| u64::try_from(z).ok());
    Some((u64::try_from(expected_tenths).ok()?, z))
}

/// Integer square root (floor).
fn isqrt(value: u128) -> u128 {
    if value < 2 {
        return value;
    }
    // Newton's method from an upper bound; converges monotonically down to floor(sqrt).
    let mut x = value;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = x.saturating_add(value.checked_div(x).unwrap_or(0)) / 2;
    }
    x
}

fn outliers(contest: &Contest, sorted: &[&TallyFile], out: &mut Vec<Anomaly>) {
    let total_valid = contest.total.valid_votes();
    for station in &contest.stations {
        let n = station.tally.valid_votes();
        let rest_valid = total_valid.saturating_sub(n);
        for (list, total_list) in station.tally.lists.iter().zip(&contest.total.lists) {
            let rest_list = total_list.ballots.saturating_sub(list.ballots);
            if let Some((expected_tenths, z)) = outlier_test(list.ballots, n, rest_list, rest_valid)
            {
                let file = sorted
                    .iter()
                    .find(|t| t.tally.station == station.station)
                    .map_or_else(String::new, |t| t.file.clone());
                out.push(Anomaly {
                    station: station.station.clone(),
                    file,
                    kind: AnomalyKind::Outlier {
                        election: contest.total.id.clone(),
                        constituency: contest.total.constituency.clone(),
                        list: list.number,
                        list_ballots: list.ballots,
                        station_votes: n,
                        expected_tenths,
                        standard_errors_tenths: z,
                    },
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::fingerprint_groups;
    use crate::tally::{
        CandidateTally, ListTally, SeatMethodName, SessionSummary, TALLY_FORMAT_VERSION,
    };

    /// A station tally with one election ("kamer", 3 seats, D'Hondt, 5 %), lists with the
    /// given (list-only, preference ballots) and one candidate per list taking every
    /// preference; `blank` blank ballots.
    fn station(name: &str, seed: u8, blank: u64, lists: &[(u64, u64)]) -> StationTally {
        let lists: Vec<ListTally> = lists
            .iter()
            .enumerate()
            .map(|(i, &(only, prefs))| ListTally {
                number: u16::try_from(i + 1).unwrap(),
                name: format!("L{}", i + 1),
                ballots: only + prefs,
                list_only: only,
                candidates: vec![CandidateTally {
                    name: format!("C{}", i + 1),
                    titular: true,
                    preferences: prefs,
                }],
            })
            .collect();
        let ballots = blank + lists.iter().map(|l| l.ballots).sum::<u64>();
        let counters = CounterTotals {
            activations: ballots,
            cast: ballots,
            cancelled: 0,
        };
        StationTally {
            format: TALLY_FORMAT_VERSION,
            event_id: "BE-2026".to_string(),
            image_fingerprint: fingerprint_groups(&[7; 32]).as_str().to_string(),
            station: name.to_string(),
            sessions: vec![SessionSummary {
                source: format!("{name}.img#area 0"),
                session_fingerprint: fingerprint_groups(&[seed; 32]).as_str().to_string(),
                generation: 1,
                closed: true,
                counters,
            }],
            counters,
            elections: vec![ElectionTally {
                id: "kamer".to_string(),
                constituency: "Antwerpen".to_string(),
                seats: 3,
                method: SeatMethodName::DHondt,
                threshold_hundredths: 500,
                ballots,
                blank,
                lists,
            }],
        }
    }

    fn file(name: &str, tally: StationTally) -> TallyFile {
        TallyFile {
            file: name.to_string(),
            tally,
        }
    }

    fn classes(results: &Results) -> Vec<&'static str> {
        results.anomalies.iter().map(|a| a.kind.class()).collect()
    }

    #[test]
    fn stations_add_up_and_seats_are_allocated() {
        let a = station("A-001", 1, 5, &[(30, 30), (20, 10), (1, 0)]);
        let b = station("A-002", 2, 3, &[(40, 20), (25, 5), (0, 1)]);
        let inputs = [file("b.json", b), file("a.json", a)];
        let results = aggregate(&inputs).unwrap();
        assert_eq!(results.event_id, "BE-2026");
        let ids: Vec<&str> = results
            .stations
            .iter()
            .map(|s| s.station.as_str())
            .collect();
        assert_eq!(ids, ["A-001", "A-002"], "sorted by station id");
        assert_eq!(results.contests.len(), 1);
        let contest = &results.contests[0];
        assert_eq!(contest.total.blank, 8);
        let ballots: Vec<u64> = contest.total.lists.iter().map(|l| l.ballots).collect();
        assert_eq!(ballots, [120, 60, 2]);
        assert_eq!(contest.total.ballots, 190);
        // D'Hondt 3 seats: 120, 60 (= 120/2 -> larger votes wins the tie), then 60 vs 40.
        let allocation = contest.seats.as_ref().unwrap();
        let seats: Vec<u16> = allocation.lists.iter().map(|l| l.seats).collect();
        assert_eq!(seats, [2, 1, 0]);
        assert!(!allocation.lists[2].eligible, "2 of 182 is below 5 %");
        assert!(results.anomalies.is_empty(), "{:?}", results.anomalies);
        // Order of the files does not matter.
        let reversed = [inputs[1].clone(), inputs[0].clone()];
        assert_eq!(aggregate(&reversed).unwrap(), results);
    }

    #[test]
    fn contradictory_input_is_refused_naming_both_files() {
        let a = station("A-001", 1, 5, &[(30, 30)]);
        let again = station("A-001", 2, 1, &[(3, 3)]);
        let err = aggregate(&[file("x.json", a.clone()), file("y.json", again)]).unwrap_err();
        assert_eq!(err.class(), "duplicate-station");
        assert!(err.to_string().contains("x.json") && err.to_string().contains("y.json"));

        let mut other = station("A-002", 2, 1, &[(3, 3)]);
        other.event_id = "BE-2027".to_string();
        let err = aggregate(&[file("x.json", a.clone()), file("z.json", other)]).unwrap_err();
        assert_eq!(err.class(), "mixed-events");
        assert!(err.to_string().contains("x.json") && err.to_string().contains("z.json"));

        let same_session = station("A-003", 1, 1, &[(3, 3)]);
        let err =
            aggregate(&[file("x.json", a.clone()), file("s.json", same_session)]).unwrap_err();
        assert_eq!(err.class(), "duplicate-session");

        let mut renamed = station("A-004", 4, 1, &[(3, 3)]);
        renamed.elections[0].lists[0].name = "OTHER".to_string();
        let err = aggregate(&[file("x.json", a.clone()), file("r.json", renamed)]).unwrap_err();
        assert_eq!(err.class(), "election-mismatch");
        assert!(err.to_string().contains("r.json"), "{err}");

        let mut broken = station("A-005", 5, 1, &[(3, 3)]);
        broken.elections[0].blank = 99;
        let err = aggregate(&[file("x.json", a), file("b.json", broken)]).unwrap_err();
        assert_eq!(err.class(), "bad-tally");
        assert_eq!(aggregate(&[]).unwrap_err(), ResultsError::NoTallies);
    }

    #[test]
    fn another_constituency_is_another_contest() {
        let a = station("A-001", 1, 5, &[(30, 30)]);
        let mut b = station("B-001", 2, 5, &[(10, 10)]);
        b.elections[0].constituency = "Limburg".to_string();
        let results = aggregate(&[file("a.json", a), file("b.json", b)]).unwrap();
        assert_eq!(results.contests.len(), 2);
        assert_eq!(results.contests[1].total.constituency, "Limburg");
        assert_eq!(results.contests[1].total.ballots, 25);
    }

    #[test]
    fn anomalies_name_the_station() {
        let mut a = station("A-001", 1, 5, &[(30, 30), (20, 10)]);
        a.elections[0].lists[1].candidates[0].preferences = 11; // 10 preference ballots
        a.sessions[0].counters.activations += 1;
        a.counters.activations += 1;
        a.sessions[0].closed = false;
        let results = aggregate(&[file("a.json", a)]).unwrap();
        assert_eq!(
            classes(&results),
            [
                "counters-unbalanced",
                "session-not-closed",
                "preferences-above-ballots"
            ]
        );
        for anomaly in &results.anomalies {
            assert_eq!(anomaly.station, "A-001");
            assert!(anomaly.to_string().contains("A-001 (a.json)"), "{anomaly}");
        }
    }

    #[test]
    fn a_station_far_off_its_constituency_is_flagged() {
        // Nine stations split 50/50; the tenth gives list 1 90 %.
        let mut inputs: Vec<TallyFile> = (0..9u8)
            .map(|i| {
                let name = format!("S-{i:03}");
                file(
                    &format!("{name}.json"),
                    station(&name, i + 1, 0, &[(100, 0), (100, 0)]),
                )
            })
            .collect();
        inputs.push(file(
            "odd.json",
            station("S-999", 99, 0, &[(180, 0), (20, 0)]),
        ));
        let results = aggregate(&inputs).unwrap();
        let flagged: Vec<(&str, u16)> = results
            .anomalies
            .iter()
            .map(|a| match &a.kind {
                AnomalyKind::Outlier { list, .. } => (a.station.as_str(), *list),
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(flagged, [("S-999", 1), ("S-999", 2)]);
        let text = results.anomalies[0].to_string();
        assert!(
            text.contains("180 of 200") && text.contains("predicts 100.0"),
            "{text}"
        );
        assert!(text.contains("11.3 standard errors"), "{text}");
    }

    #[test]
    fn outlier_rule_bounds() {
        // 50 % expected of 200: 100 +/- 5 * 7.07 -> 136 is flagged, 135 is not.
        assert!(outlier_test(136, 200, 900, 1800).is_some());
        assert!(outlier_test(135, 200, 900, 1800).is_none());
        // Too few votes at the station or in the rest of the constituency.
        assert!(outlier_test(29, 29, 0, 1000).is_none());
        assert!(outlier_test(200, 200, 0, 29).is_none());
        // A list with no votes elsewhere: 9 stray votes are tolerated, 10 are flagged
        // with no standard error (zero variance).
        assert!(outlier_test(9, 100, 0, 1000).is_none());
        assert_eq!(outlier_test(10, 100, 0, 1000), Some((0, None)));
    }

    #[test]
    fn integer_square_root() {
        for value in [
            0u128,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            99,
            100,
            101,
            u128::from(u64::MAX),
        ] {
            let root = isqrt(value);
            assert!(
                root * root <= value && (root + 1) * (root + 1) > value,
                "{value}"
            );
        }
    }
}
