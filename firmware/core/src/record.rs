//! The record body inside a sealed record, and the terminal's recorder that seals and
//! writes it to the results media.
//!
//! The body is opaque to [`crate::seal`]: this module defines it. Fixed layout, all
//! integers little-endian (see `docs/formats/sealed-record.md`, "Record body"):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 6 | `magic` = [`RECORD_BODY_MAGIC`] (`VTBODY`) |
//! | 6 | 2 | `version` = [`RECORD_BODY_VERSION`] |
//! | 8 | 1 | `poll_state`: 0 open, 1 closed (equals the sealed header's) |
//! | 9 | 4 | `activations` |
//! | 13 | 4 | `cast` |
//! | 17 | 4 | `cancelled` |
//! | 21 | 4 | `store_len` |
//! | 25 | `store_len` | the serialized ballot store (`docs/formats/ballot-store.md`) |
//!
//! Nothing may follow the store. Records are only written with no voter in the booth, so
//! `activations = cast + cancelled` always holds, and every election holds `cast` ballots.
//! [`RecordBody::load`] enforces both at the office.

use crate::election::Event;
use crate::hal::{Entropy, EntropyError, Media};
use crate::media::{Binding, SessionArea, Volume, VolumeError};
use crate::seal::{
    self, Identifier, PollState, RecordHeader, SealError, SessionKey, DIGEST_BYTES,
    PUBLIC_KEY_BYTES, SEAL_OVERHEAD_BYTES, SIGNATURE_BYTES,
};
use crate::store::{BallotStore, StoreError, MAX_SERIALIZED_BYTES};
use crate::terminal::Counters;
use crate::ticket;
use core::fmt;
use zeroize::Zeroize;

/// Magic at the start of every record body.
pub const RECORD_BODY_MAGIC: [u8; 6] = *b"VTBODY";
/// Version of the record body layout.
pub const RECORD_BODY_VERSION: u16 = 1;
/// Bytes before the serialized store: magic, version, poll state, three counters, length.
pub const BODY_HEADER_BYTES: usize = RECORD_BODY_MAGIC.len() + 2 + 1 + 4 * 3 + 4;
/// Largest record body: the header and the largest serialized store.
pub const MAX_RECORD_BODY_BYTES: usize = BODY_HEADER_BYTES + MAX_SERIALIZED_BYTES;
/// Largest sealed record the terminal writes.
pub const MAX_SEALED_RECORD_BYTES: usize = MAX_RECORD_BODY_BYTES + SEAL_OVERHEAD_BYTES;
/// Most voters a session records (the design capacity; slots on the media are sized for it).
pub const MAX_RECORDED_VOTERS: usize = crate::store::MAX_VOTERS;

/// Errors of the record body and the recorder. Each has a stable [`RecordError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The body does not start with [`RECORD_BODY_MAGIC`].
    BadMagic,
    /// The body has a version other than [`RECORD_BODY_VERSION`].
    UnsupportedVersion {
        /// Version found.
        version: u16,
    },
    /// The poll state byte is neither 0 nor 1.
    BadPollState {
        /// Byte found.
        byte: u8,
    },
    /// The body is shorter than its header says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// Bytes follow the serialized store.
    TrailingBytes {
        /// Bytes expected.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The caller's buffer cannot hold the body.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The body's poll state differs from the sealed header's.
    StateMismatch,
    /// `activations` differs from `cast + cancelled`.
    CountersUnbalanced {
        /// Voters activated.
        activations: u32,
        /// Ballots cast.
        cast: u32,
        /// Sessions cancelled.
        cancelled: u32,
    },
    /// An election holds a number of ballots other than `cast`.
    CastMismatch {
        /// 0-based election index.
        election: usize,
        /// Ballots in the store.
        stored: usize,
        /// The cast counter.
        cast: u32,
    },
    /// The serialized store is refused (integrity, recount or shape).
    Store(StoreError),
    /// The results media refused or failed (codes 6xx).
    Volume(VolumeError),
    /// Sealing failed (codes 7xx).
    Seal(SealError),
    /// The session already recorded [`MAX_RECORDED_VOTERS`] voters.
    VoterLimit {
        /// The limit.
        limit: usize,
    },
    /// No record buffers were given to the app ([`crate::app::App::attach_records`]).
    NoBuffers,
}

impl RecordError {
    /// Stable code: the media's 6xx and sealing's 7xx codes pass through; 8xx are the
    /// record body's own.
    pub const fn code(&self) -> u16 {
        match self {
            RecordError::Volume(e) => e.code(),
            RecordError::Seal(e) => e.code(),
            RecordError::BadMagic => 801,
            RecordError::UnsupportedVersion { .. } => 802,
            RecordError::BadPollState { .. } => 803,
            RecordError::Truncated { .. } => 804,
            RecordError::TrailingBytes { .. } => 805,
            RecordError::BufferTooSmall { .. } => 806,
            RecordError::StateMismatch => 807,
            RecordError::CountersUnbalanced { .. } => 808,
            RecordError::CastMismatch { .. } => 809,
            RecordError::Store(_) => 810,
            RecordError::VoterLimit { .. } => 811,
            RecordError::NoBuffers => 812,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code();
        match self {
            RecordError::BadMagic => write!(f, "E{code}: record body: bad magic"),
            RecordError::UnsupportedVersion { version } => {
                write!(f, "E{code}: record body: unsupported version {version}")
            }
            RecordError::BadPollState { byte } => {
                write!(f, "E{code}: record body: poll_state byte {byte} (must be 0 or 1)")
            }
            RecordError::Truncated { needed, available } => write!(
                f,
                "E{code}: record body: truncated ({available} bytes, needs {needed})"
            ),
            RecordError::TrailingBytes { expected, actual } => write!(
                f,
                "E{code}: record body: {actual} bytes, expected exactly {expected}"
            ),
            RecordError::BufferTooSmall { needed, available } => write!(
                f,
                "E{code}: record body: buffer of {available} bytes, needs {needed}"
            ),
            RecordError::StateMismatch => write!(
                f,
                "E{code}: record body: poll_state differs from the sealed header"
            ),
            RecordError::CountersUnbalanced {
                activations,
                cast,
                cancelled,
            } => write!(
                f,
                "E{code}: record body: activations {activations} != cast {cast} + cancelled {cancelled}"
            ),
            RecordError::CastMismatch {
                election,
                stored,
                cast,
            } => write!(
                f,
                "E{code}: record body: election {election} holds {stored} ballots, cast counter is {cast}"
            ),
            RecordError::Store(e) => write!(f, "E{code}: record body: ballot store: {e}"),
            RecordError::Volume(e) => write!(f, "E{code}: results media: {e}"),
            RecordError::Seal(e) => write!(f, "E{code}: {e}"),
            RecordError::VoterLimit { limit } => {
                write!(f, "E{code}: this session recorded its {limit} voters")
            }
            RecordError::NoBuffers => write!(f, "E{code}: no record buffers attached"),
        }
    }
}

impl From<VolumeError> for RecordError {
    fn from(e: VolumeError) -> RecordError {
        RecordError::Volume(e)
    }
}

impl From<SealError> for RecordError {
    fn from(e: SealError) -> RecordError {
        RecordError::Seal(e)
    }
}

impl From<StoreError> for RecordError {
    fn from(e: StoreError) -> RecordError {
        RecordError::Store(e)
    }
}

/// A decoded record body; the store bytes are borrowed, not yet loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordBody<'b> {
    /// Open or closed.
    pub state: PollState,
    /// The counters when the record was written.
    pub counters: Counters,
    /// The serialized ballot store.
    pub store: &'b [u8],
}

fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) -> Result<(), RecordError> {
    let available = out.len();
    let end = at
        .checked_add(bytes.len())
        .ok_or(RecordError::BufferTooSmall {
            needed: usize::MAX,
            available,
        })?;
    out.get_mut(*at..end)
        .ok_or(RecordError::BufferTooSmall {
            needed: end,
            available,
        })?
        .copy_from_slice(bytes);
    *at = end;
    Ok(())
}

fn take<'b, const N: usize>(bytes: &'b [u8], at: &mut usize) -> Result<[u8; N], RecordError> {
    let truncated = RecordError::Truncated {
        needed: BODY_HEADER_BYTES,
        available: bytes.len(),
    };
    let end = at.checked_add(N).ok_or(truncated)?;
    let field: &'b [u8] = bytes.get(*at..end).ok_or(truncated)?;
    *at = end;
    field.try_into().map_err(|_| truncated)
}

impl<'b> RecordBody<'b> {
    /// Encode the body for `store` (serialized for `event`, verified first) into `out`;
    /// returns the written prefix. Canonical: the bytes depend only on the arguments.
    pub fn encode<'o>(
        state: PollState,
        counters: Counters,
        store: &BallotStore,
        event: &Event<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], RecordError> {
        let available = out.len();
        let (head, rest) =
            out.split_at_mut_checked(BODY_HEADER_BYTES)
                .ok_or(RecordError::BufferTooSmall {
                    needed: BODY_HEADER_BYTES,
                    available,
                })?;
        let store_len = store.serialize(event, rest)?.len();
        let store_len_u32 = u32::try_from(store_len).map_err(|_| RecordError::BufferTooSmall {
            needed: store_len,
            available,
        })?;
        let mut at = 0;
        put(head, &mut at, &RECORD_BODY_MAGIC)?;
        put(head, &mut at, &RECORD_BODY_VERSION.to_le_bytes())?;
        put(head, &mut at, &[state.byte()])?;
        put(head, &mut at, &counters.activations.to_le_bytes())?;
        put(head, &mut at, &counters.cast.to_le_bytes())?;
        put(head, &mut at, &counters.cancelled.to_le_bytes())?;
        put(head, &mut at, &store_len_u32.to_le_bytes())?;
        let total = BODY_HEADER_BYTES.saturating_add(store_len);
        let out: &'o [u8] = out;
        out.get(..total).ok_or(RecordError::BufferTooSmall {
            needed: total,
            available,
        })
    }

    /// Parse a body: magic, version, poll state and exact length. The store is checked by
    /// [`RecordBody::load`].
    pub fn decode(bytes: &'b [u8]) -> Result<RecordBody<'b>, RecordError> {
        if bytes.get(..RECORD_BODY_MAGIC.len().min(bytes.len()))
            != RECORD_BODY_MAGIC.get(..RECORD_BODY_MAGIC.len().min(bytes.len()))
        {
            return Err(RecordError::BadMagic);
        }
        let mut at = 0;
        let _magic: [u8; 6] = take(bytes, &mut at)?;
        let version = u16::from_le_bytes(take(bytes, &mut at)?);
        if version != RECORD_BODY_VERSION {
            return Err(RecordError::UnsupportedVersion { version });
        }
        let [byte] = take::<1>(bytes, &mut at)?;
        let state = PollState::from_byte(byte).ok_or(RecordError::BadPollState { byte })?;
        let activations = u32::from_le_bytes(take(bytes, &mut at)?);
        let cast = u32::from_le_bytes(take(bytes, &mut at)?);
        let cancelled = u32::from_le_bytes(take(bytes, &mut at)?);
        let store_len = u32::from_le_bytes(take(bytes, &mut at)?);
        let expected = usize::try_from(store_len)
            .ok()
            .and_then(|l| l.checked_add(BODY_HEADER_BYTES))
            .ok_or(RecordError::Truncated {
                needed: usize::MAX,
                available: bytes.len(),
            })?;
        if bytes.len() < expected {
            return Err(RecordError::Truncated {
                needed: expected,
                available: bytes.len(),
            });
        }
        if bytes.len() > expected {
            return Err(RecordError::TrailingBytes {
                expected,
                actual: bytes.len(),
            });
        }
        Ok(RecordBody {
            state,
            counters: Counters {
                activations,
                cast,
                cancelled,
            },
            store: bytes.get(BODY_HEADER_BYTES..).unwrap_or(&[]),
        })
    }

    /// Load the serialized store into `store` (full integrity check and recount against
    /// the stored tallies), then check the counters: balanced, and `cast` ballots in every
    /// election. On error `store` is left wiped.
    pub fn load(&self, event: &Event<'_>, store: &mut BallotStore) -> Result<(), RecordError> {
        store.load(event, self.store)?;
        let Counters {
            activations,
            cast,
            cancelled,
        } = self.counters;
        let result = if !self.counters.balanced() {
            Err(RecordError::CountersUnbalanced {
                activations,
                cast,
                cancelled,
            })
        } else {
            (0..event.elections.len()).try_for_each(|election| {
                let stored = store.ballots(election);
                if u64::try_from(stored).ok() == Some(u64::from(cast)) {
                    Ok(())
                } else {
                    Err(RecordError::CastMismatch {
                        election,
                        stored,
                        cast,
                    })
                }
            })
        };
        if result.is_err() {
            store.wipe();
        }
        result
    }
}

/// The terminal's buffers for one record: the plaintext body and the sealed record
/// (`MAX_RECORD_BODY_BYTES + MAX_SEALED_RECORD_BYTES` bytes, about 440 KB). Large: put it
/// in a `static` or on the heap of a host, never on the stack. The body is zeroized after
/// every seal and on drop.
pub struct RecordScratch {
    body: [u8; MAX_RECORD_BODY_BYTES],
    sealed: [u8; MAX_SEALED_RECORD_BYTES],
}

impl RecordScratch {
    /// Zeroed buffers (usable in a `static`).
    pub const fn new() -> RecordScratch {
        RecordScratch {
            body: [0; MAX_RECORD_BODY_BYTES],
            sealed: [0; MAX_SEALED_RECORD_BYTES],
        }
    }

    /// Zeroize both buffers.
    pub fn wipe(&mut self) {
        self.body.zeroize();
        self.sealed.zeroize();
    }
}

impl Default for RecordScratch {
    fn default() -> RecordScratch {
        RecordScratch::new()
    }
}

impl Drop for RecordScratch {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for RecordScratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordScratch").finish_non_exhaustive()
    }
}

/// Adapts a `dyn Entropy` to the sized generic the sealing API takes.
struct DynEntropy<'e>(&'e mut dyn Entropy);

impl Entropy for DynEntropy<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        self.0.fill(buf)
    }
}

/// The largest body this terminal writes for `event`: [`MAX_RECORDED_VOTERS`] voters.
/// `empty` is a store reset for `event` (no ballots).
pub fn max_body_len(event: &Event<'_>, empty: &BallotStore) -> Result<usize, RecordError> {
    let base = empty.serialized_len(event)?;
    let per_voter = event
        .elections
        .iter()
        .map(|e| crate::ballot::BallotCodec::new(e).len_bytes())
        .fold(0usize, usize::saturating_add);
    Ok(base
        .saturating_add(per_voter.saturating_mul(MAX_RECORDED_VOTERS))
        .saturating_add(BODY_HEADER_BYTES)
        .min(MAX_RECORD_BODY_BYTES))
}

/// What one record states: poll state, counters and the ballot store of the event.
#[derive(Clone, Copy)]
pub struct RecordContent<'c> {
    /// Open or closed (the session's final record).
    pub state: PollState,
    /// The terminal's counters.
    pub counters: Counters,
    /// The ballot store.
    pub store: &'c BallotStore,
    /// The election event the store is bound to.
    pub event: &'c Event<'c>,
}

impl fmt::Debug for RecordContent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordContent")
            .field("state", &self.state)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Bytes of the record's signed part one [`Recorder::step`] hashes (SHA-256 costs about
/// 125 instructions a byte in the wasm interpreter: about 2 million a step).
pub const HASH_BYTES_PER_STEP: usize = 16 * 1024;

/// One poll session's writer: the session key, the media area and the next generation.
pub struct Recorder {
    area: SessionArea,
    key: SessionKey,
    header: RecordHeader,
    office_public: [u8; 32],
    voter_limit: usize,
    /// The key agreement for the next record, once prepared ([`Recorder::prepare`]).
    next: Option<seal::Ephemeral>,
    /// Its first half, between the two preparation steps.
    setup: Option<seal::EphemeralSetup>,
}

/// One record write in progress ([`Recorder::begin`], then [`Recorder::step`] until it is
/// done). Each step is bounded in cost, so a terminal can spread a write over several
/// ticks; the record is on the media only when the last step returns `true`.
#[derive(Debug)]
pub struct RecordWrite {
    generation: u64,
    header: RecordHeader,
    stage: WriteStage,
}

/// What the next step of a [`RecordWrite`] does.
#[derive(Debug)]
enum WriteStage {
    /// Encode the record body (the store is recounted and serialized).
    Encode,
    /// Encrypt the body of `len` bytes, once a key agreement is prepared.
    Encrypt { len: usize },
    /// Hash the signed part, [`HASH_BYTES_PER_STEP`] a step.
    Hash(seal::Sealer),
    /// Sign it.
    Sign(seal::Sealer),
    /// Write the record of `len` bytes to the media and flush.
    Store { len: usize },
    /// Written (or failed).
    Done,
}

impl RecordWrite {
    /// The generation this write gives the record.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the record is written (or the write failed).
    pub fn is_done(&self) -> bool {
        matches!(self.stage, WriteStage::Done)
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("area", &self.area.area())
            .field("generation", &self.area.generation())
            .finish_non_exhaustive()
    }
}

/// What a recorder binds its records to.
#[derive(Debug, Clone, Copy)]
pub struct RecorderSetup<'s> {
    /// The election event.
    pub event: &'s Event<'s>,
    /// The polling station id.
    pub station: &'s str,
    /// Fingerprint of the running boot image.
    pub image_digest: [u8; DIGEST_BYTES],
    /// The office X25519 key records are sealed to.
    pub office_public: [u8; 32],
}

impl Recorder {
    /// At poll opening: mount (or initialise blank) media for this event and station, take
    /// a new area, and draw a new session key. `empty` is the store just reset for the
    /// event (used to size the slots).
    pub fn open(
        setup: &RecorderSetup<'_>,
        empty: &BallotStore,
        media: &mut dyn Media,
        entropy: &mut dyn Entropy,
    ) -> Result<Recorder, RecordError> {
        let event_id = Identifier::new(setup.event.id)?;
        let station_id = Identifier::new(setup.station)?;
        let body_capacity = max_body_len(setup.event, empty)?;
        let record_capacity = seal::sealed_len(body_capacity).ok_or(SealError::BodyTooLarge {
            len: body_capacity,
            max: seal::MAX_BODY_BYTES,
        })?;
        let binding = Binding {
            event_id,
            station_id,
        };
        let mut rng = DynEntropy(entropy);
        let volume = Volume::open_for_poll(media, &binding, record_capacity, &mut rng)?;
        let area = volume.start_session(media)?;
        let key = SessionKey::generate(&mut rng)?;
        let voter_limit = BallotStore::capacity_for(setup.event)?.min(MAX_RECORDED_VOTERS);
        Ok(Recorder {
            area,
            key,
            header: RecordHeader {
                event_id,
                station_id,
                image_digest: setup.image_digest,
                generation: 1,
                state: PollState::Open,
            },
            office_public: setup.office_public,
            voter_limit,
            next: None,
            setup: None,
        })
    }

    /// The media area of this session.
    pub fn area(&self) -> u32 {
        self.area.area()
    }

    /// The generation of the last completed write (`None` before the first).
    pub fn generation(&self) -> Option<u64> {
        self.area.generation()
    }

    /// SHA-256 of the session public key (printed on the opening report).
    pub fn fingerprint(&self) -> [u8; DIGEST_BYTES] {
        self.key.fingerprint()
    }

    /// Most voters this session can record.
    pub fn voter_limit(&self) -> usize {
        self.voter_limit
    }

    /// The session's Ed25519 public key (in every record header and on every voter ticket).
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.key.public_key()
    }

    /// Sign a voter ticket with the session key: Ed25519 over
    /// [`ticket::TICKET_SIGNATURE_LABEL`] followed by `unsigned` (the ticket body before
    /// its signature, see [`ticket::signed_message`]). The label keeps a ticket signature
    /// from ever passing for a record signature. The seed stays inside the session key
    /// (zeroized on drop); the key pair is derived for this one signature.
    pub fn sign_ticket(&self, unsigned: &[u8]) -> Result<[u8; SIGNATURE_BYTES], RecordError> {
        let mut message = [0u8; ticket::MAX_TICKET_MESSAGE_BYTES];
        let signed = ticket::signed_message(unsigned, &mut message)
            .map_err(|_| RecordError::BufferTooSmall {
                needed: unsigned.len(),
                available: ticket::MAX_TICKET_BODY_BYTES,
            })
            .and_then(|message| self.key.sign(message).map_err(RecordError::Seal));
        message.zeroize();
        signed
    }

    /// Encode, seal and write the current record. Returns only after the media flushed:
    /// then, and only then, the record is on the media. A failed write leaves the previous
    /// record as the area's current one; the next write retries the same slot with a new
    /// generation. This is [`Recorder::begin`] and every [`Recorder::step`] at once.
    pub fn write(
        &mut self,
        content: &RecordContent<'_>,
        scratch: &mut RecordScratch,
        media: &mut dyn Media,
        entropy: &mut dyn Entropy,
    ) -> Result<(), RecordError> {
        let mut job = self.begin(content.state)?;
        while !self.step(&mut job, content, scratch, media, entropy)? {}
        Ok(())
    }

    /// Start writing the current record with poll state `state`, in steps. Every write
    /// (and every attempt after a failed one) takes a fresh generation, so a record key is
    /// never reused even if a cut write is retried.
    pub fn begin(&mut self, state: PollState) -> Result<RecordWrite, RecordError> {
        let generation = self.header.generation;
        self.header.generation = generation.checked_add(1).ok_or(SealError::ZeroGeneration)?;
        Ok(RecordWrite {
            generation,
            header: RecordHeader {
                generation,
                state,
                ..self.header
            },
            stage: WriteStage::Encode,
        })
    }

    /// Do the next step of `job`, each bounded in cost: encode the body, prepare the key
    /// agreement if it is not ready (two steps), encrypt, hash
    /// ([`HASH_BYTES_PER_STEP`] a step), sign, then write to the media and flush. Returns
    /// `true` when the record is on the media. `content` must be the same for every step
    /// of a write. On error the write is over (its body zeroized); the record on the media
    /// stays the previous one.
    pub fn step(
        &mut self,
        job: &mut RecordWrite,
        content: &RecordContent<'_>,
        scratch: &mut RecordScratch,
        media: &mut dyn Media,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, RecordError> {
        let result = self.advance(job, content, scratch, media, entropy);
        if result.is_err() {
            job.stage = WriteStage::Done;
            scratch.body.zeroize();
        }
        result
    }

    fn advance(
        &mut self,
        job: &mut RecordWrite,
        content: &RecordContent<'_>,
        scratch: &mut RecordScratch,
        media: &mut dyn Media,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, RecordError> {
        match core::mem::replace(&mut job.stage, WriteStage::Done) {
            WriteStage::Encode => {
                let RecordContent {
                    counters,
                    store,
                    event,
                    ..
                } = *content;
                let len = RecordBody::encode(
                    job.header.state,
                    counters,
                    store,
                    event,
                    &mut scratch.body,
                )?
                .len();
                job.stage = WriteStage::Encrypt { len };
                Ok(false)
            }
            WriteStage::Encrypt { len } => {
                let Some(ephemeral) = self.next.as_ref() else {
                    self.prepare(entropy)?;
                    job.stage = WriteStage::Encrypt { len };
                    return Ok(false);
                };
                let body = scratch.body.get(..len).ok_or(RecordError::BufferTooSmall {
                    needed: len,
                    available: MAX_RECORD_BODY_BYTES,
                })?;
                let sealer = seal::Sealer::encrypt(
                    &job.header,
                    body,
                    &self.office_public,
                    &self.key.public_key(),
                    ephemeral,
                    &mut scratch.sealed,
                );
                // One agreement, one record: dropped (zeroized) where it lies.
                self.next = None;
                if let Some(used) = scratch.body.get_mut(..len) {
                    used.zeroize();
                }
                job.stage = WriteStage::Hash(sealer?);
                Ok(false)
            }
            WriteStage::Hash(mut sealer) => {
                job.stage = if sealer.hash(&scratch.sealed, HASH_BYTES_PER_STEP) {
                    WriteStage::Sign(sealer)
                } else {
                    WriteStage::Hash(sealer)
                };
                Ok(false)
            }
            WriteStage::Sign(sealer) => {
                let len = sealer.sign(&self.key, &mut scratch.sealed)?;
                job.stage = WriteStage::Store { len };
                Ok(false)
            }
            WriteStage::Store { len } => {
                let record = scratch
                    .sealed
                    .get(..len)
                    .ok_or(RecordError::BufferTooSmall {
                        needed: len,
                        available: MAX_SEALED_RECORD_BYTES,
                    })?;
                self.area.write(media, job.generation, record)?;
                Ok(true)
            }
            WriteStage::Done => Ok(true),
        }
    }

    /// One step of preparing the key agreement of the next record (two steps of about
    /// equal cost: the ephemeral key pair, then the shared secret with the office key);
    /// whether it is ready. Terminals call it when idle, so that a write does not wait.
    pub fn prepare(&mut self, entropy: &mut dyn Entropy) -> Result<bool, RecordError> {
        if self.next.is_some() {
            return Ok(true);
        }
        // The secrets stay where they are made and are dropped (zeroized) there: moving
        // them out would leave copies behind.
        match &self.setup {
            None => {
                self.setup = Some(seal::EphemeralSetup::new(&mut DynEntropy(entropy))?);
                Ok(false)
            }
            Some(setup) => {
                let next = setup.agree(&self.office_public);
                self.setup = None;
                self.next = Some(next?);
                Ok(true)
            }
        }
    }

    /// Whether the key agreement of the next record is prepared.
    pub fn is_prepared(&self) -> bool {
        self.next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::tests::tiny_event;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::vec;

    fn filled_store(event: &Event<'_>, voters: usize) -> Box<BallotStore> {
        let mut store = Box::new(BallotStore::new());
        store.reset(event).unwrap();
        for _ in 0..voters {
            let choices: std::vec::Vec<_> = event
                .elections
                .iter()
                .map(|_| crate::ballot::Choice::Blank)
                .collect();
            store.cast(event, &choices).unwrap();
        }
        store
    }

    #[test]
    fn round_trip_and_load() {
        let event = tiny_event();
        let store = filled_store(&event, 3);
        let mut out = vec![0u8; MAX_RECORD_BODY_BYTES];
        let counters = Counters {
            activations: 4,
            cast: 3,
            cancelled: 1,
        };
        let body = RecordBody::encode(PollState::Closed, counters, &store, &event, &mut out)
            .unwrap()
            .to_vec();
        assert_eq!(&body[..6], b"VTBODY");
        let decoded = RecordBody::decode(&body).unwrap();
        assert_eq!(decoded.state, PollState::Closed);
        assert_eq!(decoded.counters, counters);
        let mut loaded = Box::new(BallotStore::new());
        decoded.load(&event, &mut loaded).unwrap();
        assert_eq!(loaded.ballots(0), 3);
    }

    #[test]
    fn refusals_name_the_problem() {
        let event = tiny_event();
        let store = filled_store(&event, 2);
        let mut out = vec![0u8; MAX_RECORD_BODY_BYTES];
        let good = Counters {
            activations: 2,
            cast: 2,
            cancelled: 0,
        };
        let body = RecordBody::encode(PollState::Open, good, &store, &event, &mut out)
            .unwrap()
            .to_vec();
        let mut bad = body.clone();
        bad[0] ^= 1;
        assert_eq!(RecordBody::decode(&bad), Err(RecordError::BadMagic));
        let mut bad = body.clone();
        bad[6] = 2;
        assert_eq!(
            RecordBody::decode(&bad),
            Err(RecordError::UnsupportedVersion { version: 2 })
        );
        let mut bad = body.clone();
        bad[8] = 7;
        assert_eq!(
            RecordBody::decode(&bad),
            Err(RecordError::BadPollState { byte: 7 })
        );
        assert!(matches!(
            RecordBody::decode(&body[..body.len() - 1]),
            Err(RecordError::Truncated { .. })
        ));
        let mut long = body.clone();
        long.push(0);
        assert!(matches!(
            RecordBody::decode(&long),
            Err(RecordError::TrailingBytes { .. })
        ));
        // Unbalanced counters and a cast counter that disagrees with the store.
        let mut loaded = Box::new(BallotStore::new());
        for (counters, expected) in [
            (
                Counters {
                    activations: 3,
                    cast: 2,
                    cancelled: 0,
                },
                808,
            ),
            (
                Counters {
                    activations: 3,
                    cast: 3,
                    cancelled: 0,
                },
                809,
            ),
        ] {
            let body =
                RecordBody::encode(PollState::Open, counters, &store, &event, &mut out).unwrap();
            let err = RecordBody::decode(body)
                .unwrap()
                .load(&event, &mut loaded)
                .unwrap_err();
            assert_eq!(err.code(), expected, "{err}");
        }
        // A flipped byte inside the store is caught by the store's integrity check.
        let mut bad = body.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        let err = RecordBody::decode(&bad)
            .unwrap()
            .load(&event, &mut loaded)
            .unwrap_err();
        assert!(matches!(err, RecordError::Store(_)), "{err}");
        // Too small an output buffer.
        let mut small = [0u8; 10];
        assert!(matches!(
            RecordBody::encode(PollState::Open, good, &store, &event, &mut small),
            Err(RecordError::BufferTooSmall { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn encode_decode_round_trip(voters in 0usize..20, cancelled in 0u32..5, closed: bool) {
            let event = tiny_event();
            let store = filled_store(&event, voters);
            let cast = u32::try_from(voters).unwrap();
            let counters = Counters { activations: cast + cancelled, cast, cancelled };
            let state = if closed { PollState::Closed } else { PollState::Open };
            let mut out = vec![0u8; MAX_RECORD_BODY_BYTES];
            let body = RecordBody::encode(state, counters, &store, &event, &mut out).unwrap().to_vec();
            let decoded = RecordBody::decode(&body).unwrap();
            prop_assert_eq!(decoded.state, state);
            prop_assert_eq!(decoded.counters, counters);
            let mut loaded = Box::new(BallotStore::new());
            decoded.load(&event, &mut loaded).unwrap();
            let mut again = vec![0u8; MAX_RECORD_BODY_BYTES];
            let re = RecordBody::encode(state, counters, &loaded, &event, &mut again).unwrap();
            prop_assert_eq!(re, &body[..]);
        }
    }
}
