//! Belgian ballot rules: per election, exactly one of blank, a list vote, or preference
//! votes for one or more candidates of one list.
//!
//! A ballot that ticks the top box *and* candidates counts as preference votes for those
//! candidates ([`Choice::from_marks`]), so there is exactly one [`Choice`] value per
//! distinct legal ballot. Votes across lists cannot be expressed.
//!
//! [`BallotCodec`] encodes a choice canonically as its *rank* among all valid ballots of
//! the election, in a fixed-width bit field whose width is derived from the election
//! (`docs/formats/ballot-encoding.md`): one byte string per valid ballot, within one bit of
//! the information bound, and the byte order of encoded ballots is the rank order.

use crate::election::{Election, MAX_CANDIDATES, MAX_LISTS};
use core::fmt;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

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
    /// An election shape with more lists than [`MAX_LISTS`].
    TooManyLists {
        /// Lists given.
        count: usize,
        /// Capacity.
        max: usize,
    },
    /// An election shape with a list of more candidates than [`MAX_CANDIDATES`].
    TooManyCandidates {
        /// Index of the list (0-based).
        list: usize,
        /// Candidates given.
        count: usize,
        /// Capacity.
        max: usize,
    },
    /// An encoded ballot of the wrong length.
    WrongLength {
        /// Bytes given.
        len: usize,
        /// Bytes every ballot of this election has.
        expected: usize,
    },
    /// An encoded ballot whose padding bits (after the rank field) are not all zero.
    NonZeroPadding,
    /// An encoded ballot whose rank is not the rank of any valid ballot.
    RankOutOfRange {
        /// Rank found.
        rank: u128,
        /// Number of valid ballots (ranks are `0..valid`).
        valid: u128,
    },
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
            BallotError::TooManyLists { count, max } => {
                write!(f, "election has {count} lists (at most {max})")
            }
            BallotError::TooManyCandidates { list, count, max } => {
                write!(f, "list {list} has {count} candidates (at most {max})")
            }
            BallotError::WrongLength { len, expected } => {
                write!(
                    f,
                    "encoded ballot is {len} bytes long (this election's ballots are {expected})"
                )
            }
            BallotError::NonZeroPadding => f.write_str("encoded ballot has non-zero padding bits"),
            BallotError::RankOutOfRange { rank, valid } => write!(
                f,
                "encoded ballot rank {rank} out of range (election has {valid} valid ballots)"
            ),
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

/// `2^bits` as `u128`, saturating at `u128::MAX` (never reached: `bits <= 64` here).
const fn pow2(bits: usize) -> u128 {
    if bits >= 128 {
        return u128::MAX;
    }
    match 1u128.checked_shl(bits as u32) {
        Some(value) => value,
        None => u128::MAX,
    }
}

/// Bits of a fixed-width field that holds every value in `0..count`: `ceil(log2 count)`.
const fn field_bits(count: u128) -> u32 {
    if count <= 1 {
        0
    } else {
        u128::BITS.saturating_sub(count.saturating_sub(1).leading_zeros())
    }
}

/// Whole bytes holding `bits` bits.
const fn whole_bytes(bits: u32) -> usize {
    bits.div_ceil(8) as usize
}

/// Valid ballots of the largest election ([`MAX_LISTS`] lists of [`MAX_CANDIDATES`]
/// candidates): blank, plus per list the list vote and every non-empty candidate set.
pub const MAX_VALID_BALLOTS: u128 =
    1u128.saturating_add((MAX_LISTS as u128).saturating_mul(pow2(MAX_CANDIDATES)));

/// Bits of the rank field of the largest election (`ceil(log2 MAX_VALID_BALLOTS)`).
pub const MAX_ENCODED_BALLOT_BITS: u32 = field_bits(MAX_VALID_BALLOTS);

/// Bytes of the largest encoded ballot (the largest election, 40 lists x 64 candidates).
pub const MAX_ENCODED_BALLOT_BYTES: usize = whole_bytes(MAX_ENCODED_BALLOT_BITS);

// The rank arithmetic is u128; the largest rank field must fit with room for the padding.
const _: () = assert!(MAX_ENCODED_BALLOT_BYTES * 8 <= 120);
const _: () = assert!(MAX_ENCODED_BALLOT_BYTES <= u8::MAX as usize);

/// The canonical encoder/decoder of one election's ballots, with field widths derived
/// from the election's shape (the number of candidates on each list).
///
/// The *rank* of a choice is its index in this order of all valid ballots:
/// blank (rank 0); then for each list in ballot order, the list vote (candidate mask 0)
/// followed by preference votes in increasing candidate mask (bit `i` = candidate `i`).
/// List `l` owns ranks `start(l) .. start(l) + 2^c(l)` with
/// `start(l) = 1 + sum_{j<l} 2^c(j)`, and a ballot's rank is `start(l) + mask`.
/// The election has `N = 1 + sum_l 2^c(l)` valid ballots; the rank is written as an
/// unsigned big-endian field of `ceil(log2 N)` bits, most significant bit first,
/// followed by zero padding bits up to a whole byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BallotCodec {
    /// Lists of the election.
    lists: u8,
    /// Candidates on each list (entries past `lists` are 0).
    candidates: [u8; MAX_LISTS],
    /// Number of valid ballots `N`.
    valid: u128,
    /// Width of the rank field, `ceil(log2 N)`.
    bits: u32,
    /// Encoded length in bytes, `ceil(bits / 8)`.
    len: u8,
}

impl BallotCodec {
    /// The codec of `election`.
    pub fn new(election: &Election<'_>) -> BallotCodec {
        // `Election::lists` holds at most MAX_LISTS lists and `Candidates` at most
        // MAX_CANDIDATES candidates, so the shape always fits.
        let mut candidates = [0u8; MAX_LISTS];
        for (slot, list) in candidates.iter_mut().zip(election.lists.iter()) {
            *slot = u8::try_from(list.candidates.len().min(MAX_CANDIDATES)).unwrap_or(0);
        }
        let lists = u8::try_from(election.lists.len().min(MAX_LISTS)).unwrap_or(0);
        BallotCodec::from_shape(lists, candidates)
    }

    /// The codec of an election whose lists have `counts[l]` candidates each.
    pub fn from_candidate_counts(counts: &[usize]) -> Result<BallotCodec, BallotError> {
        if counts.len() > MAX_LISTS {
            return Err(BallotError::TooManyLists {
                count: counts.len(),
                max: MAX_LISTS,
            });
        }
        let mut candidates = [0u8; MAX_LISTS];
        for (list, (slot, &count)) in candidates.iter_mut().zip(counts).enumerate() {
            *slot = u8::try_from(count)
                .ok()
                .filter(|&c| usize::from(c) <= MAX_CANDIDATES)
                .ok_or(BallotError::TooManyCandidates {
                    list,
                    count,
                    max: MAX_CANDIDATES,
                })?;
        }
        let lists = u8::try_from(counts.len()).map_err(|_| BallotError::TooManyLists {
            count: counts.len(),
            max: MAX_LISTS,
        })?;
        Ok(BallotCodec::from_shape(lists, candidates))
    }

    fn from_shape(lists: u8, candidates: [u8; MAX_LISTS]) -> BallotCodec {
        // At most 1 + 40 * 2^64 < 2^70: no saturation happens.
        let valid = candidates
            .iter()
            .take(usize::from(lists))
            .fold(1u128, |n, &c| n.saturating_add(pow2(usize::from(c))));
        let bits = field_bits(valid);
        let len = u8::try_from(whole_bytes(bits)).unwrap_or(u8::MAX);
        BallotCodec {
            lists,
            candidates,
            valid,
            bits,
            len,
        }
    }

    /// Encoded size in bits, before byte padding: `ceil(log2 N)`.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// Encoded size in bytes; every ballot of the election has this length.
    pub const fn len_bytes(&self) -> usize {
        self.len as usize
    }

    /// Number of valid ballots `N` (the information bound is `log2 N` bits).
    pub const fn valid_ballots(&self) -> u128 {
        self.valid
    }

    /// Number of lists.
    pub const fn lists(&self) -> usize {
        self.lists as usize
    }

    /// Candidates on list `list` (0 past the last list).
    pub fn candidates(&self, list: usize) -> usize {
        self.candidates
            .get(list)
            .filter(|_| list < self.lists())
            .map_or(0, |&c| usize::from(c))
    }

    /// Number of ranks list `list` owns: `2^candidates`.
    pub(crate) fn list_span(&self, list: usize) -> u128 {
        pow2(self.candidates(list))
    }

    /// The rank of `choice`, checking it against the election.
    pub fn rank(&self, choice: &Choice) -> Result<u128, BallotError> {
        let (list, mask) = match *choice {
            Choice::Blank => return Ok(0),
            Choice::List(list) => (list.get(), 0u64),
            Choice::Preferences { list, candidates } => {
                if candidates.is_empty() {
                    return Err(BallotError::EmptyPreferences);
                }
                (list.get(), candidates.mask())
            }
        };
        if list >= self.lists() {
            return Err(BallotError::InvalidListIndex {
                index: list,
                count: self.lists(),
            });
        }
        let count = self.candidates(list);
        CandidateSet::from_mask(mask, count)?;
        let start = (0..list).fold(1u128, |s, j| s.saturating_add(self.list_span(j)));
        Ok(start.saturating_add(u128::from(mask)))
    }

    /// The choice of rank `rank`.
    pub fn choice(&self, rank: u128) -> Result<Choice, BallotError> {
        if rank >= self.valid {
            return Err(BallotError::RankOutOfRange {
                rank,
                valid: self.valid,
            });
        }
        let Some(mut offset) = rank.checked_sub(1) else {
            return Ok(Choice::Blank);
        };
        for list in 0..self.lists {
            let span = self.list_span(usize::from(list));
            if offset < span {
                // span <= 2^64, so the offset is a candidate mask.
                let mask = u64::try_from(offset).map_err(|_| BallotError::RankOutOfRange {
                    rank,
                    valid: self.valid,
                })?;
                let list = ListIndex(list);
                return Ok(if mask == 0 {
                    Choice::List(list)
                } else {
                    Choice::Preferences {
                        list,
                        candidates: CandidateSet(mask),
                    }
                });
            }
            offset = offset.saturating_sub(span);
        }
        // Unreachable for rank < valid; report it as out of range rather than panic.
        Err(BallotError::RankOutOfRange {
            rank,
            valid: self.valid,
        })
    }

    /// Padding bits after the rank field.
    fn padding_bits(&self) -> u32 {
        (u32::from(self.len).saturating_mul(8)).saturating_sub(self.bits)
    }

    /// The encoding of `rank` (which must be below [`valid_ballots`](Self::valid_ballots)).
    pub fn encode_rank(&self, rank: u128) -> Result<EncodedBallot, BallotError> {
        if rank >= self.valid {
            return Err(BallotError::RankOutOfRange {
                rank,
                valid: self.valid,
            });
        }
        // rank < 2^bits and bits + padding <= 72 < 128: the shift cannot overflow.
        let field = rank
            .checked_shl(self.padding_bits())
            .ok_or(BallotError::RankOutOfRange {
                rank,
                valid: self.valid,
            })?;
        let wide = field.to_be_bytes();
        let mut ballot = EncodedBallot::EMPTY;
        let len = self.len_bytes();
        let from = wide.len().saturating_sub(len);
        if let (Some(dst), Some(src)) = (ballot.bytes.get_mut(..len), wide.get(from..)) {
            dst.copy_from_slice(src);
        }
        ballot.len = self.len;
        Ok(ballot)
    }

    /// The rank an encoded ballot holds; rejects every non-canonical byte string.
    pub fn decode_rank(&self, bytes: &[u8]) -> Result<u128, BallotError> {
        let len = self.len_bytes();
        if bytes.len() != len {
            return Err(BallotError::WrongLength {
                len: bytes.len(),
                expected: len,
            });
        }
        let mut wide = [0u8; 16];
        let from = wide.len().saturating_sub(len);
        if let Some(dst) = wide.get_mut(from..) {
            dst.copy_from_slice(bytes);
        }
        let field = u128::from_be_bytes(wide);
        let padding = self.padding_bits();
        let padding_mask = pow2(padding as usize).saturating_sub(1);
        if field & padding_mask != 0 {
            return Err(BallotError::NonZeroPadding);
        }
        let rank = field.checked_shr(padding).unwrap_or(0);
        if rank >= self.valid {
            return Err(BallotError::RankOutOfRange {
                rank,
                valid: self.valid,
            });
        }
        Ok(rank)
    }

    /// Encode `choice` (checked against the election).
    pub fn encode(&self, choice: &Choice) -> Result<EncodedBallot, BallotError> {
        self.encode_rank(self.rank(choice)?)
    }

    /// Decode a canonical encoding: rejects a wrong length (including trailing bytes),
    /// non-zero padding bits and ranks of no valid ballot. An empty preference set has no
    /// encoding (mask 0 is the list vote), so every accepted string is a valid choice.
    pub fn decode(&self, bytes: &[u8]) -> Result<Choice, BallotError> {
        self.choice(self.decode_rank(bytes)?)
    }
}

/// One encoded ballot: the canonical bytes of a choice (at most
/// [`MAX_ENCODED_BALLOT_BYTES`]). Ballots of one election all have the same length, and
/// their order (`Ord`) is the order of their ranks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Zeroize)]
pub struct EncodedBallot {
    bytes: [u8; MAX_ENCODED_BALLOT_BYTES],
    len: u8,
}

impl EncodedBallot {
    /// The zero-length ballot (also the value of unused slots).
    pub const EMPTY: EncodedBallot = EncodedBallot {
        bytes: [0; MAX_ENCODED_BALLOT_BYTES],
        len: 0,
    };

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the encoding has no bytes (only [`EncodedBallot::EMPTY`]).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::election::tests::leak_candidates;
    use crate::election::{
        Candidate, CandidateKind, Candidates, Date, Event, Language, List, Mode, Names, SeatMethod,
    };
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::vec::Vec;

    /// One election of a test event: id, seats, lists, titulars and successors per list.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct ElectionSpec {
        pub id: &'static str,
        pub seats: u16,
        pub lists: usize,
        pub titulars: usize,
        pub successors: usize,
    }

    /// The demo-sized day used for the figures (and by the store's tests):
    /// Chamber 8 lists x (12 titulars + 12 successors), regional parliament
    /// 8 x (15 + 10), European Parliament 8 x (21 + 8).
    pub(crate) const DEMO: [ElectionSpec; 3] = [
        ElectionSpec {
            id: "chamber",
            seats: 12,
            lists: 8,
            titulars: 12,
            successors: 12,
        },
        ElectionSpec {
            id: "region",
            seats: 15,
            lists: 8,
            titulars: 15,
            successors: 10,
        },
        ElectionSpec {
            id: "europe",
            seats: 21,
            lists: 8,
            titulars: 21,
            successors: 8,
        },
    ];

    /// The largest election the model allows: 40 lists x 64 candidates.
    pub(crate) const LARGEST: ElectionSpec = ElectionSpec {
        id: "largest",
        seats: 64,
        lists: MAX_LISTS,
        titulars: MAX_CANDIDATES,
        successors: 0,
    };

    /// Candidate lists are leaked once per (titulars, successors) and shared.
    fn candidates(titulars: usize, successors: usize) -> Candidates<'static> {
        static CACHE: Mutex<BTreeMap<(usize, usize), Candidates<'static>>> =
            Mutex::new(BTreeMap::new());
        *CACHE
            .lock()
            .unwrap()
            .entry((titulars, successors))
            .or_insert_with(|| {
                let people: Vec<Candidate<'static>> = (0..titulars + successors)
                    .map(|c| Candidate {
                        name: "SURNAME Given",
                        kind: if c < titulars {
                            CandidateKind::Titular
                        } else {
                            CandidateKind::Successor
                        },
                    })
                    .collect();
                leak_candidates(&people)
            })
    }

    /// A valid event with the given elections.
    pub(crate) fn shaped_event(specs: &[ElectionSpec]) -> Box<Event<'static>> {
        let mut event = Box::new(Event {
            id: "SHAPED-2026",
            names: Names::same("Shaped test event"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: heapless::Vec::from_slice(&[Language::Nl]).unwrap(),
            elections: heapless::Vec::new(),
        });
        for (i, spec) in specs.iter().enumerate() {
            let repeated = specs[..i].iter().any(|s| s.id == spec.id);
            let id: &'static str = if repeated {
                std::format!("{}-{i}", spec.id).leak()
            } else {
                spec.id
            };
            let mut election = crate::election::Election {
                id,
                names: Names::same(spec.id),
                constituency: Names::same("Kieskring"),
                seats: spec.seats,
                method: SeatMethod::DHondt,
                threshold: 500,
                successors: spec.successors > 0,
                lists: heapless::Vec::new(),
            };
            for l in 0..spec.lists {
                election
                    .lists
                    .push(List {
                        number: u16::try_from(l + 1).unwrap(),
                        name: "LIST",
                        candidates: candidates(spec.titulars, spec.successors),
                    })
                    .unwrap();
            }
            event.elections.push(election).unwrap();
        }
        event.validate().unwrap();
        event
    }

    /// Any choice valid for an election whose lists have `counts` candidates.
    pub(crate) fn any_choice(counts: Vec<usize>) -> impl Strategy<Value = Choice> {
        let lists = counts.len();
        prop_oneof![
            1 => Just(Choice::Blank),
            2 => (0..lists).prop_map(|l| Choice::List(ListIndex(u8::try_from(l).unwrap()))),
            6 => (0..lists, any::<u64>()).prop_map(move |(l, bits)| {
                let list = ListIndex(u8::try_from(l).unwrap());
                let mask = bits & CandidateSet::full_mask(counts[l]);
                Choice::from_marks(list, true, CandidateSet(mask)).unwrap()
            }),
        ]
    }

    /// An election shape (candidates per list) with its codec's choices.
    fn any_shape() -> impl Strategy<Value = Vec<usize>> {
        prop_oneof![
            proptest::collection::vec(0..=MAX_CANDIDATES, 1..=MAX_LISTS),
            proptest::collection::vec(0..=6usize, 1..=5),
        ]
    }

    fn codec(counts: &[usize]) -> BallotCodec {
        BallotCodec::from_candidate_counts(counts).unwrap()
    }

    #[test]
    fn constants_are_derived_from_the_largest_election() {
        assert_eq!(MAX_VALID_BALLOTS, 1 + 40 * (1u128 << 64));
        // 40 * 2^64 < 2^70 <= 2^6 * 2^64.
        assert_eq!(MAX_ENCODED_BALLOT_BITS, 70);
        assert_eq!(MAX_ENCODED_BALLOT_BYTES, 9);
        let largest = codec(&[MAX_CANDIDATES; MAX_LISTS]);
        assert_eq!(largest.valid_ballots(), MAX_VALID_BALLOTS);
        assert_eq!(largest.bits(), MAX_ENCODED_BALLOT_BITS);
        assert_eq!(largest.len_bytes(), MAX_ENCODED_BALLOT_BYTES);
    }

    #[test]
    fn field_width_is_ceil_log2() {
        for (count, bits) in [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (256, 8),
            (257, 9),
        ] {
            assert_eq!(field_bits(count), bits, "{count}");
        }
        assert_eq!(field_bits((1u128 << 27) + 1), 28);
    }

    #[test]
    fn worked_example_of_the_spec() {
        // docs/formats/ballot-encoding.md: lists of 3, 2 and 4 candidates.
        let c = codec(&[3, 2, 4]);
        assert_eq!(c.valid_ballots(), 1 + 8 + 4 + 16);
        assert_eq!((c.bits(), c.len_bytes()), (5, 1));
        let l = |i| ListIndex(i);
        let cases = [
            (Choice::Blank, 0u128, "00"),
            (Choice::List(l(0)), 1, "08"),
            (
                Choice::Preferences {
                    list: l(0),
                    candidates: CandidateSet(0b101),
                },
                6,
                "30",
            ),
            (Choice::List(l(1)), 9, "48"),
            (
                Choice::Preferences {
                    list: l(2),
                    candidates: CandidateSet(0b0110),
                },
                19,
                "98",
            ),
            (
                Choice::Preferences {
                    list: l(2),
                    candidates: CandidateSet(0b1111),
                },
                28,
                "e0",
            ),
        ];
        for (choice, rank, hex) in cases {
            assert_eq!(c.rank(&choice).unwrap(), rank, "{choice:?}");
            let bytes = c.encode(&choice).unwrap();
            let got: std::string::String = bytes
                .as_bytes()
                .iter()
                .map(|b| std::format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{choice:?}");
            assert_eq!(c.decode(bytes.as_bytes()), Ok(choice));
        }
        assert_eq!(c.decode(&[0x31]), Err(BallotError::NonZeroPadding));
        assert_eq!(
            c.decode(&[0xe8]),
            Err(BallotError::RankOutOfRange {
                rank: 29,
                valid: 29
            })
        );
        assert_eq!(
            c.decode(&[0x30, 0x00]),
            Err(BallotError::WrongLength {
                len: 2,
                expected: 1
            })
        );
        assert_eq!(
            c.decode(&[]),
            Err(BallotError::WrongLength {
                len: 0,
                expected: 1
            })
        );
    }

    #[test]
    fn worked_example_of_a_chamber_ballot() {
        // docs/formats/ballot-encoding.md: demo Chamber, list 3 (index 2), the first
        // titular and the first successor.
        let event = shaped_event(&DEMO);
        let chamber = &event.elections[0];
        let c = BallotCodec::new(chamber);
        let choice = Choice::Preferences {
            list: ListIndex::new(2, chamber).unwrap(),
            candidates: CandidateSet::from_mask((1 << 0) | (1 << 12), 24).unwrap(),
        };
        assert_eq!(c.rank(&choice), Ok(1 + 2 * (1 << 24) + 4097));
        assert_eq!(
            c.encode(&choice).unwrap().as_bytes(),
            [0x20, 0x01, 0x00, 0x20]
        );
        assert_eq!(c.decode(&[0x20, 0x01, 0x00, 0x20]), Ok(choice));
        assert_eq!(
            c.decode(&[0x20, 0x01, 0x00, 0x28]),
            Err(BallotError::NonZeroPadding)
        );
    }

    #[test]
    fn invalid_choices_are_refused_by_the_encoder() {
        let c = codec(&[3, 2]);
        assert_eq!(
            c.encode(&Choice::List(ListIndex(2))),
            Err(BallotError::InvalidListIndex { index: 2, count: 2 })
        );
        assert_eq!(
            c.encode(&Choice::Preferences {
                list: ListIndex(1),
                candidates: CandidateSet::EMPTY
            }),
            Err(BallotError::EmptyPreferences)
        );
        assert_eq!(
            c.encode(&Choice::Preferences {
                list: ListIndex(1),
                candidates: CandidateSet(0b100)
            }),
            Err(BallotError::InvalidCandidateIndex { index: 2, count: 2 })
        );
        assert_eq!(
            BallotCodec::from_candidate_counts(&[1; MAX_LISTS + 1]),
            Err(BallotError::TooManyLists { count: 41, max: 40 })
        );
        assert_eq!(
            BallotCodec::from_candidate_counts(&[1, 65]),
            Err(BallotError::TooManyCandidates {
                list: 1,
                count: 65,
                max: 64
            })
        );
    }

    #[test]
    fn codec_of_an_election_matches_choice_check() {
        let event = crate::election::tests::tiny_event();
        for election in &event.elections {
            let c = BallotCodec::new(election);
            for rank in 0..c.valid_ballots() {
                let choice = c.choice(rank).unwrap();
                choice.check(election).unwrap();
                assert_eq!(c.rank(&choice), Ok(rank));
            }
        }
    }

    /// Every byte string of the right length of small elections: exactly `N` decode,
    /// each re-encodes to itself, and the byte order is the rank order.
    #[test]
    fn every_byte_string_of_small_elections_is_checked() {
        for counts in [
            &[3usize, 2, 4][..],
            &[1],
            &[0, 0, 0],
            &[5, 7],
            &[6, 6, 1, 0],
        ] {
            let c = codec(counts);
            let len = c.len_bytes();
            let mut accepted = 0u128;
            let mut last: Option<Vec<u8>> = None;
            for value in 0u32..(1 << (8 * len)) {
                let bytes = &value.to_be_bytes()[4 - len..];
                if let Ok(choice) = c.decode(bytes) {
                    accepted += 1;
                    assert_eq!(c.encode(&choice).unwrap().as_bytes(), bytes);
                    assert!(last.as_deref() < Some(bytes));
                    last = Some(bytes.to_vec());
                }
            }
            assert_eq!(accepted, c.valid_ballots(), "{counts:?}");
        }
    }

    #[test]
    fn encoding_figures_meet_the_goal() {
        let demo = shaped_event(&DEMO);
        let largest = shaped_event(&[LARGEST]);
        let mut rows: Vec<(&str, BallotCodec)> = demo
            .elections
            .iter()
            .chain(largest.elections.iter())
            .map(|e| (e.id, BallotCodec::new(e)))
            .collect();
        // The list sizes of docs/examples/demo-election.toml (smaller than DEMO).
        for (id, counts) in [
            ("file:chamber", &[18, 18, 18, 18, 18, 15, 9, 5][..]),
            ("file:region", &[13, 13, 13, 10, 13, 6]),
            ("file:europe", &[9, 9, 9, 9, 6]),
        ] {
            rows.push((id, codec(counts)));
        }
        std::println!(
            "{:<13} {:>5} {:>10} {:>5} {:>10} {:>6} {:>5}",
            "election",
            "lists",
            "max cands",
            "bits",
            "log2 N",
            "ratio",
            "bytes"
        );
        for (id, c) in rows {
            let bound = (c.valid_ballots() as f64).log2();
            let ratio = f64::from(c.bits()) / bound;
            let widest = (0..c.lists()).map(|l| c.candidates(l)).max().unwrap();
            std::println!(
                "{:<13} {:>5} {:>10} {:>5} {:>10.4} {:>6.4} {:>5}",
                id,
                c.lists(),
                widest,
                c.bits(),
                bound,
                ratio,
                c.len_bytes()
            );
            assert!(f64::from(c.bits()) >= bound);
            assert!(f64::from(c.bits()) < bound + 1.0, "within one bit");
            assert!(ratio <= 1.1, "{id}: ratio {ratio}");
        }
    }

    proptest! {
        #[test]
        fn choices_round_trip(
            (counts, choice) in any_shape().prop_flat_map(|counts| {
                (Just(counts.clone()), any_choice(counts))
            })
        ) {
            let c = codec(&counts);
            let bytes = c.encode(&choice).unwrap();
            prop_assert_eq!(bytes.len(), c.len_bytes());
            prop_assert_eq!(c.decode(bytes.as_bytes()), Ok(choice));
            prop_assert_eq!(c.decode_rank(bytes.as_bytes()), c.rank(&choice));
        }

        #[test]
        fn byte_order_is_rank_order(
            (counts, a, b) in any_shape().prop_flat_map(|counts| {
                (Just(counts.clone()), any_choice(counts.clone()), any_choice(counts))
            })
        ) {
            let c = codec(&counts);
            let (ea, eb) = (c.encode(&a).unwrap(), c.encode(&b).unwrap());
            prop_assert_eq!(ea.cmp(&eb), c.rank(&a).unwrap().cmp(&c.rank(&b).unwrap()));
        }

        #[test]
        fn every_byte_string_decodes_canonically_or_is_refused(
            (counts, bytes) in any_shape().prop_flat_map(|counts| {
                let len = codec(&counts).len_bytes();
                (Just(counts), proptest::collection::vec(any::<u8>(), len))
            })
        ) {
            let c = codec(&counts);
            match c.decode(&bytes) {
                Ok(choice) => {
                    let again = c.encode(&choice).unwrap();
                    prop_assert_eq!(again.as_bytes(), &bytes[..]);
                }
                Err(BallotError::NonZeroPadding | BallotError::RankOutOfRange { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(
                matches!(
                    c.decode(&longer),
                    Err(BallotError::WrongLength { .. })
                ),
                "trailing byte accepted"
            );
        }
    }
}
