//! `boot-image results` and `boot-image export`: aggregate station tally files into
//! constituencies, allocate the seats, show or export the results.
//!
//! A tally file that cannot be read or fails its checks is reported (`file: reason`) and
//! skipped; the command then exits 1 after doing the rest. Contradictory input (the same
//! station twice, different events) stops the command with exit 1 and names both files.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use boot_image::export::{self, ExportFormat};
use boot_image::results::{aggregate, Results, TallyFile};
use boot_image::tally::StationTally;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{io_reason, Failure};

/// Files from which a progress bar is shown (on a terminal only).
pub const PROGRESS_MIN_FILES: usize = 20;

/// Output of `results`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A report for people.
    Text,
    /// The JSON export (docs/formats/exports.md).
    Json,
}

/// Output of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// JSON (docs/formats/exports.md).
    Json,
    /// CSV (RFC 4180), one row per count.
    Csv,
    /// EML 510 count file, as in the Dutch EML_NL results files.
    Eml,
}

/// Arguments of `boot-image results`.
#[derive(Args)]
pub struct ResultsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Station tally files (JSON, one per polling station, from `records tally`).
    #[arg(value_name = "TALLY.json", required = true)]
    tallies: Vec<PathBuf>,
}

/// Arguments of `boot-image export`.
#[derive(Args)]
pub struct ExportArgs {
    /// Export format.
    #[arg(long, value_enum)]
    format: FileFormat,
    /// The file to write (atomically; never replaced unless --force).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
    /// Station tally files (JSON, one per polling station, from `records tally`).
    #[arg(value_name = "TALLY.json", required = true)]
    tallies: Vec<PathBuf>,
}

fn progress(files: usize) -> ProgressBar {
    if files < PROGRESS_MIN_FILES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(files).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    let style = ProgressStyle::with_template("reading tallies [{bar:32}] {pos}/{len} files")
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |s| s.progress_chars("=> "),
        );
    bar.set_style(style);
    bar
}

/// Read every tally file; report and skip the bad ones. Returns the good ones and the
/// number skipped.
fn load(paths: &[PathBuf]) -> (Vec<TallyFile>, usize) {
    let bar = progress(paths.len());
    let mut loaded = Vec::new();
    let mut skipped = 0usize;
    for path in paths {
        let shown = path.display().to_string();
        let result = std::fs::read(path)
            .map_err(|e| io_reason(&e))
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
            })
            .and_then(|text| StationTally::from_json(&text).map_err(|e| e.to_string()));
        match result {
            Ok(tally) => loaded.push(TallyFile { file: shown, tally }),
            Err(reason) => {
                bar.suspend(|| eprintln!("{shown}: {reason}; skipped"));
                skipped = skipped.saturating_add(1);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    (loaded, skipped)
}

/// Load and aggregate; `Err` for contradictory input or when no file is usable.
fn load_results(paths: &[PathBuf]) -> Result<(Results, usize), Failure> {
    let (loaded, skipped) = load(paths);
    if loaded.is_empty() {
        return Err(Failure::Refused(format!(
            "no usable tally file ({skipped} skipped)"
        )));
    }
    let results = aggregate(&loaded)
        .map_err(|e| Failure::Refused(format!("refused ({}): {e}", e.class())))?;
    Ok((results, skipped))
}

fn finish(skipped: usize) -> Result<(), Failure> {
    if skipped == 0 {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{skipped} tally file(s) skipped; see the lines above"
        )))
    }
}

/// `boot-image results`.
pub fn results(args: &ResultsArgs) -> Result<(), Failure> {
    let (results, skipped) = load_results(&args.tallies)?;
    let text = match args.format {
        ReportFormat::Text => export::to_text(&results),
        ReportFormat::Json => export::to_json(&results),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Input(format!("standard output: {}", io_reason(&e))))?;
    finish(skipped)
}

/// `boot-image export`.
pub fn export(args: &ExportArgs) -> Result<(), Failure> {
    if !args.force && args.out.exists() {
        return Err(Failure::Input(format!(
            "{}: already exists; give --force to replace it",
            args.out.display()
        )));
    }
    let (results, skipped) = load_results(&args.tallies)?;
    let format = match args.format {
        FileFormat::Json => ExportFormat::Json,
        FileFormat::Csv => ExportFormat::Csv,
        FileFormat::Eml => ExportFormat::Eml,
    };
    let bytes = export::export(&results, format);
    crate::write_file(&args.out, bytes.as_bytes(), args.force)?;
    println!(
        "wrote {}: event {}, {} station(s), {} contest(s), {} anomaly flag(s)",
        args.out.display(),
        results.event_id,
        results.stations.len(),
        results.contests.len(),
        results.anomalies.len()
    );
    for anomaly in &results.anomalies {
        eprintln!("warning: {anomaly}");
    }
    finish(skipped)
}
