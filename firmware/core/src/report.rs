//! The opening and closing reports the terminal prints for the polling station president.
//!
//! Both name the event, the station, the mode and the firmware version, and carry the two
//! fingerprints the office checks a session against, each as 16 groups of 4 hex digits:
//! the boot image's SHA-256 and the session key's (`SHA-256(session_public_key)`, see
//! `docs/formats/sealed-record.md`). The president copies both onto the paper report.
//!
//! - The **opening report** is printed once generation 1 of the session's record is on the
//!   results media: the zero counts per election and the counters, then lines for the
//!   president's name and signature.
//! - The **closing report** is printed once the closing record is on the media: the
//!   counters (activations, cast, cancelled) and whether they agree, per election the
//!   ballots cast, the blank ballots and per list the list votes and the ballots with
//!   preference votes, the record generation written at close, and the signature lines.
//!
//! Texts are in the event's first language. A training image's reports carry the
//! training watermark ([`crate::printout`]).

use crate::election::{Event, Language, Mode};
use crate::hal::Printer;
use crate::i18n::{text, Text};
use crate::printout::{Align, PrintError, PrintFont, PrintPosition, Printed, Sheet, LINE_BYTES};
use crate::store::BallotStore;
use crate::terminal::Counters;
use core::fmt::Write as _;
use heapless::String;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportKind {
    /// Printed when the poll opens: zero counts and the fingerprints.
    Opening,
    /// Printed when the poll closes: the counts and the fingerprints.
    Closing,
}

/// Everything a report states.
#[derive(Clone, Copy)]
pub struct Report<'r> {
    /// Opening or closing.
    pub kind: ReportKind,
    /// The election event.
    pub event: &'r Event<'r>,
    /// The language of the texts (the event's first).
    pub language: Language,
    /// The polling station.
    pub station: &'r str,
    /// The firmware version.
    pub version: &'r str,
    /// SHA-256 of the boot image.
    pub image_fingerprint: &'r [u8; 32],
    /// SHA-256 of the session public key.
    pub session_fingerprint: &'r [u8; 32],
    /// The terminal's counters.
    pub counters: Counters,
    /// The ballot store (bound to `event`).
    pub store: &'r BallotStore,
    /// The generation of the last record written to the media.
    pub generation: Option<u64>,
}

impl core::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Report")
            .field("kind", &self.kind)
            .field("station", &self.station)
            .field("counters", &self.counters)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Report<'_> {
    fn t(&self, key: Text) -> &'static str {
        text(self.language, key)
    }

    /// Print the report and cut the paper.
    pub fn print(&self, printer: &mut dyn Printer) -> Result<(), PrintError> {
        self.print_slice(printer, PrintPosition::START, u32::MAX)
            .map(|_| ())
    }

    /// Print at most `max_rows` raster rows of the report from `at` ([`Report::print`]
    /// prints them all): call again from [`Printed::next`] until [`Printed::done`], to
    /// spread a long report over several short calls. The rows are the same however the
    /// report is split.
    pub fn print_slice(
        &self,
        printer: &mut dyn Printer,
        at: PrintPosition,
        max_rows: u32,
    ) -> Result<Printed, PrintError> {
        let mut sheet = Sheet::start(printer, self.event.mode == Mode::Training, at, max_rows)?;
        let title = match self.kind {
            ReportKind::Opening => Text::OpeningReport,
            _ => Text::ClosingReport,
        };
        sheet.text(self.t(title), PrintFont::Title, Align::Center)?;
        sheet.text(
            self.event.names.show(self.language),
            PrintFont::Bold,
            Align::Center,
        )?;
        let mut line: String<LINE_BYTES> = String::new();
        let date = self.event.date;
        let _ = write!(
            line,
            "{}  {:04}-{:02}-{:02}",
            self.event.id, date.year, date.month, date.day
        );
        sheet.text(&line, PrintFont::Body, Align::Center)?;
        sheet.rule()?;
        self.pair(&mut sheet, Text::Station, self.station)?;
        let mode = match self.event.mode {
            Mode::Training => Text::Training,
            _ => Text::Official,
        };
        self.pair(&mut sheet, Text::ModeLabel, self.t(mode))?;
        self.pair(&mut sheet, Text::Version, self.version)?;
        sheet.rule()?;
        sheet.fingerprint(self.t(Text::ImageFingerprint), self.image_fingerprint)?;
        sheet.space(8)?;
        sheet.fingerprint(self.t(Text::SessionFingerprint), self.session_fingerprint)?;
        sheet.rule()?;
        self.counts(&mut sheet)?;
        sheet.rule()?;
        let mut generation: String<24> = String::new();
        match self.generation {
            Some(g) => {
                let _ = write!(generation, "{g}");
            }
            None => {
                let _ = generation.push('-');
            }
        }
        self.pair(&mut sheet, Text::RecordGeneration, &generation)?;
        sheet.rule()?;
        sheet.signature(self.t(Text::PresidentName))?;
        sheet.signature(self.t(Text::PresidentSignature))?;
        sheet.finish()
    }

    /// "label: value" on one line (wrapped if long).
    fn pair(&self, sheet: &mut Sheet<'_>, label: Text, value: &str) -> Result<(), PrintError> {
        let mut line: String<LINE_BYTES> = String::new();
        let _ = write!(line, "{}: {}", self.t(label), value);
        sheet.text(&line, PrintFont::Body, Align::Left)
    }

    /// The counters, then per election the ballots (and at close the totals per list).
    fn counts(&self, sheet: &mut Sheet<'_>) -> Result<(), PrintError> {
        let c = self.counters;
        for (label, value) in [
            (Text::Activations, c.activations),
            (Text::Cast, c.cast),
            (Text::Cancelled, c.cancelled),
        ] {
            let mut line: String<LINE_BYTES> = String::new();
            let _ = write!(line, "{}: {}", self.t(label), value);
            sheet.text(&line, PrintFont::Body, Align::Left)?;
        }
        let verdict = if c.balanced() {
            Text::Balanced
        } else {
            Text::Unbalanced
        };
        sheet.text(self.t(verdict), PrintFont::Bold, Align::Left)?;
        for (e, election) in self.event.elections.iter().enumerate() {
            sheet.space(8)?;
            let mut line: String<LINE_BYTES> = String::new();
            let _ = write!(
                line,
                "{}: {} {}",
                election.names.show(self.language),
                self.store.ballots(e),
                self.t(Text::Ballots)
            );
            sheet.text(&line, PrintFont::Bold, Align::Left)?;
            if self.kind != ReportKind::Closing {
                continue;
            }
            let Some(tally) = self.store.tally(e) else {
                continue;
            };
            line.clear();
            let _ = write!(line, "{}: {}", self.t(Text::Blank), tally.blank());
            sheet.indented(&line, PrintFont::Body, Align::Left, 16)?;
            for (l, list) in election.lists.iter().enumerate() {
                let votes = tally.list_votes(l).unwrap_or(0);
                let preferences = tally.preference_ballots(l).unwrap_or(0);
                line.clear();
                let _ = write!(
                    line,
                    "{} {}: {}",
                    list.number,
                    list.name,
                    votes.saturating_add(preferences)
                );
                sheet.indented(&line, PrintFont::Body, Align::Left, 16)?;
                line.clear();
                let _ = write!(
                    line,
                    "{}: {}, {}: {}",
                    self.t(Text::ListVotes),
                    votes,
                    self.t(Text::PreferenceBallots),
                    preferences
                );
                sheet.indented(&line, PrintFont::Small, Align::Left, 32)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::tests::tiny_event;
    use crate::hal::doubles::RamPrinter;
    use crate::printout::MARGIN_PX;
    use std::boxed::Box;

    fn report<'r>(
        kind: ReportKind,
        event: &'r Event<'r>,
        store: &'r BallotStore,
        language: Language,
    ) -> Report<'r> {
        Report {
            kind,
            event,
            language,
            station: "STATION-1",
            version: "0.1.0",
            image_fingerprint: &[1; 32],
            session_fingerprint: &[2; 32],
            counters: Counters::default(),
            store,
            generation: Some(1),
        }
    }

    #[test]
    fn reports_print_in_every_language_and_end_with_a_cut() {
        let event = tiny_event();
        let mut store = Box::new(BallotStore::new());
        store.reset(&event).unwrap();
        for language in Language::ALL {
            for kind in [ReportKind::Opening, ReportKind::Closing] {
                let mut printer = Box::new(RamPrinter::<4096>::new());
                report(kind, &event, &store, language)
                    .print(&mut *printer)
                    .unwrap();
                assert_eq!(printer.cuts(), 1);
                assert!(printer.lines().len() > 800, "{language:?} {kind:?}");
            }
        }
    }

    #[test]
    fn the_per_list_counts_fit_one_line_in_every_language() {
        let room = crate::hal::PRINTER_WIDTH_PX as u32 - 2 * MARGIN_PX - 32;
        for language in Language::ALL {
            let t = |key| text(language, key);
            let line = std::format!(
                "{}: 9999, {}: 9999",
                t(Text::ListVotes),
                t(Text::PreferenceBallots)
            );
            let width = PrintFont::Small.width(&line);
            assert!(width <= room, "{language:?}: {line:?} is {width} px");
        }
    }

    #[test]
    fn a_failing_printer_is_reported() {
        let event = tiny_event();
        let mut store = Box::new(BallotStore::new());
        store.reset(&event).unwrap();
        let mut printer = RamPrinter::<4>::new();
        let err = report(ReportKind::Opening, &event, &store, Language::Nl)
            .print(&mut printer)
            .unwrap_err();
        assert_eq!(err.code(), 901);
    }
}
