//! Seat allocation: D'Hondt and Imperiali highest-averages methods with an electoral
//! threshold, in exact integer arithmetic.
//!
//! Both methods hand out the seats one at a time to the eligible list with the highest
//! quotient `votes / divisor(seats already won)`:
//!
//! | method    | divisors            | used for (Belgium)                               |
//! |-----------|---------------------|--------------------------------------------------|
//! | D'Hondt   | 1, 2, 3, ...        | Chamber, regional parliaments, European Parliament |
//! | Imperiali | 2, 3, 4, ...        | municipal councils (Wallonia, Brussels)           |
//!
//! Quotients are compared by cross-multiplication in `u128` (`a / b > c / d` iff
//! `a * d > c * b`), so no rounding ever decides a seat.
//!
//! **Threshold.** A list is eligible only if its votes are at least the threshold share of
//! the valid votes (the votes of all lists, blank ballots excluded):
//! `votes * 10000 >= threshold_hundredths * valid_votes`. Belgian law sets 5 % for the
//! Chamber per constituency ("au moins 5 % du total des votes valablement exprimés").
//!
//! **Ties.** When several eligible lists have the same highest quotient, the seat goes to
//! the list with the larger vote total (its *chiffre électoral* / *stemcijfer*), as the
//! Belgian Electoral Code (art. 167) provides for the Chamber. The Code breaks a remaining
//! tie by the seniority of the candidates concerned, which a tally does not record; this
//! tool then takes the lower list number and, for lists with the same number, the earlier
//! position in the input. Every seat decided by a tie is reported ([`Award::tie`]) so an
//! office can apply the statutory rule by hand.

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

use std::cmp::Ordering;
use std::fmt;

use crate::tally::SeatMethodName;

/// Hundredths of a percent in a whole (100 %).
pub const HUNDREDTHS_PER_WHOLE: u16 = 10_000;

/// One list's votes, the input of [`allocate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListVotes {
    /// List number as printed on the ballot (used to break ties).
    pub number: u16,
    /// Valid votes for the list.
    pub votes: u64,
}

/// One list's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSeats {
    /// List number.
    pub number: u16,
    /// Valid votes for the list.
    pub votes: u64,
    /// Whether the list reached the threshold.
    pub eligible: bool,
    /// Seats won.
    pub seats: u16,
}

/// Which rule decided a seat between lists with equal quotients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TieRule {
    /// The list with the larger vote total won.
    LargerVotes,
    /// Equal vote totals: the lower list number won.
    LowerListNumber,
    /// Equal vote totals and list numbers: the earlier list in the input won.
    EarlierList,
}

impl TieRule {
    /// A short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            TieRule::LargerVotes => "larger vote total",
            TieRule::LowerListNumber => "lower list number",
            TieRule::EarlierList => "earlier list",
        }
    }
}

/// One seat, in the order the seats were handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Award {
    /// Seat number, from 1.
    pub seat: u16,
    /// Index of the winning list in the input.
    pub list: usize,
    /// The winning list's number.
    pub number: u16,
    /// The divisor of the winning quotient (`votes / divisor`).
    pub divisor: u64,
    /// How many other lists had the same quotient, and the rule that decided; `None` when
    /// the quotient was strictly the highest.
    pub tie: Option<(usize, TieRule)>,
}

/// The seats of one constituency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The method used.
    pub method: SeatMethodName,
    /// Seats handed out.
    pub seats: u16,
    /// Threshold in hundredths of a percent of the valid votes.
    pub threshold_hundredths: u16,
    /// Valid votes: the sum over all lists.
    pub valid_votes: u64,
    /// Per list, in input order.
    pub lists: Vec<ListSeats>,
    /// Seat by seat.
    pub awards: Vec<Award>,
}

/// Why seats cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeatError {
    /// The constituency has no seats to fill.
    NoSeats,
    /// There are no lists.
    NoLists,
    /// The threshold is above 100 %.
    ThresholdOutOfRange {
        /// The threshold given, in hundredths of a percent.
        threshold_hundredths: u16,
    },
    /// No list has any vote.
    NoValidVotes,
    /// No list with votes reaches the threshold.
    NoEligibleList {
        /// The threshold, in hundredths of a percent.
        threshold_hundredths: u16,
        /// The most votes any list has.
        best_votes: u64,
        /// The valid votes.
        valid_votes: u64,
    },
    /// The votes of all lists exceed 2^64 - 1.
    VoteOverflow,
}

impl SeatError {
    /// A stable class label: `no-seats`, `no-lists`, `bad-threshold`, `no-valid-votes`,
    /// `no-eligible-list`, `vote-overflow`.
    pub fn class(&self) -> &'static str {
        match self {
            SeatError::NoSeats => "no-seats",
            SeatError::NoLists => "no-lists",
            SeatError::ThresholdOutOfRange { .. } => "bad-threshold",
            SeatError::NoValidVotes => "no-valid-votes",
            SeatError::NoEligibleList { .. } => "no-eligible-list",
            SeatError::VoteOverflow => "vote-overflow",
        }
    }
}

impl fmt::Display for SeatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeatError::NoSeats => write!(f, "no seats to allocate"),
            SeatError::NoLists => write!(f, "no lists"),
            SeatError::ThresholdOutOfRange {
                threshold_hundredths,
            } => write!(
                f,
                "threshold {threshold_hundredths} hundredths of a percent is above 100 %"
            ),
            SeatError::NoValidVotes => write!(f, "no list has a valid vote"),
            SeatError::NoEligibleList {
                threshold_hundredths,
                best_votes,
                valid_votes,
            } => write!(
                f,
                "no list reaches the {threshold_hundredths}/10000 threshold (best list: \
                 {best_votes} of {valid_votes} valid votes)"
            ),
            SeatError::VoteOverflow => write!(f, "the votes add up to more than 2^64 - 1"),
        }
    }
}

impl std::error::Error for SeatError {}

/// The divisor of a list's next quotient after it won `won` seats.
pub fn divisor(method: SeatMethodName, won: u16) -> u64 {
    let first = match method {
        SeatMethodName::DHondt => 1,
        SeatMethodName::Imperiali => 2,
    };
    u64::from(won).saturating_add(first)
}

/// Compare two quotients `a_votes / a_divisor` and `b_votes / b_divisor` exactly.
pub fn compare_quotients(a_votes: u64, a_divisor: u64, b_votes: u64, b_divisor: u64) -> Ordering {
    // u64 * u64 < 2^128: the products cannot overflow.
    let left = u128::from(a_votes).saturating_mul(u128::from(b_divisor));
    let right = u128::from(b_votes).saturating_mul(u128::from(a_divisor));
    left.cmp(&right)
}

/// Whether `votes` reach `threshold_hundredths` of `valid_votes`.
pub fn reaches_threshold(votes: u64, valid_votes: u64, threshold_hundredths: u16) -> bool {
    let share = u128::from(votes).saturating_mul(u128::from(HUNDREDTHS_PER_WHOLE));
    let needed = u128::from(valid_votes).saturating_mul(u128::from(threshold_hundredths));
    share >= needed
}

/// Allocate `seats` among `lists` with `method` and the threshold. Lists keep their input
/// order in the result.
pub fn allocate(
    method: SeatMethodName,
    seats: u16,
    threshold_hundredths: u16,
    lists: &[ListVotes],
) -> Result<Allocation, SeatError> {
    if seats == 0 {
        return Err(SeatError::NoSeats);
    }
    if lists.is_empty() {
        return Err(SeatError::NoLists);
    }
    if threshold_hundredths > HUNDREDTHS_PER_WHOLE {
        return Err(SeatError::ThresholdOutOfRange {
            threshold_hundredths,
        });
    }
    let valid_votes = lists
        .iter()
        .try_fold(0u64, |sum, l| sum.checked_add(l.votes))
        .ok_or(SeatError::VoteOverflow)?;
    if valid_votes == 0 {
        return Err(SeatError::NoValidVotes);
    }
    let mut result: Vec<ListSeats> = lists
        .iter()
        .map(|l| ListSeats {
            number: l.number,
            votes: l.votes,
            eligible: reaches_threshold(l.votes, valid_votes, threshold_hundredths),
            seats: 0,
        })
        .collect();
    if !result.iter().any(|l| l.eligible && l.votes > 0) {
        return Err(SeatError::NoEligibleList {
            threshold_hundredths,
            best_votes: lists.iter().map(|l| l.votes).max().unwrap_or(0),
            valid_votes,
        });
    }
    let mut awards = Vec::with_capacity(usize::from(seats));
    for seat in 1..=seats {
        let (winner, tie) = next_seat(method, &result).ok_or(SeatError::NoValidVotes)?;
        let Some(list) = result.get_mut(winner) else {
            return Err(SeatError::NoLists);
        };
        awards.push(Award {
            seat,
            list: winner,
            number: list.number,
            divisor: divisor(method, list.seats),
            tie,
        });
        list.seats = list.seats.saturating_add(1);
    }
    Ok(Allocation {
        method,
        seats,
        threshold_hundredths,
        valid_votes,
        lists: result,
        awards,
    })
}

/// The list that wins the next seat, and the tie rule that decided it (if any).
fn next_seat(
    method: SeatMethodName,
    lists: &[ListSeats],
) -> Option<(usize, Option<(usize, TieRule)>)> {
    let candidates = lists
        .iter()
        .enumerate()
        .filter(|(_, l)| l.eligible && l.votes > 0);
    let mut best: Option<(usize, &ListSeats)> = None;
    for (index, list) in candidates {
        best = match best {
            None => Some((index, list)),
            Some((best_index, best_list)) => {
                if ranks_before(method, (index, list), (best_index, best_list)) {
                    Some((index, list))
                } else {
                    Some((best_index, best_list))
                }
            }
        };
    }
    let (winner, winning) = best?;
    let quotient = |l: &ListSeats| (l.votes, divisor(method, l.seats));
    let (w_votes, w_div) = quotient(winning);
    let rivals: Vec<(usize, &ListSeats)> = lists
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            *i != winner
                && l.eligible
                && l.votes > 0
                && compare_quotients(l.votes, divisor(method, l.seats), w_votes, w_div)
                    == Ordering::Equal
        })
        .collect();
    if rivals.is_empty() {
        return Some((winner, None));
    }
    // The deepest rule any rival needed to be beaten.
    let same_votes: Vec<&ListSeats> = rivals
        .iter()
        .map(|(_, l)| *l)
        .filter(|l| l.votes == winning.votes)
        .collect();
    let rule = if same_votes.iter().any(|l| l.number == winning.number) {
        TieRule::EarlierList
    } else if !same_votes.is_empty() {
        TieRule::LowerListNumber
    } else {
        TieRule::LargerVotes
    };
    Some((winner, Some((rivals.len(), rule))))
}

/// Whether list `a` takes the next seat before list `b`: higher quotient, then larger vote
/// total, then lower list number, then earlier position.
fn ranks_before(method: SeatMethodName, a: (usize, &ListSeats), b: (usize, &ListSeats)) -> bool {
    let (a_index, a_list) = a;
    let (b_index, b_list) = b;
    compare_quotients(
        a_list.votes,
        divisor(method, a_list.seats),
        b_list.votes,
        divisor(method, b_list.seats),
    )
    .then(a_list.votes.cmp(&b_list.votes))
    .then(b_list.number.cmp(&a_list.number))
    .then(b_index.cmp(&a_index))
        == Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lists(votes: &[(u16, u64)]) -> Vec<ListVotes> {
        votes
            .iter()
            .map(|&(number, votes)| ListVotes { number, votes })
            .collect()
    }

    fn seats_of(allocation: &Allocation) -> Vec<u16> {
        allocation.lists.iter().map(|l| l.seats).collect()
    }

    #[test]
    fn dhondt_textbook_example() {
        // The standard illustration: 8 seats, 100 000 / 80 000 / 30 000 / 20 000 votes.
        let input = lists(&[(1, 100_000), (2, 80_000), (3, 30_000), (4, 20_000)]);
        let a = allocate(SeatMethodName::DHondt, 8, 0, &input).unwrap();
        assert_eq!(seats_of(&a), [4, 3, 1, 0]);
        assert_eq!(a.valid_votes, 230_000);
        let order: Vec<u16> = a.awards.iter().map(|w| w.number).collect();
        assert_eq!(order, [1, 2, 1, 2, 1, 3, 2, 1]);
        // Seat 4: B/2 = 40 000 beats A/3 = 33 333.
        assert_eq!(a.awards[3].divisor, 2);
    }

    #[test]
    fn imperiali_favours_larger_lists() {
        let input = lists(&[(1, 100_000), (2, 80_000), (3, 30_000), (4, 20_000)]);
        let a = allocate(SeatMethodName::Imperiali, 8, 0, &input).unwrap();
        assert_eq!(seats_of(&a), [5, 3, 0, 0]);
        // A/5 = B/4 = 20 000: A (more votes) takes seat 6, B seat 7.
        assert_eq!(a.awards[5].number, 1);
        assert_eq!(a.awards[5].tie, Some((1, TieRule::LargerVotes)));
        assert_eq!(a.awards[6].number, 2);
        assert_eq!(a.awards[6].tie, None);
    }

    #[test]
    fn ties_go_to_more_votes_then_lower_number() {
        let input = lists(&[(2, 20), (1, 20), (3, 10)]);
        let a = allocate(SeatMethodName::DHondt, 3, 0, &input).unwrap();
        // Seat 1: lists 1 and 2 tie on 20 with equal votes: list 1 (lower number).
        assert_eq!(a.awards[0].number, 1);
        assert_eq!(a.awards[0].tie, Some((1, TieRule::LowerListNumber)));
        // Seat 3: 2/2 = 1/2 = 3/1 = 10: lists 1 and 2 have more votes, 1 the lower number.
        assert_eq!(a.awards[2].number, 1);
        assert_eq!(a.awards[2].tie, Some((2, TieRule::LowerListNumber)));
        assert_eq!(seats_of(&a), [1, 2, 0]);
        let same_number = lists(&[(7, 5), (7, 5)]);
        let b = allocate(SeatMethodName::DHondt, 1, 0, &same_number).unwrap();
        assert_eq!(seats_of(&b), [1, 0]);
        assert_eq!(b.awards[0].tie, Some((1, TieRule::EarlierList)));
    }

    #[test]
    fn threshold_is_at_least_the_share() {
        // 5 % of 200 is exactly 10: a list with 10 votes is eligible, 9 is not.
        assert!(reaches_threshold(10, 200, 500));
        assert!(!reaches_threshold(9, 200, 500));
        let input = lists(&[(1, 181), (2, 10), (3, 9)]);
        let a = allocate(SeatMethodName::DHondt, 20, 500, &input).unwrap();
        assert_eq!(
            a.lists.iter().map(|l| l.eligible).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(a.lists[2].seats, 0);
        assert_eq!(seats_of(&a).iter().map(|&s| u32::from(s)).sum::<u32>(), 20);
    }

    #[test]
    fn errors_name_the_problem() {
        let input = lists(&[(1, 10), (2, 5)]);
        assert_eq!(
            allocate(SeatMethodName::DHondt, 0, 0, &input),
            Err(SeatError::NoSeats)
        );
        assert_eq!(
            allocate(SeatMethodName::DHondt, 3, 0, &[]),
            Err(SeatError::NoLists)
        );
        assert_eq!(
            allocate(SeatMethodName::DHondt, 3, 0, &lists(&[(1, 0), (2, 0)])),
            Err(SeatError::NoValidVotes)
        );
        assert!(matches!(
            allocate(SeatMethodName::DHondt, 3, 10_001, &input),
            Err(SeatError::ThresholdOutOfRange { .. })
        ));
        let err = allocate(SeatMethodName::DHondt, 3, 7_000, &input).unwrap_err();
        assert_eq!(err.class(), "no-eligible-list");
        assert!(err.to_string().contains("10 of 15"), "{err}");
        assert_eq!(
            allocate(
                SeatMethodName::DHondt,
                3,
                0,
                &lists(&[(1, u64::MAX), (2, 1)])
            ),
            Err(SeatError::VoteOverflow)
        );
        // A threshold of 100 % is allowed: only a list with every vote is eligible.
        let all = allocate(SeatMethodName::DHondt, 2, 10_000, &lists(&[(1, 7), (2, 0)])).unwrap();
        assert_eq!(seats_of(&all), [2, 0]);
    }

    #[test]
    fn huge_votes_compare_exactly() {
        // Quotients differing in the last unit of u64 are still ordered correctly.
        let input = lists(&[(1, u64::MAX / 2), (2, u64::MAX / 2 - 1)]);
        let a = allocate(SeatMethodName::DHondt, 3, 0, &input).unwrap();
        assert_eq!(seats_of(&a), [2, 1]);
    }

    /// The classic table method as an oracle: every quotient v/d(k) for k < seats, sorted
    /// by value (then votes, then number, then position), the first `seats` win.
    fn oracle(method: SeatMethodName, seats: u16, threshold: u16, input: &[ListVotes]) -> Vec<u16> {
        let valid: u64 = input.iter().map(|l| l.votes).sum();
        let mut entries = Vec::new();
        for (i, l) in input.iter().enumerate() {
            if l.votes == 0 || !reaches_threshold(l.votes, valid, threshold) {
                continue;
            }
            for k in 0..seats {
                entries.push((l.votes, divisor(method, k), l.number, i));
            }
        }
        entries.sort_by(|a, b| {
            compare_quotients(b.0, b.1, a.0, a.1)
                .then(b.0.cmp(&a.0))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        let mut won = vec![0u16; input.len()];
        for e in entries.iter().take(usize::from(seats)) {
            won[e.3] += 1;
        }
        won
    }

    fn arb_lists() -> impl Strategy<Value = Vec<ListVotes>> {
        prop::collection::vec((1u16..30, 0u64..50_000), 1..12).prop_map(|v| {
            v.into_iter()
                .map(|(number, votes)| ListVotes { number, votes })
                .collect()
        })
    }

    fn arb_method() -> impl Strategy<Value = SeatMethodName> {
        prop_oneof![
            Just(SeatMethodName::DHondt),
            Just(SeatMethodName::Imperiali)
        ]
    }

    proptest! {
        #[test]
        fn seats_sum_to_the_total_and_match_the_table_method(
            method in arb_method(),
            seats in 1u16..60,
            threshold in prop_oneof![Just(0u16), Just(500u16), 0u16..3000],
            input in arb_lists(),
        ) {
            match allocate(method, seats, threshold, &input) {
                Ok(a) => {
                    let total: u32 = a.lists.iter().map(|l| u32::from(l.seats)).sum();
                    prop_assert_eq!(total, u32::from(seats));
                    prop_assert_eq!(a.awards.len(), usize::from(seats));
                    prop_assert!(a.lists.iter().all(|l| l.eligible || l.seats == 0));
                    prop_assert_eq!(seats_of(&a), oracle(method, seats, threshold, &input));
                    // Highest averages: every winning quotient is at least every losing one.
                    let last_won = a.lists.iter().filter(|l| l.seats > 0)
                        .map(|l| (l.votes, divisor(method, l.seats - 1)))
                        .min_by(|x, y| compare_quotients(x.0, x.1, y.0, y.1)).unwrap();
                    for l in a.lists.iter().filter(|l| l.eligible) {
                        prop_assert!(compare_quotients(l.votes, divisor(method, l.seats),
                            last_won.0, last_won.1) != Ordering::Greater);
                    }
                }
                Err(e) => {
                    let valid: u64 = input.iter().map(|l| l.votes).sum();
                    let none_eligible = !input.iter().any(|l| l.votes > 0
                        && reaches_threshold(l.votes, valid, threshold));
                    prop_assert!(
                        (valid == 0 && e == SeatError::NoValidVotes)
                            || (none_eligible && e.class() == "no-eligible-list"),
                        "unexpected {:?}", e
                    );
                }
            }
        }

        #[test]
        fn gaining_votes_never_loses_a_seat(
            method in arb_method(),
            seats in 1u16..40,
            threshold in prop_oneof![Just(0u16), Just(500u16)],
            input in arb_lists(),
            which in any::<prop::sample::Index>(),
            extra in 1u64..20_000,
        ) {
            let i = which.index(input.len());
            let mut more = input.clone();
            more[i].votes += extra;
            if let Ok(before) = allocate(method, seats, threshold, &input) {
                let after = allocate(method, seats, threshold, &more).unwrap();
                prop_assert!(after.lists[i].seats >= before.lists[i].seats,
                    "list {} went from {} to {} seats", i, before.lists[i].seats,
                    after.lists[i].seats);
            }
        }

        #[test]
        fn dhondt_respects_the_lower_quota(
            seats in 1u16..60,
            input in arb_lists(),
        ) {
            if let Ok(a) = allocate(SeatMethodName::DHondt, seats, 0, &input) {
                for l in &a.lists {
                    // floor(seats * votes / valid) seats at least.
                    let quota = u128::from(seats) * u128::from(l.votes)
                        / u128::from(a.valid_votes);
                    prop_assert!(u128::from(l.seats) >= quota,
                        "list {} has {} seats, lower quota {}", l.number, l.seats, quota);
                }
            }
        }
    }
}
