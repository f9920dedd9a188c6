//! The election model: one election *event* (a polling day) with an ordered list of
//! elections, each with numbered lists of ordered candidates.
//!
//! The model borrows its strings (`&'a str`) from the buffer it was decoded from, so the
//! firmware can decode the postcard election definition straight out of the verified boot
//! image without copying names. Collections are `heapless` with the capacities below.
//!
//! Candidate order is the order of `List::candidates`: titulars first, then successors.
//! The position shown to voters is 1-based within each kind.

use core::fmt;
use heapless::Vec;
use serde::{Deserialize, Serialize};

/// Most elections held on one polling day (Belgium 2024 had at most 4 on one ballot day).
pub const MAX_ELECTIONS: usize = 8;
/// Most lists in one election.
pub const MAX_LISTS: usize = 40;
/// Most candidates (titulars + successors) on one list. Ballots keep candidate sets as `u64`.
pub const MAX_CANDIDATES: usize = 64;
/// Most languages an event can offer (nl, fr, de, en).
pub const MAX_LANGUAGES: usize = 4;
/// Longest name (event, election, constituency, list, candidate), in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 96;
/// Longest identifier (event id, election id), in bytes; identifiers are printable ASCII.
pub const MAX_ID_BYTES: usize = 32;
/// Highest list number printed on a ballot.
pub const MAX_LIST_NUMBER: u16 = 999;
/// Threshold is given in hundredths of a percent; 100 % is 10,000.
pub const THRESHOLD_SCALE: u16 = 10_000;

/// A language the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Language {
    /// Dutch.
    Nl,
    /// French.
    Fr,
    /// German.
    De,
    /// English (for reviewers and trainers).
    En,
}

impl Language {
    /// Every language, in display order.
    pub const ALL: [Language; 4] = [Language::Nl, Language::Fr, Language::De, Language::En];

    /// The ISO 639-1 code, as used in the election definition (`nl`, `fr`, `de`, `en`).
    pub const fn code(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::Fr => "fr",
            Language::De => "de",
            Language::En => "en",
        }
    }

    /// Parse an ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A name given in up to four languages. Every language the event offers must be present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names<'a> {
    /// Dutch.
    #[serde(borrow)]
    pub nl: Option<&'a str>,
    /// French.
    #[serde(borrow)]
    pub fr: Option<&'a str>,
    /// German.
    #[serde(borrow)]
    pub de: Option<&'a str>,
    /// English.
    #[serde(borrow)]
    pub en: Option<&'a str>,
}

impl<'a> Names<'a> {
    /// The same name in every language (e.g. a constituency name that is not translated).
    pub const fn same(name: &'a str) -> Self {
        Names {
            nl: Some(name),
            fr: Some(name),
            de: Some(name),
            en: Some(name),
        }
    }

    /// The name in `language`, if given.
    pub const fn get(&self, language: Language) -> Option<&'a str> {
        match language {
            Language::Nl => self.nl,
            Language::Fr => self.fr,
            Language::De => self.de,
            Language::En => self.en,
        }
    }

    /// The name in `language`, else the first one given (nl, fr, de, en), else "".
    pub fn show(&self, language: Language) -> &'a str {
        self.get(language)
            .or(self.nl)
            .or(self.fr)
            .or(self.de)
            .or(self.en)
            .unwrap_or("")
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 depending on month.
    pub day: u8,
}

impl Date {
    /// A checked date.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let date = Date { year, month, day };
        date.is_valid().then_some(date)
    }

    /// Whether the fields form a real date between years 2000 and 9999.
    pub fn is_valid(&self) -> bool {
        let leap = (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0;
        let days_in_month = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (2000..=9999).contains(&self.year) && self.day >= 1 && self.day <= days_in_month
    }

    /// Parse `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let year = text.get(0..4)?.parse().ok()?;
        let month = text.get(5..7)?.parse().ok()?;
        let day = text.get(8..10)?.parse().ok()?;
        if !text.get(0..4)?.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Date::new(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Whether an event is a training (demonstration) or a real election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Mode {
    /// Training and demonstration; may be signed with dev keys; shows a watermark.
    Training,
    /// A real election; never signed with dev keys.
    Official,
}

/// How seats are allocated among lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SeatMethod {
    /// D'Hondt: divisors 1, 2, 3, ...
    DHondt,
    /// Imperiali: divisors 2, 3, 4, ... (Belgian municipal elections).
    Imperiali,
}

/// Whether a candidate stands as titular or as successor (opvolger / suppléant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CandidateKind {
    /// An effective candidate.
    Titular,
    /// A successor (substitute) candidate.
    Successor,
}

/// One candidate on a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate<'a> {
    /// Name as printed on the ballot ("SURNAME Given").
    #[serde(borrow)]
    pub name: &'a str,
    /// Titular or successor.
    pub kind: CandidateKind,
}

/// The candidates of one list, in ballot order, kept as their postcard encoding and
/// decoded on access.
///
/// Keeping candidates encoded means a list costs a few dozen bytes of RAM however many
/// candidates it has: the largest event (8 elections x 40 lists x 64 candidates) decodes
/// into an [`Event`] of about 16 KiB on a 32-bit target instead of a quarter megabyte.
/// On the wire this is a byte string holding a postcard `seq` of [`Candidate`]; decoding
/// checks every candidate, the count (at most [`MAX_CANDIDATES`]) and that no byte is
/// left over, so later access cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Candidates<'a> {
    raw: &'a [u8],
    count: u8,
}

impl<'a> Candidates<'a> {
    /// No candidates.
    pub const EMPTY: Candidates<'static> = Candidates {
        raw: &[0],
        count: 0,
    };

    /// Encode `candidates` into `buf` and return a view of them.
    pub fn encode(
        candidates: &[Candidate<'_>],
        buf: &'a mut [u8],
    ) -> Result<Candidates<'a>, CandidatesError> {
        let count = u8::try_from(candidates.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_CANDIDATES)
            .ok_or(CandidatesError::TooMany {
                count: candidates.len(),
            })?;
        let used = postcard::to_slice(candidates, buf)
            .map_err(|_| CandidatesError::BufferTooSmall)?
            .len();
        let raw: &'a [u8] = buf.get(..used).ok_or(CandidatesError::BufferTooSmall)?;
        Ok(Candidates { raw, count })
    }

    /// Check encoded candidates and return a view of them.
    pub fn from_raw(raw: &'a [u8]) -> Result<Candidates<'a>, CandidatesError> {
        let (len, mut rest): (u32, &'a [u8]) =
            postcard::take_from_bytes(raw).map_err(|_| CandidatesError::Malformed)?;
        let count = u8::try_from(len)
            .ok()
            .filter(|&n| usize::from(n) <= MAX_CANDIDATES)
            .ok_or(CandidatesError::TooMany {
                count: usize::try_from(len).unwrap_or(usize::MAX),
            })?;
        for _ in 0..count {
            let (_, next): (Candidate<'a>, &'a [u8]) =
                postcard::take_from_bytes(rest).map_err(|_| CandidatesError::Malformed)?;
            rest = next;
        }
        if !rest.is_empty() {
            return Err(CandidatesError::Malformed);
        }
        Ok(Candidates { raw, count })
    }

    /// Number of candidates.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list has no candidates.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The candidates in ballot order.
    pub fn iter(&self) -> CandidateIter<'a> {
        // The count prefix was checked by `from_raw`/`encode`; skip it.
        let rest = postcard::take_from_bytes::<u32>(self.raw).map_or(&[][..], |(_, rest)| rest);
        CandidateIter {
            rest,
            left: self.count,
        }
    }

    /// The candidate at `index` (0-based ballot order).
    pub fn get(&self, index: usize) -> Option<Candidate<'a>> {
        self.iter().nth(index)
    }

    /// The encoded bytes.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Candidates`].
#[derive(Debug, Clone)]
pub struct CandidateIter<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for CandidateIter<'a> {
    type Item = Candidate<'a>;
    fn next(&mut self) -> Option<Candidate<'a>> {
        self.left = self.left.checked_sub(1)?;
        match postcard::take_from_bytes::<Candidate<'a>>(self.rest) {
            Ok((candidate, rest)) => {
                self.rest = rest;
                Some(candidate)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}

/// Errors building or decoding [`Candidates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CandidatesError {
    /// More than [`MAX_CANDIDATES`] candidates.
    TooMany {
        /// Count found.
        count: usize,
    },
    /// The bytes are not a postcard sequence of candidates.
    Malformed,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl Serialize for Candidates<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.raw)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Candidates<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: &'de [u8] = <&'de [u8]>::deserialize(deserializer)?;
        Candidates::from_raw(raw).map_err(|e| {
            serde::de::Error::custom(match e {
                CandidatesError::TooMany { .. } => "too many candidates on a list",
                _ => "malformed candidate list",
            })
        })
    }
}

/// One numbered list (party) with its ordered candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct List<'a> {
    /// List number as printed on the ballot.
    pub number: u16,
    /// List name (acronym) as printed on the ballot.
    #[serde(borrow)]
    pub name: &'a str,
    /// Candidates in ballot order: titulars first, then successors.
    #[serde(borrow)]
    pub candidates: Candidates<'a>,
}

impl<'a> List<'a> {
    /// Number of titular candidates.
    pub fn titulars(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| c.kind == CandidateKind::Titular)
            .count()
    }
}

/// One election of the day (e.g. Chamber, regional parliament, European Parliament).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Election<'a> {
    /// Short identifier, unique within the event (printable ASCII, no spaces).
    #[serde(borrow)]
    pub id: &'a str,
    /// Name of the election in the offered languages.
    #[serde(borrow)]
    pub names: Names<'a>,
    /// Name of the constituency in the offered languages.
    #[serde(borrow)]
    pub constituency: Names<'a>,
    /// Seats to fill in the constituency.
    pub seats: u16,
    /// Seat allocation method.
    pub method: SeatMethod,
    /// Electoral threshold in hundredths of a percent of valid votes (500 = 5 %).
    pub threshold: u16,
    /// Whether lists may carry successor candidates.
    pub successors: bool,
    /// The lists, in ballot order.
    #[serde(borrow)]
    pub lists: Vec<List<'a>, MAX_LISTS>,
}

/// One polling day: the event and its elections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<'a> {
    /// Identifier of the event, bound into images, media and records (printable ASCII).
    #[serde(borrow)]
    pub id: &'a str,
    /// Name of the event in the offered languages.
    #[serde(borrow)]
    pub names: Names<'a>,
    /// Polling day.
    pub date: Date,
    /// Training or official.
    pub mode: Mode,
    /// Languages the voter can choose from, in display order.
    pub languages: Vec<Language, MAX_LANGUAGES>,
    /// Elections in the order the voter goes through them.
    #[serde(borrow)]
    pub elections: Vec<Election<'a>, MAX_ELECTIONS>,
}

/// Which name or field a validation error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `id`
    Id,
    /// `names` (translated name)
    Names,
    /// `constituency`
    Constituency,
    /// `name`
    Name,
    /// `date`
    Date,
    /// `languages`
    Languages,
    /// `elections`
    Elections,
    /// `seats`
    Seats,
    /// `threshold`
    Threshold,
    /// `lists`
    Lists,
    /// `number`
    Number,
    /// `candidates`
    Candidates,
    /// `kind`
    Kind,
}

impl Field {
    /// The field's name as written in the election definition.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Names => "names",
            Field::Constituency => "constituency",
            Field::Name => "name",
            Field::Date => "date",
            Field::Languages => "languages",
            Field::Elections => "elections",
            Field::Seats => "seats",
            Field::Threshold => "threshold",
            Field::Lists => "lists",
            Field::Number => "number",
            Field::Candidates => "candidates",
            Field::Kind => "kind",
        }
    }
}

/// Where in the event a validation error is, e.g. `elections[1].lists[3].candidates[0].name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPath {
    /// Index into `elections`, if inside an election.
    pub election: Option<usize>,
    /// Index into `lists`, if inside a list.
    pub list: Option<usize>,
    /// Index into `candidates`, if inside a candidate.
    pub candidate: Option<usize>,
    /// The field itself.
    pub field: Field,
    /// The language of a translated name, if the error is about one translation.
    pub language: Option<Language>,
}

impl FieldPath {
    const fn event(field: Field) -> Self {
        FieldPath {
            election: None,
            list: None,
            candidate: None,
            field,
            language: None,
        }
    }
    const fn election(e: usize, field: Field) -> Self {
        FieldPath {
            election: Some(e),
            ..FieldPath::event(field)
        }
    }
    const fn list(e: usize, l: usize, field: Field) -> Self {
        FieldPath {
            list: Some(l),
            ..FieldPath::election(e, field)
        }
    }
    const fn candidate(e: usize, l: usize, c: usize, field: Field) -> Self {
        FieldPath {
            candidate: Some(c),
            ..FieldPath::list(e, l, field)
        }
    }
    const fn in_language(self, language: Language) -> Self {
        FieldPath {
            language: Some(language),
            ..self
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.election {
            write!(f, "elections[{e}].")?;
        }
        if let Some(l) = self.list {
            write!(f, "lists[{l}].")?;
        }
        if let Some(c) = self.candidate {
            write!(f, "candidates[{c}].")?;
        }
        f.write_str(self.field.name())?;
        if let Some(language) = self.language {
            write!(f, ".{language}")?;
        }
        Ok(())
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A required name or identifier is empty (or only whitespace).
    Empty,
    /// A name is longer than `max` UTF-8 bytes.
    TooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// An identifier holds a byte other than printable ASCII without spaces.
    BadIdentifier,
    /// A name holds a control character.
    ControlCharacter,
    /// The translation for an offered language is missing.
    MissingTranslation,
    /// More items than the documented capacity.
    TooMany {
        /// Count found.
        count: usize,
        /// Capacity.
        max: usize,
    },
    /// A collection that must have at least one item is empty.
    None,
    /// The same value appears twice; `first` is the index of the earlier one.
    Duplicate {
        /// Index of the first occurrence.
        first: usize,
    },
    /// Seats must be at least 1.
    ZeroSeats,
    /// A number is out of its range.
    OutOfRange {
        /// Value found.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// The date is not a real calendar date.
    InvalidDate,
    /// A successor candidate on a list of an election without successors.
    SuccessorNotAllowed,
    /// A titular candidate after a successor (titulars come first).
    TitularAfterSuccessor,
    /// More titulars than seats.
    TooManyTitulars {
        /// Titulars on the list.
        titulars: usize,
        /// Seats in the election.
        seats: u16,
    },
    /// A list has no titular candidate.
    NoTitular,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Empty => f.write_str("empty"),
            Problem::TooLong { len, max } => write!(f, "too long ({len} bytes, at most {max})"),
            Problem::BadIdentifier => {
                f.write_str("not an identifier (printable ASCII without spaces)")
            }
            Problem::ControlCharacter => f.write_str("contains a control character"),
            Problem::MissingTranslation => {
                f.write_str("missing translation for an offered language")
            }
            Problem::TooMany { count, max } => write!(f, "too many ({count}, at most {max})"),
            Problem::None => f.write_str("at least one is required"),
            Problem::Duplicate { first } => write!(f, "duplicate of entry [{first}]"),
            Problem::ZeroSeats => f.write_str("zero seats"),
            Problem::OutOfRange { value, min, max } => {
                write!(f, "{value} is out of range {min}..={max}")
            }
            Problem::InvalidDate => f.write_str("not a valid date"),
            Problem::SuccessorNotAllowed => {
                f.write_str("successor candidate in an election without successors")
            }
            Problem::TitularAfterSuccessor => {
                f.write_str("titular candidate listed after a successor")
            }
            Problem::TooManyTitulars { titulars, seats } => {
                write!(f, "{titulars} titular candidates for {seats} seats")
            }
            Problem::NoTitular => f.write_str("list has no titular candidate"),
        }
    }
}

/// A validation error: where, and what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionError {
    /// Where the problem is.
    pub path: FieldPath,
    /// What the problem is.
    pub problem: Problem,
}

impl fmt::Display for ElectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

fn fail<T>(path: FieldPath, problem: Problem) -> Result<T, ElectionError> {
    Err(ElectionError { path, problem })
}

fn check_id(id: &str, path: FieldPath) -> Result<(), ElectionError> {
    if id.is_empty() {
        return fail(path, Problem::Empty);
    }
    if id.len() > MAX_ID_BYTES {
        return fail(
            path,
            Problem::TooLong {
                len: id.len(),
                max: MAX_ID_BYTES,
            },
        );
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return fail(path, Problem::BadIdentifier);
    }
    Ok(())
}

fn check_name(name: &str, path: FieldPath) -> Result<(), ElectionError> {
    if name.trim().is_empty() {
        return fail(path, Problem::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return fail(
            path,
            Problem::TooLong {
                len: name.len(),
                max: MAX_NAME_BYTES,
            },
        );
    }
    if name.chars().any(char::is_control) {
        return fail(path, Problem::ControlCharacter);
    }
    Ok(())
}

fn check_names(
    names: &Names<'_>,
    offered: &[Language],
    path: FieldPath,
) -> Result<(), ElectionError> {
    for language in Language::ALL {
        let at = path.in_language(language);
        match names.get(language) {
            Some(name) => check_name(name, at)?,
            None if offered.contains(&language) => return fail(at, Problem::MissingTranslation),
            None => {}
        }
    }
    Ok(())
}

impl<'a> Event<'a> {
    /// Check every rule of the model; the first violation is returned with its path.
    ///
    /// Capacities (elections, lists, candidates, languages) are also enforced by the
    /// `heapless` containers; `validate` re-checks the counts so that a model built by
    /// other means gets the same structured error.
    pub fn validate(&self) -> Result<(), ElectionError> {
        check_id(self.id, FieldPath::event(Field::Id))?;
        if self.languages.is_empty() {
            return fail(FieldPath::event(Field::Languages), Problem::None);
        }
        for (i, language) in self.languages.iter().enumerate() {
            if let Some(first) = self.languages.iter().position(|l| l == language) {
                if first < i {
                    return fail(
                        FieldPath::event(Field::Languages),
                        Problem::Duplicate { first },
                    );
                }
            }
        }
        let offered = self.languages.as_slice();
        check_names(&self.names, offered, FieldPath::event(Field::Names))?;
        if !self.date.is_valid() {
            return fail(FieldPath::event(Field::Date), Problem::InvalidDate);
        }
        if self.elections.is_empty() {
            return fail(FieldPath::event(Field::Elections), Problem::None);
        }
        for (e, election) in self.elections.iter().enumerate() {
            if let Some(first) = self.elections.iter().position(|x| x.id == election.id) {
                if first < e {
                    return fail(
                        FieldPath::election(e, Field::Id),
                        Problem::Duplicate { first },
                    );
                }
            }
            election.validate(e, offered)?;
        }
        Ok(())
    }

    /// Total number of candidates over all elections (for capacity planning).
    pub fn candidate_count(&self) -> usize {
        self.elections
            .iter()
            .flat_map(|e| e.lists.iter())
            .map(|l| l.candidates.len())
            .sum()
    }
}

impl<'a> Election<'a> {
    fn validate(&self, e: usize, offered: &[Language]) -> Result<(), ElectionError> {
        check_id(self.id, FieldPath::election(e, Field::Id))?;
        check_names(&self.names, offered, FieldPath::election(e, Field::Names))?;
        check_names(
            &self.constituency,
            offered,
            FieldPath::election(e, Field::Constituency),
        )?;
        if self.seats == 0 {
            return fail(FieldPath::election(e, Field::Seats), Problem::ZeroSeats);
        }
        if self.threshold > THRESHOLD_SCALE {
            return fail(
                FieldPath::election(e, Field::Threshold),
                Problem::OutOfRange {
                    value: u32::from(self.threshold),
                    min: 0,
                    max: u32::from(THRESHOLD_SCALE),
                },
            );
        }
        if self.lists.is_empty() {
            return fail(FieldPath::election(e, Field::Lists), Problem::None);
        }
        for (l, list) in self.lists.iter().enumerate() {
            if list.number == 0 || list.number > MAX_LIST_NUMBER {
                return fail(
                    FieldPath::list(e, l, Field::Number),
                    Problem::OutOfRange {
                        value: u32::from(list.number),
                        min: 1,
                        max: u32::from(MAX_LIST_NUMBER),
                    },
                );
            }
            if let Some(first) = self.lists.iter().position(|x| x.number == list.number) {
                if first < l {
                    return fail(
                        FieldPath::list(e, l, Field::Number),
                        Problem::Duplicate { first },
                    );
                }
            }
            check_name(list.name, FieldPath::list(e, l, Field::Name))?;
            self.validate_candidates(e, l, list)?;
        }
        Ok(())
    }

    fn validate_candidates(
        &self,
        e: usize,
        l: usize,
        list: &List<'_>,
    ) -> Result<(), ElectionError> {
        if list.candidates.is_empty() {
            return fail(FieldPath::list(e, l, Field::Candidates), Problem::None);
        }
        let mut seen_successor = false;
        if list.candidates.len() > MAX_CANDIDATES {
            return fail(
                FieldPath::list(e, l, Field::Candidates),
                Problem::TooMany {
                    count: list.candidates.len(),
                    max: MAX_CANDIDATES,
                },
            );
        }
        for (c, candidate) in list.candidates.iter().enumerate() {
            check_name(candidate.name, FieldPath::candidate(e, l, c, Field::Name))?;
            match candidate.kind {
                CandidateKind::Successor if !self.successors => {
                    return fail(
                        FieldPath::candidate(e, l, c, Field::Kind),
                        Problem::SuccessorNotAllowed,
                    )
                }
                CandidateKind::Successor => seen_successor = true,
                CandidateKind::Titular if seen_successor => {
                    return fail(
                        FieldPath::candidate(e, l, c, Field::Kind),
                        Problem::TitularAfterSuccessor,
                    )
                }
                CandidateKind::Titular => {}
            }
        }
        let titulars = list.titulars();
        if titulars == 0 {
            return fail(FieldPath::list(e, l, Field::Candidates), Problem::NoTitular);
        }
        if titulars > usize::from(self.seats) {
            return fail(
                FieldPath::list(e, l, Field::Candidates),
                Problem::TooManyTitulars {
                    titulars,
                    seats: self.seats,
                },
            );
        }
        Ok(())
    }

    /// The list at `index` (0-based ballot order).
    pub fn list(&self, index: usize) -> Option<&List<'a>> {
        self.lists.get(index)
    }
}

/// Errors decoding a postcard election definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a postcard `Event` (or exceed a capacity).
    Malformed,
    /// Bytes remain after the event.
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// The event decoded but breaks a rule of the model.
    Invalid(ElectionError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed => f.write_str("election definition is malformed"),
            DecodeError::TrailingBytes { count } => {
                write!(f, "election definition has {count} trailing bytes")
            }
            DecodeError::Invalid(e) => write!(f, "election definition is invalid: {e}"),
        }
    }
}

impl<'a> Event<'a> {
    /// Decode and validate a postcard election definition, borrowing names from `bytes`.
    pub fn from_postcard(bytes: &'a [u8]) -> Result<Event<'a>, DecodeError> {
        let (event, rest): (Event<'a>, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|_| DecodeError::Malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { count: rest.len() });
        }
        event.validate().map_err(DecodeError::Invalid)?;
        Ok(event)
    }

    /// Encode as postcard into `buf`, returning the used prefix.
    pub fn to_postcard<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], postcard::Error> {
        postcard::to_slice(self, buf)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::boxed::Box;

    /// Encode `people` into a leaked buffer (tests only).
    pub(crate) fn leak_candidates(people: &[Candidate<'_>]) -> Candidates<'static> {
        let buf = std::vec![0u8; 16 + people.len() * (MAX_NAME_BYTES + 4)].leak();
        Candidates::encode(people, buf).unwrap()
    }

    /// A small valid event used by tests across the crate: 2 elections.
    pub(crate) fn tiny_event() -> Box<Event<'static>> {
        let mut event = Box::new(Event {
            id: "TEST-2026",
            names: Names::same("Test event"),
            date: Date::new(2026, 5, 31).unwrap(),
            mode: Mode::Training,
            languages: Vec::from_slice(&[Language::Nl, Language::Fr]).unwrap(),
            elections: Vec::new(),
        });
        for (id, lists, per_list) in [("chamber", 3usize, 4usize), ("europe", 2, 2)] {
            let mut election = Election {
                id,
                names: Names::same(id),
                constituency: Names::same("Testkring"),
                seats: 4,
                method: SeatMethod::DHondt,
                threshold: 500,
                successors: true,
                lists: Vec::new(),
            };
            for l in 0..lists {
                let people: std::vec::Vec<Candidate<'static>> = (0..per_list)
                    .map(|c| Candidate {
                        name: "NAME Given",
                        kind: if c < 2 {
                            CandidateKind::Titular
                        } else {
                            CandidateKind::Successor
                        },
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
        event
    }

    #[test]
    fn tiny_event_is_valid_and_round_trips() {
        let event = tiny_event();
        event.validate().unwrap();
        let mut buf = std::vec![0u8; 64 * 1024];
        let bytes = event.to_postcard(&mut buf).unwrap().to_vec();
        let decoded = Event::from_postcard(&bytes).unwrap();
        assert_eq!(&decoded, event.as_ref());
    }

    #[test]
    fn trailing_bytes_rejected() {
        let event = tiny_event();
        let mut buf = std::vec![0u8; 64 * 1024];
        let mut bytes = event.to_postcard(&mut buf).unwrap().to_vec();
        bytes.push(0);
        assert_eq!(
            Event::from_postcard(&bytes),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn errors_name_their_path() {
        let mut event = tiny_event();
        let mut people: std::vec::Vec<_> = event.elections[1].lists[1].candidates.iter().collect();
        people[0].name = " ";
        event.elections[1].lists[1].candidates = leak_candidates(&people);
        let err = event.validate().unwrap_err();
        assert_eq!(
            std::format!("{err}"),
            "elections[1].lists[1].candidates[0].name: empty"
        );

        let mut event = tiny_event();
        event.elections[0].lists[2].number = 1;
        let err = event.validate().unwrap_err();
        assert_eq!(err.problem, Problem::Duplicate { first: 0 });
        assert_eq!(std::format!("{}", err.path), "elections[0].lists[2].number");

        let mut event = tiny_event();
        event.elections[0].seats = 0;
        assert_eq!(event.validate().unwrap_err().problem, Problem::ZeroSeats);

        let mut event = tiny_event();
        event.elections[0].names.fr = None;
        let err = event.validate().unwrap_err();
        assert_eq!(err.problem, Problem::MissingTranslation);
        assert_eq!(std::format!("{}", err.path), "elections[0].names.fr");

        // German is not offered, so a missing German name is fine.
        let mut event = tiny_event();
        event.elections[0].names.de = None;
        event.validate().unwrap();

        let mut event = tiny_event();
        event.elections[0].successors = false;
        assert_eq!(
            event.validate().unwrap_err().problem,
            Problem::SuccessorNotAllowed
        );

        let mut event = tiny_event();
        let mut people: std::vec::Vec<_> = event.elections[0].lists[0].candidates.iter().collect();
        people[3].kind = CandidateKind::Titular;
        event.elections[0].lists[0].candidates = leak_candidates(&people);
        assert_eq!(
            event.validate().unwrap_err().problem,
            Problem::TitularAfterSuccessor
        );

        let mut event = tiny_event();
        event.id = "has space";
        assert_eq!(
            event.validate().unwrap_err().problem,
            Problem::BadIdentifier
        );

        let mut event = tiny_event();
        event.date = Date {
            year: 2026,
            month: 2,
            day: 29,
        };
        assert_eq!(event.validate().unwrap_err().problem, Problem::InvalidDate);
    }

    #[test]
    fn capacities_are_enforced_by_decoding() {
        let one = Candidate {
            name: "A",
            kind: CandidateKind::Titular,
        };
        let too_many = std::vec![one; MAX_CANDIDATES + 1];
        let mut buf = std::vec![0u8; 4096];
        assert_eq!(
            Candidates::encode(&too_many, &mut buf),
            Err(CandidatesError::TooMany { count: 65 })
        );
        let raw = postcard::to_allocvec(&too_many).unwrap();
        assert_eq!(
            Candidates::from_raw(&raw),
            Err(CandidatesError::TooMany { count: 65 })
        );
        let full = Candidates::from_raw(&raw[..raw.len() - 3]);
        assert!(full.is_err(), "a truncated list is refused");
        let exact = std::vec![one; MAX_CANDIDATES];
        let c = Candidates::encode(&exact, &mut buf).unwrap();
        assert_eq!(c.len(), MAX_CANDIDATES);
        assert_eq!(c.iter().count(), MAX_CANDIDATES);
        assert_eq!(c.get(63), Some(one));
        assert_eq!(c.get(64), None);
    }

    #[test]
    fn largest_event_is_small_in_ram() {
        // Zero-copy candidates keep the decoded model small enough for a firmware stack.
        assert!(core::mem::size_of::<Event<'static>>() < 40 * 1024);
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Date::parse("2026-05-31"), Date::new(2026, 5, 31));
        assert_eq!(Date::parse("2024-02-29"), Date::new(2024, 2, 29));
        for bad in [
            "2026-5-31",
            "2026-02-30",
            "20260531",
            "+026-05-31",
            "2026-13-01",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }
}
