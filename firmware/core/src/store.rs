//! The in-RAM ballot store: per election, a sorted multiset of encoded ballots plus
//! redundant tallies, recounted before every write (`docs/store.md`,
//! `docs/formats/ballot-store.md`).
//!
//! - **No linkage between elections.** Casting one voter's choices adds one ballot to
//!   each election's multiset independently. Each multiset is kept sorted by its bytes
//!   (the rank order of [`BallotCodec`]), so neither memory nor the serialized form keeps
//!   the order of casting, a per-ballot time, or which ballots of different elections
//!   belong to the same voter.
//! - **Redundant tallies.** Per election: blank ballots and total ballots; per list: list
//!   votes, ballots with preferences, and preference votes per candidate.
//! - **Integrity check.** [`BallotStore::verify`] recounts every tally from the multisets
//!   (one streaming pass, possible because the multisets are sorted by list), checks
//!   that every ballot is canonical and in order, that the layout matches the event, and
//!   that unused memory is zero. A mismatch is a memory-integrity fault: in Schaerbeek
//!   (2003) one flipped RAM bit added 4,096 preference votes. [`BallotStore::cast`] and
//!   [`BallotStore::serialize`] verify first; [`BallotStore::load`] checks a SHA-256
//!   digest, the structure, and then verifies.
//! - **Capacity.** One shared pool of [`POOL_BYTES`] holds every election's multiset;
//!   an event with ballots of `b_e` bytes gets `POOL_BYTES / sum_e b_e` voters (at least
//!   [`MAX_VOTERS`] for up to [`PLANNED_ELECTIONS`] elections of any size).
//! - **No heap, no big moves.** [`BallotStore::new`] is `const`, so the store lives in a
//!   `static`; every method works in place through `&self`/`&mut self`.
//! - **Zeroized** by [`BallotStore::wipe`] and on drop.
//!
//! Cost of a cast with `V` voters so far: the recount decodes every stored ballot once
//! (`O(V * elections)`), and the sorted insertion moves at most the used part of each
//! election's region (at most [`POOL_BYTES`] bytes in total).

use crate::ballot::{BallotCodec, BallotError, Choice, EncodedBallot, MAX_ENCODED_BALLOT_BYTES};
use crate::election::{Event, MAX_CANDIDATES, MAX_ELECTIONS, MAX_LISTS};
use core::fmt;
use core::ops::Range;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Voters the store is guaranteed to hold when the event has at most
/// [`PLANNED_ELECTIONS`] elections, even of the largest size (40 lists x 64 candidates).
pub const MAX_VOTERS: usize = 5_000;
/// Elections per voter the guaranteed capacity is planned for.
pub const PLANNED_ELECTIONS: usize = 3;
/// Bytes of the shared ballot pool: [`MAX_VOTERS`] x [`PLANNED_ELECTIONS`] ballots of
/// [`MAX_ENCODED_BALLOT_BYTES`].
pub const POOL_BYTES: usize = MAX_VOTERS * PLANNED_ELECTIONS * MAX_ENCODED_BALLOT_BYTES;
/// Tally words (`u32`) per list: list votes, ballots with preferences, then one
/// preference count per candidate slot.
pub const LIST_TALLY_WORDS: usize = 2 + MAX_CANDIDATES;
/// Tally words (`u32`) per election: blank, total, then one block per list slot.
pub const ELECTION_TALLY_WORDS: usize = 2 + MAX_LISTS * LIST_TALLY_WORDS;
/// Tally words (`u32`) of the whole store.
pub const TALLY_WORDS: usize = MAX_ELECTIONS * ELECTION_TALLY_WORDS;
/// RAM taken by one [`BallotStore`], in bytes (`size_of::<BallotStore>()`, checked by a
/// test): the pool, the tallies and the bound layout; see `docs/store.md`.
pub const STORE_RAM_BYTES: usize = 219_896;

/// Magic at the start of a serialized store.
pub const STORE_MAGIC: [u8; 8] = *b"VT-STORE";
/// Version of the serialized store format this code writes and reads.
pub const STORE_FORMAT_VERSION: u8 = 1;
/// Domain-separation label hashed before the serialized body.
pub const STORE_DIGEST_LABEL: &[u8] = b"voting-terminal ballot store v1/digest";
/// Bytes of the SHA-256 digest that ends a serialized store.
pub const STORE_DIGEST_BYTES: usize = 32;
/// Bytes before the per-election shape: magic, version, election count.
const HEADER_BYTES: usize = STORE_MAGIC.len() + 2;
/// Bytes of a serialized `u32`.
const WORD_BYTES: usize = 4;
/// Longest serialized store: header, the largest shape, the ballot count, a full pool,
/// every tally word and the digest.
pub const MAX_SERIALIZED_BYTES: usize = HEADER_BYTES
    + MAX_ELECTIONS * (1 + MAX_LISTS)
    + WORD_BYTES
    + POOL_BYTES
    + WORD_BYTES * TALLY_WORDS
    + STORE_DIGEST_BYTES;

/// `state` of a store bound to an event; 0 is unbound, anything else is a fault.
const BOUND_MARK: u32 = 0x5654_4253;
/// Offsets inside an election's tally block.
const BLANK_WORD: usize = 0;
const TOTAL_WORD: usize = 1;
const FIRST_LIST_WORD: usize = 2;
/// Offsets inside a list's tally block.
const LIST_VOTES_WORD: usize = 0;
const PREFERENCE_BALLOTS_WORD: usize = 1;
const FIRST_CANDIDATE_WORD: usize = 2;

// Capacities fit the on-wire and in-RAM integer widths.
const _: () = assert!(POOL_BYTES <= u32::MAX as usize);
const _: () = assert!(MAX_ELECTIONS <= u8::MAX as usize);
const _: () = assert!(MAX_LISTS <= u8::MAX as usize);

/// Which integrity check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The bound/unbound marker holds neither value.
    State,
    /// The stored layout (lists, candidates, ballot sizes, capacity) differs from the
    /// event's: corrupted memory, or the store was bound to another event.
    Layout,
    /// More ballots than the capacity.
    Count,
    /// The ballot at `index` (in sorted order) is not a canonical encoding.
    NonCanonical {
        /// Position in the election's multiset.
        index: usize,
    },
    /// The ballot at `index` is smaller than the one before it.
    Unsorted {
        /// Position in the election's multiset.
        index: usize,
    },
    /// The blank tally differs from the recount.
    Blank,
    /// The total tally differs from the number of ballots.
    Total,
    /// A tally of list `list` differs from the recount.
    ListTally {
        /// The list (0-based).
        list: usize,
    },
    /// Memory that must be zero (past the ballots, tallies of absent lists, candidates
    /// or elections) is not.
    Residue,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::State => f.write_str("state marker corrupt"),
            Fault::Layout => f.write_str("layout differs from the event"),
            Fault::Count => f.write_str("ballot count exceeds capacity"),
            Fault::NonCanonical { index } => write!(f, "ballot {index} is not canonical"),
            Fault::Unsorted { index } => write!(f, "ballot {index} is out of order"),
            Fault::Blank => f.write_str("blank tally differs from recount"),
            Fault::Total => f.write_str("total tally differs from ballot count"),
            Fault::ListTally { list } => write!(f, "tally of list {list} differs from recount"),
            Fault::Residue => f.write_str("unused memory is not zero"),
        }
    }
}

/// A part of the serialized store, for [`StoreError::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Section {
    /// The magic.
    Magic,
    /// The format version.
    Version,
    /// The event shape (elections, lists, candidates).
    Shape,
    /// The ballot count.
    BallotCount,
    /// The sorted ballots.
    Ballots,
    /// The tallies.
    Tallies,
    /// The closing digest.
    Digest,
}

/// Errors of the ballot store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is not bound to an event: call `reset` or `load` first.
    Unbound,
    /// The event has no elections.
    NoElections,
    /// An election of the event has no lists.
    EmptyElection {
        /// The election (0-based).
        election: usize,
    },
    /// An election index past the event's elections.
    NoSuchElection {
        /// Index given.
        election: usize,
        /// Elections in the event.
        count: usize,
    },
    /// Memory-integrity fault: the store no longer agrees with itself. Stop taking votes.
    IntegrityFault {
        /// The election whose data is inconsistent (0 for store-wide fields).
        election: usize,
        /// Which check failed.
        fault: Fault,
    },
    /// No room for another voter.
    Full {
        /// Voters the store holds for this event.
        capacity: usize,
    },
    /// A number of choices (or a serialized election count) different from the event's
    /// elections.
    WrongElectionCount {
        /// Count given.
        given: usize,
        /// Elections in the event.
        expected: usize,
    },
    /// A choice is not valid for its election.
    Ballot(BallotError),
    /// A serialized store is not well formed.
    Malformed {
        /// The part that is wrong.
        section: Section,
        /// Byte offset of the problem.
        offset: usize,
    },
    /// A serialized store of a format version this code does not read.
    UnsupportedVersion {
        /// Version found.
        version: u8,
    },
    /// A serialized store whose digest does not match its contents.
    DigestMismatch,
    /// A serialized store of an event with differently shaped elections.
    ShapeMismatch {
        /// The first election (0-based) whose lists or candidates differ.
        election: usize,
    },
    /// A serialized store whose length differs from the length its header implies.
    WrongLength {
        /// Bytes given.
        len: usize,
        /// Bytes implied by the header.
        expected: usize,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StoreError::Unbound => f.write_str("ballot store is not bound to an event"),
            StoreError::NoElections => f.write_str("event has no elections"),
            StoreError::EmptyElection { election } => {
                write!(f, "election {election} has no lists")
            }
            StoreError::NoSuchElection { election, count } => {
                write!(f, "election {election} does not exist (event has {count})")
            }
            StoreError::IntegrityFault { election, fault } => {
                write!(f, "memory integrity fault in election {election}: {fault}")
            }
            StoreError::Full { capacity } => {
                write!(f, "ballot store is full ({capacity} voters)")
            }
            StoreError::WrongElectionCount { given, expected } => {
                write!(f, "{given} elections given, event has {expected}")
            }
            StoreError::Ballot(e) => write!(f, "invalid ballot: {e}"),
            StoreError::Malformed { section, offset } => {
                write!(
                    f,
                    "serialized store malformed in {section:?} at byte {offset}"
                )
            }
            StoreError::UnsupportedVersion { version } => {
                write!(f, "serialized store version {version} is not supported")
            }
            StoreError::DigestMismatch => f.write_str("serialized store digest mismatch"),
            StoreError::ShapeMismatch { election } => {
                write!(f, "serialized store election {election} has another shape")
            }
            StoreError::WrongLength { len, expected } => {
                write!(
                    f,
                    "serialized store is {len} bytes, header implies {expected}"
                )
            }
            StoreError::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small ({available} bytes, {needed} needed)")
            }
        }
    }
}

impl From<BallotError> for StoreError {
    fn from(e: BallotError) -> Self {
        StoreError::Ballot(e)
    }
}

fn fault(election: usize, fault: Fault) -> StoreError {
    StoreError::IntegrityFault { election, fault }
}

/// The layout a store is bound to, derived from the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Zeroize)]
struct Shape {
    /// Voters the pool holds for this event.
    capacity: u32,
    /// Elections of the event.
    elections: u8,
    /// Encoded ballot bytes of each election.
    ballot_bytes: [u8; MAX_ELECTIONS],
    /// Lists of each election.
    lists: [u8; MAX_ELECTIONS],
    /// Candidates on each list of each election.
    candidates: [[u8; MAX_LISTS]; MAX_ELECTIONS],
}

impl Shape {
    const EMPTY: Shape = Shape {
        capacity: 0,
        elections: 0,
        ballot_bytes: [0; MAX_ELECTIONS],
        lists: [0; MAX_ELECTIONS],
        candidates: [[0; MAX_LISTS]; MAX_ELECTIONS],
    };

    fn of(event: &Event<'_>) -> Result<Shape, StoreError> {
        if event.elections.is_empty() {
            return Err(StoreError::NoElections);
        }
        let mut shape = Shape::EMPTY;
        let mut voter_bytes = 0usize;
        for (e, election) in event.elections.iter().enumerate() {
            if election.lists.is_empty() {
                return Err(StoreError::EmptyElection { election: e });
            }
            let codec = BallotCodec::new(election);
            let len = codec.len_bytes();
            voter_bytes = voter_bytes.saturating_add(len);
            // Heapless capacities bound every count below 256.
            let narrow = |n: usize| u8::try_from(n).map_err(|_| fault(e, Fault::Layout));
            *shape
                .ballot_bytes
                .get_mut(e)
                .ok_or(fault(e, Fault::Layout))? = narrow(len)?;
            *shape.lists.get_mut(e).ok_or(fault(e, Fault::Layout))? = narrow(codec.lists())?;
            let row = shape.candidates.get_mut(e).ok_or(fault(e, Fault::Layout))?;
            for (l, slot) in row.iter_mut().enumerate().take(codec.lists()) {
                *slot = narrow(codec.candidates(l))?;
            }
        }
        shape.elections =
            u8::try_from(event.elections.len()).map_err(|_| StoreError::NoElections)?;
        // Every election has a list, so every ballot has at least one byte.
        let capacity = POOL_BYTES.checked_div(voter_bytes).unwrap_or(0);
        shape.capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        Ok(shape)
    }

    fn elections(&self) -> usize {
        usize::from(self.elections)
    }

    fn len(&self, election: usize) -> usize {
        self.ballot_bytes
            .get(election)
            .map_or(0, |&b| usize::from(b))
    }

    fn lists(&self, election: usize) -> usize {
        self.lists.get(election).map_or(0, |&l| usize::from(l))
    }

    fn list_candidates(&self, election: usize) -> &[u8] {
        self.candidates
            .get(election)
            .and_then(|row| row.get(..self.lists(election)))
            .unwrap_or(&[])
    }

    /// Bytes of the pool reserved for `election`: `capacity` ballots, after the
    /// regions of the elections before it.
    fn region(&self, election: usize) -> Option<Range<usize>> {
        let capacity = usize::try_from(self.capacity).ok()?;
        let before = self
            .ballot_bytes
            .get(..election)?
            .iter()
            .try_fold(0usize, |sum, &b| sum.checked_add(usize::from(b)))?;
        let start = before.checked_mul(capacity)?;
        let end = start.checked_add(self.len(election).checked_mul(capacity)?)?;
        (end <= POOL_BYTES).then_some(start..end)
    }

    /// Bytes of the serialized form with `voters` ballots per election.
    fn serialized_len(&self, voters: usize) -> Option<usize> {
        let mut total = HEADER_BYTES
            .checked_add(WORD_BYTES)?
            .checked_add(STORE_DIGEST_BYTES)?;
        for e in 0..self.elections() {
            let counts = self.list_candidates(e);
            let lists = counts.len();
            let candidates = counts
                .iter()
                .try_fold(0usize, |sum, &c| sum.checked_add(usize::from(c)))?;
            let words = lists
                .checked_mul(2)?
                .checked_add(candidates)?
                .checked_add(2)?;
            total = total
                .checked_add(1)?
                .checked_add(lists)?
                .checked_add(voters.checked_mul(self.len(e))?)?
                .checked_add(words.checked_mul(WORD_BYTES)?)?;
        }
        Some(total)
    }
}

/// One election's tallies, read from the store.
#[derive(Debug, Clone, Copy)]
pub struct Tally<'s> {
    words: &'s [u32],
    candidates: &'s [u8],
}

impl Tally<'_> {
    fn word(&self, index: usize) -> u32 {
        self.words.get(index).copied().unwrap_or(0)
    }

    fn list_word(&self, list: usize, offset: usize) -> Option<u32> {
        if list >= self.candidates.len() {
            return None;
        }
        let index = list
            .checked_mul(LIST_TALLY_WORDS)?
            .checked_add(FIRST_LIST_WORD)?
            .checked_add(offset)?;
        self.words.get(index).copied()
    }

    /// Blank ballots.
    pub fn blank(&self) -> u32 {
        self.word(BLANK_WORD)
    }

    /// All ballots.
    pub fn total(&self) -> u32 {
        self.word(TOTAL_WORD)
    }

    /// Lists of the election.
    pub fn lists(&self) -> usize {
        self.candidates.len()
    }

    /// List votes (top box only) for `list`; `None` past the last list.
    pub fn list_votes(&self, list: usize) -> Option<u32> {
        self.list_word(list, LIST_VOTES_WORD)
    }

    /// Ballots with preference votes for `list`; `None` past the last list.
    pub fn preference_ballots(&self, list: usize) -> Option<u32> {
        self.list_word(list, PREFERENCE_BALLOTS_WORD)
    }

    /// Preference votes for candidate `candidate` of `list`; `None` past the list's end.
    pub fn preferences(&self, list: usize, candidate: usize) -> Option<u32> {
        let count = usize::from(*self.candidates.get(list)?);
        if candidate >= count {
            return None;
        }
        self.list_word(list, FIRST_CANDIDATE_WORD.checked_add(candidate)?)
    }
}

/// The ballot store. About 215 KiB ([`STORE_RAM_BYTES`]): keep it in a `static` (its
/// constructor is `const`) or another place that is never moved.
pub struct BallotStore {
    /// Every election's sorted ballots, each in its own region (see [`Shape::region`]);
    /// bytes past the stored ballots are zero.
    pool: [u8; POOL_BYTES],
    /// Tally words, [`ELECTION_TALLY_WORDS`] per election slot.
    tallies: [u32; TALLY_WORDS],
    /// The layout of the bound event.
    shape: Shape,
    /// 0 (unbound) or [`BOUND_MARK`].
    state: u32,
    /// Ballots in each election's multiset (one per voter).
    voters: u32,
}

impl fmt::Debug for BallotStore {
    /// Counts only: ballots are secret and never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BallotStore")
            .field("bound", &(self.state == BOUND_MARK))
            .field("elections", &self.shape.elections)
            .field("voters", &self.voters)
            .field("capacity", &self.shape.capacity)
            .finish_non_exhaustive()
    }
}

impl Drop for BallotStore {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl ZeroizeOnDrop for BallotStore {}

/// Add one to a tally word (counts never exceed the capacity, far below `u32::MAX`).
fn bump(words: &mut [u32], index: usize) -> Option<()> {
    let word = words.get_mut(index)?;
    *word = word.saturating_add(1);
    Some(())
}

/// Recount one election's multiset and compare with its tally block.
fn recount(ballots: &[u8], codec: &BallotCodec, words: &[u32], voters: u32) -> Result<(), Fault> {
    let len = codec.len_bytes();
    if ballots.len().checked_rem(len) != Some(0) {
        return Err(Fault::Layout);
    }
    let mut blank = 0u32;
    let mut ballots_seen = 0u32;
    let mut list = 0usize;
    let mut start = 1u128;
    let mut end = start.saturating_add(codec.list_span(0));
    let mut counts = [0u32; LIST_TALLY_WORDS];
    let mut previous = 0u128;
    for (index, bytes) in ballots.chunks_exact(len).enumerate() {
        ballots_seen = ballots_seen.saturating_add(1);
        let rank = codec
            .decode_rank(bytes)
            .map_err(|_| Fault::NonCanonical { index })?;
        if rank < previous {
            return Err(Fault::Unsorted { index });
        }
        previous = rank;
        if rank == 0 {
            blank = blank.saturating_add(1);
            continue;
        }
        // Sorted order: the lists' rank ranges are passed in ballot order.
        while rank >= end {
            check_list(words, list, codec.lists(), &counts)?;
            counts = [0; LIST_TALLY_WORDS];
            list = list.saturating_add(1);
            if list >= codec.lists() {
                return Err(Fault::NonCanonical { index });
            }
            start = end;
            end = start.saturating_add(codec.list_span(list));
        }
        let mask =
            u64::try_from(rank.saturating_sub(start)).map_err(|_| Fault::NonCanonical { index })?;
        let bad = Fault::NonCanonical { index };
        if mask == 0 {
            bump(&mut counts, LIST_VOTES_WORD).ok_or(bad)?;
        } else {
            bump(&mut counts, PREFERENCE_BALLOTS_WORD).ok_or(bad)?;
            let mut rest = mask;
            while rest != 0 {
                let candidate = rest.trailing_zeros() as usize;
                rest &= rest.wrapping_sub(1);
                bump(&mut counts, FIRST_CANDIDATE_WORD.saturating_add(candidate)).ok_or(bad)?;
            }
        }
    }
    while list < MAX_LISTS {
        check_list(words, list, codec.lists(), &counts)?;
        counts = [0; LIST_TALLY_WORDS];
        list = list.saturating_add(1);
    }
    if words.get(BLANK_WORD) != Some(&blank) {
        return Err(Fault::Blank);
    }
    if words.get(TOTAL_WORD) != Some(&voters) || ballots_seen != voters {
        return Err(Fault::Total);
    }
    Ok(())
}

/// Compare list `list`'s tally block with `counts`.
fn check_list(
    words: &[u32],
    list: usize,
    lists: usize,
    counts: &[u32; LIST_TALLY_WORDS],
) -> Result<(), Fault> {
    let stored = list
        .checked_mul(LIST_TALLY_WORDS)
        .and_then(|o| o.checked_add(FIRST_LIST_WORD))
        .and_then(|from| words.get(from..from.checked_add(LIST_TALLY_WORDS)?));
    match stored {
        Some(stored) if stored == counts.as_slice() => Ok(()),
        _ if list < lists => Err(Fault::ListTally { list }),
        _ => Err(Fault::Residue),
    }
}

/// Appends to an output buffer.
struct Writer<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let available = self.buf.len();
        let end = self.at.saturating_add(bytes.len());
        let dst = self
            .buf
            .get_mut(self.at..end)
            .ok_or(StoreError::BufferTooSmall {
                needed: end,
                available,
            })?;
        dst.copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }
}

/// Reads from a serialized store.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, section: Section) -> Result<&'a [u8], StoreError> {
        let malformed = StoreError::Malformed {
            section,
            offset: self.at,
        };
        let end = self.at.checked_add(len).ok_or(malformed)?;
        let bytes = self.bytes.get(self.at..end).ok_or(malformed)?;
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self, section: Section) -> Result<u8, StoreError> {
        let offset = self.at;
        self.take(1, section)?
            .first()
            .copied()
            .ok_or(StoreError::Malformed { section, offset })
    }

    fn word(&mut self, section: Section) -> Result<u32, StoreError> {
        let offset = self.at;
        let bytes = self.take(WORD_BYTES, section)?;
        let array: [u8; WORD_BYTES] = bytes
            .try_into()
            .map_err(|_| StoreError::Malformed { section, offset })?;
        Ok(u32::from_be_bytes(array))
    }
}

fn digest(body: &[u8]) -> [u8; STORE_DIGEST_BYTES] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(STORE_DIGEST_LABEL);
    context.update(body);
    let mut out = [0u8; STORE_DIGEST_BYTES];
    let value = context.finish();
    if let Some(dst) = out.get_mut(..value.as_ref().len()) {
        dst.copy_from_slice(value.as_ref());
    }
    out
}

/// Parts of the store's RAM a test can corrupt.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum RamPart {
    /// Bit `n` of the ballot pool.
    Pool,
    /// Bit `n` of the tally words.
    Tallies,
    /// Bit `n` of the voter count.
    Voters,
    /// Bit `n` of the state marker.
    State,
    /// Bit `n` of the bound capacity.
    Capacity,
    /// Bit `n` of the per-list candidate counts.
    Candidates,
}

impl BallotStore {
    /// An empty store, bound to no event (all memory zero). Meant for a `static`
    /// initializer; there is deliberately no `Default`, which invites moves by value.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> BallotStore {
        BallotStore {
            pool: [0; POOL_BYTES],
            tallies: [0; TALLY_WORDS],
            shape: Shape::EMPTY,
            state: 0,
            voters: 0,
        }
    }

    /// Wipe the store and bind it to `event`'s shape, with no ballots.
    pub fn reset(&mut self, event: &Event<'_>) -> Result<(), StoreError> {
        let shape = Shape::of(event)?;
        self.wipe();
        self.shape = shape;
        self.state = BOUND_MARK;
        Ok(())
    }

    /// Zeroize every byte: ballots, tallies and layout. The store is then unbound.
    pub fn wipe(&mut self) {
        self.pool.as_mut_slice().zeroize();
        self.tallies.as_mut_slice().zeroize();
        self.shape.zeroize();
        self.state.zeroize();
        self.voters.zeroize();
    }

    /// Voters the store holds for the bound event (0 when unbound).
    pub fn capacity(&self) -> usize {
        usize::try_from(self.shape.capacity).unwrap_or(0)
    }

    /// Voters a store would hold for `event`: `POOL_BYTES / (bytes of one ballot in
    /// every election)`.
    pub fn capacity_for(event: &Event<'_>) -> Result<usize, StoreError> {
        Ok(usize::try_from(Shape::of(event)?.capacity).unwrap_or(0))
    }

    /// Ballots stored for `election` (one per voter who cast; 0 when unbound or past
    /// the last election).
    pub fn ballots(&self, election: usize) -> usize {
        if self.state == BOUND_MARK && election < self.shape.elections() {
            usize::try_from(self.voters).unwrap_or(0)
        } else {
            0
        }
    }

    /// The tallies of `election`, if the store is bound and has it.
    pub fn tally(&self, election: usize) -> Option<Tally<'_>> {
        if self.state != BOUND_MARK || election >= self.shape.elections() {
            return None;
        }
        let from = election.checked_mul(ELECTION_TALLY_WORDS)?;
        Some(Tally {
            words: self
                .tallies
                .get(from..from.checked_add(ELECTION_TALLY_WORDS)?)?,
            candidates: self.shape.list_candidates(election),
        })
    }

    /// Check the marker, the layout against `event` and the ballot count.
    fn check_layout(&self, event: &Event<'_>) -> Result<(), StoreError> {
        match self.state {
            0 => return Err(StoreError::Unbound),
            BOUND_MARK => {}
            _ => return Err(fault(0, Fault::State)),
        }
        let expected = Shape::of(event)?;
        if expected != self.shape {
            let election = (0..MAX_ELECTIONS)
                .find(|&e| {
                    expected.len(e) != self.shape.len(e)
                        || expected.list_candidates(e) != self.shape.list_candidates(e)
                })
                .unwrap_or(0);
            return Err(fault(election, Fault::Layout));
        }
        if self.voters > self.shape.capacity {
            return Err(fault(0, Fault::Count));
        }
        Ok(())
    }

    /// Byte range of the stored ballots of `election`.
    fn used(&self, election: usize) -> Option<Range<usize>> {
        let region = self.shape.region(election)?;
        let voters = usize::try_from(self.voters).ok()?;
        let end = region
            .start
            .checked_add(voters.checked_mul(self.shape.len(election))?)?;
        (end <= region.end).then_some(region.start..end)
    }

    fn tally_words(&self, election: usize) -> Option<&[u32]> {
        let from = election.checked_mul(ELECTION_TALLY_WORDS)?;
        self.tallies
            .get(from..from.checked_add(ELECTION_TALLY_WORDS)?)
    }

    /// Recount every election's tallies from its multiset and compare; check that
    /// every ballot is canonical and in order, and that unused memory is zero.
    ///
    /// Costs one pass over the stored ballots and the store's memory.
    pub fn verify(&self, event: &Event<'_>) -> Result<(), StoreError> {
        self.check_layout(event)?;
        let elections = self.shape.elections();
        let mut pool_used = 0usize;
        for e in 0..MAX_ELECTIONS {
            let words = self.tally_words(e).ok_or(fault(e, Fault::Layout))?;
            let Some(election) = event.elections.get(e).filter(|_| e < elections) else {
                if words.iter().any(|&w| w != 0) {
                    return Err(fault(e, Fault::Residue));
                }
                continue;
            };
            let codec = BallotCodec::new(election);
            let used = self.used(e).ok_or(fault(e, Fault::Layout))?;
            let region = self.shape.region(e).ok_or(fault(e, Fault::Layout))?;
            let ballots = self.pool.get(used.clone()).ok_or(fault(e, Fault::Layout))?;
            recount(ballots, &codec, words, self.voters).map_err(|f| fault(e, f))?;
            let spare = self
                .pool
                .get(used.end..region.end)
                .ok_or(fault(e, Fault::Layout))?;
            if !all_zero(spare) {
                return Err(fault(e, Fault::Residue));
            }
            pool_used = region.end;
        }
        let tail = self.pool.get(pool_used..).ok_or(fault(0, Fault::Layout))?;
        if !all_zero(tail) {
            return Err(fault(elections.saturating_sub(1), Fault::Residue));
        }
        Ok(())
    }

    /// Add one voter's ballots: `choices[e]` is the choice in election `e` (event order).
    ///
    /// Verifies the whole store first, then checks and encodes every choice, so either
    /// every election gets its ballot or nothing changes.
    pub fn cast(&mut self, event: &Event<'_>, choices: &[Choice]) -> Result<(), StoreError> {
        self.verify(event)?;
        let elections = self.shape.elections();
        if choices.len() != elections {
            return Err(StoreError::WrongElectionCount {
                given: choices.len(),
                expected: elections,
            });
        }
        if self.voters >= self.shape.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity(),
            });
        }
        let mut encoded = Zeroizing::new([EncodedBallot::EMPTY; MAX_ELECTIONS]);
        for ((slot, choice), election) in
            encoded.iter_mut().zip(choices).zip(event.elections.iter())
        {
            *slot = BallotCodec::new(election).encode(choice)?;
        }
        for (e, (ballot, choice)) in encoded.iter().zip(choices).enumerate() {
            self.insert(e, ballot)
                .and_then(|()| self.count_in(e, choice))
                .ok_or(fault(e, Fault::Layout))?;
        }
        self.voters = self.voters.saturating_add(1);
        Ok(())
    }

    /// Insert `ballot` into election `election`'s sorted region (after equal ballots).
    fn insert(&mut self, election: usize, ballot: &EncodedBallot) -> Option<()> {
        let len = self.shape.len(election);
        let bytes = ballot.as_bytes();
        if len == 0 || bytes.len() != len {
            return None;
        }
        let used = self.used(election)?;
        let at = self.upper_bound(used.clone(), len, bytes)?;
        let from = used.start.checked_add(at.checked_mul(len)?)?;
        // Room for one more ballot: `cast` checked voters < capacity.
        let tail = self.pool.get_mut(from..used.end.checked_add(len)?)?;
        let moved = tail.len().checked_sub(len)?;
        tail.copy_within(..moved, len);
        tail.get_mut(..len)?.copy_from_slice(bytes);
        Some(())
    }

    /// Index of the first stored ballot greater than `bytes`.
    fn upper_bound(&self, used: Range<usize>, len: usize, bytes: &[u8]) -> Option<usize> {
        self.bound(used, len, |entry| entry <= bytes)
    }

    /// Index of the first stored ballot not less than `bytes`.
    fn lower_bound(&self, used: Range<usize>, len: usize, bytes: &[u8]) -> Option<usize> {
        self.bound(used, len, |entry| entry < bytes)
    }

    /// Binary search: the first index whose entry fails `before`.
    fn bound(
        &self,
        used: Range<usize>,
        len: usize,
        before: impl Fn(&[u8]) -> bool,
    ) -> Option<usize> {
        let ballots = self.pool.get(used)?;
        let (mut low, mut high) = (0usize, ballots.len().checked_div(len)?);
        while low < high {
            let mid = low.saturating_add(high.saturating_sub(low) / 2);
            let from = mid.checked_mul(len)?;
            let entry = ballots.get(from..from.checked_add(len)?)?;
            if before(entry) {
                low = mid.saturating_add(1);
            } else {
                high = mid;
            }
        }
        Some(low)
    }

    /// Add `choice` to election `election`'s tallies.
    fn count_in(&mut self, election: usize, choice: &Choice) -> Option<()> {
        let from = election.checked_mul(ELECTION_TALLY_WORDS)?;
        let words = self
            .tallies
            .get_mut(from..from.checked_add(ELECTION_TALLY_WORDS)?)?;
        bump(words, TOTAL_WORD)?;
        let list_base = |list: usize| {
            list.checked_mul(LIST_TALLY_WORDS)?
                .checked_add(FIRST_LIST_WORD)
        };
        match *choice {
            Choice::Blank => bump(words, BLANK_WORD),
            Choice::List(list) => bump(words, list_base(list.get())?.checked_add(LIST_VOTES_WORD)?),
            Choice::Preferences { list, candidates } => {
                let base = list_base(list.get())?;
                bump(words, base.checked_add(PREFERENCE_BALLOTS_WORD)?)?;
                let first = base.checked_add(FIRST_CANDIDATE_WORD)?;
                for candidate in candidates.iter() {
                    bump(words, first.checked_add(candidate)?)?;
                }
                Some(())
            }
        }
    }

    /// Copies of exactly `choice` stored for `election` (checks the layout, not the
    /// tallies; costs a binary search).
    pub fn count(
        &self,
        event: &Event<'_>,
        election: usize,
        choice: &Choice,
    ) -> Result<usize, StoreError> {
        self.check_layout(event)?;
        let count = self.shape.elections();
        let definition = event
            .elections
            .get(election)
            .filter(|_| election < count)
            .ok_or(StoreError::NoSuchElection { election, count })?;
        let ballot = Zeroizing::new(BallotCodec::new(definition).encode(choice)?);
        let len = ballot.len();
        let used = self.used(election).ok_or(fault(election, Fault::Layout))?;
        let bytes = ballot.as_bytes();
        let low = self.lower_bound(used.clone(), len, bytes);
        let high = self.upper_bound(used, len, bytes);
        match (low, high) {
            (Some(low), Some(high)) if low <= high => Ok(high.saturating_sub(low)),
            _ => Err(fault(election, Fault::Layout)),
        }
    }

    /// Bytes [`serialize`](Self::serialize) writes for the bound event now.
    pub fn serialized_len(&self, event: &Event<'_>) -> Result<usize, StoreError> {
        self.check_layout(event)?;
        let voters = usize::try_from(self.voters).map_err(|_| fault(0, Fault::Count))?;
        self.shape
            .serialized_len(voters)
            .ok_or(fault(0, Fault::Layout))
    }

    /// Write the canonical serialized store (`docs/formats/ballot-store.md`) into `buf`
    /// and return the written prefix. Verifies the store first. The bytes depend only on
    /// the event's shape and the multisets: never on the order of casting.
    pub fn serialize<'b>(
        &self,
        event: &Event<'_>,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], StoreError> {
        self.verify(event)?;
        let needed = self.serialized_len(event)?;
        if buf.len() < needed {
            return Err(StoreError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        let mut out = Writer {
            buf: &mut *buf,
            at: 0,
        };
        out.put(&STORE_MAGIC)?;
        out.put(&[STORE_FORMAT_VERSION, self.shape.elections])?;
        for e in 0..self.shape.elections() {
            let counts = self.shape.list_candidates(e);
            out.put(&[self.shape.lists.get(e).copied().unwrap_or(0)])?;
            out.put(counts)?;
        }
        out.put(&self.voters.to_be_bytes())?;
        for e in 0..self.shape.elections() {
            let used = self.used(e).ok_or(fault(e, Fault::Layout))?;
            out.put(self.pool.get(used).ok_or(fault(e, Fault::Layout))?)?;
            let words = self.tally_words(e).ok_or(fault(e, Fault::Layout))?;
            for &w in words.get(..FIRST_LIST_WORD).unwrap_or(&[]) {
                out.put(&w.to_be_bytes())?;
            }
            for (l, &candidates) in self.shape.list_candidates(e).iter().enumerate() {
                let from = l
                    .checked_mul(LIST_TALLY_WORDS)
                    .and_then(|o| o.checked_add(FIRST_LIST_WORD))
                    .ok_or(fault(e, Fault::Layout))?;
                let to = from
                    .checked_add(FIRST_CANDIDATE_WORD)
                    .and_then(|o| o.checked_add(usize::from(candidates)))
                    .ok_or(fault(e, Fault::Layout))?;
                for &w in words.get(from..to).ok_or(fault(e, Fault::Layout))? {
                    out.put(&w.to_be_bytes())?;
                }
            }
        }
        let body_len = out.at;
        let check = digest(out.buf.get(..body_len).unwrap_or(&[]));
        out.put(&check)?;
        let written = out.at;
        let buf: &'b [u8] = buf;
        buf.get(..written).ok_or(StoreError::BufferTooSmall {
            needed: written,
            available: buf.len(),
        })
    }

    /// Replace the store's contents with a serialized store of `event`, after checking
    /// the magic, version, digest, shape and length, then recounting everything
    /// ([`verify`](Self::verify)). On any error the store is left wiped and unbound.
    pub fn load(&mut self, event: &Event<'_>, bytes: &[u8]) -> Result<(), StoreError> {
        let result = self.load_checked(event, bytes);
        if result.is_err() {
            self.wipe();
        }
        result
    }

    fn load_checked(&mut self, event: &Event<'_>, bytes: &[u8]) -> Result<(), StoreError> {
        let shape = Shape::of(event)?;
        let mut header = Reader { bytes, at: 0 };
        if header.take(STORE_MAGIC.len(), Section::Magic)? != STORE_MAGIC.as_slice() {
            return Err(StoreError::Malformed {
                section: Section::Magic,
                offset: 0,
            });
        }
        let version = header.byte(Section::Version)?;
        if version != STORE_FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion { version });
        }
        let body_len = bytes
            .len()
            .checked_sub(STORE_DIGEST_BYTES)
            .filter(|&n| n >= header.at)
            .ok_or(StoreError::Malformed {
                section: Section::Digest,
                offset: bytes.len(),
            })?;
        let (body, check) = bytes.split_at(body_len);
        if digest(body) != check {
            return Err(StoreError::DigestMismatch);
        }
        let mut input = Reader {
            bytes: body,
            at: header.at,
        };
        let elections = usize::from(input.byte(Section::Shape)?);
        if elections != shape.elections() {
            return Err(StoreError::WrongElectionCount {
                given: elections,
                expected: shape.elections(),
            });
        }
        for e in 0..elections {
            let lists = usize::from(input.byte(Section::Shape)?);
            if lists != shape.lists(e) {
                return Err(StoreError::ShapeMismatch { election: e });
            }
            if input.take(lists, Section::Shape)? != shape.list_candidates(e) {
                return Err(StoreError::ShapeMismatch { election: e });
            }
        }
        let count_at = input.at;
        let voters = input.word(Section::BallotCount)?;
        if voters > shape.capacity {
            return Err(StoreError::Malformed {
                section: Section::BallotCount,
                offset: count_at,
            });
        }
        let expected = usize::try_from(voters)
            .ok()
            .and_then(|v| shape.serialized_len(v))
            .ok_or(StoreError::Malformed {
                section: Section::BallotCount,
                offset: count_at,
            })?;
        if bytes.len() != expected {
            return Err(StoreError::WrongLength {
                len: bytes.len(),
                expected,
            });
        }
        self.wipe();
        self.shape = shape;
        self.state = BOUND_MARK;
        self.voters = voters;
        self.fill(&mut input)?;
        self.verify(event)
    }

    /// Copy the ballots and tallies of a checked serialized store.
    fn fill(&mut self, input: &mut Reader<'_>) -> Result<(), StoreError> {
        for e in 0..self.shape.elections() {
            let used = self.used(e).ok_or(fault(e, Fault::Layout))?;
            let ballots = input.take(used.len(), Section::Ballots)?;
            self.pool
                .get_mut(used)
                .ok_or(fault(e, Fault::Layout))?
                .copy_from_slice(ballots);
            let shape = self.shape;
            let from = e
                .checked_mul(ELECTION_TALLY_WORDS)
                .ok_or(fault(e, Fault::Layout))?;
            let words = self
                .tallies
                .get_mut(from..from.saturating_add(ELECTION_TALLY_WORDS))
                .ok_or(fault(e, Fault::Layout))?;
            for slot in words.get_mut(..FIRST_LIST_WORD).unwrap_or(&mut []) {
                *slot = input.word(Section::Tallies)?;
            }
            for (l, &candidates) in shape.list_candidates(e).iter().enumerate() {
                let base = l
                    .checked_mul(LIST_TALLY_WORDS)
                    .and_then(|o| o.checked_add(FIRST_LIST_WORD))
                    .ok_or(fault(e, Fault::Layout))?;
                let end = base
                    .checked_add(FIRST_CANDIDATE_WORD)
                    .and_then(|o| o.checked_add(usize::from(candidates)))
                    .ok_or(fault(e, Fault::Layout))?;
                for slot in words.get_mut(base..end).ok_or(fault(e, Fault::Layout))? {
                    *slot = input.word(Section::Tallies)?;
                }
            }
        }
        if input.at != input.bytes.len() {
            return Err(StoreError::Malformed {
                section: Section::Digest,
                offset: input.at,
            });
        }
        Ok(())
    }

    /// Flip bit `bit` of a part of the store's RAM (fault injection in tests).
    #[cfg(test)]
    pub(crate) fn flip_bit_for_test(&mut self, part: RamPart, bit: usize) {
        let (byte, shift) = (bit / 8, bit % 8);
        let (word, wshift) = (bit / 32, (bit % 32) as u32);
        match part {
            RamPart::Pool => self.pool[byte] ^= 1 << shift,
            RamPart::Tallies => self.tallies[word] ^= 1 << wshift,
            RamPart::Voters => self.voters ^= 1 << wshift,
            RamPart::State => self.state ^= 1 << wshift,
            RamPart::Capacity => self.shape.capacity ^= 1 << wshift,
            RamPart::Candidates => {
                self.shape.candidates[byte / MAX_LISTS][byte % MAX_LISTS] ^= 1 << shift
            }
        }
    }
}

/// Whether every byte is zero. Written as an OR-fold (no early exit) so the compiler
/// vectorises it: `verify` scans the whole unused pool on every cast.
fn all_zero(bytes: &[u8]) -> bool {
    // Eight bytes at a time (the spare pool is most of the store): the same answer for
    // an eighth of the loop iterations.
    let mut words = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for word in &mut words {
        acc |= <[u8; 8]>::try_from(word).map_or(u64::MAX, u64::from_ne_bytes);
    }
    let rest = words.remainder().iter().fold(0u8, |acc, &b| acc | b);
    acc == 0 && rest == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ballot::tests::{any_choice, shaped_event, DEMO, LARGEST};
    use crate::ballot::{CandidateSet, ListIndex};
    use crate::election::tests::tiny_event;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::sync::Mutex;
    use std::vec::Vec;

    /// A store on the heap (tests only; the firmware keeps it in a `static`).
    fn boxed() -> Box<BallotStore> {
        Box::new(BallotStore::new())
    }

    fn counts(event: &Event<'_>, e: usize) -> Vec<usize> {
        event.elections[e]
            .lists
            .iter()
            .map(|l| l.candidates.len())
            .collect()
    }

    /// Any voter's choices for `event`, one per election.
    fn any_voter(event: &Event<'_>) -> impl Strategy<Value = Vec<Choice>> {
        let per_election: Vec<_> = (0..event.elections.len())
            .map(|e| any_choice(counts(event, e)).boxed())
            .collect();
        per_election
    }

    fn list(i: u8) -> ListIndex {
        ListIndex::new(usize::from(i), &tiny_event().elections[0]).unwrap()
    }

    fn prefs(l: u8, mask: u64) -> Choice {
        Choice::Preferences {
            list: list(l),
            candidates: CandidateSet::from_mask(mask, 4).unwrap(),
        }
    }

    /// Deterministic pseudo-random voters (SplitMix64) for fixed-size tests.
    fn voters(event: &Event<'_>, n: usize, seed: u64) -> Vec<Vec<Choice>> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..n)
            .map(|_| {
                event
                    .elections
                    .iter()
                    .map(|election| {
                        let codec = BallotCodec::new(election);
                        let pick = next();
                        let l = (pick % codec.lists() as u64) as usize;
                        let mask = next() & CandidateSet::full_mask(codec.candidates(l));
                        let list = ListIndex::new(l, election).unwrap();
                        match pick % 10 {
                            0 => Choice::Blank,
                            1..=3 => Choice::List(list),
                            _ => Choice::from_marks(
                                list,
                                true,
                                CandidateSet::from_mask(mask, 64).unwrap(),
                            )
                            .unwrap(),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn filled(event: &Event<'_>, voters: &[Vec<Choice>]) -> Box<BallotStore> {
        let mut store = boxed();
        store.reset(event).unwrap();
        for choices in voters {
            store.cast(event, choices).unwrap();
        }
        store
    }

    fn serialized(store: &BallotStore, event: &Event<'_>) -> Vec<u8> {
        let mut buf = std::vec![0u8; MAX_SERIALIZED_BYTES];
        store.serialize(event, &mut buf).unwrap().to_vec()
    }

    /// Recompute the digest after tampering (to reach the structural checks).
    fn reseal(bytes: &mut [u8]) {
        let body = bytes.len() - STORE_DIGEST_BYTES;
        let check = digest(&bytes[..body]);
        bytes[body..].copy_from_slice(&check);
    }

    #[test]
    fn ram_size_matches_the_documented_figure() {
        assert_eq!(POOL_BYTES, 135_000);
        assert_eq!(TALLY_WORDS, 21_136);
        assert_eq!(core::mem::size_of::<Shape>(), 344);
        assert_eq!(
            STORE_RAM_BYTES,
            POOL_BYTES + 4 * TALLY_WORDS + core::mem::size_of::<Shape>() + 4 + 4
        );
        assert_eq!(core::mem::size_of::<BallotStore>(), STORE_RAM_BYTES);
        const { assert!(STORE_RAM_BYTES <= 256 * 1024, "goal: at most 256 KiB") };
        assert_eq!(MAX_SERIALIZED_BYTES, 219_918);
    }

    #[test]
    fn capacity_follows_the_ballot_sizes() {
        let three_largest = shaped_event(&[LARGEST, LARGEST, LARGEST]);
        assert_eq!(BallotStore::capacity_for(&three_largest), Ok(MAX_VOTERS));
        let eight_largest = shaped_event(&[LARGEST; 8]);
        assert_eq!(BallotStore::capacity_for(&eight_largest), Ok(1_875));
        let demo = shaped_event(&DEMO);
        let demo_capacity = BallotStore::capacity_for(&demo).unwrap();
        assert_eq!(demo_capacity, POOL_BYTES / (4 + 4 + 5));
        assert!(demo_capacity >= MAX_VOTERS);
        std::println!(
            "capacity: 3 x largest {MAX_VOTERS}, 8 x largest 1875, demo {demo_capacity} voters"
        );
    }

    static SHARED: Mutex<BallotStore> = Mutex::new(BallotStore::new());

    #[test]
    fn the_store_lives_in_a_static() {
        let event = tiny_event();
        let mut store = SHARED.lock().unwrap();
        assert_eq!(store.verify(&event), Err(StoreError::Unbound));
        store.reset(&event).unwrap();
        store.cast(&event, &[Choice::Blank, Choice::Blank]).unwrap();
        store.verify(&event).unwrap();
        assert_eq!(store.ballots(0), 1);
        store.wipe();
        assert_eq!(store.ballots(0), 0);
    }

    #[test]
    fn cast_keeps_sorted_multisets_and_tallies() {
        let event = tiny_event();
        let mut store = boxed();
        store.reset(&event).unwrap();
        let e = ListIndex::new(1, &event.elections[1]).unwrap();
        let europe_prefs = Choice::Preferences {
            list: e,
            candidates: CandidateSet::from_mask(0b11, 2).unwrap(),
        };
        let casts = [
            [prefs(2, 0b1001), Choice::List(e)],
            [Choice::Blank, europe_prefs],
            [Choice::List(list(0)), Choice::Blank],
            [prefs(2, 0b1001), Choice::List(e)],
            [prefs(2, 0b0001), Choice::Blank],
        ];
        for choices in &casts {
            store.cast(&event, choices).unwrap();
        }
        store.verify(&event).unwrap();
        assert_eq!(
            (store.ballots(0), store.ballots(1), store.ballots(2)),
            (5, 5, 0)
        );
        assert_eq!(store.count(&event, 0, &prefs(2, 0b1001)), Ok(2));
        assert_eq!(store.count(&event, 0, &prefs(2, 0b1000)), Ok(0));
        assert_eq!(store.count(&event, 1, &Choice::Blank), Ok(2));
        assert_eq!(
            store.count(&event, 2, &Choice::Blank),
            Err(StoreError::NoSuchElection {
                election: 2,
                count: 2
            })
        );
        let chamber = store.tally(0).unwrap();
        assert_eq!(
            (chamber.blank(), chamber.total(), chamber.lists()),
            (1, 5, 3)
        );
        assert_eq!(chamber.list_votes(0), Some(1));
        assert_eq!(chamber.preference_ballots(2), Some(3));
        assert_eq!(chamber.preferences(2, 0), Some(3));
        assert_eq!(chamber.preferences(2, 3), Some(2));
        assert_eq!(chamber.preferences(2, 1), Some(0));
        assert_eq!(chamber.preferences(2, 4), None);
        assert_eq!(chamber.list_votes(3), None);
        let europe = store.tally(1).unwrap();
        assert_eq!((europe.blank(), europe.list_votes(1)), (2, Some(2)));
        assert_eq!(europe.preferences(1, 1), Some(1));
        assert!(store.tally(2).is_none());
        // The chamber multiset in RAM is sorted: blank, list 0, then list 2 ranks.
        let codec = BallotCodec::new(&event.elections[0]);
        let ranks: Vec<u128> = store.pool[..5]
            .chunks(1)
            .map(|b| codec.decode_rank(b).unwrap())
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }

    #[test]
    fn cast_is_all_or_nothing() {
        let event = tiny_event();
        let mut store = boxed();
        store.reset(&event).unwrap();
        store.cast(&event, &[Choice::Blank, Choice::Blank]).unwrap();
        let before = serialized(&store, &event);
        let bad_list = Choice::List(list(2)); // europe has only 2 lists
        assert_eq!(
            store.cast(&event, &[prefs(0, 1), bad_list]),
            Err(StoreError::Ballot(BallotError::InvalidListIndex {
                index: 2,
                count: 2
            }))
        );
        assert_eq!(
            store.cast(&event, &[Choice::Blank]),
            Err(StoreError::WrongElectionCount {
                given: 1,
                expected: 2
            })
        );
        assert_eq!(serialized(&store, &event), before);
        let mut unbound = boxed();
        assert_eq!(
            unbound.cast(&event, &[Choice::Blank, Choice::Blank]),
            Err(StoreError::Unbound)
        );
    }

    #[test]
    fn the_largest_three_elections_hold_max_voters() {
        let event = shaped_event(&[LARGEST, LARGEST, LARGEST]);
        let mut store = boxed();
        store.reset(&event).unwrap();
        let people = voters(&event, MAX_VOTERS, 7);
        for choices in &people {
            store.cast(&event, choices).unwrap();
        }
        assert_eq!(
            store.cast(&event, &people[0]),
            Err(StoreError::Full {
                capacity: MAX_VOTERS
            })
        );
        store.verify(&event).unwrap();
        let len = store.serialized_len(&event).unwrap();
        std::println!(
            "3 x largest, {MAX_VOTERS} voters: serialized {len} bytes (max {MAX_SERIALIZED_BYTES})"
        );
        assert!(len <= MAX_SERIALIZED_BYTES);
    }

    #[test]
    fn a_different_event_is_a_layout_fault() {
        let event = tiny_event();
        let store = filled(&event, &voters(&event, 3, 1));
        let demo = shaped_event(&DEMO);
        assert!(matches!(
            store.verify(&demo),
            Err(StoreError::IntegrityFault {
                fault: Fault::Layout,
                ..
            })
        ));
    }

    /// Every bit of the bound data (ballots, tallies, count, marker, layout) and a
    /// sample of the unused memory: any flip is an integrity fault.
    #[test]
    fn any_ram_bit_flip_is_an_integrity_fault() {
        let event = tiny_event();
        let mut store = filled(&event, &voters(&event, 100, 3));
        store.verify(&event).unwrap();
        let region1 = store.shape.region(1).unwrap();
        let mut targets: Vec<(RamPart, usize)> = Vec::new();
        // Used ballots of both elections, every bit.
        targets.extend((0..100 * 8).map(|b| (RamPart::Pool, b)));
        targets.extend((region1.start * 8..(region1.start + 100) * 8).map(|b| (RamPart::Pool, b)));
        // Unused pool: a sample spread over all of it.
        targets.extend(
            (0..POOL_BYTES * 8)
                .step_by(4_099)
                .map(|b| (RamPart::Pool, b)),
        );
        // Tallies of both bound elections, every bit; a sample of the rest.
        targets.extend(
            (0..2 * ELECTION_TALLY_WORDS * 32)
                .step_by(1)
                .filter(|b| {
                    let word = (b / 32) % ELECTION_TALLY_WORDS;
                    word < FIRST_LIST_WORD + 3 * LIST_TALLY_WORDS
                })
                .map(|b| (RamPart::Tallies, b)),
        );
        targets.extend(
            (0..TALLY_WORDS * 32)
                .step_by(997)
                .map(|b| (RamPart::Tallies, b)),
        );
        for part in [RamPart::Voters, RamPart::State, RamPart::Capacity] {
            targets.extend((0..32).map(|b| (part, b)));
        }
        targets.extend((0..MAX_ELECTIONS * MAX_LISTS * 8).map(|b| (RamPart::Candidates, b)));
        for &(part, bit) in &targets {
            store.flip_bit_for_test(part, bit);
            let result = store.verify(&event);
            assert!(
                matches!(result, Err(StoreError::IntegrityFault { .. })),
                "{part:?} bit {bit}: {result:?}"
            );
            store.flip_bit_for_test(part, bit);
        }
        store.verify(&event).unwrap();
        std::println!("{} single-bit RAM faults detected", targets.len());
    }

    #[test]
    fn the_schaerbeek_flip_is_caught_before_the_next_write() {
        // Bit 12 of a preference count: +4,096 votes for one candidate.
        let event = tiny_event();
        let mut store = filled(&event, &voters(&event, 20, 9));
        let word = FIRST_LIST_WORD + LIST_TALLY_WORDS + FIRST_CANDIDATE_WORD + 1;
        store.flip_bit_for_test(RamPart::Tallies, word * 32 + 12);
        assert!(store.tally(0).unwrap().preferences(1, 1).unwrap() >= 4_096);
        let fault = Err(StoreError::IntegrityFault {
            election: 0,
            fault: Fault::ListTally { list: 1 },
        });
        assert_eq!(store.verify(&event), fault);
        assert_eq!(store.cast(&event, &[Choice::Blank, Choice::Blank]), fault);
        let mut buf = std::vec![0u8; MAX_SERIALIZED_BYTES];
        assert_eq!(
            store.serialize(&event, &mut buf).map(|b| b.len()),
            fault.map(|()| 0)
        );
    }

    #[test]
    fn serialized_store_round_trips() {
        for event in [tiny_event(), shaped_event(&DEMO)] {
            let people = voters(&event, 250, 11);
            let store = filled(&event, &people);
            let bytes = serialized(&store, &event);
            assert_eq!(bytes.len(), store.serialized_len(&event).unwrap());
            assert_eq!(&bytes[..8], &STORE_MAGIC);
            let mut copy = boxed();
            copy.load(&event, &bytes).unwrap();
            assert_eq!(serialized(&copy, &event), bytes);
            assert_eq!(copy.ballots(0), 250);
            for (e, _) in event.elections.iter().enumerate() {
                assert_eq!(copy.tally(e).unwrap().words, store.tally(e).unwrap().words);
                for choices in people.iter().take(20) {
                    let n = people.iter().filter(|p| p[e] == choices[e]).count();
                    assert_eq!(copy.count(&event, e, &choices[e]), Ok(n));
                }
            }
        }
    }

    #[test]
    fn worked_example_of_the_store_format() {
        // docs/formats/ballot-store.md
        let event = tiny_event();
        let mut store = boxed();
        store.reset(&event).unwrap();
        store
            .cast(&event, &[Choice::List(list(0)), Choice::Blank])
            .unwrap();
        let bytes = serialized(&store, &event);
        let mut expected: Vec<u8> = Vec::new();
        expected.extend_from_slice(b"VT-STORE");
        expected.extend_from_slice(&[1, 2, 3, 4, 4, 4, 2, 2, 2, 0, 0, 0, 1]);
        expected.push(0x04);
        let word = |v: &mut Vec<u8>, w: u32| v.extend_from_slice(&w.to_be_bytes());
        for w in [0, 1, 1, 0, 0, 0, 0, 0] {
            word(&mut expected, w);
        }
        for _ in 0..12 {
            word(&mut expected, 0);
        }
        expected.push(0x00);
        for w in [1, 1] {
            word(&mut expected, w);
        }
        for _ in 0..8 {
            word(&mut expected, 0);
        }
        assert_eq!(bytes.len(), 175);
        assert_eq!(&bytes[..143], &expected[..]);
        let hex: std::string::String = bytes[143..]
            .iter()
            .map(|b| std::format!("{b:02x}"))
            .collect();
        std::println!("worked example digest: {hex}");
        assert_eq!(hex, WORKED_EXAMPLE_DIGEST);
    }

    /// The digest of the worked example, as printed in docs/formats/ballot-store.md.
    const WORKED_EXAMPLE_DIGEST: &str =
        "bca2431089106a678c32c5b6abdad25092ffd5dfe6a9ecc74e4049d91559e432";

    #[test]
    fn an_empty_store_serializes_and_loads() {
        let event = tiny_event();
        let mut store = boxed();
        store.reset(&event).unwrap();
        let bytes = serialized(&store, &event);
        let mut copy = boxed();
        copy.load(&event, &bytes).unwrap();
        assert_eq!(copy.ballots(1), 0);
        copy.verify(&event).unwrap();
        let mut small = [0u8; 16];
        assert_eq!(
            store.serialize(&event, &mut small),
            Err(StoreError::BufferTooSmall {
                needed: bytes.len(),
                available: 16
            })
        );
    }

    fn every_bit_flip_is_refused(event: &Event<'_>) -> usize {
        let store = filled(event, &voters(event, 100, 5));
        let bytes = serialized(&store, event);
        let mut target = boxed();
        target.load(event, &bytes).unwrap();
        let mut flipped = bytes.clone();
        for bit in 0..bytes.len() * 8 {
            flipped[bit / 8] ^= 1 << (bit % 8);
            let result = target.load(event, &flipped);
            assert!(result.is_err(), "bit {bit} accepted");
            assert_eq!(target.verify(event), Err(StoreError::Unbound), "wiped");
            flipped[bit / 8] ^= 1 << (bit % 8);
        }
        target.load(event, &flipped).unwrap();
        bytes.len()
    }

    #[test]
    fn every_single_bit_flip_of_a_serialized_store_is_detected() {
        let tiny = every_bit_flip_is_refused(&tiny_event());
        let demo = every_bit_flip_is_refused(&shaped_event(&DEMO));
        std::println!(
            "100 voters: tiny event {tiny} bytes, demo event {demo} bytes; all flips refused"
        );
    }

    /// Swap the first two different chamber ballots of one list (tiny event: list `l`
    /// owns ranks `1 + 16 l .. 17 + 16 l`, stored as `rank << 2`).
    #[allow(clippy::ptr_arg)] // a `Tamper` also inserts bytes
    fn swap_within_a_list(bytes: &mut Vec<u8>) {
        let list_of = |b: u8| (b >> 2).saturating_sub(1) / 16;
        let i = (21..120)
            .find(|&i| {
                bytes[i] >> 2 != 0
                    && bytes[i] != bytes[i + 1]
                    && list_of(bytes[i]) == list_of(bytes[i + 1])
            })
            .unwrap();
        bytes.swap(i, i + 1);
    }

    /// Tampering with a valid digest still fails on the structure, order and recount.
    #[test]
    fn structural_checks_hold_without_the_digest() {
        let event = tiny_event();
        let store = filled(&event, &voters(&event, 100, 5));
        let bytes = serialized(&store, &event);
        let mut target = boxed();
        // Offsets: header 10, shape 4 + 3, count 4, chamber ballots 100.
        let ballots = 10 + 7 + 4;
        let tallies = ballots + 100;
        type Tamper = fn(&mut Vec<u8>);
        type Expect = fn(&StoreError) -> bool;
        let cases: [(&str, Tamper, Expect); 8] = [
            ("unsorted", swap_within_a_list, |e| {
                matches!(
                    e,
                    StoreError::IntegrityFault {
                        election: 0,
                        fault: Fault::Unsorted { .. }
                    }
                )
            }),
            (
                "tally",
                |b| b[121 + 11] ^= 1,
                |e| {
                    matches!(
                        e,
                        StoreError::IntegrityFault {
                            election: 0,
                            fault: Fault::ListTally { list: 0 }
                        }
                    )
                },
            ),
            (
                "blank",
                |b| b[121 + 3] ^= 1,
                |e| {
                    matches!(
                        e,
                        StoreError::IntegrityFault {
                            election: 0,
                            fault: Fault::Blank
                        }
                    )
                },
            ),
            (
                "padding",
                |b| b[120] |= 1,
                |e| {
                    matches!(
                        e,
                        StoreError::IntegrityFault {
                            election: 0,
                            fault: Fault::NonCanonical { index: 99 }
                        }
                    )
                },
            ),
            (
                "count",
                |b| b[20] -= 1,
                |e| matches!(e, StoreError::WrongLength { .. }),
            ),
            (
                "shape",
                |b| b[11] ^= 1,
                |e| matches!(e, StoreError::ShapeMismatch { election: 0 }),
            ),
            (
                "elections",
                |b| b[9] = 3,
                |e| {
                    matches!(
                        e,
                        StoreError::WrongElectionCount {
                            given: 3,
                            expected: 2
                        }
                    )
                },
            ),
            (
                "trailing",
                |b| b.insert(b.len() - STORE_DIGEST_BYTES, 0),
                |e| matches!(e, StoreError::WrongLength { .. }),
            ),
        ];
        assert_eq!(bytes[ballots - 1], 100);
        assert_eq!(tallies, 121);
        for (name, tamper, expect) in cases {
            let mut bad = bytes.clone();
            tamper(&mut bad);
            reseal(&mut bad);
            let result = target.load(&event, &bad);
            assert!(matches!(&result, Err(e) if expect(e)), "{name}: {result:?}");
        }
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert_eq!(
            target.load(&event, &bad),
            Err(StoreError::Malformed {
                section: Section::Magic,
                offset: 0
            })
        );
        let mut bad = bytes.clone();
        bad[8] = 2;
        assert_eq!(
            target.load(&event, &bad),
            Err(StoreError::UnsupportedVersion { version: 2 })
        );
        let mut bad = bytes.clone();
        bad.push(0);
        assert_eq!(target.load(&event, &bad), Err(StoreError::DigestMismatch));
        assert!(target.load(&event, &bytes[..5]).is_err());
        assert!(target.load(&shaped_event(&DEMO), &bytes).is_err());
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let event = shaped_event(&DEMO);
        let mut store = filled(&event, &voters(&event, 50, 2));
        store.wipe();
        assert!(store.pool.iter().all(|&b| b == 0));
        assert!(store.tallies.iter().all(|&w| w == 0));
        assert_eq!(store.shape, Shape::EMPTY);
        assert_eq!((store.state, store.voters), (0, 0));
        assert_eq!(store.verify(&event), Err(StoreError::Unbound));
    }

    #[test]
    fn events_the_store_cannot_hold_are_refused() {
        let mut event = tiny_event();
        event.elections[1].lists.clear();
        let mut store = boxed();
        assert_eq!(
            store.reset(&event),
            Err(StoreError::EmptyElection { election: 1 })
        );
        event.elections.clear();
        assert_eq!(store.reset(&event), Err(StoreError::NoElections));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The serialized store depends only on the multisets, never on casting order.
        #[test]
        fn serialization_is_independent_of_casting_order(
            (people, shuffled) in proptest::collection::vec(any_voter(&shaped_event(&DEMO)), 0..40)
                .prop_flat_map(|people| (Just(people.clone()), Just(people).prop_shuffle()))
        ) {
            let event = shaped_event(&DEMO);
            let a = serialized(&filled(&event, &people), &event);
            let b = serialized(&filled(&event, &shuffled), &event);
            prop_assert_eq!(a, b);
        }

        /// Tallies and counts agree with a naive count of the cast choices.
        #[test]
        fn tallies_match_a_naive_count(
            people in proptest::collection::vec(any_voter(&tiny_event()), 0..60)
        ) {
            let event = tiny_event();
            let store = filled(&event, &people);
            store.verify(&event).unwrap();
            for e in 0..2 {
                let tally = store.tally(e).unwrap();
                let of = |f: &dyn Fn(&Choice) -> bool| {
                    u32::try_from(people.iter().filter(|p| f(&p[e])).count()).unwrap()
                };
                prop_assert_eq!(tally.total(), of(&|_| true));
                prop_assert_eq!(tally.blank(), of(&|c| *c == Choice::Blank));
                for l in 0..tally.lists() {
                    prop_assert_eq!(tally.list_votes(l), Some(of(&|c| matches!(c, Choice::List(x) if x.get() == l))));
                    prop_assert_eq!(tally.preference_ballots(l), Some(of(&|c| matches!(c, Choice::Preferences { list, .. } if list.get() == l))));
                    for k in 0..event.elections[e].lists[l].candidates.len() {
                        prop_assert_eq!(tally.preferences(l, k), Some(of(&|c| matches!(c, Choice::Preferences { list, candidates } if list.get() == l && candidates.contains(k)))));
                    }
                }
                for p in &people {
                    let n = people.iter().filter(|q| q[e] == p[e]).count();
                    prop_assert_eq!(store.count(&event, e, &p[e]), Ok(n));
                }
            }
        }
    }
}
