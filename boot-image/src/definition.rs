//! Election definitions written by the office in TOML (format in
//! `docs/formats/election-definition.md`).
//!
//! A [`Definition`] owns the strings and the encoded candidate lists of one polling day and
//! lends them out as a borrowed [`firmware::election::Event`], the same model the firmware
//! decodes from the boot image. Parsing checks every rule of the model
//! ([`Event::validate`]); every error names the file, the line and column, and the field
//! path, e.g. `demo.toml:41:9: elections[1].lists[3].candidates[0].name: empty`.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, FieldPath, Language, List, Mode,
    Names, Problem, SeatMethod, MAX_CANDIDATES, MAX_ELECTIONS, MAX_LANGUAGES, MAX_LISTS,
    THRESHOLD_SCALE,
};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml_edit::{Array, ArrayOfTables, ImDocument, InlineTable, Item, Table, Value};

/// The only `format` this version of the tool reads.
pub const FORMAT_VERSION: i64 = 1;

/// Hundredths of a percent in one percent (the model keeps thresholds in hundredths).
const HUNDREDTHS_PER_PERCENT: f64 = 100.0;

/// Largest encoded election definition this tool will produce, in bytes (a guard against
/// runaway inputs; the largest event the model allows is far smaller).
const MAX_ENCODED_DEFINITION_BYTES: usize = 64 * 1024 * 1024;

/// An election definition read from TOML, checked against every rule of the model.
#[derive(Debug, Clone)]
pub struct Definition {
    file: String,
    event: OwnedEvent,
}

#[derive(Debug, Clone)]
struct OwnedNames {
    nl: Option<String>,
    fr: Option<String>,
    de: Option<String>,
    en: Option<String>,
}

#[derive(Debug, Clone)]
struct OwnedEvent {
    id: String,
    names: OwnedNames,
    date: Date,
    mode: Mode,
    languages: Vec<Language>,
    elections: Vec<OwnedElection>,
}

#[derive(Debug, Clone)]
struct OwnedElection {
    id: String,
    names: OwnedNames,
    constituency: OwnedNames,
    seats: u16,
    method: SeatMethod,
    threshold: u16,
    successors: bool,
    lists: Vec<OwnedList>,
}

#[derive(Debug, Clone)]
struct OwnedList {
    number: u16,
    name: String,
    /// The candidates as encoded by [`Candidates::encode`].
    candidates: Vec<u8>,
}

/// What is wrong at a place in an election definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Defect {
    /// The text is not valid TOML.
    Syntax {
        /// The parser's explanation.
        message: String,
    },
    /// Valid TOML, but a key is unknown or missing or a value has the wrong type.
    Shape {
        /// The explanation (e.g. ``missing field `seats` ``).
        message: String,
    },
    /// The `format` key names a version this tool does not read.
    UnsupportedFormat {
        /// The version found.
        found: i64,
    },
    /// A language code other than `nl`, `fr`, `de` or `en`.
    UnknownLanguage {
        /// The code found.
        code: String,
    },
    /// A date with a time or offset, where a plain date (`2026-06-07`) is required.
    NotADate,
    /// A threshold outside 0 to 100 percent.
    ThresholdOutOfRange {
        /// The percentage found.
        percent: f64,
    },
    /// A threshold with more than two decimals (the model counts hundredths of a percent).
    ThresholdPrecision {
        /// The percentage found.
        percent: f64,
    },
    /// The definition breaks a rule of the election model.
    Rule(Problem),
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::Syntax { message } | Defect::Shape { message } => {
                // Multi-line parser messages become one line.
                let mut first = true;
                for line in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    if !first {
                        f.write_str("; ")?;
                    }
                    f.write_str(line)?;
                    first = false;
                }
                Ok(())
            }
            Defect::UnsupportedFormat { found } => write!(
                f,
                "unsupported format version {found} (this tool reads {FORMAT_VERSION})"
            ),
            Defect::UnknownLanguage { code } => write!(
                f,
                "unknown language `{code}` (expected one of nl, fr, de, en)"
            ),
            Defect::NotADate => f.write_str("expected a plain date such as 2026-06-07"),
            Defect::ThresholdOutOfRange { percent } => {
                write!(f, "{percent} % is out of range 0..=100 %")
            }
            Defect::ThresholdPrecision { percent } => write!(
                f,
                "{percent} % has more than two decimals (hundredths of a percent at most)"
            ),
            Defect::Rule(problem) => write!(f, "{problem}"),
        }
    }
}

/// Errors loading an election definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DefinitionError {
    /// The file could not be read.
    Unreadable {
        /// The file as named by the user.
        file: String,
        /// Why it could not be read.
        reason: String,
    },
    /// Something in the file is wrong.
    Invalid {
        /// The file as named by the user.
        file: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// Field path, e.g. `elections[1].lists[3].candidates[0].name` (empty for the whole file).
        path: String,
        /// What is wrong.
        defect: Defect,
    },
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefinitionError::Unreadable { file, reason } => write!(f, "{file}: {reason}"),
            DefinitionError::Invalid {
                file,
                line,
                column,
                path,
                defect,
            } => {
                write!(f, "{file}:{line}:{column}: ")?;
                if !path.is_empty() {
                    write!(f, "{path}: ")?;
                }
                write!(f, "{defect}")
            }
        }
    }
}

impl std::error::Error for DefinitionError {}

// ---------------------------------------------------------------------------------------
// The TOML schema (serde side).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventDef {
    format: i64,
    id: String,
    names: NamesDef,
    date: toml_edit::Datetime,
    mode: ModeDef,
    languages: Vec<String>,
    elections: Vec<ElectionDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElectionDef {
    id: String,
    names: NamesDef,
    constituency: NamesDef,
    seats: u16,
    method: MethodDef,
    threshold: Percent,
    #[serde(default)]
    successors: bool,
    lists: Vec<ListDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListDef {
    number: u16,
    name: String,
    candidates: Vec<CandidateDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateDef {
    name: String,
    kind: KindDef,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ModeDef {
    Training,
    Official,
}

#[derive(Deserialize, Clone, Copy)]
enum MethodDef {
    #[serde(rename = "dhondt")]
    DHondt,
    #[serde(rename = "imperiali")]
    Imperiali,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum KindDef {
    Titular,
    Successor,
}

/// A name: either one string used for every language, or a table `{ nl = .., fr = .. }`.
#[derive(Default)]
struct NamesDef {
    nl: Option<String>,
    fr: Option<String>,
    de: Option<String>,
    en: Option<String>,
}

impl<'de> Deserialize<'de> for NamesDef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor;
        impl<'de> Visitor<'de> for NamesVisitor {
            type Value = NamesDef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name, or a table of names such as { nl = \"..\", fr = \"..\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NamesDef, E> {
                Ok(NamesDef {
                    nl: Some(v.to_string()),
                    fr: Some(v.to_string()),
                    de: Some(v.to_string()),
                    en: Some(v.to_string()),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamesDef, A::Error> {
                let mut names = NamesDef::default();
                while let Some(code) = map.next_key::<String>()? {
                    let slot = match Language::from_code(&code) {
                        Some(Language::Nl) => &mut names.nl,
                        Some(Language::Fr) => &mut names.fr,
                        Some(Language::De) => &mut names.de,
                        Some(Language::En) => &mut names.en,
                        _ => {
                            return Err(de::Error::custom(format_args!(
                                "unknown language `{code}` (expected one of nl, fr, de, en)"
                            )))
                        }
                    };
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(names)
            }
        }
        deserializer.deserialize_any(NamesVisitor)
    }
}

/// A percentage given as a TOML integer or float.
struct Percent(f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PercentVisitor;
        impl Visitor<'_> for PercentVisitor {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage such as 5 or 4.5")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                // Any realistic value is exact in f64; huge ones are rejected as out of range.
                Ok(Percent(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                Ok(Percent(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                Ok(Percent(v))
            }
        }
        deserializer.deserialize_any(PercentVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Paths into the TOML document and their spans.

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn path_text(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Index(i) => {
                text.push('[');
                text.push_str(&i.to_string());
                text.push(']');
            }
        }
    }
    text
}

fn key(name: &str) -> Step {
    Step::Key(name.to_string())
}

/// The steps of a model field path.
fn steps_of(path: &FieldPath) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(e) = path.election {
        steps.push(key("elections"));
        steps.push(Step::Index(e));
    }
    if let Some(l) = path.list {
        steps.push(key("lists"));
        steps.push(Step::Index(l));
    }
    if let Some(c) = path.candidate {
        steps.push(key("candidates"));
        steps.push(Step::Index(c));
    }
    steps.push(key(path.field.name()));
    if let Some(language) = path.language {
        steps.push(key(language.code()));
    }
    steps
}

/// A node of the parsed document, whichever TOML syntax produced it.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d Table),
    Inline(&'d InlineTable),
    Array(&'d Array),
    Tables(&'d ArrayOfTables),
    Leaf(&'d Value),
}

impl<'d> Node<'d> {
    fn of_item(item: &'d Item) -> Option<Node<'d>> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(Node::of_value(value)),
            Item::Table(table) => Some(Node::Table(table)),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
        }
    }

    fn of_value(value: &'d Value) -> Node<'d> {
        match value {
            Value::Array(array) => Node::Array(array),
            Value::InlineTable(table) => Node::Inline(table),
            _ => Node::Leaf(value),
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Inline(t) => t.span(),
            Node::Array(a) => a.span(),
            Node::Tables(a) => a.span(),
            Node::Leaf(v) => v.span(),
        }
    }

    fn child(self, step: &Step) -> Option<Node<'d>> {
        match (self, step) {
            (Node::Table(t), Step::Key(k)) => t.get(k).and_then(Node::of_item),
            (Node::Inline(t), Step::Key(k)) => t.get(k).map(Node::of_value),
            (Node::Array(a), Step::Index(i)) => a.get(*i).map(Node::of_value),
            (Node::Tables(a), Step::Index(i)) => a.get(*i).map(Node::Table),
            _ => None,
        }
    }

    /// Every child with its step and, for keys, the span of the key itself.
    fn children(self) -> Vec<(Step, Option<Range<usize>>, Node<'d>)> {
        match self {
            Node::Table(t) => t
                .iter()
                .filter_map(|(k, item)| {
                    let node = Node::of_item(item)?;
                    Some((key(k), t.key(k).and_then(|k| k.span()), node))
                })
                .collect(),
            Node::Inline(t) => t
                .iter()
                .map(|(k, value)| {
                    (
                        key(k),
                        t.key(k).and_then(|k| k.span()),
                        Node::of_value(value),
                    )
                })
                .collect(),
            Node::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (Step::Index(i), None, Node::of_value(v)))
                .collect(),
            Node::Tables(a) => a
                .iter()
                .enumerate()
                .map(|(i, t)| (Step::Index(i), None, Node::Table(t)))
                .collect(),
            Node::Leaf(_) => Vec::new(),
        }
    }
}

/// The span of the deepest node on `steps` that exists in the document.
fn span_of(doc: &ImDocument<String>, steps: &[Step]) -> Option<Range<usize>> {
    let mut node = Node::Table(doc.as_table());
    let mut best = node.span();
    for step in steps {
        match node.child(step) {
            Some(next) => {
                node = next;
                best = next.span().or(best);
            }
            None => break,
        }
    }
    best
}

/// The path of the smallest node (or key) whose span contains `offset`.
fn steps_at(doc: &ImDocument<String>, offset: usize) -> Vec<Step> {
    /// The best match so far: span length and path.
    type Best = Option<(usize, Vec<Step>)>;
    fn consider(span: Option<Range<usize>>, steps: &[Step], offset: usize, best: &mut Best) {
        let Some(span) = span else { return };
        let len = span.end.saturating_sub(span.start);
        let inside = span.contains(&offset) || (span.is_empty() && span.start == offset);
        // Prefer the smaller span; on equal spans prefer the deeper path.
        let better = match best {
            Some((best_len, best_steps)) => {
                len < *best_len || (len == *best_len && steps.len() > best_steps.len())
            }
            None => true,
        };
        if inside && better {
            *best = Some((len, steps.to_vec()));
        }
    }
    fn walk(node: Node<'_>, steps: &mut Vec<Step>, offset: usize, best: &mut Best) {
        consider(node.span(), steps, offset, best);
        for (step, key_span, child) in node.children() {
            steps.push(step);
            consider(key_span, steps, offset, best);
            walk(child, steps, offset, best);
            steps.pop();
        }
    }
    let mut best = None;
    walk(
        Node::Table(doc.as_table()),
        &mut Vec::new(),
        offset,
        &mut best,
    );
    best.map(|(_, steps)| steps).unwrap_or_default()
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset = offset.saturating_sub(1);
    }
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count().saturating_add(1);
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let column = before
        .get(line_start..)
        .unwrap_or("")
        .chars()
        .count()
        .saturating_add(1);
    (line, column)
}

/// Builds located errors for one file.
struct Locator<'t> {
    file: &'t str,
    text: &'t str,
    doc: &'t ImDocument<String>,
}

impl Locator<'_> {
    fn at_span(&self, span: Option<Range<usize>>, path: String, defect: Defect) -> DefinitionError {
        let (line, column) = span.map_or((1, 1), |s| line_column(self.text, s.start));
        DefinitionError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            path,
            defect,
        }
    }

    fn at(&self, steps: &[Step], defect: Defect) -> DefinitionError {
        self.at_span(span_of(self.doc, steps), path_text(steps), defect)
    }

    fn rule(&self, path: &FieldPath, problem: Problem) -> DefinitionError {
        // The model's display and ours agree: `elections[1].lists[3].candidates[0].name`.
        self.at(&steps_of(path), Defect::Rule(problem))
    }
}

// ---------------------------------------------------------------------------------------
// Conversion into the owned model.

fn owned_names(names: NamesDef) -> OwnedNames {
    OwnedNames {
        nl: names.nl,
        fr: names.fr,
        de: names.de,
        en: names.en,
    }
}

fn too_many(
    at: &Locator<'_>,
    steps: &[Step],
    count: usize,
    max: usize,
) -> Result<(), DefinitionError> {
    if count > max {
        return Err(at.at(steps, Defect::Rule(Problem::TooMany { count, max })));
    }
    Ok(())
}

fn threshold_hundredths(
    at: &Locator<'_>,
    steps: &[Step],
    percent: f64,
) -> Result<u16, DefinitionError> {
    if !(0.0..=100.0).contains(&percent) {
        return Err(at.at(steps, Defect::ThresholdOutOfRange { percent }));
    }
    let scaled = percent * HUNDREDTHS_PER_PERCENT;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 {
        return Err(at.at(steps, Defect::ThresholdPrecision { percent }));
    }
    // 0.0..=10_000.0 and integral, so the conversion is exact.
    let hundredths = rounded as u16;
    debug_assert!(hundredths <= THRESHOLD_SCALE);
    Ok(hundredths)
}

fn convert(at: &Locator<'_>, def: EventDef) -> Result<OwnedEvent, DefinitionError> {
    if def.format != FORMAT_VERSION {
        return Err(at.at(
            &[key("format")],
            Defect::UnsupportedFormat { found: def.format },
        ));
    }
    let date = match (def.date.date, def.date.time, def.date.offset) {
        (Some(d), None, None) => Date {
            year: d.year,
            month: d.month,
            day: d.day,
        },
        _ => return Err(at.at(&[key("date")], Defect::NotADate)),
    };
    too_many(at, &[key("languages")], def.languages.len(), MAX_LANGUAGES)?;
    let mut languages = Vec::with_capacity(def.languages.len());
    for (i, code) in def.languages.iter().enumerate() {
        let language = Language::from_code(code).ok_or_else(|| {
            at.at(
                &[key("languages"), Step::Index(i)],
                Defect::UnknownLanguage { code: code.clone() },
            )
        })?;
        languages.push(language);
    }
    too_many(at, &[key("elections")], def.elections.len(), MAX_ELECTIONS)?;
    let mut elections = Vec::with_capacity(def.elections.len());
    for (e, election) in def.elections.into_iter().enumerate() {
        let here = |field: &str| [key("elections"), Step::Index(e), key(field)];
        let threshold = threshold_hundredths(at, &here("threshold"), election.threshold.0)?;
        too_many(at, &here("lists"), election.lists.len(), MAX_LISTS)?;
        let mut lists = Vec::with_capacity(election.lists.len());
        for (l, list) in election.lists.into_iter().enumerate() {
            let candidates_at = [
                key("elections"),
                Step::Index(e),
                key("lists"),
                Step::Index(l),
                key("candidates"),
            ];
            too_many(at, &candidates_at, list.candidates.len(), MAX_CANDIDATES)?;
            let people: Vec<Candidate<'_>> = list
                .candidates
                .iter()
                .map(|c| Candidate {
                    name: &c.name,
                    kind: match c.kind {
                        KindDef::Titular => CandidateKind::Titular,
                        KindDef::Successor => CandidateKind::Successor,
                    },
                })
                .collect();
            // Count prefix, then per candidate a length prefix, the name and the kind.
            let bound = people
                .iter()
                .map(|c| c.name.len().saturating_add(8))
                .fold(8usize, usize::saturating_add);
            let mut buf = vec![0u8; bound];
            let used = Candidates::encode(&people, &mut buf)
                .map_err(|_| {
                    at.at(
                        &candidates_at,
                        Defect::Rule(Problem::TooMany {
                            count: people.len(),
                            max: MAX_CANDIDATES,
                        }),
                    )
                })?
                .raw()
                .len();
            buf.truncate(used);
            lists.push(OwnedList {
                number: list.number,
                name: list.name,
                candidates: buf,
            });
        }
        elections.push(OwnedElection {
            id: election.id,
            names: owned_names(election.names),
            constituency: owned_names(election.constituency),
            seats: election.seats,
            method: match election.method {
                MethodDef::DHondt => SeatMethod::DHondt,
                MethodDef::Imperiali => SeatMethod::Imperiali,
            },
            threshold,
            successors: election.successors,
            lists,
        });
    }
    Ok(OwnedEvent {
        id: def.id,
        names: owned_names(def.names),
        date,
        mode: match def.mode {
            ModeDef::Training => Mode::Training,
            ModeDef::Official => Mode::Official,
        },
        languages,
        elections,
    })
}

fn borrowed_names(names: &OwnedNames) -> Names<'_> {
    Names {
        nl: names.nl.as_deref(),
        fr: names.fr.as_deref(),
        de: names.de.as_deref(),
        en: names.en.as_deref(),
    }
}

/// Why the owned model did not fit the borrowed one (capacities are checked earlier, so this
/// only reports a broken invariant).
#[derive(Debug)]
struct CapacityExceeded;

impl OwnedEvent {
    fn borrow(&self) -> Result<Event<'_>, CapacityExceeded> {
        let mut event = Event {
            id: &self.id,
            names: borrowed_names(&self.names),
            date: self.date,
            mode: self.mode,
            languages: heapless::Vec::from_slice(&self.languages).map_err(|_| CapacityExceeded)?,
            elections: heapless::Vec::new(),
        };
        for election in &self.elections {
            let mut lists = heapless::Vec::new();
            for list in &election.lists {
                let candidates =
                    Candidates::from_raw(&list.candidates).map_err(|_| CapacityExceeded)?;
                lists
                    .push(List {
                        number: list.number,
                        name: &list.name,
                        candidates,
                    })
                    .map_err(|_| CapacityExceeded)?;
            }
            event
                .elections
                .push(Election {
                    id: &election.id,
                    names: borrowed_names(&election.names),
                    constituency: borrowed_names(&election.constituency),
                    seats: election.seats,
                    method: election.method,
                    threshold: election.threshold,
                    successors: election.successors,
                    lists,
                })
                .map_err(|_| CapacityExceeded)?;
        }
        Ok(event)
    }
}

impl Definition {
    /// Read and check the election definition in `path`.
    pub fn load(path: &Path) -> Result<Definition, DefinitionError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DefinitionError::Unreadable {
            file: file.clone(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                _ => e.to_string(),
            },
        })?;
        Definition::parse(&file, &text)
    }

    /// Parse and check an election definition; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Definition, DefinitionError> {
        let doc = ImDocument::parse(text.to_string()).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
            DefinitionError::Invalid {
                file: file.to_string(),
                line,
                column,
                path: String::new(),
                defect: Defect::Syntax {
                    message: e.message().to_string(),
                },
            }
        })?;
        let at = Locator {
            file,
            text,
            doc: &doc,
        };
        let def: EventDef = toml_edit::de::from_document(doc.clone()).map_err(|e| {
            let span = e.span();
            let steps = span
                .as_ref()
                .map_or_else(Vec::new, |s| steps_at(&doc, s.start));
            at.at_span(
                span,
                path_text(&steps),
                Defect::Shape {
                    message: e.message().to_string(),
                },
            )
        })?;
        let owned = convert(&at, def)?;
        let event = owned.borrow().map_err(|CapacityExceeded| {
            at.at(
                &[],
                Defect::Shape {
                    message: "exceeds a capacity of the election model".to_string(),
                },
            )
        })?;
        event.validate().map_err(|e| at.rule(&e.path, e.problem))?;
        drop(event);
        Ok(Definition {
            file: file.to_string(),
            event: owned,
        })
    }

    /// The file the definition was read from, as named by the user.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The election event, borrowing its names from this definition.
    pub fn event(&self) -> Event<'_> {
        // Every capacity was checked by `parse`, and `borrow` succeeded there on the same data.
        self.event
            .borrow()
            .expect("capacities were checked when the definition was parsed")
    }

    /// The canonical postcard encoding of the event, as carried in the boot image.
    pub fn to_postcard(&self) -> Vec<u8> {
        let event = self.event();
        let mut size = 64 * 1024;
        loop {
            let mut buf = vec![0u8; size];
            match event.to_postcard(&mut buf) {
                Ok(used) => {
                    let len = used.len();
                    buf.truncate(len);
                    return buf;
                }
                Err(_) if size < MAX_ENCODED_DEFINITION_BYTES => size = size.saturating_mul(2),
                Err(e) => panic!("an election definition encodes into a few hundred KiB: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples");

    /// A small valid definition; line numbers matter to the tests below.
    const BASE: &str = r#"format = 1
id = "TEST-2026"
mode = "training"
date = 2026-06-07
languages = ["nl", "fr"]
names = { nl = "Test", fr = "Essai" }

[[elections]]
id = "chamber"
names = { nl = "Kamer", fr = "Chambre" }
constituency = "Testkring"
seats = 2
method = "dhondt"
threshold = 5
successors = true

[[elections.lists]]
number = 1
name = "A"
candidates = [
    { name = "ALPHA An", kind = "titular" },
    { name = "BETA Bo", kind = "successor" },
]

[[elections.lists]]
number = 2
name = "B"
candidates = [
    { name = "GAMMA Gi", kind = "titular" },
]

[[elections]]
id = "europe"
names = { nl = "Europa", fr = "Europe" }
constituency = { nl = "Kiescollege", fr = "Collège" }
seats = 1
method = "imperiali"
threshold = 0

[[elections.lists]]
number = 1
name = "C"
candidates = [{ name = "DELTA Di", kind = "titular" }]
"#;

    /// The error line for `BASE` with `from` replaced (exactly once) by `to`.
    fn error_after(from: &str, to: &str) -> String {
        assert_eq!(BASE.matches(from).count(), 1, "`{from}` must occur once");
        let text = BASE.replacen(from, to, 1);
        match Definition::parse("t.toml", &text) {
            Ok(_) => panic!("`{to}` was accepted"),
            Err(e) => format!("{e}"),
        }
    }

    #[test]
    fn base_is_valid() {
        let definition = Definition::parse("t.toml", BASE).unwrap();
        let event = definition.event();
        assert_eq!(event.id, "TEST-2026");
        assert_eq!(event.date, Date::new(2026, 6, 7).unwrap());
        assert_eq!(event.languages.as_slice(), &[Language::Nl, Language::Fr]);
        assert_eq!(event.elections.len(), 2);
        let chamber = &event.elections[0];
        assert_eq!(chamber.threshold, 500);
        assert_eq!(chamber.method, SeatMethod::DHondt);
        assert_eq!(chamber.constituency, Names::same("Testkring"));
        assert_eq!(chamber.lists[0].candidates.len(), 2);
        assert_eq!(
            chamber.lists[0].candidates.get(1),
            Some(Candidate {
                name: "BETA Bo",
                kind: CandidateKind::Successor
            })
        );
        let europe = &event.elections[1];
        assert_eq!(europe.method, SeatMethod::Imperiali);
        assert!(!europe.successors, "successors default to false");
        assert_eq!(europe.constituency.fr, Some("Collège"));
        // The postcard form decodes to the same event.
        let bytes = definition.to_postcard();
        assert_eq!(Event::from_postcard(&bytes).unwrap(), event);
    }

    #[test]
    fn threshold_accepts_hundredths_of_a_percent() {
        let text = BASE.replacen("threshold = 5", "threshold = 4.25", 1);
        let definition = Definition::parse("t.toml", &text).unwrap();
        assert_eq!(definition.event().elections[0].threshold, 425);
    }

    // One test per rule of the model, each with the exact error line.

    #[test]
    fn event_id_empty() {
        assert_eq!(
            error_after(r#"id = "TEST-2026""#, r#"id = """#),
            "t.toml:2:6: id: empty"
        );
    }

    #[test]
    fn event_id_too_long() {
        let long = format!(r#"id = "{}""#, "X".repeat(33));
        assert_eq!(
            error_after(r#"id = "TEST-2026""#, &long),
            "t.toml:2:6: id: too long (33 bytes, at most 32)"
        );
    }

    #[test]
    fn event_id_not_an_identifier() {
        assert_eq!(
            error_after(r#"id = "TEST-2026""#, r#"id = "TEST 2026""#),
            "t.toml:2:6: id: not an identifier (printable ASCII without spaces)"
        );
    }

    #[test]
    fn languages_none() {
        assert_eq!(
            error_after(r#"languages = ["nl", "fr"]"#, "languages = []"),
            "t.toml:5:13: languages: at least one is required"
        );
    }

    #[test]
    fn languages_duplicate() {
        assert_eq!(
            error_after(
                r#"languages = ["nl", "fr"]"#,
                r#"languages = ["nl", "fr", "nl"]"#
            ),
            "t.toml:5:13: languages: duplicate of entry [0]"
        );
    }

    #[test]
    fn languages_too_many() {
        assert_eq!(
            error_after(
                r#"languages = ["nl", "fr"]"#,
                r#"languages = ["nl", "fr", "de", "en", "nl"]"#
            ),
            "t.toml:5:13: languages: too many (5, at most 4)"
        );
    }

    #[test]
    fn languages_unknown() {
        assert_eq!(
            error_after(r#"languages = ["nl", "fr"]"#, r#"languages = ["nl", "it"]"#),
            "t.toml:5:20: languages[1]: unknown language `it` (expected one of nl, fr, de, en)"
        );
    }

    #[test]
    fn event_names_missing_translation() {
        assert_eq!(
            error_after(
                r#"names = { nl = "Test", fr = "Essai" }"#,
                r#"names = { nl = "Test" }"#
            ),
            "t.toml:6:9: names.fr: missing translation for an offered language"
        );
    }

    #[test]
    fn event_names_unknown_language() {
        assert_eq!(
            error_after(
                r#"names = { nl = "Test", fr = "Essai" }"#,
                r#"names = { nl = "Test", fr = "Essai", it = "Prova" }"#
            ),
            "t.toml:6:9: names: unknown language `it` (expected one of nl, fr, de, en)"
        );
    }

    #[test]
    fn event_names_empty() {
        assert_eq!(
            error_after(r#"fr = "Essai" }"#, r#"fr = "  " }"#),
            "t.toml:6:29: names.fr: empty"
        );
    }

    #[test]
    fn date_invalid() {
        assert_eq!(
            error_after("date = 2026-06-07", "date = 1999-06-07"),
            "t.toml:4:8: date: not a valid date"
        );
    }

    #[test]
    fn date_with_time() {
        assert_eq!(
            error_after("date = 2026-06-07", "date = 2026-06-07T08:00:00"),
            "t.toml:4:8: date: expected a plain date such as 2026-06-07"
        );
    }

    #[test]
    fn elections_none() {
        let text = "format = 1\nid = \"T\"\nmode = \"official\"\ndate = 2026-06-07\n\
                    languages = [\"nl\"]\nnames = \"T\"\nelections = []\n";
        let err = Definition::parse("t.toml", text).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "t.toml:7:13: elections: at least one is required"
        );
    }

    #[test]
    fn elections_too_many() {
        let mut text = BASE.to_string();
        for i in 0..7 {
            text.push_str(&format!(
                "\n[[elections]]\nid = \"extra{i}\"\nnames = \"X\"\nconstituency = \"X\"\n\
                 seats = 1\nmethod = \"dhondt\"\nthreshold = 0\n\
                 [[elections.lists]]\nnumber = 1\nname = \"X\"\n\
                 candidates = [{{ name = \"X\", kind = \"titular\" }}]\n"
            ));
        }
        let err = Definition::parse("t.toml", &text).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "t.toml:8:1: elections: too many (9, at most 8)"
        );
    }

    #[test]
    fn election_id_duplicate() {
        assert_eq!(
            error_after(r#"id = "europe""#, r#"id = "chamber""#),
            "t.toml:33:6: elections[1].id: duplicate of entry [0]"
        );
    }

    #[test]
    fn election_id_not_an_identifier() {
        assert_eq!(
            error_after(r#"id = "europe""#, r#"id = "europe!\t""#),
            "t.toml:33:6: elections[1].id: not an identifier (printable ASCII without spaces)"
        );
    }

    #[test]
    fn election_names_missing_translation() {
        assert_eq!(
            error_after(
                r#"names = { nl = "Europa", fr = "Europe" }"#,
                r#"names = { fr = "Europe" }"#
            ),
            "t.toml:34:9: elections[1].names.nl: missing translation for an offered language"
        );
    }

    #[test]
    fn constituency_control_character() {
        assert_eq!(
            error_after(
                r#"constituency = "Testkring""#,
                r#"constituency = "Test\u0007kring""#
            ),
            "t.toml:11:16: elections[0].constituency.nl: contains a control character"
        );
    }

    #[test]
    fn constituency_missing_translation() {
        assert_eq!(
            error_after(r#"fr = "Collège" }"#, r#"de = "Kollegium" }"#),
            "t.toml:35:16: elections[1].constituency.fr: missing translation for an offered language"
        );
    }

    #[test]
    fn seats_zero() {
        assert_eq!(
            error_after("seats = 1", "seats = 0"),
            "t.toml:36:9: elections[1].seats: zero seats"
        );
    }

    #[test]
    fn threshold_out_of_range() {
        assert_eq!(
            error_after("threshold = 5", "threshold = 100.5"),
            "t.toml:14:13: elections[0].threshold: 100.5 % is out of range 0..=100 %"
        );
        assert_eq!(
            error_after("threshold = 5", "threshold = -1"),
            "t.toml:14:13: elections[0].threshold: -1 % is out of range 0..=100 %"
        );
    }

    #[test]
    fn threshold_too_precise() {
        assert_eq!(
            error_after("threshold = 5", "threshold = 4.125"),
            "t.toml:14:13: elections[0].threshold: 4.125 % has more than two decimals \
             (hundredths of a percent at most)"
        );
    }

    #[test]
    fn lists_none() {
        let text = BASE.replacen(
            "\n[[elections.lists]]\nnumber = 1\nname = \"C\"",
            "\nlists = []\n[x]\nnumber = 1\nname = \"C\"",
            1,
        );
        // The replaced tail is not a list any more; cut it off to keep the document valid.
        let text = text.split("[x]").next().unwrap().to_string();
        let err = Definition::parse("t.toml", &text).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "t.toml:40:9: elections[1].lists: at least one is required"
        );
    }

    #[test]
    fn lists_too_many() {
        let mut text = BASE.to_string();
        for number in 2..=41 {
            text.push_str(&format!(
                "\n[[elections.lists]]\nnumber = {number}\nname = \"X\"\n\
                 candidates = [{{ name = \"X\", kind = \"titular\" }}]\n"
            ));
        }
        let err = Definition::parse("t.toml", &text).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "t.toml:40:1: elections[1].lists: too many (41, at most 40)"
        );
    }

    #[test]
    fn list_number_out_of_range() {
        assert_eq!(
            error_after("number = 2", "number = 1000"),
            "t.toml:26:10: elections[0].lists[1].number: 1000 is out of range 1..=999"
        );
        assert_eq!(
            error_after("number = 2", "number = 0"),
            "t.toml:26:10: elections[0].lists[1].number: 0 is out of range 1..=999"
        );
    }

    #[test]
    fn list_number_duplicate() {
        assert_eq!(
            error_after("number = 2", "number = 1"),
            "t.toml:26:10: elections[0].lists[1].number: duplicate of entry [0]"
        );
    }

    #[test]
    fn list_name_empty() {
        assert_eq!(
            error_after(r#"name = "B""#, r#"name = """#),
            "t.toml:27:8: elections[0].lists[1].name: empty"
        );
    }

    #[test]
    fn list_name_too_long() {
        let long = format!(r#"name = "{}""#, "É".repeat(49));
        assert_eq!(
            error_after(r#"name = "B""#, &long),
            "t.toml:27:8: elections[0].lists[1].name: too long (98 bytes, at most 96)"
        );
    }

    #[test]
    fn candidates_none() {
        assert_eq!(
            error_after(
                r#"candidates = [{ name = "DELTA Di", kind = "titular" }]"#,
                "candidates = []"
            ),
            "t.toml:43:14: elections[1].lists[0].candidates: at least one is required"
        );
    }

    #[test]
    fn candidates_too_many() {
        let many: Vec<String> = (0..65)
            .map(|i| format!(r#"{{ name = "P{i}", kind = "titular" }}"#))
            .collect();
        assert_eq!(
            error_after(
                r#"candidates = [{ name = "DELTA Di", kind = "titular" }]"#,
                &format!("candidates = [{}]", many.join(", "))
            ),
            "t.toml:43:14: elections[1].lists[0].candidates: too many (65, at most 64)"
        );
    }

    #[test]
    fn candidate_name_empty() {
        assert_eq!(
            error_after(r#""GAMMA Gi""#, r#""""#),
            "t.toml:29:14: elections[0].lists[1].candidates[0].name: empty"
        );
    }

    #[test]
    fn candidate_name_too_long() {
        let long = format!(r#""{}""#, "N".repeat(97));
        assert_eq!(
            error_after(r#""GAMMA Gi""#, &long),
            "t.toml:29:14: elections[0].lists[1].candidates[0].name: too long (97 bytes, at most 96)"
        );
    }

    #[test]
    fn candidate_name_control_character() {
        assert_eq!(
            error_after(r#""BETA Bo""#, r#""BETA\nBo""#),
            "t.toml:22:14: elections[0].lists[0].candidates[1].name: contains a control character"
        );
    }

    #[test]
    fn successor_not_allowed() {
        assert_eq!(
            error_after("successors = true", "successors = false"),
            "t.toml:22:32: elections[0].lists[0].candidates[1].kind: \
             successor candidate in an election without successors"
        );
    }

    #[test]
    fn titular_after_successor() {
        assert_eq!(
            error_after(
                r#"{ name = "BETA Bo", kind = "successor" },"#,
                r#"{ name = "BETA Bo", kind = "successor" }, { name = "EPS Ed", kind = "titular" },"#
            ),
            "t.toml:22:73: elections[0].lists[0].candidates[2].kind: \
             titular candidate listed after a successor"
        );
    }

    #[test]
    fn no_titular() {
        assert_eq!(
            error_after(r#"{ name = "ALPHA An", kind = "titular" },"#, ""),
            "t.toml:20:14: elections[0].lists[0].candidates: list has no titular candidate"
        );
    }

    #[test]
    fn too_many_titulars() {
        assert_eq!(
            error_after(
                r#"{ name = "GAMMA Gi", kind = "titular" },"#,
                r#"{ name = "GAMMA Gi", kind = "titular" }, { name = "G2", kind = "titular" }, { name = "G3", kind = "titular" },"#
            ),
            "t.toml:28:14: elections[0].lists[1].candidates: 3 titular candidates for 2 seats"
        );
    }

    // The TOML layer: syntax, shape and format errors.

    #[test]
    fn syntax_error() {
        assert_eq!(
            error_after("seats = 2", "seats = = 2"),
            "t.toml:12:9: invalid string; expected `\"`, `'`"
        );
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            error_after("seats = 2", r#"seats = "two""#),
            "t.toml:12:9: elections[0].seats: invalid type: string \"two\", expected u16"
        );
    }

    #[test]
    fn unknown_key() {
        assert_eq!(
            error_after("seats = 1", "seats = 1\nseat = 1"),
            "t.toml:37:1: elections[1].seat: unknown field `seat`, expected one of `id`, \
             `names`, `constituency`, `seats`, `method`, `threshold`, `successors`, `lists`"
        );
    }

    #[test]
    fn missing_key() {
        assert_eq!(
            error_after("method = \"imperiali\"\n", ""),
            "t.toml:32:1: elections[1]: missing field `method`"
        );
    }

    #[test]
    fn unknown_method() {
        assert_eq!(
            error_after(r#"method = "imperiali""#, r#"method = "sainte-lague""#),
            "t.toml:37:10: elections[1].method: unknown variant `sainte-lague`, expected \
             `dhondt` or `imperiali`"
        );
    }

    #[test]
    fn unknown_kind() {
        assert_eq!(
            error_after(r#"kind = "successor""#, r#"kind = "reserve""#),
            "t.toml:22:32: elections[0].lists[0].candidates[1].kind: unknown variant \
             `reserve`, expected `titular` or `successor`"
        );
    }

    #[test]
    fn unsupported_format() {
        assert_eq!(
            error_after("format = 1", "format = 2"),
            "t.toml:1:10: format: unsupported format version 2 (this tool reads 1)"
        );
    }

    proptest::proptest! {
        /// Any name the model accepts survives TOML quoting and comes back unchanged.
        #[test]
        fn candidate_names_round_trip(name in "[^\\p{Cc}]{1,24}") {
            proptest::prop_assume!(!name.trim().is_empty() && name.len() <= 96);
            let quoted = toml_edit::Value::from(name.as_str()).to_string();
            let text = BASE.replacen(r#""GAMMA Gi""#, quoted.trim(), 1);
            let definition = Definition::parse("t.toml", &text).unwrap();
            let event = definition.event();
            let candidate = event.elections[0].lists[1].candidates.get(0).unwrap();
            proptest::prop_assert_eq!(candidate.name, name.as_str());
            let decoded_bytes = definition.to_postcard();
            let decoded = Event::from_postcard(&decoded_bytes).unwrap();
            proptest::prop_assert_eq!(decoded, event);
        }

        /// Arbitrary text never panics the reader, and every refusal names the file.
        #[test]
        fn arbitrary_text_is_refused_cleanly(text in "(?s).{0,200}") {
            if let Err(e) = Definition::parse("t.toml", &text) {
                let shown = e.to_string();
                proptest::prop_assert!(shown.starts_with("t.toml:"), "{}", shown);
            }
        }

        /// Damaging the valid base anywhere gives an error with a line inside the file.
        #[test]
        fn damaged_definitions_point_inside_the_file(at in 0usize..1000, byte in 0u8..128) {
            let mut bytes = BASE.as_bytes().to_vec();
            let index = at % bytes.len();
            bytes[index] = byte;
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Err(DefinitionError::Invalid { line, column, .. }) = Definition::parse("t.toml", &text) {
                proptest::prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                proptest::prop_assert!(column >= 1);
            }
        }
    }

    #[test]
    fn unreadable_file_is_named() {
        let err = Definition::load(Path::new("/nonexistent/election.toml")).unwrap_err();
        assert_eq!(format!("{err}"), "/nonexistent/election.toml: no such file");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("", 5), (1, 1));
    }

    // The committed examples.

    #[test]
    fn demo_example_is_valid() {
        let path = Path::new(EXAMPLES).join("demo-election.toml");
        let definition = Definition::load(&path).unwrap();
        let event = definition.event();
        assert_eq!(event.mode, Mode::Training);
        assert_eq!(event.languages.len(), 4);
        let ids: Vec<&str> = event.elections.iter().map(|e| e.id).collect();
        assert_eq!(ids, ["chamber", "region", "europe"]);
        let chamber = &event.elections[0];
        assert_eq!((chamber.seats, chamber.lists.len()), (12, 8));
        assert!(chamber.lists.iter().any(|l| l
            .candidates
            .iter()
            .any(|c| c.kind == CandidateKind::Successor)));
        let region = &event.elections[1];
        assert_eq!((region.method, region.threshold), (SeatMethod::DHondt, 500));
        for election in &event.elections {
            for language in Language::ALL {
                assert!(election.names.get(language).is_some());
            }
        }
    }

    /// The stress definition: 8 elections x 40 lists x 64 candidates.
    fn stress_definition() -> String {
        let mut text = String::from(
            "# Stress election definition: every capacity of the model at its maximum\n\
             # (8 elections x 40 lists x 64 candidates). Generated by the test\n\
             # `definition::tests::stress_example_is_generated`; regenerate with\n\
             # UPDATE_EXAMPLES=1 cargo test -p boot-image stress_example.\n\n\
             format = 1\nid = \"STRESS-2026\"\nmode = \"training\"\ndate = 2026-06-07\n\
             languages = [\"nl\", \"fr\", \"de\", \"en\"]\n\
             names = { nl = \"Stresstest\", fr = \"Test de charge\", de = \"Lasttest\", en = \"Stress test\" }\n",
        );
        for e in 1..=MAX_ELECTIONS {
            text.push_str(&format!(
                "\n[[elections]]\nid = \"election-{e}\"\n\
                 names = {{ nl = \"Verkiezing {e}\", fr = \"Élection {e}\", de = \"Wahl {e}\", en = \"Election {e}\" }}\n\
                 constituency = \"Kieskring {e}\"\nseats = 40\nmethod = \"{}\"\nthreshold = 5\nsuccessors = true\n",
                if e % 2 == 0 { "imperiali" } else { "dhondt" }
            ));
            for l in 1..=MAX_LISTS {
                text.push_str(&format!(
                    "\n[[elections.lists]]\nnumber = {l}\nname = \"LIST-{e}-{l}\"\ncandidates = [\n"
                ));
                for c in 1..=MAX_CANDIDATES {
                    let kind = if c <= 40 { "titular" } else { "successor" };
                    text.push_str(&format!(
                        "  {{ name = \"CANDIDATE {e}-{l}-{c} Given\", kind = \"{kind}\" }},\n"
                    ));
                }
                text.push_str("]\n");
            }
        }
        text
    }

    #[test]
    fn stress_example_is_generated_and_valid() {
        let path = Path::new(EXAMPLES).join("stress-election.toml");
        let expected = stress_definition();
        if std::env::var_os("UPDATE_EXAMPLES").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == expected,
            "{} differs from the generator; run UPDATE_EXAMPLES=1",
            path.display()
        );
        let definition = Definition::load(&path).unwrap();
        let event = definition.event();
        assert_eq!(event.elections.len(), MAX_ELECTIONS);
        assert!(event.elections.iter().all(|e| e.lists.len() == MAX_LISTS));
        assert_eq!(
            event.candidate_count(),
            MAX_ELECTIONS * MAX_LISTS * MAX_CANDIDATES
        );
        let bytes = definition.to_postcard();
        assert_eq!(Event::from_postcard(&bytes).unwrap(), event);
    }
}
