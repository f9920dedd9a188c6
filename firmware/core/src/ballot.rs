//! Belgian ballot rules: per election, exactly one of blank, a list vote, or preference
//! votes for one or more candidates of one list.
//!
//! A ballot that ticks the top box *and* candidates counts as preference votes for those
//! candidates ([`Choice::from_marks`]), so there is exactly one [`Choice`] value per
//! distinct legal ballot. Votes across lists cannot be expressed.

use crate::election::{Election, MAX_CANDIDATES, MAX_LISTS};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Errors building or checking a choice against its election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BallotError {
    /// A list index outside the election's lists.
    InvalidListIndex {
        /// Index given (0-based).
        index: usize,
        /// Lists in the election.
        count: usize,
    },
    /// A candidate index outside the chosen list.
    InvalidCandidateIndex {
        /// Index given (0-based).
        index: usize,
        /// Candidates on the list.
        count: usize,
    },
    /// A preference vote with no candidate selected.
    EmptyPreferences,
}

impl fmt::Display for BallotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BallotError::InvalidListIndex { index, count } => {
                write!(
                    f,
                    "list index {index} out of range (election has {count} lists)"
                )
            }
            BallotError::InvalidCandidateIndex { index, count } => {
                write!(
                    f,
                    "candidate index {index} out of range (list has {count} candidates)"
                )
            }
            BallotError::EmptyPreferences => f.write_str("preference vote without candidates"),
        }
    }
}

/// A 0-based index into an election's lists, checked against that election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListIndex(u8);

impl ListIndex {
    /// Check `index` against `election`.
    pub fn new(index: usize, election: &Election<'_>) -> Result<ListIndex, BallotError> {
        let count = election.lists.len();
        match u8::try_from(index) {
            Ok(i) if index < count && index < MAX_LISTS => Ok(ListIndex(i)),
            _ => Err(BallotError::InvalidListIndex { index, count }),
        }
    }

    /// The index as `usize`.
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// A set of candidates of one list, as a bit mask (bit `i` = candidate `i` in ballot order).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct CandidateSet(u64);

// A u64 mask holds every candidate of the largest list.
const _: () = assert!(MAX_CANDIDATES <= 64);

impl CandidateSet {
    /// The empty set.
    pub const EMPTY: CandidateSet = CandidateSet(0);

    /// A set from a raw mask, checked against a list of `count` candidates.
    pub fn from_mask(mask: u64, count: usize) -> Result<CandidateSet, BallotError> {
        let allowed = Self::full_mask(count);
        if mask & !allowed != 0 {
            let index = 63u32.saturating_sub((mask & !allowed).leading_zeros()) as usize;
            return Err(BallotError::InvalidCandidateIndex { index, count });
        }
        Ok(CandidateSet(mask))
    }

    /// The mask with the low `count` bits set (`count` is clamped to 64).
    pub const fn full_mask(count: usize) -> u64 {
        if count >= 64 {
            u64::MAX
        } else {
            (1u64 << count).wrapping_sub(1)
        }
    }

    /// The raw mask.
    pub const fn mask(self) -> u64 {
        self.0
    }

    /// Whether no candidate is selected.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of selected candidates.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether candidate `index` is selected.
    pub const fn contains(self, index: usize) -> bool {
        index < 64 && self.0 & (1u64 << index) != 0
    }

    /// The set with candidate `index` flipped; `index` must be below 64 (else unchanged).
    #[must_use]
    pub const fn toggled(self, index: usize) -> CandidateSet {
        if index < 64 {
            CandidateSet(self.0 ^ (1u64 << index))
        } else {
            self
        }
    }

    /// Selected candidate indices in ascending order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..64usize).filter(move |&i| self.contains(i))
    }
}

/// One voter's choice in one election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Choice {
    /// A blank vote.
    Blank,
    /// A list vote: the top box of one list only.
    List(ListIndex),
    /// Preference votes for one or more candidates of one list (the top box may also have
    /// been ticked; it does not change the ballot).
    Preferences {
        /// The list.
        list: ListIndex,
        /// The candidates; never empty.
        candidates: CandidateSet,
    },
}

impl Choice {
    /// The choice from the marks a voter made on one list: the top box and a set of
    /// candidates. Candidates (with or without top box) are preferences; the top box
    /// alone is a list vote; no mark at all is no choice (`None`).
    pub fn from_marks(list: ListIndex, top_box: bool, candidates: CandidateSet) -> Option<Choice> {
        if !candidates.is_empty() {
            Some(Choice::Preferences { list, candidates })
        } else if top_box {
            Some(Choice::List(list))
        } else {
            None
        }
    }

    /// The list this choice votes for, if not blank.
    pub const fn list(&self) -> Option<ListIndex> {
        match *self {
            Choice::Blank => None,
            Choice::List(list) | Choice::Preferences { list, .. } => Some(list),
        }
    }

    /// Check the choice against `election` (indices in range, preferences not empty).
    pub fn check(&self, election: &Election<'_>) -> Result<(), BallotError> {
        match *self {
            Choice::Blank => Ok(()),
            Choice::List(list) => ListIndex::new(list.get(), election).map(|_| ()),
            Choice::Preferences { list, candidates } => {
                ListIndex::new(list.get(), election)?;
                if candidates.is_empty() {
                    return Err(BallotError::EmptyPreferences);
                }
                let count = election
                    .lists
                    .get(list.get())
                    .map_or(0, |l| l.candidates.len());
                CandidateSet::from_mask(candidates.mask(), count).map(|_| ())
            }
        }
    }
}
