//! `boot-image records open|verify|tally`: the election office opens the results media of
//! the terminals (guide: `docs/guides/office.md`).
//!
//! * `open` verifies the boot image, then for every media file and every session on it:
//!   the session signature, the header, decryption with the office key, the recount, the
//!   counters and the event and image binding. It shows each session with its session
//!   fingerprint, two groups blanked, and the operator re-types those two groups from the
//!   paper opening report (or `--paper` gives the transcribed reports).
//! * `verify` checks what can be checked without the office key.
//! * `tally` opens one station's media as `open` does and writes its
//!   [`StationTally`] (JSON) for `results`.
//!
//! A bad file is reported as `FILE: area N: <class>: <reason>` and skipped; the other files
//! are still processed. The exit code is 1 whenever a file, an area or a fingerprint check
//! failed, and `tally` then writes nothing unless `--allow-partial`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use boot_image::keys::{AuthorityPublicKey, OfficeKey, OfficePublicKey};
use boot_image::records::{
    self, AreaOutcome, AreaReport, Expected, FileMedia, MediaReport, RecordError, SessionRecord,
    VerifiedRecord,
};
use boot_image::tally::{StationTally, TallyError, SOURCE_AREA_SEPARATOR};
use boot_image::{
    fingerprint_groups, inspect, parse_fingerprint, verify, TrustPolicy, DEV_AUTHORITY_PUBLIC_KEYS,
};
use clap::{ArgGroup, Args, Subcommand};
use firmware::election::{Event, Mode};
use firmware::media::Slot;
use firmware::seal::PollState;
use firmware::terminal::Counters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::{io_reason, mode_name, read_file, Failure};

/// Groups in a shown fingerprint.
const FINGERPRINT_GROUPS: usize = 16;
/// Groups the operator re-types.
const BLANKED_GROUPS: usize = 2;
/// What a blanked group shows.
const BLANK_GROUP: &str = "____";
/// Suffix of the file listing the media skipped by `tally --allow-partial`.
const SKIPPED_SUFFIX: &str = ".skipped";

/// `boot-image records`: open, verify and tally the terminals' results media.
#[derive(Args)]
#[command(
    after_help = "A bad media file is reported as `FILE: area N: <class>: <reason>` and skipped; the \
        other files are still processed. Exit codes: 0 every file and session verified, 1 a \
        file, session or fingerprint check failed, 2 usage or input error.\n\n\
        Guide: docs/guides/office.md."
)]
pub struct RecordsArgs {
    #[command(subcommand)]
    command: RecordsCommand,
}

#[derive(Subcommand)]
enum RecordsCommand {
    /// Verify, decrypt and recount every session; check the session fingerprints against
    /// the paper opening reports.
    Open(OpenArgs),
    /// Check media without the office key: layout, headers, session signatures, event and
    /// image binding (for a courier or an observer).
    Verify(VerifyArgs),
    /// Open one polling station's media as `open` does and write its tally (JSON) for
    /// `results`.
    Tally(TallyArgs),
}

#[derive(Args)]
struct ImageArgs {
    /// The boot image the terminals ran: it gives the event, the image fingerprint the
    /// records must carry and the office public key.
    #[arg(long, value_name = "IMAGE")]
    image: PathBuf,
    /// A trusted authority public key file; repeat for each key. Without --trust the
    /// development keys are trusted, and only for training images.
    #[arg(long, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    /// Valid image signatures required (default: all --trust keys; 1 development key).
    #[arg(long, value_name = "K")]
    threshold: Option<usize>,
}

#[derive(Args)]
struct RunArgs {
    /// Worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(short, long)]
    quiet: bool,
}

/// Two fingerprint groups to blank (1-based on the command line, 0-based here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BlankGroups(usize, usize);

fn parse_blank_groups(text: &str) -> Result<BlankGroups, String> {
    let bad = || format!("`{text}`: expected two different group numbers I,J from 1 to 16");
    let (first, second) = text.split_once(',').ok_or_else(bad)?;
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=FINGERPRINT_GROUPS).contains(n))
            .ok_or_else(bad)
    };
    let (first, second) = (number(first)?, number(second)?);
    if first == second {
        return Err(bad());
    }
    Ok(BlankGroups(first.min(second) - 1, first.max(second) - 1))
}

#[derive(Args)]
#[command(group(ArgGroup::new("retype").args(["paper", "blank_groups"])))]
struct FingerprintArgs {
    /// Transcribed paper opening reports, one session per line: `STATION FINGERPRINT`
    /// (16 groups of 4 hex digits); `#` starts a comment. Replaces typing the groups.
    #[arg(long, value_name = "FILE")]
    paper: Option<PathBuf>,
    /// Blank these two groups, e.g. `3,9` (1-based), instead of two chosen at random
    /// (for scripts and tests; the answers are still read from stdin).
    #[arg(long, value_name = "I,J", value_parser = parse_blank_groups)]
    blank_groups: Option<BlankGroups>,
}

#[derive(Args)]
struct OpenArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// The office secret key file (only read, never written).
    #[arg(long, value_name = "KEY")]
    office_key: PathBuf,
    #[command(flatten)]
    retype: FingerprintArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Results media image files (one per terminal's USB stick or SD card).
    #[arg(value_name = "MEDIA", required = true)]
    media: Vec<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    image: ImageArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Results media image files.
    #[arg(value_name = "MEDIA", required = true)]
    media: Vec<PathBuf>,
}

#[derive(Args)]
struct TallyArgs {
    #[command(flatten)]
    open: OpenArgs,
    /// The station tally to write (JSON), e.g. STATION.json.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Write the tally even if some media or sessions failed; the skipped ones are listed
    /// in OUT.skipped and the exit code is still 1.
    #[arg(long)]
    allow_partial: bool,
}

/// Run `boot-image records ...`.
pub fn run(args: &RecordsArgs) -> Result<(), Failure> {
    match &args.command {
        RecordsCommand::Open(args) => open(args, None),
        RecordsCommand::Verify(args) => verify_media(args),
        RecordsCommand::Tally(args) => open(&args.open, Some(args)),
    }
}

// ---------------------------------------------------------------------------------------
// The boot image and the office key.

/// What the office takes from the verified boot image.
struct Image<'a> {
    event: Event<'a>,
    fingerprint: [u8; 32],
    office_public_key: [u8; 32],
}

fn refused(path: &Path, refusal: &boot_image::Refusal) -> Failure {
    Failure::Refused(format!(
        "{}: refused ({}): {refusal}",
        path.display(),
        refusal.class()
    ))
}

/// Verify the image as `boot-image verify` does: structure, payload digests, election
/// definition and the authority signatures. The validity dates and the machine kind are
/// rules for a terminal booting on polling day, not for the office opening records later:
/// the image is checked as on its first valid day, for the machine of its first payload.
fn verify_image<'a>(args: &ImageArgs, bytes: &'a [u8]) -> Result<Image<'a>, Failure> {
    let path = &args.image;
    let inspected = inspect(bytes).map_err(|r| refused(path, &r))?;
    let mut keys = Vec::new();
    for file in &args.trust {
        keys.push(AuthorityPublicKey::load(file)?.0);
    }
    let threshold = if keys.is_empty() {
        if inspected.manifest.mode == Mode::Official {
            return Err(Failure::Refused(format!(
                "{}: an official image: give the authority public keys with --trust (the \
                 development keys are trusted for training images only)",
                path.display()
            )));
        }
        keys.extend_from_slice(&DEV_AUTHORITY_PUBLIC_KEYS);
        args.threshold.unwrap_or(1)
    } else {
        args.threshold.unwrap_or(keys.len())
    };
    let policy = TrustPolicy {
        keys: &keys,
        threshold,
    };
    policy
        .check()
        .map_err(|e| Failure::Input(format!("--trust/--threshold: {e}")))?;
    let machine = inspected
        .payloads
        .first()
        .map(|p| p.machine)
        .ok_or_else(|| Failure::Refused(format!("{}: refused: no payload", path.display())))?;
    let verified = verify(bytes, &policy, machine, inspected.manifest.valid_from)
        .map_err(|r| refused(path, &r))?;
    let manifest = verified.manifest;
    let event = Event::from_postcard(manifest.election).map_err(|e| {
        Failure::Refused(format!(
            "{}: refused: election definition: {e}",
            path.display()
        ))
    })?;
    println!(
        "image {}: verified: event {} ({}), version {}, {} valid signature(s)",
        path.display(),
        manifest.event_id,
        mode_name(manifest.mode),
        manifest.version,
        verified.valid_signatures
    );
    println!(
        "image fingerprint: {}",
        fingerprint_groups(&verified.fingerprint)
    );
    Ok(Image {
        event,
        fingerprint: verified.fingerprint,
        office_public_key: manifest.office_public_key,
    })
}

/// Read the office secret key (the file is only opened for reading) and check that it
/// belongs to the public key the image seals records to.
fn office_secret(path: &Path, image: &Image<'_>) -> Result<Zeroizing<[u8; 32]>, Failure> {
    let key = OfficeKey::load(path)?;
    if key.public_key().0 != image.office_public_key {
        return Err(Failure::Input(format!(
            "{}: this office key (fingerprint {}) is not the key the image seals records to \
             (fingerprint {})",
            path.display(),
            key.public_key().fingerprint(),
            OfficePublicKey(image.office_public_key).fingerprint()
        )));
    }
    Ok(Zeroizing::new(key.secret().to_bytes()))
}

// ---------------------------------------------------------------------------------------
// Problems and anomalies.

/// One failure, printed as `SUBJECT: area N: class: reason`; any failure makes exit 1.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    /// The media file (or the paper report file).
    subject: String,
    /// The area, if the problem is about one.
    area: Option<u32>,
    /// The failure class.
    class: &'static str,
    /// The reason.
    reason: String,
}

impl Problem {
    fn of_record(file: &str, error: &RecordError) -> Problem {
        Problem {
            subject: file.to_string(),
            area: error.area(),
            class: error.class(),
            reason: error.reason(),
        }
    }

    fn line(&self) -> String {
        match self.area {
            Some(area) => format!(
                "{}: area {area}: {}: {}",
                self.subject, self.class, self.reason
            ),
            None => format!("{}: {}: {}", self.subject, self.class, self.reason),
        }
    }
}

/// Anomalies in a tally, each one line: numbers that an opened, recounted record cannot
/// produce, so they point at a bug or a forged tally. `where_` names the station and file.
fn tally_anomalies(tally: &StationTally) -> Vec<String> {
    let mut out = Vec::new();
    if !tally.counters.balanced() {
        let c = &tally.counters;
        out.push(format!(
            "activations {} != cast {} + cancelled {}",
            c.activations, c.cast, c.cancelled
        ));
    }
    for session in &tally.sessions {
        let c = &session.counters;
        if !c.balanced() {
            out.push(format!(
                "{}: activations {} != cast {} + cancelled {}",
                session.source, c.activations, c.cast, c.cancelled
            ));
        }
    }
    for election in &tally.elections {
        if election.ballots != tally.counters.cast {
            out.push(format!(
                "election {}: {} ballots, but the cast counter is {}",
                election.id, election.ballots, tally.counters.cast
            ));
        }
        for list in &election.lists {
            for candidate in &list.candidates {
                if candidate.preferences > list.ballots {
                    out.push(format!(
                        "election {}: list {} {}: candidate {} has {} preference votes, more \
                         than the list's {} ballots",
                        election.id,
                        list.number,
                        list.name,
                        candidate.name,
                        candidate.preferences,
                        list.ballots
                    ));
                }
            }
            if list.list_only > list.ballots {
                out.push(format!(
                    "election {}: list {} {}: {} list votes, more than the list's {} ballots",
                    election.id, list.number, list.name, list.list_only, list.ballots
                ));
            }
        }
    }
    out
}

/// Anomalies of one area that are not failures: damaged slots, a session that never closed,
/// an area without a completed record.
fn area_anomalies<T>(area: &AreaReport<T>, counted: Option<(u64, bool)>) -> Vec<String> {
    let mut out = Vec::new();
    for (slot, generation) in area.damaged_slots() {
        let newer = match counted {
            Some((counted, _)) if generation > counted => format!(
                ", newer than the record counted (generation {counted}): a write cut by a \
                 power loss, or a damaged record"
            ),
            _ => String::new(),
        };
        out.push(format!(
            "slot {} damaged (its header states generation {generation}){newer}",
            slot_name(slot)
        ));
    }
    match (&area.outcome, counted) {
        (_, Some((_, false))) => out.push(
            "the session never closed: its newest record is still open (a power loss or a \
             reboot before closing)"
                .to_string(),
        ),
        (AreaOutcome::NoRecord, _) if area.unused() => out.push(
            "unused area between claimed areas (no session wrote it; the next session \
             skipped it)"
                .to_string(),
        ),
        (AreaOutcome::NoRecord, _) => out.push(
            "no completed record: the session's first write was cut (no vote was recorded \
             in it)"
                .to_string(),
        ),
        _ => {}
    }
    out
}

fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Slot::A => "A",
        Slot::B => "B",
    }
}

// ---------------------------------------------------------------------------------------
// Opening the media.

/// One opened session, without its ballots (the store is dropped in the worker).
struct SessionView {
    area: u32,
    generation: u64,
    state: PollState,
    station: String,
    fingerprint: [u8; 32],
    counters: Counters,
    ballots: Vec<usize>,
    tally: Result<StationTally, TallyError>,
}

/// The result of one media file.
struct FileResult<T> {
    /// The file as given on the command line.
    shown: String,
    /// The file name without directories (for the tally's session sources).
    name: String,
    report: Result<MediaReport<T>, RecordError>,
}

fn file_names(path: &Path) -> (String, String) {
    let shown = path.display().to_string();
    let name = path
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    (shown, name)
}

/// An unreadable sector becomes an `unreadable` failure with the system's reason.
fn read_failure(media: &FileMedia, error: RecordError) -> RecordError {
    match (&error, media.last_error()) {
        (
            RecordError::Media {
                error: firmware::media::VolumeError::ReadFailed { sector },
            },
            Some(reason),
        ) => RecordError::Unreadable {
            reason: format!("sector {sector}: {reason}"),
        },
        _ => error,
    }
}

fn summarise(name: &str, record: SessionRecord, image: &Image<'_>) -> SessionView {
    let area = record.area.unwrap_or(0);
    let source = format!("{name}{SOURCE_AREA_SEPARATOR}{area}");
    let mut tally = StationTally::new(&image.event, &image.fingerprint, &record.station);
    let tally = tally
        .add_session(&source, &record, &image.event)
        .map(|()| tally);
    SessionView {
        area,
        generation: record.generation,
        state: record.state,
        station: record.station.clone(),
        fingerprint: record.session_fingerprint,
        counters: record.counters,
        ballots: (0..image.event.elections.len())
            .map(|e| record.store.ballots(e))
            .collect(),
        tally,
    }
}

fn progress(files: usize, quiet: bool, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(files).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    let style =
        ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} files, {per_sec}, {eta} left")
            .map_or_else(
                |_| ProgressStyle::default_bar(),
                |s| s.progress_chars("=> "),
            );
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

fn jobs(run: &RunArgs) -> NonZeroUsize {
    run.jobs
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
}

fn open_files(
    args: &OpenArgs,
    image: &Image<'_>,
    secret: &[u8; 32],
) -> Vec<FileResult<SessionView>> {
    let expected = Expected {
        event: &image.event,
        image_digest: image.fingerprint,
    };
    let bar = progress(args.media.len(), args.run.quiet, "opening");
    let results = records::each_file(
        &args.media,
        jobs(&args.run),
        |path| {
            let (shown, name) = file_names(path);
            let report = FileMedia::open(path).and_then(|mut media| {
                records::open_volume(&mut media, secret, &expected)
                    .map_err(|e| read_failure(&media, e))
            });
            FileResult {
                report: report.map(|r| r.map(|record| summarise(&name, record, image))),
                shown,
                name,
            }
        },
        || bar.inc(1),
    );
    bar.finish_and_clear();
    results
}

// ---------------------------------------------------------------------------------------
// The fingerprint check.

/// One transcribed paper opening report.
struct PaperLine {
    line: usize,
    station: String,
    fingerprint: [u8; 32],
    matched: bool,
}

/// How the operator confirms each session fingerprint.
enum Retype {
    /// Type two blanked groups on stdin (fixed groups, or random ones).
    Typed {
        groups: Option<BlankGroups>,
        random: SystemRandom,
    },
    /// Compare with the transcribed paper reports.
    Paper {
        file: PathBuf,
        lines: Vec<PaperLine>,
    },
}

fn load_paper(path: &Path) -> Result<Vec<PaperLine>, Failure> {
    let bytes = read_file(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Input(format!("{}: not UTF-8 text", path.display())))?;
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let bad = || {
            Failure::Input(format!(
                "{}: line {line}: expected `STATION FINGERPRINT` (the station id, then 16 \
                 groups of 4 hex digits)",
                path.display()
            ))
        };
        let (station, rest) = content.split_once(char::is_whitespace).ok_or_else(bad)?;
        let groups: Vec<&str> = rest.split_whitespace().collect();
        if groups.len() != FINGERPRINT_GROUPS || groups.iter().any(|g| g.len() != 4) {
            return Err(bad());
        }
        let fingerprint = parse_fingerprint(&groups.concat()).ok_or_else(bad)?;
        lines.push(PaperLine {
            line,
            station: station.to_string(),
            fingerprint,
            matched: false,
        });
    }
    Ok(lines)
}

impl Retype {
    fn new(args: &FingerprintArgs) -> Result<Retype, Failure> {
        Ok(match &args.paper {
            Some(file) => Retype::Paper {
                lines: load_paper(file)?,
                file: file.clone(),
            },
            None => Retype::Typed {
                groups: args.blank_groups,
                random: SystemRandom::new(),
            },
        })
    }

    /// The two groups to blank for the next session.
    fn groups(&self) -> Result<BlankGroups, Failure> {
        match self {
            Retype::Typed {
                groups: Some(groups),
                ..
            } => Ok(*groups),
            Retype::Typed { random, .. } => random_groups(random),
            Retype::Paper { .. } => random_groups(&SystemRandom::new()),
        }
    }

    /// Check one session's fingerprint. `Ok(None)`: it matches, `Ok(Some(reason))`: it does
    /// not; `Err`: no answer could be read.
    fn check(
        &mut self,
        session: &SessionView,
        file: &str,
        groups: BlankGroups,
        out: &mut String,
    ) -> Result<Option<String>, Failure> {
        let text = fingerprint_groups(&session.fingerprint);
        let shown: Vec<&str> = text.as_str().split(' ').collect();
        let wanted = [
            shown.get(groups.0).copied().unwrap_or(""),
            shown.get(groups.1).copied().unwrap_or(""),
        ];
        match self {
            Retype::Typed { .. } => {
                // Show what was opened so far, then ask.
                print!("{out}");
                out.clear();
                let _ = std::io::stdout().flush();
                eprint!(
                    "  type groups {} and {} of the session fingerprint from the paper opening \
                     report of station {} ({file}, area {}): ",
                    groups.0 + 1,
                    groups.1 + 1,
                    session.station,
                    session.area
                );
                let _ = std::io::stderr().flush();
                let mut answer = String::new();
                let read = std::io::stdin()
                    .lock()
                    .read_line(&mut answer)
                    .map_err(|e| Failure::Input(format!("stdin: {}", io_reason(&e))))?;
                if !std::io::stdin().is_terminal() {
                    // End the prompt's line, as the operator's Enter would.
                    eprintln!();
                }
                if read == 0 {
                    return Err(Failure::Input(format!(
                        "stdin ended before the fingerprint groups of station {} ({file}, \
                         area {}) were typed",
                        session.station, session.area
                    )));
                }
                let typed: Vec<&str> = answer.split_whitespace().collect();
                let matches = typed.len() == BLANKED_GROUPS
                    && typed
                        .iter()
                        .zip(wanted)
                        .all(|(t, w)| t.eq_ignore_ascii_case(w));
                Ok(if matches {
                    let _ = writeln!(
                        out,
                        "  fingerprint check: groups {} and {} match the paper opening report",
                        groups.0 + 1,
                        groups.1 + 1
                    );
                    None
                } else {
                    Some(format!(
                        "station {}: the groups typed ({}) are not groups {} and {} of the \
                         session fingerprint: the paper opening report belongs to another \
                         session, or the record does",
                        session.station,
                        answer.trim(),
                        groups.0 + 1,
                        groups.1 + 1
                    ))
                })
            }
            Retype::Paper { file: paper, lines } => {
                let mut reports = 0usize;
                for line in lines.iter_mut() {
                    if line.station != session.station {
                        continue;
                    }
                    reports += 1;
                    if line.fingerprint == session.fingerprint {
                        line.matched = true;
                        let _ = writeln!(
                            out,
                            "  fingerprint check: matches line {} of {}",
                            line.line,
                            paper.display()
                        );
                        return Ok(None);
                    }
                }
                Ok(Some(if reports == 0 {
                    format!(
                        "station {}: {} holds no paper opening report of this station",
                        session.station,
                        paper.display()
                    )
                } else {
                    format!(
                        "station {}: the session fingerprint matches none of the {reports} \
                         paper opening report(s) of this station in {}",
                        session.station,
                        paper.display()
                    )
                }))
            }
        }
    }

    /// Paper reports of the stations seen that matched no session: a media is missing.
    fn unmatched(&self, stations: &[String]) -> Vec<Problem> {
        let Retype::Paper { file, lines } = self else {
            return Vec::new();
        };
        lines
            .iter()
            .filter(|l| !l.matched && stations.contains(&l.station))
            .map(|l| Problem {
                subject: format!("{}: line {}", file.display(), l.line),
                area: None,
                class: "fingerprint-unmatched",
                reason: format!(
                    "station {}: no session on the media given has the fingerprint of this \
                     paper opening report (a missing media, or a session that was not opened)",
                    l.station
                ),
            })
            .collect()
    }
}

/// Two different groups from the system random generator, without bias (16 divides 256).
fn random_groups(random: &SystemRandom) -> Result<BlankGroups, Failure> {
    loop {
        let mut bytes = [0u8; 8];
        random
            .fill(&mut bytes)
            .map_err(|_| Failure::Input("the system random generator failed".to_string()))?;
        let mut picks = bytes.iter().map(|b| usize::from(*b) % FINGERPRINT_GROUPS);
        let Some(first) = picks.next() else {
            continue;
        };
        if let Some(second) = picks.find(|&g| g != first) {
            return Ok(BlankGroups(first.min(second), first.max(second)));
        }
    }
}

fn blanked(fingerprint: &[u8; 32], groups: BlankGroups) -> String {
    fingerprint_groups(fingerprint)
        .as_str()
        .split(' ')
        .enumerate()
        .map(|(i, g)| {
            if i == groups.0 || i == groups.1 {
                BLANK_GROUP
            } else {
                g
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_name(state: PollState) -> &'static str {
    match state {
        PollState::Closed => "closed",
        _ => "open (never closed)",
    }
}

// ---------------------------------------------------------------------------------------
// `records open` and `records tally`.

/// What the presentation found.
struct Outcome {
    problems: Vec<Problem>,
    /// The tally of each station seen, merged over its sessions.
    stations: BTreeMap<String, StationTally>,
    /// Files whose media mounted (so their station is known), with their station.
    mounted: Vec<(String, String)>,
    sessions: usize,
}

fn open(args: &OpenArgs, tally: Option<&TallyArgs>) -> Result<(), Failure> {
    if let Some(t) = tally {
        if t.out.exists() && !t.force {
            return Err(Failure::Input(format!(
                "{}: already exists; give --force to replace it",
                t.out.display()
            )));
        }
    }
    let mut retype = Retype::new(&args.retype)?;
    let bytes = read_file(&args.image.image)?;
    let image = verify_image(&args.image, &bytes)?;
    let secret = office_secret(&args.office_key, &image)?;
    let files = open_files(args, &image, &secret);
    drop(secret);

    if tally.is_some() {
        let stations: Vec<&str> = files
            .iter()
            .filter_map(|f| f.report.as_ref().ok().map(MediaReport::station))
            .collect();
        if stations.iter().any(|s| Some(s) != stations.first()) {
            let list: Vec<String> = files
                .iter()
                .filter_map(|f| {
                    let report = f.report.as_ref().ok()?;
                    Some(format!("{} (station {})", f.shown, report.station()))
                })
                .collect();
            return Err(Failure::Input(format!(
                "media of different stations in one tally: {}; give one station's media per \
                 call",
                list.join(", ")
            )));
        }
    }

    let outcome = present(&files, &image, &mut retype)?;
    let failed_files = files
        .iter()
        .filter(|f| outcome.problems.iter().any(|p| p.subject == f.shown))
        .count();
    println!(
        "{} file(s), {} session(s) opened, {} problem(s) in {} file(s)",
        files.len(),
        outcome.sessions,
        outcome.problems.len(),
        failed_files
    );
    match tally {
        None => finish(&outcome.problems, "records open"),
        Some(t) => write_tally(t, &image, &files, outcome),
    }
}

fn finish(problems: &[Problem], what: &str) -> Result<(), Failure> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{what}: {} problem(s); see the lines above",
            problems.len()
        )))
    }
}

/// Show every file in order, check every session's fingerprint, collect the problems and
/// anomalies, and merge the session tallies per station.
fn present(
    files: &[FileResult<SessionView>],
    image: &Image<'_>,
    retype: &mut Retype,
) -> Result<Outcome, Failure> {
    let mut outcome = Outcome {
        problems: Vec::new(),
        stations: BTreeMap::new(),
        mounted: Vec::new(),
        sessions: 0,
    };
    let election_ids: Vec<&str> = image.event.elections.iter().map(|e| e.id).collect();
    for file in files {
        let report = match &file.report {
            Err(error) => {
                let problem = Problem::of_record(&file.shown, error);
                eprintln!("{}", problem.line());
                outcome.problems.push(problem);
                continue;
            }
            Ok(report) => report,
        };
        let station = report.station().to_string();
        outcome.mounted.push((file.shown.clone(), station.clone()));
        if report.areas.is_empty() {
            println!(
                "{}: station {station}: no session (the poll was never opened with this media)",
                file.shown
            );
        }
        for area in &report.areas {
            let mut out = String::new();
            let counted = match &area.outcome {
                AreaOutcome::Failed(error) => {
                    let problem = Problem::of_record(&file.shown, error);
                    eprintln!("{}", problem.line());
                    outcome.problems.push(problem);
                    None
                }
                AreaOutcome::NoRecord => None,
                AreaOutcome::Accepted(session) => {
                    outcome.sessions += 1;
                    show_session(&mut out, file, session, &election_ids, retype, &mut outcome)?;
                    Some((session.generation, session.state == PollState::Closed))
                }
                _ => None,
            };
            for anomaly in area_anomalies(area, counted) {
                let _ = writeln!(
                    out,
                    "anomaly: station {station}: {}{SOURCE_AREA_SEPARATOR}{}: {anomaly}",
                    file.shown, area.area
                );
            }
            print!("{out}");
        }
    }
    let stations: Vec<String> = outcome.mounted.iter().map(|(_, s)| s.clone()).collect();
    for problem in retype.unmatched(&stations) {
        eprintln!("{}", problem.line());
        outcome.problems.push(problem);
    }
    for (station, tally) in &outcome.stations {
        let c = &tally.counters;
        println!(
            "station {station}: {} session(s), activations {}, cast {}, cancelled {}",
            tally.sessions.len(),
            c.activations,
            c.cast,
            c.cancelled
        );
        for anomaly in tally_anomalies(tally) {
            println!("anomaly: station {station}: {anomaly}");
        }
    }
    Ok(outcome)
}

fn show_session(
    out: &mut String,
    file: &FileResult<SessionView>,
    session: &SessionView,
    election_ids: &[&str],
    retype: &mut Retype,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let c = &session.counters;
    let _ = writeln!(
        out,
        "{}: area {}: station {}, generation {}, {}",
        file.shown,
        session.area,
        session.station,
        session.generation,
        state_name(session.state)
    );
    let _ = writeln!(
        out,
        "  counters: activations {}, cast {}, cancelled {}",
        c.activations, c.cast, c.cancelled
    );
    let ballots: Vec<String> = election_ids
        .iter()
        .zip(&session.ballots)
        .map(|(id, n)| format!("{id} {n}"))
        .collect();
    let _ = writeln!(out, "  ballots per election: {}", ballots.join(", "));
    let groups = retype.groups()?;
    let _ = writeln!(
        out,
        "  session fingerprint: {}",
        blanked(&session.fingerprint, groups)
    );
    if let Some(reason) = retype.check(session, &file.shown, groups, out)? {
        let problem = Problem {
            subject: file.shown.clone(),
            area: Some(session.area),
            class: "fingerprint-mismatch",
            reason,
        };
        print!("{out}");
        out.clear();
        eprintln!("{}", problem.line());
        outcome.problems.push(problem);
        // A session whose paper report does not match is not counted.
        return Ok(());
    }
    let source = format!("{}{SOURCE_AREA_SEPARATOR}{}", file.name, session.area);
    let merged = session
        .tally
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|one| {
            for anomaly in tally_anomalies(one) {
                let _ = writeln!(
                    out,
                    "anomaly: station {}: {source}: {anomaly}",
                    session.station
                );
            }
            match outcome.stations.get_mut(&session.station) {
                Some(station) => station.merge(one),
                None => {
                    outcome
                        .stations
                        .insert(session.station.clone(), one.clone());
                    Ok(())
                }
            }
        });
    if let Err(error) = merged {
        let problem = Problem {
            subject: file.shown.clone(),
            area: Some(session.area),
            class: "tally",
            reason: error.to_string(),
        };
        print!("{out}");
        out.clear();
        eprintln!("{}", problem.line());
        outcome.problems.push(problem);
    }
    Ok(())
}

fn write_tally(
    args: &TallyArgs,
    image: &Image<'_>,
    files: &[FileResult<SessionView>],
    outcome: Outcome,
) -> Result<(), Failure> {
    let out = &args.out;
    let Some((_, station)) = outcome.mounted.first() else {
        return Err(Failure::Refused(format!(
            "{}: not written: no media could be opened",
            out.display()
        )));
    };
    let tally = outcome
        .stations
        .get(station)
        .cloned()
        .unwrap_or_else(|| StationTally::new(&image.event, &image.fingerprint, station));
    let problems = &outcome.problems;
    if !problems.is_empty() && !args.allow_partial {
        return Err(Failure::Refused(format!(
            "{}: not written: {} problem(s) above, and a station tally must not miss a \
             terminal (--allow-partial writes what opened and lists the rest in {}{})",
            out.display(),
            problems.len(),
            out.display(),
            SKIPPED_SUFFIX
        )));
    }
    let skipped_path = {
        let mut name = out.as_os_str().to_os_string();
        name.push(SKIPPED_SUFFIX);
        PathBuf::from(name)
    };
    if !problems.is_empty() {
        let mut text = format!(
            "# Media and sessions NOT counted in {} (station {station}); written by \
             `boot-image records tally --allow-partial`.\n",
            out.display()
        );
        for problem in problems {
            let _ = writeln!(text, "{}", problem.line());
        }
        crate::write_file(&skipped_path, text.as_bytes(), args.force)?;
    }
    crate::write_file(out, tally.to_json().as_bytes(), args.force)?;
    println!(
        "wrote {}: station {station}, {} session(s) from {} file(s), cast {}",
        out.display(),
        tally.sessions.len(),
        files.len(),
        tally.counters.cast
    );
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure::Refused(format!(
        "{}: PARTIAL: {} problem(s); what was not counted is listed in {}",
        out.display(),
        problems.len(),
        skipped_path.display()
    )))
}

// ---------------------------------------------------------------------------------------
// `records verify`.

fn verify_media(args: &VerifyArgs) -> Result<(), Failure> {
    let bytes = read_file(&args.image.image)?;
    let image = verify_image(&args.image, &bytes)?;
    let expected = Expected {
        event: &image.event,
        image_digest: image.fingerprint,
    };
    let bar = progress(args.media.len(), args.run.quiet, "verifying");
    let files: Vec<FileResult<VerifiedRecord>> = records::each_file(
        &args.media,
        jobs(&args.run),
        |path| {
            let (shown, name) = file_names(path);
            let report = FileMedia::open(path).and_then(|mut media| {
                records::verify_volume(&mut media, &expected).map_err(|e| read_failure(&media, e))
            });
            FileResult {
                shown,
                name,
                report,
            }
        },
        || bar.inc(1),
    );
    bar.finish_and_clear();
    let mut problems = Vec::new();
    let mut sessions = 0usize;
    for file in &files {
        let report = match &file.report {
            Err(error) => {
                let problem = Problem::of_record(&file.shown, error);
                eprintln!("{}", problem.line());
                problems.push(problem);
                continue;
            }
            Ok(report) => report,
        };
        let station = report.station();
        for area in &report.areas {
            let counted = match &area.outcome {
                AreaOutcome::Accepted(record) => {
                    sessions += 1;
                    println!(
                        "{}: area {}: station {}, generation {}, {}, signature valid, event \
                         and image match",
                        file.shown,
                        area.area,
                        record.station,
                        record.generation,
                        state_name(record.state)
                    );
                    println!("  session fingerprint: {}", record.fingerprint_text());
                    Some((record.generation, record.state == PollState::Closed))
                }
                AreaOutcome::Failed(error) => {
                    let problem = Problem::of_record(&file.shown, error);
                    eprintln!("{}", problem.line());
                    problems.push(problem);
                    None
                }
                _ => None,
            };
            for anomaly in area_anomalies(area, counted) {
                println!(
                    "anomaly: station {station}: {}{SOURCE_AREA_SEPARATOR}{}: {anomaly}",
                    file.shown, area.area
                );
            }
        }
    }
    println!(
        "{} file(s), {} session(s) verified, {} problem(s)",
        files.len(),
        sessions,
        problems.len()
    );
    finish(&problems, "records verify")
}

#[cfg(test)]
mod tests {
    use super::*;
    use boot_image::tally::{
        CandidateTally, CounterTotals, ElectionTally, ListTally, SeatMethodName, SessionSummary,
    };

    #[test]
    fn blank_group_arguments() {
        assert_eq!(parse_blank_groups("3,9"), Ok(BlankGroups(2, 8)));
        assert_eq!(parse_blank_groups("16, 1"), Ok(BlankGroups(0, 15)));
        for bad in ["3", "3,3", "0,4", "4,17", "a,b", "1,2,3"] {
            assert!(parse_blank_groups(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_groups_differ_and_cover_every_group() {
        let random = SystemRandom::new();
        let mut seen = [false; FINGERPRINT_GROUPS];
        for _ in 0..2_000 {
            let Ok(BlankGroups(a, b)) = random_groups(&random) else {
                panic!("the system random generator failed");
            };
            assert!(a < b && b < FINGERPRINT_GROUPS);
            seen[a] = true;
            seen[b] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn blanked_fingerprint_hides_two_groups() {
        let text = blanked(&[0xab; 32], BlankGroups(0, 15));
        let groups: Vec<&str> = text.split(' ').collect();
        assert_eq!(groups.len(), FINGERPRINT_GROUPS);
        assert_eq!(groups[0], BLANK_GROUP);
        assert_eq!(groups[15], BLANK_GROUP);
        assert!(groups[1..15].iter().all(|g| *g == "abab"));
    }

    fn tally() -> StationTally {
        let counters = CounterTotals {
            activations: 5,
            cast: 4,
            cancelled: 1,
        };
        StationTally {
            format: 1,
            event_id: "E".to_string(),
            image_fingerprint: fingerprint_groups(&[1; 32]).as_str().to_string(),
            station: "S-1".to_string(),
            sessions: vec![SessionSummary {
                source: "a.img#area 0".to_string(),
                session_fingerprint: fingerprint_groups(&[2; 32]).as_str().to_string(),
                generation: 6,
                closed: true,
                counters,
            }],
            counters,
            elections: vec![ElectionTally {
                id: "chamber".to_string(),
                constituency: "K".to_string(),
                seats: 4,
                method: SeatMethodName::DHondt,
                threshold_hundredths: 500,
                ballots: 4,
                blank: 1,
                lists: vec![ListTally {
                    number: 1,
                    name: "ROOD".to_string(),
                    ballots: 3,
                    list_only: 1,
                    candidates: vec![CandidateTally {
                        name: "A".to_string(),
                        titular: true,
                        preferences: 2,
                    }],
                }],
            }],
        }
    }

    #[test]
    fn consistent_tally_has_no_anomalies() {
        assert_eq!(tally_anomalies(&tally()), Vec::<String>::new());
    }

    #[test]
    fn impossible_tallies_are_flagged() {
        let mut t = tally();
        t.elections[0].lists[0].candidates[0].preferences = 4;
        let found = tally_anomalies(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("candidate A has 4 preference votes"),
            "{found:?}"
        );

        let mut t = tally();
        t.counters.activations = 6;
        t.sessions[0].counters.activations = 6;
        let found = tally_anomalies(&t);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("activations 6 != cast 4 + cancelled 1"));
        assert!(found[1].starts_with("a.img#area 0: "));

        let mut t = tally();
        t.elections[0].ballots = 3;
        t.elections[0].lists[0].list_only = 5;
        let found = tally_anomalies(&t);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("3 ballots, but the cast counter is 4"));
        assert!(found[1].contains("5 list votes"));
    }

    #[test]
    fn problems_name_file_and_area() {
        let p = Problem {
            subject: "usb/a.img".to_string(),
            area: Some(2),
            class: "bad-signature",
            reason: "sealed record: session signature does not verify".to_string(),
        };
        assert_eq!(
            p.line(),
            "usb/a.img: area 2: bad-signature: sealed record: session signature does not verify"
        );
        let p = Problem { area: None, ..p };
        assert!(p.line().starts_with("usb/a.img: bad-signature: "));
    }
}
