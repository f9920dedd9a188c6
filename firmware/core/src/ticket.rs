//! The voter ticket: the voter's choices printed in words and as a QR code holding the
//! canonical ballot encodings and the session key's signature
//! (`docs/formats/voter-ticket.md`).
//!
//! The QR code holds ASCII text: [`TICKET_PREFIX`] followed by the ticket body in base32
//! (RFC 4648 alphabet, upper case, no padding), which QR alphanumeric mode stores in 5.5
//! bits per character. The body, all fields fixed-width or length-prefixed:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 32 | `session_public_key`: the poll session's Ed25519 key |
//! | 32 | 1 | `elections`: n, 1..=[`MAX_ELECTIONS`] |
//! | 33 | 1 + len | per election in event order: `len` (0..=[`MAX_ENCODED_BALLOT_BYTES`]), then the ballot's canonical encoding (`docs/formats/ballot-encoding.md`) |
//! | end - 64 | 64 | `signature`: Ed25519 by the session key over [`TICKET_SIGNATURE_LABEL`] followed by every body byte before it |
//!
//! Nothing else: no sequence number, no time, no counter, nothing that orders voters.
//! Ed25519 signatures are deterministic, so two voters with the same choices in one session
//! get identical tickets.

use crate::ballot::{BallotCodec, BallotError, Choice, MAX_ENCODED_BALLOT_BYTES};
use crate::election::{Event, Language, Mode, MAX_ELECTIONS};
use crate::hal::Printer;
use crate::i18n::{text, Text};
use crate::printout::{Align, PrintError, PrintFont, PrintPosition, Printed, Sheet, LINE_BYTES};
use crate::seal::{PUBLIC_KEY_BYTES, SIGNATURE_BYTES};
use core::fmt::{self, Write as _};
use heapless::String;
use ring::signature;
use zeroize::Zeroize;

/// What the QR text starts with: the format's magic and version.
pub const TICKET_PREFIX: &str = "VTT1:";
/// Domain separation of the ticket signature (never a prefix of another signed label).
pub const TICKET_SIGNATURE_LABEL: &[u8] = b"voting-terminal/v1/ticket-signature";
/// Bytes before the first ballot: the public key and the election count.
pub const TICKET_HEADER_BYTES: usize = PUBLIC_KEY_BYTES + 1;
/// Largest ticket body: every election with the largest ballot.
pub const MAX_TICKET_BODY_BYTES: usize =
    TICKET_HEADER_BYTES + MAX_ELECTIONS * (1 + MAX_ENCODED_BALLOT_BYTES) + SIGNATURE_BYTES;
/// Largest message the session key signs for a ticket: the label and the unsigned body.
pub const MAX_TICKET_MESSAGE_BYTES: usize =
    TICKET_SIGNATURE_LABEL.len() + MAX_TICKET_BODY_BYTES - SIGNATURE_BYTES;
/// Longest QR text: the prefix and the largest body in base32.
pub const MAX_TICKET_TEXT_BYTES: usize = TICKET_PREFIX.len() + base32_len(MAX_TICKET_BODY_BYTES);

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE32_BITS: u32 = 5;

/// Characters of the base32 text of `bytes` bytes (no padding; saturates at `usize::MAX`).
pub const fn base32_len(bytes: usize) -> usize {
    bytes.saturating_mul(8).div_ceil(BASE32_BITS as usize)
}

/// Errors making, reading or checking a ticket. Codes 910..=921.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketError {
    /// The text does not start with [`TICKET_PREFIX`].
    BadPrefix,
    /// A character outside the upper-case base32 alphabet.
    BadCharacter {
        /// Byte offset in the text after the prefix.
        position: usize,
    },
    /// The base32 text is not the canonical encoding of any byte string (impossible
    /// length or non-zero padding bits).
    NotCanonical,
    /// The body ends early.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// Bytes follow the signature.
    TrailingBytes {
        /// Bytes expected.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// Longer than any ticket.
    TooLong {
        /// Length found.
        len: usize,
        /// Largest length.
        max: usize,
    },
    /// The election count is outside `1..=MAX_ELECTIONS`.
    BadElectionCount {
        /// Count found.
        count: usize,
    },
    /// The ticket has another number of elections than the event.
    WrongElectionCount {
        /// Elections on the ticket (or choices given).
        count: usize,
        /// Elections of the event.
        expected: usize,
    },
    /// A ballot field has the wrong length.
    BallotLength {
        /// Election (0-based).
        election: usize,
        /// Length found.
        len: usize,
        /// Length this election's ballots have.
        expected: usize,
    },
    /// A ballot is not a valid ballot of its election.
    Ballot {
        /// Election (0-based).
        election: usize,
        /// Why.
        error: BallotError,
    },
    /// The signature does not verify with the ticket's session public key.
    BadSignature,
    /// The session key could not sign.
    Signing {
        /// The stable code of the signing failure.
        code: u16,
    },
}

impl TicketError {
    /// Stable code (910..=921).
    pub const fn code(&self) -> u16 {
        match self {
            TicketError::BadPrefix => 910,
            TicketError::BadCharacter { .. } => 911,
            TicketError::NotCanonical => 912,
            TicketError::Truncated { .. } => 913,
            TicketError::TrailingBytes { .. } => 914,
            TicketError::TooLong { .. } => 915,
            TicketError::BadElectionCount { .. } => 916,
            TicketError::WrongElectionCount { .. } => 917,
            TicketError::BallotLength { .. } => 918,
            TicketError::Ballot { .. } => 919,
            TicketError::BadSignature => 920,
            TicketError::Signing { .. } => 921,
        }
    }
}

impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code();
        write!(f, "E{code}: voter ticket: ")?;
        match *self {
            TicketError::BadPrefix => write!(f, "does not start with {TICKET_PREFIX}"),
            TicketError::BadCharacter { position } => {
                write!(f, "character {position} is not base32 (A-Z, 2-7)")
            }
            TicketError::NotCanonical => f.write_str("base32 length or padding bits not canonical"),
            TicketError::Truncated { needed, available } => {
                write!(f, "body has {available} bytes, needs {needed}")
            }
            TicketError::TrailingBytes { expected, actual } => {
                write!(f, "body has {actual} bytes, expected exactly {expected}")
            }
            TicketError::TooLong { len, max } => write!(f, "{len} long, at most {max}"),
            TicketError::BadElectionCount { count } => {
                write!(f, "{count} elections (1..={MAX_ELECTIONS})")
            }
            TicketError::WrongElectionCount { count, expected } => {
                write!(f, "{count} elections, the event has {expected}")
            }
            TicketError::BallotLength {
                election,
                len,
                expected,
            } => write!(
                f,
                "ballot of election {election} is {len} bytes, expected {expected}"
            ),
            TicketError::Ballot { election, error } => {
                write!(f, "ballot of election {election}: {error}")
            }
            TicketError::BadSignature => f.write_str("signature does not verify"),
            TicketError::Signing { code } => write!(f, "signing failed (E{code})"),
        }
    }
}

/// The message the session key signs for a ticket: [`TICKET_SIGNATURE_LABEL`] followed by
/// the ticket body without its signature.
pub fn signed_message<'m>(
    unsigned: &[u8],
    out: &'m mut [u8; MAX_TICKET_MESSAGE_BYTES],
) -> Result<&'m [u8], TicketError> {
    let label = TICKET_SIGNATURE_LABEL.len();
    let len = label
        .checked_add(unsigned.len())
        .filter(|&len| len <= MAX_TICKET_MESSAGE_BYTES)
        .ok_or(TicketError::TooLong {
            len: unsigned.len(),
            max: MAX_TICKET_BODY_BYTES.saturating_sub(SIGNATURE_BYTES),
        })?;
    let (head, tail) = out.split_at_mut(label);
    head.copy_from_slice(TICKET_SIGNATURE_LABEL);
    if let Some(dst) = tail.get_mut(..unsigned.len()) {
        dst.copy_from_slice(unsigned);
    }
    let out: &'m [u8] = out;
    Ok(out.get(..len).unwrap_or(&[]))
}

/// One voter ticket (its body). The bytes are the voter's choices: they are zeroized on
/// drop.
pub struct Ticket {
    body: [u8; MAX_TICKET_BODY_BYTES],
    len: usize,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The choices are the voter's secret: never in logs.
        f.debug_struct("Ticket")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.body.zeroize();
        self.len.zeroize();
    }
}

impl PartialEq for Ticket {
    fn eq(&self, other: &Ticket) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Ticket {}

impl Ticket {
    fn empty() -> Ticket {
        Ticket {
            body: [0; MAX_TICKET_BODY_BYTES],
            len: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), TicketError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .filter(|&end| end <= MAX_TICKET_BODY_BYTES)
            .ok_or(TicketError::TooLong {
                len: self.len.saturating_add(bytes.len()),
                max: MAX_TICKET_BODY_BYTES,
            })?;
        if let Some(dst) = self.body.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    /// Make the ticket of `choices` (one per election of `event`, in order): encode each
    /// with its election's [`BallotCodec`], then let `sign` sign the unsigned body (the
    /// terminal passes [`crate::record::Recorder::sign_ticket`], which signs
    /// [`signed_message`]).
    pub fn assemble(
        event: &Event<'_>,
        choices: &[Choice],
        public_key: &[u8; PUBLIC_KEY_BYTES],
        sign: impl FnOnce(&[u8]) -> Result<[u8; SIGNATURE_BYTES], TicketError>,
    ) -> Result<Ticket, TicketError> {
        let expected = event.elections.len();
        if choices.len() != expected {
            return Err(TicketError::WrongElectionCount {
                count: choices.len(),
                expected,
            });
        }
        let count = u8::try_from(expected)
            .ok()
            .filter(|&n| n >= 1 && usize::from(n) <= MAX_ELECTIONS)
            .ok_or(TicketError::BadElectionCount { count: expected })?;
        let mut ticket = Ticket::empty();
        ticket.put(public_key)?;
        ticket.put(&[count])?;
        for (e, (election, choice)) in event.elections.iter().zip(choices).enumerate() {
            let mut encoded = BallotCodec::new(election)
                .encode(choice)
                .map_err(|error| TicketError::Ballot { election: e, error })?;
            let bytes = encoded.as_bytes();
            let len = u8::try_from(bytes.len()).map_err(|_| TicketError::BallotLength {
                election: e,
                len: bytes.len(),
                expected: MAX_ENCODED_BALLOT_BYTES,
            })?;
            let put = ticket.put(&[len]).and_then(|()| ticket.put(bytes));
            encoded.zeroize();
            put?;
        }
        let signature = sign(ticket.as_bytes())?;
        ticket.put(&signature)?;
        Ok(ticket)
    }

    /// Read a ticket from its QR text: prefix, canonical base32 and the body's layout.
    /// The signature and the ballots are checked by [`Ticket::verify`] and
    /// [`Ticket::check`].
    pub fn parse(text: &str) -> Result<Ticket, TicketError> {
        let data = text
            .strip_prefix(TICKET_PREFIX)
            .ok_or(TicketError::BadPrefix)?;
        let max = base32_len(MAX_TICKET_BODY_BYTES);
        if data.len() > max {
            return Err(TicketError::TooLong {
                len: data.len(),
                max,
            });
        }
        let mut ticket = Ticket::empty();
        ticket.len = base32_decode(data.as_bytes(), &mut ticket.body)?;
        ticket.layout()?;
        Ok(ticket)
    }

    /// The body's fields: the election count and where the signature starts.
    fn layout(&self) -> Result<(usize, usize), TicketError> {
        let body = self.as_bytes();
        let truncated = |needed: usize| TicketError::Truncated {
            needed,
            available: body.len(),
        };
        let needed = TICKET_HEADER_BYTES.saturating_add(SIGNATURE_BYTES);
        let count = usize::from(
            *body
                .get(PUBLIC_KEY_BYTES)
                .filter(|_| body.len() >= needed)
                .ok_or(truncated(needed))?,
        );
        if count == 0 || count > MAX_ELECTIONS {
            return Err(TicketError::BadElectionCount { count });
        }
        let mut at = TICKET_HEADER_BYTES;
        for election in 0..count {
            let len = usize::from(*body.get(at).ok_or(truncated(at.saturating_add(1)))?);
            if len > MAX_ENCODED_BALLOT_BYTES {
                return Err(TicketError::BallotLength {
                    election,
                    len,
                    expected: MAX_ENCODED_BALLOT_BYTES,
                });
            }
            at = at.saturating_add(1).saturating_add(len);
        }
        let expected = at.saturating_add(SIGNATURE_BYTES);
        if body.len() < expected {
            return Err(truncated(expected));
        }
        if body.len() > expected {
            return Err(TicketError::TrailingBytes {
                expected,
                actual: body.len(),
            });
        }
        Ok((count, at))
    }

    /// The body bytes (the QR text's content before base32).
    pub fn as_bytes(&self) -> &[u8] {
        self.body.get(..self.len).unwrap_or(&[])
    }

    /// The poll session's Ed25519 public key the ticket names.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_BYTES] {
        let mut key = [0u8; PUBLIC_KEY_BYTES];
        if let Some(src) = self.body.get(..PUBLIC_KEY_BYTES) {
            key.copy_from_slice(src);
        }
        key
    }

    /// Number of elections on the ticket.
    pub fn elections(&self) -> usize {
        self.layout().map_or(0, |(count, _)| count)
    }

    /// The encoded ballot of election `election` (0-based), as on the ticket.
    pub fn ballot(&self, election: usize) -> Option<&[u8]> {
        let (count, _) = self.layout().ok()?;
        if election >= count {
            return None;
        }
        let body = self.as_bytes();
        let mut at = TICKET_HEADER_BYTES;
        for e in 0..count {
            let len = usize::from(*body.get(at)?);
            let start = at.checked_add(1)?;
            let end = start.checked_add(len)?;
            if e == election {
                return body.get(start..end);
            }
            at = end;
        }
        None
    }

    /// The signature (the last 64 bytes).
    pub fn signature(&self) -> Option<&[u8]> {
        let (_, at) = self.layout().ok()?;
        self.as_bytes().get(at..)
    }

    /// Check the signature with the ticket's own session public key. Whether that key is
    /// the session's is for the verifier to compare (with the opening report's session key
    /// fingerprint or the sealed record's header).
    pub fn verify(&self) -> Result<(), TicketError> {
        let (_, at) = self.layout()?;
        let body = self.as_bytes();
        let (unsigned, sig) = body.split_at_checked(at).ok_or(TicketError::Truncated {
            needed: at,
            available: body.len(),
        })?;
        let mut message = [0u8; MAX_TICKET_MESSAGE_BYTES];
        let message = signed_message(unsigned, &mut message)?;
        let key = self.public_key();
        signature::UnparsedPublicKey::new(&signature::ED25519, &key)
            .verify(message, sig)
            .map_err(|_| TicketError::BadSignature)
    }

    /// The choice of election `election` (0-based), decoded with that election's codec.
    pub fn choice(&self, event: &Event<'_>, election: usize) -> Result<Choice, TicketError> {
        let (count, _) = self.layout()?;
        let expected = event.elections.len();
        if count != expected {
            return Err(TicketError::WrongElectionCount { count, expected });
        }
        let def = event
            .elections
            .get(election)
            .ok_or(TicketError::WrongElectionCount {
                count: election.saturating_add(1),
                expected,
            })?;
        let codec = BallotCodec::new(def);
        let bytes = self.ballot(election).unwrap_or(&[]);
        if bytes.len() != codec.len_bytes() {
            return Err(TicketError::BallotLength {
                election,
                len: bytes.len(),
                expected: codec.len_bytes(),
            });
        }
        codec
            .decode(bytes)
            .map_err(|error| TicketError::Ballot { election, error })
    }

    /// Check the ticket against `event`: one ballot per election, each canonical.
    pub fn check(&self, event: &Event<'_>) -> Result<(), TicketError> {
        (0..event.elections.len()).try_for_each(|e| self.choice(event, e).map(|_| ()))
    }

    /// The QR text: [`TICKET_PREFIX`] and the body in base32.
    pub fn encode_text(&self) -> String<MAX_TICKET_TEXT_BYTES> {
        let mut out: String<MAX_TICKET_TEXT_BYTES> = String::new();
        let _ = out.push_str(TICKET_PREFIX);
        base32_encode(self.as_bytes(), |c| {
            let _ = out.push(char::from(c));
        });
        out
    }

    /// The QR text in a buffer zeroized on drop (it spells the ballots), for printing.
    fn qr_text(&self) -> QrText {
        let mut text = QrText {
            bytes: [0; MAX_TICKET_TEXT_BYTES],
            len: 0,
        };
        for &c in TICKET_PREFIX.as_bytes() {
            text.push(c);
        }
        base32_encode(self.as_bytes(), |c| text.push(c));
        text
    }

    /// Print the ticket: the title, the choices per election in `language` (in ASCII),
    /// the QR code and what to do with the ticket, then cut. Checked against `event`
    /// before a line is printed. A training image's ticket carries the watermark.
    pub fn print(
        &self,
        event: &Event<'_>,
        language: Language,
        printer: &mut dyn Printer,
    ) -> Result<(), PrintError> {
        self.print_slice(event, language, printer, PrintPosition::START, u32::MAX)
            .map(|_| ())
    }

    /// Print at most `max_rows` raster rows of the ticket from `at` ([`Ticket::print`]
    /// prints them all): call again from [`Printed::next`] until [`Printed::done`], to
    /// spread a ticket over several short calls. The rows are the same however the ticket
    /// is split.
    pub fn print_slice(
        &self,
        event: &Event<'_>,
        language: Language,
        printer: &mut dyn Printer,
        at: PrintPosition,
        max_rows: u32,
    ) -> Result<Printed, PrintError> {
        self.check(event)?;
        let qr_text = self.qr_text();
        let t = |key| text(language, key);
        let mut sheet = Sheet::start(printer, event.mode == Mode::Training, at, max_rows)?;
        sheet.text(
            &ascii(t(Text::VoterTicket)),
            PrintFont::Title,
            Align::Center,
        )?;
        sheet.text(
            &ascii(event.names.show(language)),
            PrintFont::Body,
            Align::Center,
        )?;
        sheet.rule()?;
        for (e, election) in event.elections.iter().enumerate() {
            let choice = self.choice(event, e)?;
            sheet.text(
                &ascii(election.names.show(language)),
                PrintFont::Bold,
                Align::Left,
            )?;
            let list = choice.list().and_then(|l| election.lists.get(l.get()));
            match (choice, list) {
                (Choice::List(_), Some(l)) => {
                    sheet.indented(&list_line(language, l), PrintFont::Body, Align::Left, 16)?;
                    sheet.indented(&ascii(t(Text::ListVote)), PrintFont::Body, Align::Left, 32)?;
                }
                (Choice::Preferences { candidates, .. }, Some(l)) => {
                    sheet.indented(&list_line(language, l), PrintFont::Body, Align::Left, 16)?;
                    let mut head: String<LINE_BYTES> = String::new();
                    let _ = write!(head, "{} {}:", candidates.len(), t(Text::Preferences));
                    sheet.indented(&ascii(&head), PrintFont::Body, Align::Left, 32)?;
                    for index in candidates.iter() {
                        let Some(candidate) = l.candidates.get(index) else {
                            continue;
                        };
                        let mut line: String<LINE_BYTES> = String::new();
                        let _ = write!(line, "{}. {}", index.saturating_add(1), candidate.name);
                        sheet.indented(&ascii(&line), PrintFont::Body, Align::Left, 48)?;
                    }
                }
                _ => {
                    sheet.indented(&ascii(t(Text::Blank)), PrintFont::Body, Align::Left, 16)?;
                }
            }
            sheet.space(8)?;
        }
        sheet.rule()?;
        sheet.qr(qr_text.as_str())?;
        sheet.text(&ascii(t(Text::TicketHint)), PrintFont::Small, Align::Center)?;
        sheet.finish()
    }
}

/// A ticket's QR text (ASCII), zeroized on drop.
struct QrText {
    bytes: [u8; MAX_TICKET_TEXT_BYTES],
    len: usize,
}

impl QrText {
    fn push(&mut self, c: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = c;
            self.len = self.len.saturating_add(1);
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl Drop for QrText {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// "List 3 GROEN" in ASCII.
fn list_line(language: Language, list: &crate::election::List<'_>) -> String<LINE_BYTES> {
    let mut line: String<LINE_BYTES> = String::new();
    let _ = write!(
        line,
        "{} {} {}",
        text(language, Text::List),
        list.number,
        list.name
    );
    ascii(&line)
}

/// `s` in printable ASCII: Latin-1 letters lose their accents (`é` -> `e`), German
/// umlauts and `ß` are spelled out (`ü` -> `ue`, `ß` -> `ss`), a few typographic signs
/// become their ASCII look-alikes, anything else becomes `?`. Cut at [`LINE_BYTES`].
pub fn ascii(s: &str) -> String<LINE_BYTES> {
    let mut out: String<LINE_BYTES> = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let next_lower = chars.peek().is_some_and(|n| n.is_lowercase());
        let mapped: &str = match c {
            ' '..='~' => {
                let mut one = [0u8; 4];
                if out.push_str(c.encode_utf8(&mut one)).is_err() {
                    break;
                }
                continue;
            }
            'Ä' if next_lower => "Ae",
            'Ö' if next_lower => "Oe",
            'Ü' if next_lower => "Ue",
            'Ä' => "AE",
            'Ö' => "OE",
            'Ü' => "UE",
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'À' | 'Á' | 'Â' | 'Ã' | 'Å' => "A",
            'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'Æ' => "AE",
            'æ' => "ae",
            'Ç' => "C",
            'ç' => "c",
            'È' | 'É' | 'Ê' | 'Ë' => "E",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'Ì' | 'Í' | 'Î' | 'Ï' => "I",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'Ð' => "D",
            'ð' => "d",
            'Ñ' => "N",
            'ñ' => "n",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' => "O",
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
            'Ù' | 'Ú' | 'Û' => "U",
            'ù' | 'ú' | 'û' => "u",
            'Ý' | 'Ÿ' => "Y",
            'ý' | 'ÿ' => "y",
            'Þ' => "TH",
            'þ' => "th",
            'Œ' => "OE",
            'œ' => "oe",
            'Š' => "S",
            'š' => "s",
            'Ž' => "Z",
            'ž' => "z",
            '€' => "EUR",
            '\u{a0}' => " ",
            '\u{2018}' | '\u{2019}' | '\u{b4}' => "'",
            '\u{201c}' | '\u{201d}' | '\u{ab}' | '\u{bb}' => "\"",
            '\u{2013}' | '\u{2014}' => "-",
            '\u{b7}' => ".",
            _ => "?",
        };
        if out.push_str(mapped).is_err() {
            break;
        }
    }
    out
}

/// Base32 of `bytes` (no padding), one ASCII character at a time into `out`.
fn base32_encode(bytes: &[u8], mut out: impl FnMut(u8)) {
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    let symbol = |value: u32| {
        let index = usize::try_from(value & 0x1F).unwrap_or(0);
        BASE32_ALPHABET.get(index).copied().unwrap_or(b'A')
    };
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits = bits.saturating_add(8);
        while bits >= BASE32_BITS {
            bits = bits.saturating_sub(BASE32_BITS);
            out(symbol(buffer >> bits));
        }
        buffer &= (1u32 << bits).wrapping_sub(1);
    }
    if bits > 0 {
        out(symbol(buffer << BASE32_BITS.saturating_sub(bits)));
    }
    buffer.zeroize();
}

/// Decode canonical base32 into `out`; returns the byte count.
fn base32_decode(text: &[u8], out: &mut [u8]) -> Result<usize, TicketError> {
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    let mut len = 0usize;
    for (position, &c) in text.iter().enumerate() {
        let value = match c {
            b'A'..=b'Z' => c.wrapping_sub(b'A'),
            b'2'..=b'7' => c.wrapping_sub(b'2').wrapping_add(26),
            _ => return Err(TicketError::BadCharacter { position }),
        };
        buffer = (buffer << BASE32_BITS) | u32::from(value);
        bits = bits.saturating_add(BASE32_BITS);
        if bits >= 8 {
            bits = bits.saturating_sub(8);
            let byte = u8::try_from((buffer >> bits) & 0xFF).unwrap_or(0);
            let slot = out.get_mut(len).ok_or(TicketError::TooLong {
                len: text.len(),
                max: base32_len(MAX_TICKET_BODY_BYTES),
            })?;
            *slot = byte;
            len = len.saturating_add(1);
            buffer &= (1u32 << bits).wrapping_sub(1);
        }
    }
    // A canonical encoding leaves fewer than 5 bits over, all zero.
    if bits >= BASE32_BITS || buffer != 0 {
        return Err(TicketError::NotCanonical);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ballot::{CandidateSet, ListIndex};
    use crate::election::tests::tiny_event;
    use proptest::prelude::*;
    use std::vec::Vec;

    const SEED: [u8; 32] = [0x42; 32];

    fn key_pair() -> signature::Ed25519KeyPair {
        signature::Ed25519KeyPair::from_seed_unchecked(&SEED).unwrap()
    }

    fn public() -> [u8; 32] {
        use signature::KeyPair;
        key_pair().public_key().as_ref().try_into().unwrap()
    }

    fn sign(unsigned: &[u8]) -> Result<[u8; 64], TicketError> {
        let mut message = [0u8; MAX_TICKET_MESSAGE_BYTES];
        let message = signed_message(unsigned, &mut message)?;
        Ok(key_pair().sign(message).as_ref().try_into().unwrap())
    }

    fn ticket(event: &Event<'_>, choices: &[Choice]) -> Ticket {
        Ticket::assemble(event, choices, &public(), sign).unwrap()
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ] {
            let mut out: String<32> = String::new();
            base32_encode(bytes, |c| out.push(char::from(c)).unwrap());
            assert_eq!(out.as_str(), text);
            assert_eq!(out.len(), base32_len(bytes.len()));
            let mut back = [0u8; 16];
            let n = base32_decode(text.as_bytes(), &mut back).unwrap();
            assert_eq!(&back[..n], bytes);
        }
        let mut back = [0u8; 16];
        // Non-zero padding bits, an impossible length, a lower-case letter.
        assert_eq!(
            base32_decode(b"MZ", &mut back),
            Err(TicketError::NotCanonical)
        );
        assert_eq!(
            base32_decode(b"MZX", &mut back),
            Err(TicketError::NotCanonical)
        );
        assert_eq!(
            base32_decode(b"MZxW6", &mut back),
            Err(TicketError::BadCharacter { position: 2 })
        );
        assert_eq!(
            base32_decode(b"MZXW6=", &mut back),
            Err(TicketError::BadCharacter { position: 5 })
        );
    }

    #[test]
    fn tickets_round_trip_and_verify() {
        let event = tiny_event();
        let list = ListIndex::new(0, &event.elections[0]).unwrap();
        let europe = ListIndex::new(1, &event.elections[1]).unwrap();
        let choices = [
            Choice::Preferences {
                list,
                candidates: CandidateSet::from_mask(
                    0b101,
                    event.elections[0].lists[0].candidates.len(),
                )
                .unwrap(),
            },
            Choice::List(europe),
        ];
        let t = ticket(&event, &choices);
        t.verify().unwrap();
        t.check(&event).unwrap();
        assert_eq!(t.choice(&event, 0).unwrap(), choices[0]);
        assert_eq!(t.choice(&event, 1).unwrap(), choices[1]);
        let text = t.encode_text();
        assert!(text.starts_with(TICKET_PREFIX));
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b':'));
        let back = Ticket::parse(&text).unwrap();
        assert_eq!(back, t);
        back.verify().unwrap();
        assert_eq!(back.public_key(), public());
        assert_eq!(back.elections(), 2);
    }

    #[test]
    fn tampering_is_refused_with_its_reason() {
        let event = tiny_event();
        let t = ticket(&event, &[Choice::Blank, Choice::Blank]);
        let text = t.encode_text();
        let text = text.as_str();
        // Another ballot under the same signature.
        let mut body: Vec<u8> = t.as_bytes().to_vec();
        body[TICKET_HEADER_BYTES + 1] ^= 1;
        let mut forged = Ticket::empty();
        forged.put(&body).unwrap();
        assert_eq!(forged.verify(), Err(TicketError::BadSignature));
        // Structure.
        assert_eq!(
            Ticket::parse(&text.replacen("VTT1", "VTT2", 1)),
            Err(TicketError::BadPrefix)
        );
        let mut bad = String::<512>::new();
        bad.push_str(TICKET_PREFIX).unwrap();
        bad.push('1').unwrap();
        bad.push_str(&text[TICKET_PREFIX.len() + 1..]).unwrap();
        assert_eq!(
            Ticket::parse(&bad),
            Err(TicketError::BadCharacter { position: 0 })
        );
        let lower = text[TICKET_PREFIX.len()..].to_lowercase();
        let first_letter = lower.find(|c: char| c.is_ascii_lowercase()).unwrap();
        assert_eq!(
            Ticket::parse(&std::format!("{TICKET_PREFIX}{lower}")),
            Err(TicketError::BadCharacter {
                position: first_letter
            })
        );
        let text_of = |bytes: &[u8]| {
            let mut out = String::<512>::new();
            out.push_str(TICKET_PREFIX).unwrap();
            base32_encode(bytes, |c| out.push(char::from(c)).unwrap());
            out
        };
        let original = t.as_bytes().to_vec();
        assert_eq!(
            Ticket::parse(&text_of(&original)),
            Ok(Ticket::parse(text).unwrap())
        );
        assert!(matches!(
            Ticket::parse(&text_of(&original[..original.len() - 1])),
            Err(TicketError::Truncated { .. })
        ));
        let mut long = original.clone();
        long.push(0);
        assert!(matches!(
            Ticket::parse(&text_of(&long)),
            Err(TicketError::TrailingBytes { .. })
        ));
        // Padding bits set in the last character.
        let mut padded = String::<512>::new();
        padded.push_str(&text[..text.len() - 1]).unwrap();
        let last = text.as_bytes()[text.len() - 1];
        let pad_bits = (original.len() * 8) % 5;
        if pad_bits != 0 {
            let value = BASE32_ALPHABET.iter().position(|&c| c == last).unwrap() | 1;
            padded.push(char::from(BASE32_ALPHABET[value])).unwrap();
            assert_eq!(Ticket::parse(&padded), Err(TicketError::NotCanonical));
        }
        let mut zero = body.clone();
        zero[PUBLIC_KEY_BYTES] = 0;
        let mut z = Ticket::empty();
        z.put(&zero).unwrap();
        assert_eq!(z.verify(), Err(TicketError::BadElectionCount { count: 0 }));
        // Another event shape.
        let mut other = tiny_event();
        other.elections.push(other.elections[0].clone()).unwrap();
        assert_eq!(
            t.check(&other),
            Err(TicketError::WrongElectionCount {
                count: 2,
                expected: 3
            })
        );
        assert_eq!(
            Ticket::assemble(&event, &[], &public(), sign),
            Err(TicketError::WrongElectionCount {
                count: 0,
                expected: 2
            })
        );
        assert_eq!(TicketError::BadSignature.code(), 920);
    }

    #[test]
    fn ascii_spells_out_accents() {
        assert_eq!(ascii("MÜLLER Jürgen").as_str(), "MUELLER Juergen");
        assert_eq!(ascii("Über Straße").as_str(), "Ueber Strasse");
        assert_eq!(
            ascii("DUPONT Émilie, Noël, Inès").as_str(),
            "DUPONT Emilie, Noel, Ines"
        );
        assert_eq!(
            ascii("Case de tête (œuvre) €").as_str(),
            "Case de tete (oeuvre) EUR"
        );
        assert_eq!(ascii("日本").as_str(), "??");
        assert!(ascii("ÉCOLO").is_ascii());
    }

    /// The worked example of `docs/formats/voter-ticket.md`.
    fn example() -> (std::boxed::Box<Event<'static>>, [Choice; 2], Ticket) {
        use crate::election::tests::leak_candidates;
        use crate::election::{Candidate, CandidateKind, Date, Election, List, Names, SeatMethod};
        let mut event = std::boxed::Box::new(Event {
            id: "EXAMPLE-2026",
            names: Names::same("Example"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: heapless::Vec::from_slice(&[Language::En]).unwrap(),
            elections: heapless::Vec::new(),
        });
        for (id, sizes) in [("first", &[3usize, 2, 4][..]), ("second", &[2, 2][..])] {
            let mut election = Election {
                id,
                names: Names::same(id),
                constituency: Names::same("Example"),
                seats: 4,
                method: SeatMethod::DHondt,
                threshold: 0,
                successors: false,
                lists: heapless::Vec::new(),
            };
            for (l, &size) in sizes.iter().enumerate() {
                let people: Vec<Candidate<'static>> = (0..size)
                    .map(|_| Candidate {
                        name: "NAME Given",
                        kind: CandidateKind::Titular,
                    })
                    .collect();
                election
                    .lists
                    .push(List {
                        number: u16::try_from(l + 1).unwrap(),
                        name: "LIST",
                        candidates: leak_candidates(&people),
                    })
                    .unwrap();
            }
            event.elections.push(election).unwrap();
        }
        event.validate().unwrap();
        let choices = [
            Choice::Preferences {
                list: ListIndex::new(0, &event.elections[0]).unwrap(),
                candidates: CandidateSet::from_mask(0b101, 3).unwrap(),
            },
            Choice::List(ListIndex::new(1, &event.elections[1]).unwrap()),
        ];
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        let pair = signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let public: [u8; 32] = {
            use signature::KeyPair;
            pair.public_key().as_ref().try_into().unwrap()
        };
        let ticket = Ticket::assemble(&event, &choices, &public, |unsigned| {
            let mut message = [0u8; MAX_TICKET_MESSAGE_BYTES];
            let message = signed_message(unsigned, &mut message)?;
            Ok(pair.sign(message).as_ref().try_into().unwrap())
        })
        .unwrap();
        (event, choices, ticket)
    }

    const SPEC: &str = include_str!("../../../docs/formats/voter-ticket.md");

    fn hex(bytes: &[u8]) -> std::string::String {
        bytes.iter().map(|b| std::format!("{b:02x}")).collect()
    }

    #[test]
    fn worked_example_of_the_spec() {
        let (event, choices, ticket) = example();
        let body = ticket.as_bytes();
        assert_eq!(body.len(), 101);
        let public = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
        assert_eq!(hex(&body[..32]), public);
        assert_eq!(hex(&body[32..37]), "0201300150");
        let signature = hex(ticket.signature().unwrap());
        let text = ticket.encode_text();
        assert_eq!(text.len(), 167);
        assert_eq!(
            text.as_str(),
            "VTT1:AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4AEAJQAFIEUF4L6Z7PRDMPABFGI7LBCD6ORAOUNUD4BY3GRH2C6TP4E3YLTYF57PLKOD4NH4GSQSCYRDME6HF4NCXAJD5FT6IT7HFYHMVHFUAGAM"
        );
        // The spec shows the same values.
        assert!(SPEC.contains(&std::format!("session_public_key  {public}")));
        assert!(SPEC.contains(&std::format!(
            "signature           {}\n                    {}",
            &signature[..64],
            &signature[64..]
        )));
        assert!(SPEC.contains(&std::format!("\n{}\n", text.as_str())));
        ticket.verify().unwrap();
        assert_eq!(ticket.choice(&event, 0).unwrap(), choices[0]);
        assert_eq!(ticket.choice(&event, 1).unwrap(), choices[1]);
        let mut message = [0u8; MAX_TICKET_MESSAGE_BYTES];
        assert_eq!(signed_message(&body[..37], &mut message).unwrap().len(), 72);
        // The two tampered forms the spec names.
        let mut padded = std::string::String::from(text.as_str());
        assert_eq!(padded.pop(), Some('M'));
        padded.push('N');
        assert_eq!(Ticket::parse(&padded), Err(TicketError::NotCanonical));
        let mut forged = Ticket::empty();
        forged.put(body).unwrap();
        forged.body[34] = 0x31;
        assert_eq!(forged.verify(), Err(TicketError::BadSignature));
        assert_eq!(
            forged.choice(&event, 0),
            Err(TicketError::Ballot {
                election: 0,
                error: BallotError::NonZeroPadding
            })
        );
    }

    /// The QR version and module size of a ticket body of `len` bytes.
    fn qr_of(len: usize) -> (u8, i32) {
        let mut text: String<MAX_TICKET_TEXT_BYTES> = String::new();
        text.push_str(TICKET_PREFIX).unwrap();
        base32_encode(&std::vec![0xA5u8; len], |c| {
            text.push(char::from(c)).unwrap()
        });
        let mut temp = [0u8; crate::printout::QR_BUFFER_BYTES];
        let mut out = [0u8; crate::printout::QR_BUFFER_BYTES];
        let code = qrcodegen_no_heap::QrCode::encode_text(
            &text,
            &mut temp,
            &mut out,
            qrcodegen_no_heap::QrCodeEcc::Medium,
            qrcodegen_no_heap::Version::MIN,
            qrcodegen_no_heap::Version::new(crate::printout::QR_MAX_VERSION),
            Some(qrcodegen_no_heap::Mask::new(crate::printout::QR_MASK)),
            true,
        )
        .unwrap();
        (code.version().value(), code.size())
    }

    #[test]
    fn sizes_of_the_spec() {
        // The demo election: ballots of 3, 2 and 2 bytes.
        let demo = TICKET_HEADER_BYTES + 4 + 3 + 3 + SIGNATURE_BYTES;
        assert_eq!(demo, 107);
        assert_eq!(TICKET_PREFIX.len() + base32_len(demo), 177);
        assert_eq!(qr_of(demo), (7, 45));
        assert_eq!(MAX_TICKET_BODY_BYTES, 177);
        assert_eq!(MAX_TICKET_TEXT_BYTES, 289);
        assert_eq!(qr_of(MAX_TICKET_BODY_BYTES), (10, 57));
        for (figure, line) in [
            ("demo", "a version 7 QR code (45 modules)"),
            ("largest", "version 10 (57 modules)"),
        ] {
            assert!(SPEC.contains(line), "{figure}: {line}");
        }
    }

    proptest! {
        #[test]
        fn base32_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut out: String<512> = String::new();
            base32_encode(&bytes, |c| out.push(char::from(c)).unwrap());
            prop_assert_eq!(out.len(), base32_len(bytes.len()));
            let mut back = [0u8; 256];
            let n = base32_decode(out.as_bytes(), &mut back).unwrap();
            prop_assert_eq!(&back[..n], &bytes[..]);
        }

        #[test]
        fn ticket_round_trip(list in 0usize..2, mask in 1u64..8, kind in 0u8..3) {
            let event = tiny_event();
            let election = &event.elections[0];
            let list = ListIndex::new(list.min(election.lists.len() - 1), election).unwrap();
            let count = election.lists[list.get()].candidates.len();
            let masked = mask & CandidateSet::full_mask(count);
            let choice = match kind {
                0 => Choice::Blank,
                1 => Choice::List(list),
                _ => Choice::Preferences {
                    list,
                    candidates: CandidateSet::from_mask(masked.max(1), count).unwrap(),
                },
            };
            let t = ticket(&event, &[choice, Choice::Blank]);
            let back = Ticket::parse(&t.encode_text()).unwrap();
            back.verify().unwrap();
            prop_assert_eq!(back.choice(&event, 0).unwrap(), choice);
            prop_assert_eq!(back.choice(&event, 1).unwrap(), Choice::Blank);
        }
    }
}
