//! Exports of aggregated [`Results`]: a text report, JSON, CSV and EML 510.
//!
//! The formats, their fields and what each omits are specified in
//! `docs/formats/exports.md`. Every writer is deterministic: the same results give the
//! same bytes (no timestamps), so exports can be compared and signed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::results::{Contest, Results};
use crate::seats::TieRule;
use crate::tally::{CounterTotals, ElectionTally};

/// `format` value of the JSON export.
pub const JSON_FORMAT_NAME: &str = "boot-image-results";
/// Version of the JSON export this code writes.
pub const JSON_FORMAT_VERSION: u32 = 1;
/// The EML namespace (OASIS Election Markup Language).
pub const EML_NAMESPACE: &str = "urn:oasis:names:tc:evs:schema:eml";
/// The Kiesraad extension namespace used by the Dutch EML_NL profile.
pub const KR_NAMESPACE: &str = "http://www.kiesraad.nl/extensions";
/// XML digital signature namespace (declared by EML_NL documents).
pub const DS_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
/// xAL address namespace (declared by EML_NL documents).
pub const XAL_NAMESPACE: &str = "urn:oasis:names:tc:ciq:xsdschema:xAL:2.0";
/// xNL name namespace (declared by EML_NL documents).
pub const XNL_NAMESPACE: &str = "urn:oasis:names:tc:ciq:xsdschema:xNL:2.0";
/// EML message id of a count with a reporting unit per polling station.
pub const EML_COUNT_ID: &str = "510b";
/// EML schema version.
pub const EML_SCHEMA_VERSION: &str = "5";
/// Reason code of blank ballots (EML_NL).
pub const EML_REASON_BLANK: &str = "blanco";
/// Reason code of the voters admitted (EML_NL): the terminals' activations.
pub const EML_REASON_ADMITTED: &str = "toegelaten kiezers";
/// Reason code of the voting sessions the president cancelled (this tool's code).
pub const EML_REASON_CANCELLED: &str = "geannuleerde stemmingen";
/// Header row of the CSV export.
pub const CSV_HEADER: &str = "event_id,election,constituency,station,row,list_number,list_name,\
candidate_position,candidate_name,titular,votes,list_only,seats,eligible";

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// JSON (`docs/formats/exports.md`).
    Json,
    /// CSV, RFC 4180, one row per count.
    Csv,
    /// EML 510 count, as in the Dutch EML_NL results files.
    Eml,
}

impl ExportFormat {
    /// The format named `name` (`json`, `csv`, `eml`).
    pub fn from_name(name: &str) -> Option<ExportFormat> {
        match name {
            "json" => Some(ExportFormat::Json),
            "csv" => Some(ExportFormat::Csv),
            "eml" => Some(ExportFormat::Eml),
            _ => None,
        }
    }
}

/// Render `results` in `format`.
pub fn export(results: &Results, format: ExportFormat) -> String {
    match format {
        ExportFormat::Json => to_json(results),
        ExportFormat::Csv => to_csv(results),
        ExportFormat::Eml => to_eml(results),
    }
}

/// `numerator / denominator` as a percentage with two decimals (`"12.34 %"`), exact.
pub fn percent(numerator: u64, denominator: u64) -> String {
    if denominator == 0 {
        return "-".to_string();
    }
    let hundredths = u128::from(numerator)
        .saturating_mul(10_000)
        .checked_div(u128::from(denominator))
        .unwrap_or(0);
    format!("{}.{:02} %", hundredths / 100, hundredths % 100)
}

/// A threshold in hundredths of a percent as text: `500` -> `5 %`, `450` -> `4.5 %`.
pub fn threshold_text(hundredths: u16) -> String {
    let (whole, part) = (hundredths / 100, hundredths % 100);
    if part == 0 {
        format!("{whole} %")
    } else if part % 10 == 0 {
        format!("{whole}.{} %", part / 10)
    } else {
        format!("{whole}.{part:02} %")
    }
}

fn tie_text(tie: Option<(usize, TieRule)>) -> Option<String> {
    tie.map(|(rivals, rule)| {
        format!(
            "tied with {rivals} other list{}, decided by {}",
            if rivals == 1 { "" } else { "s" },
            rule.label()
        )
    })
}

// ---------------------------------------------------------------------------------------
// Text

/// A human-readable report: stations, contests with lists and seats, anomalies.
pub fn to_text(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "event {}: {} station(s), {} contest(s), {} anomaly flag(s)",
        results.event_id,
        results.stations.len(),
        results.contests.len(),
        results.anomalies.len()
    );
    let _ = writeln!(out, "\nstations:");
    for s in &results.stations {
        let _ = writeln!(
            out,
            "  {}  {}  sessions {}{}  activations {} cast {} cancelled {}",
            s.station,
            s.file,
            s.sessions,
            if s.sessions_not_closed > 0 {
                format!(" ({} not closed)", s.sessions_not_closed)
            } else {
                String::new()
            },
            s.counters.activations,
            s.counters.cast,
            s.counters.cancelled
        );
    }
    for contest in &results.contests {
        contest_text(&mut out, contest);
    }
    let _ = writeln!(out, "\nanomalies: {}", results.anomalies.len());
    for anomaly in &results.anomalies {
        let _ = writeln!(out, "  {anomaly}");
    }
    out
}

fn contest_text(out: &mut String, contest: &Contest) {
    let t = &contest.total;
    let valid = t.valid_votes();
    let _ = writeln!(
        out,
        "\n{} / {}: {} seats, {}, threshold {} of the valid votes",
        t.id,
        t.constituency,
        t.seats,
        t.method.label(),
        threshold_text(t.threshold_hundredths)
    );
    let _ = writeln!(
        out,
        "  stations {}, ballots {}, blank {}, valid {}",
        contest.stations.len(),
        t.ballots,
        t.blank,
        valid
    );
    let _ = writeln!(
        out,
        "  {:>4}  {:<24} {:>10} {:>9} {:>6}",
        "list", "name", "ballots", "share", "seats"
    );
    for (index, list) in t.lists.iter().enumerate() {
        let note = match &contest.seats {
            Ok(_) if !contest.eligible(index) => "  below threshold",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  {:>4}  {:<24} {:>10} {:>9} {:>6}{note}",
            list.number,
            list.name,
            list.ballots,
            percent(list.ballots, valid),
            contest.seats_of(index)
        );
    }
    match &contest.seats {
        Ok(allocation) => {
            let order: Vec<String> = allocation
                .awards
                .iter()
                .map(|a| format!("{}", a.number))
                .collect();
            let _ = writeln!(out, "  seat order (list numbers): {}", order.join(" "));
            for award in &allocation.awards {
                if let Some(text) = tie_text(award.tie) {
                    let _ = writeln!(out, "  seat {}: list {} {text}", award.seat, award.number);
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  seats not allocated ({}): {e}", e.class());
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON

#[derive(Serialize)]
struct JsonResults<'a> {
    format: &'static str,
    version: u32,
    event_id: &'a str,
    stations: Vec<JsonStation<'a>>,
    contests: Vec<JsonContest<'a>>,
    anomalies: Vec<JsonAnomaly<'a>>,
}

#[derive(Serialize)]
struct JsonStation<'a> {
    station: &'a str,
    file: &'a str,
    image_fingerprint: &'a str,
    sessions: usize,
    sessions_not_closed: usize,
    counters: CounterTotals,
}

#[derive(Serialize)]
struct JsonContest<'a> {
    election: &'a str,
    constituency: &'a str,
    seats: u16,
    method: &'static str,
    threshold_hundredths: u16,
    ballots: u64,
    blank: u64,
    valid_votes: u64,
    allocation_error: Option<JsonError>,
    lists: Vec<JsonList<'a>>,
    seat_order: Vec<JsonAward>,
    stations: Vec<JsonStationCounts<'a>>,
}

#[derive(Serialize)]
struct JsonError {
    class: &'static str,
    message: String,
}

#[derive(Serialize)]
struct JsonList<'a> {
    number: u16,
    name: &'a str,
    ballots: u64,
    list_only: u64,
    eligible: bool,
    seats: u16,
    candidates: Vec<JsonCandidate<'a>>,
}

#[derive(Serialize)]
struct JsonCandidate<'a> {
    position: usize,
    name: &'a str,
    titular: bool,
    preferences: u64,
}

#[derive(Serialize)]
struct JsonAward {
    seat: u16,
    list: u16,
    divisor: u64,
    tie: Option<String>,
}

#[derive(Serialize)]
struct JsonStationCounts<'a> {
    station: &'a str,
    ballots: u64,
    blank: u64,
    lists: Vec<JsonStationList>,
}

#[derive(Serialize)]
struct JsonStationList {
    number: u16,
    ballots: u64,
    list_only: u64,
    preferences: Vec<u64>,
}

#[derive(Serialize)]
struct JsonAnomaly<'a> {
    class: &'static str,
    station: &'a str,
    file: &'a str,
    message: String,
}

fn method_name(contest: &Contest) -> &'static str {
    match contest.total.method {
        crate::tally::SeatMethodName::DHondt => "dhondt",
        crate::tally::SeatMethodName::Imperiali => "imperiali",
    }
}

/// The results as pretty JSON (`docs/formats/exports.md`), ending in a newline.
pub fn to_json(results: &Results) -> String {
    let document = JsonResults {
        format: JSON_FORMAT_NAME,
        version: JSON_FORMAT_VERSION,
        event_id: &results.event_id,
        stations: results
            .stations
            .iter()
            .map(|s| JsonStation {
                station: &s.station,
                file: &s.file,
                image_fingerprint: &s.image_fingerprint,
                sessions: s.sessions,
                sessions_not_closed: s.sessions_not_closed,
                counters: s.counters,
            })
            .collect(),
        contests: results.contests.iter().map(json_contest).collect(),
        anomalies: results
            .anomalies
            .iter()
            .map(|a| JsonAnomaly {
                class: a.kind.class(),
                station: &a.station,
                file: &a.file,
                message: a.kind.to_string(),
            })
            .collect(),
    };
    // Plain structs of strings, integers and options always serialize.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn json_contest(contest: &Contest) -> JsonContest<'_> {
    let t = &contest.total;
    JsonContest {
        election: &t.id,
        constituency: &t.constituency,
        seats: t.seats,
        method: method_name(contest),
        threshold_hundredths: t.threshold_hundredths,
        ballots: t.ballots,
        blank: t.blank,
        valid_votes: t.valid_votes(),
        allocation_error: contest.seats.as_ref().err().map(|e| JsonError {
            class: e.class(),
            message: e.to_string(),
        }),
        lists: t
            .lists
            .iter()
            .enumerate()
            .map(|(index, l)| JsonList {
                number: l.number,
                name: &l.name,
                ballots: l.ballots,
                list_only: l.list_only,
                eligible: contest.eligible(index),
                seats: contest.seats_of(index),
                candidates: l
                    .candidates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| JsonCandidate {
                        position: i.saturating_add(1),
                        name: &c.name,
                        titular: c.titular,
                        preferences: c.preferences,
                    })
                    .collect(),
            })
            .collect(),
        seat_order: contest
            .seats
            .as_ref()
            .map(|a| {
                a.awards
                    .iter()
                    .map(|w| JsonAward {
                        seat: w.seat,
                        list: w.number,
                        divisor: w.divisor,
                        tie: tie_text(w.tie),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        stations: contest
            .stations
            .iter()
            .map(|s| JsonStationCounts {
                station: &s.station,
                ballots: s.tally.ballots,
                blank: s.tally.blank,
                lists: s
                    .tally
                    .lists
                    .iter()
                    .map(|l| JsonStationList {
                        number: l.number,
                        ballots: l.ballots,
                        list_only: l.list_only,
                        preferences: l.candidates.iter().map(|c| c.preferences).collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// CSV

/// One CSV field, quoted per RFC 4180 when it holds a comma, a quote, CR or LF.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[derive(Clone, Copy)]
struct CsvRow<'a> {
    station: &'a str,
    row: &'static str,
    list_number: Option<u16>,
    list_name: &'a str,
    candidate_position: Option<usize>,
    candidate_name: &'a str,
    titular: Option<bool>,
    votes: u64,
    list_only: Option<u64>,
    seats: Option<u16>,
    eligible: Option<bool>,
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

fn csv_rows<'a>(
    station: &'a str,
    tally: &'a ElectionTally,
    contest: Option<&'a Contest>,
    rows: &mut Vec<CsvRow<'a>>,
) {
    let base = CsvRow {
        station,
        row: "ballots",
        list_number: None,
        list_name: "",
        candidate_position: None,
        candidate_name: "",
        titular: None,
        votes: tally.ballots,
        list_only: None,
        seats: None,
        eligible: None,
    };
    rows.push(base);
    rows.push(CsvRow {
        row: "blank",
        votes: tally.blank,
        ..base
    });
    for (index, list) in tally.lists.iter().enumerate() {
        rows.push(CsvRow {
            row: "list",
            list_number: Some(list.number),
            list_name: &list.name,
            votes: list.ballots,
            list_only: Some(list.list_only),
            seats: contest.map(|c| c.seats_of(index)),
            eligible: contest.map(|c| c.eligible(index)),
            ..base
        });
        for (position, candidate) in list.candidates.iter().enumerate() {
            rows.push(CsvRow {
                row: "candidate",
                list_number: Some(list.number),
                list_name: &list.name,
                candidate_position: Some(position.saturating_add(1)),
                candidate_name: &candidate.name,
                titular: Some(candidate.titular),
                votes: candidate.preferences,
                ..base
            });
        }
    }
}

/// The results as CSV (RFC 4180: CRLF line ends, a header row): for each contest the
/// constituency's rows (empty `station`), then each station's rows.
pub fn to_csv(results: &Results) -> String {
    let mut out = String::new();
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for contest in &results.contests {
        let mut rows = Vec::new();
        csv_rows("", &contest.total, Some(contest), &mut rows);
        for station in &contest.stations {
            csv_rows(&station.station, &station.tally, None, &mut rows);
        }
        for row in rows {
            let fields = [
                csv_field(&results.event_id),
                csv_field(&contest.total.id),
                csv_field(&contest.total.constituency),
                csv_field(row.station),
                row.row.to_string(),
                opt(row.list_number),
                csv_field(row.list_name),
                opt(row.candidate_position),
                csv_field(row.candidate_name),
                opt(row.titular),
                row.votes.to_string(),
                opt(row.list_only),
                opt(row.seats),
                opt(row.eligible),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// EML 510

/// Escape text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn eml_selections(out: &mut String, indent: &str, tally: &ElectionTally) {
    for list in &tally.lists {
        let _ = writeln!(out, "{indent}<Selection>");
        let _ = writeln!(
            out,
            "{indent}  <AffiliationIdentifier Id=\"{}\">",
            list.number
        );
        let _ = writeln!(
            out,
            "{indent}    <RegisteredName>{}</RegisteredName>",
            xml_escape(&list.name)
        );
        let _ = writeln!(out, "{indent}  </AffiliationIdentifier>");
        let _ = writeln!(out, "{indent}  <ValidVotes>{}</ValidVotes>", list.ballots);
        let _ = writeln!(out, "{indent}</Selection>");
        for (position, candidate) in list.candidates.iter().enumerate() {
            let _ = writeln!(out, "{indent}<Selection>");
            let _ = writeln!(out, "{indent}  <Candidate>");
            let _ = writeln!(
                out,
                "{indent}    <CandidateIdentifier Id=\"{}\"/>",
                position.saturating_add(1)
            );
            let _ = writeln!(out, "{indent}  </Candidate>");
            let _ = writeln!(
                out,
                "{indent}  <ValidVotes>{}</ValidVotes>",
                candidate.preferences
            );
            let _ = writeln!(out, "{indent}</Selection>");
        }
    }
}

fn eml_totals(out: &mut String, indent: &str, tally: &ElectionTally, counters: CounterTotals) {
    let _ = writeln!(out, "{indent}<Cast>{}</Cast>", tally.ballots);
    let _ = writeln!(
        out,
        "{indent}<TotalCounted>{}</TotalCounted>",
        tally.valid_votes()
    );
    let _ = writeln!(
        out,
        "{indent}<RejectedVotes ReasonCode=\"{EML_REASON_BLANK}\">{}</RejectedVotes>",
        tally.blank
    );
    let _ = writeln!(
        out,
        "{indent}<UncountedVotes ReasonCode=\"{EML_REASON_ADMITTED}\">{}</UncountedVotes>",
        counters.activations
    );
    let _ = writeln!(
        out,
        "{indent}<UncountedVotes ReasonCode=\"{EML_REASON_CANCELLED}\">{}</UncountedVotes>",
        counters.cancelled
    );
}

/// The results as an EML 510 count document (`docs/formats/exports.md` maps the fields).
pub fn to_eml(results: &Results) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<EML xmlns=\"{EML_NAMESPACE}\" xmlns:ds=\"{DS_NAMESPACE}\" xmlns:kr=\"{KR_NAMESPACE}\" \
         xmlns:xal=\"{XAL_NAMESPACE}\" xmlns:xnl=\"{XNL_NAMESPACE}\" Id=\"{EML_COUNT_ID}\" \
         SchemaVersion=\"{EML_SCHEMA_VERSION}\">"
    );
    out.push_str("  <TransactionId>1</TransactionId>\n");
    out.push_str("  <Count>\n");
    let _ = writeln!(
        out,
        "    <EventIdentifier Id=\"{}\"/>",
        xml_escape(&results.event_id)
    );
    // One Election per election id, its constituencies as Contests, in contest order.
    let mut elections: Vec<&str> = Vec::new();
    for contest in &results.contests {
        if !elections.contains(&contest.total.id.as_str()) {
            elections.push(&contest.total.id);
        }
    }
    let counters_of = |station: &str| {
        results
            .stations
            .iter()
            .find(|s| s.station == station)
            .map_or(CounterTotals::default(), |s| s.counters)
    };
    for election in elections {
        out.push_str("    <Election>\n");
        let _ = writeln!(
            out,
            "      <ElectionIdentifier Id=\"{0}\">\n        <ElectionName>{0}</ElectionName>\n      </ElectionIdentifier>",
            xml_escape(election)
        );
        out.push_str("      <Contests>\n");
        for contest in results.contests.iter().filter(|c| c.total.id == election) {
            out.push_str("        <Contest>\n");
            let _ = writeln!(
                out,
                "          <ContestIdentifier Id=\"{0}\">\n            <ContestName>{0}</ContestName>\n          </ContestIdentifier>",
                xml_escape(&contest.total.constituency)
            );
            out.push_str("          <TotalVotes>\n");
            eml_selections(&mut out, "            ", &contest.total);
            let total_counters = contest
                .stations
                .iter()
                .map(|s| counters_of(&s.station))
                .fold(CounterTotals::default(), |sum, c| {
                    sum.checked_add(&c).unwrap_or(sum)
                });
            eml_totals(&mut out, "            ", &contest.total, total_counters);
            out.push_str("          </TotalVotes>\n");
            for station in &contest.stations {
                out.push_str("          <ReportingUnitVotes>\n");
                let _ = writeln!(
                    out,
                    "            <ReportingUnitIdentifier Id=\"{0}\">{0}</ReportingUnitIdentifier>",
                    xml_escape(&station.station)
                );
                eml_selections(&mut out, "            ", &station.tally);
                eml_totals(
                    &mut out,
                    "            ",
                    &station.tally,
                    counters_of(&station.station),
                );
                out.push_str("          </ReportingUnitVotes>\n");
            }
            out.push_str("        </Contest>\n");
        }
        out.push_str("      </Contests>\n");
        out.push_str("    </Election>\n");
    }
    out.push_str("  </Count>\n");
    out.push_str("</EML>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::fingerprint_groups;
    use crate::results::{aggregate, TallyFile};
    use crate::tally::{
        CandidateTally, ListTally, SeatMethodName, SessionSummary, StationTally,
        TALLY_FORMAT_VERSION,
    };
    use proptest::prelude::*;

    fn station(
        name: &str,
        seed: u8,
        list_names: [&str; 2],
        counts: [(u64, [u64; 2]); 2],
    ) -> StationTally {
        let lists: Vec<ListTally> = counts
            .iter()
            .zip(list_names)
            .enumerate()
            .map(|(i, (&(only, prefs), list_name))| ListTally {
                number: u16::try_from(i + 1).unwrap(),
                name: list_name.to_string(),
                ballots: only + prefs.iter().max().unwrap(),
                list_only: only,
                candidates: vec![
                    CandidateTally {
                        name: "Peeters, \"Jan\"".to_string(),
                        titular: true,
                        preferences: prefs[0],
                    },
                    CandidateTally {
                        name: "Dubois <Marie> & Co".to_string(),
                        titular: false,
                        preferences: prefs[1],
                    },
                ],
            })
            .collect();
        let ballots = 2 + lists.iter().map(|l| l.ballots).sum::<u64>();
        let counters = CounterTotals {
            activations: ballots + 1,
            cast: ballots,
            cancelled: 1,
        };
        StationTally {
            format: TALLY_FORMAT_VERSION,
            event_id: "BE-2026".to_string(),
            image_fingerprint: fingerprint_groups(&[7; 32]).as_str().to_string(),
            station: name.to_string(),
            sessions: vec![SessionSummary {
                source: format!("{name}.img#area 0"),
                session_fingerprint: fingerprint_groups(&[seed; 32]).as_str().to_string(),
                generation: 3,
                closed: true,
                counters,
            }],
            counters,
            elections: vec![ElectionTally {
                id: "kamer".to_string(),
                constituency: "Brussel-Hoofdstad".to_string(),
                seats: 2,
                method: SeatMethodName::DHondt,
                threshold_hundredths: 500,
                ballots,
                blank: 2,
                lists,
            }],
        }
    }

    fn results() -> Results {
        let names = ["LIJST, A", "Liste \"B\""];
        aggregate(&[
            TallyFile {
                file: "a.json".to_string(),
                tally: station("BXL-001", 1, names, [(10, [5, 3]), (4, [2, 2])]),
            },
            TallyFile {
                file: "b.json".to_string(),
                tally: station("BXL-002", 2, names, [(7, [1, 1]), (9, [6, 0])]),
            },
        ])
        .unwrap()
    }

    #[test]
    fn json_is_stable_and_complete() {
        let r = results();
        let text = to_json(&r);
        assert_eq!(text, to_json(&r));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], JSON_FORMAT_NAME);
        assert_eq!(value["version"], 1);
        let contest = &value["contests"][0];
        assert_eq!(contest["ballots"], 2 * 2 + 15 + 6 + 8 + 15);
        assert_eq!(contest["lists"][0]["ballots"], 23);
        assert_eq!(contest["lists"][0]["seats"], 1);
        assert_eq!(contest["lists"][1]["seats"], 1);
        assert_eq!(
            contest["lists"][0]["candidates"][1]["name"],
            "Dubois <Marie> & Co"
        );
        assert_eq!(contest["stations"][1]["lists"][1]["preferences"][0], 6);
        assert_eq!(contest["seat_order"].as_array().unwrap().len(), 2);
        assert!(contest["allocation_error"].is_null());
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let text = to_csv(&results());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.last(), Some(&""), "ends in CRLF");
        assert!(!text.replace("\r\n", "").contains('\r'));
        // Constituency: ballots, blank, 2 x (list + 2 candidates); same per station.
        assert_eq!(lines.len(), 1 + 3 * 8 + 1);
        assert_eq!(
            lines[3],
            "BE-2026,kamer,Brussel-Hoofdstad,,list,1,\"LIJST, A\",,,,23,17,1,true"
        );
        assert_eq!(
            lines[4],
            "BE-2026,kamer,Brussel-Hoofdstad,,candidate,1,\"LIJST, A\",1,\"Peeters, \"\"Jan\"\"\",true,6,,,"
        );
        assert!(lines[9].starts_with("BE-2026,kamer,Brussel-Hoofdstad,BXL-001,ballots,"));
    }

    #[test]
    fn eml_parses_back_with_the_totals() {
        let r = results();
        let text = to_eml(&r);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "EML");
        assert_eq!(root.tag_name().namespace(), Some(EML_NAMESPACE));
        assert_eq!(root.attribute("Id"), Some(EML_COUNT_ID));
        assert_eq!(root.lookup_namespace_uri(Some("kr")), Some(KR_NAMESPACE));
        let total = doc
            .descendants()
            .find(|n| n.has_tag_name("TotalVotes"))
            .unwrap();
        let number = |parent: roxmltree::Node, tag: &str| -> u64 {
            parent
                .children()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .unwrap()
                .parse()
                .unwrap()
        };
        let t = &r.contests[0].total;
        assert_eq!(number(total, "Cast"), t.ballots);
        assert_eq!(number(total, "TotalCounted"), t.valid_votes());
        let affiliations: Vec<(String, String, u64)> = total
            .children()
            .filter(|n| n.has_tag_name("Selection"))
            .filter_map(|s| {
                let a = s
                    .children()
                    .find(|n| n.has_tag_name("AffiliationIdentifier"))?;
                let name = a.children().find(|n| n.has_tag_name("RegisteredName"))?;
                Some((
                    a.attribute("Id")?.to_string(),
                    name.text()?.to_string(),
                    number(s, "ValidVotes"),
                ))
            })
            .collect();
        assert_eq!(
            affiliations,
            [
                ("1".to_string(), "LIJST, A".to_string(), 23),
                ("2".to_string(), "Liste \"B\"".to_string(), 21)
            ]
        );
        let units: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("ReportingUnitIdentifier"))
            .filter_map(|n| n.attribute("Id"))
            .collect();
        assert_eq!(units, ["BXL-001", "BXL-002"]);
        // Every reporting unit's list votes add up to the total's.
        let unit_sum: u64 = doc
            .descendants()
            .filter(|n| n.has_tag_name("ReportingUnitVotes"))
            .map(|u| number(u, "TotalCounted"))
            .sum();
        assert_eq!(unit_sum, t.valid_votes());
    }

    proptest! {
        #[test]
        fn csv_fields_round_trip(value in "[ -~\r\n]{0,24}") {
            let field = csv_field(&value);
            let back = if let Some(inner) = field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
                inner.replace("\"\"", "\"")
            } else {
                prop_assert!(!field.contains([',', '"', '\r', '\n']));
                field.clone()
            };
            prop_assert_eq!(back, value);
        }

        #[test]
        fn xml_text_round_trips(value in "\\PC{0,24}") {
            let xml = format!("<a b=\"{0}\">{0}</a>", xml_escape(&value));
            let doc = roxmltree::Document::parse(&xml);
            // Control characters are not XML; everything else must come back unchanged.
            if let Ok(doc) = doc {
                prop_assert_eq!(doc.root_element().attribute("b"), Some(value.as_str()));
                prop_assert_eq!(doc.root_element().text().unwrap_or(""), value.as_str());
            }
        }
    }
}
