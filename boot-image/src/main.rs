//! `boot-image`: the election office's command-line tool for boot images.
//!
//! Exit codes: 0 success, 1 verification failed (the image is refused), 2 usage or input
//! error (a missing file, a bad election definition, a bad key file, ...).

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod office;
mod results_cli;

use boot_image::definition::Definition;
use boot_image::keys::{
    self, derived_pin_salt, load_pin, load_pin_verifier, write_pin_verifier, AuthorityKey,
    AuthorityPublicKey, KeyError, OfficeKey, OfficePublicKey,
};
use boot_image::{
    build, fingerprint_groups, inspect, sign, verify, ImageSpec, MachineKind, Provenance,
    TrustPolicy, DEV_AUTHORITY_PUBLIC_KEYS,
};
use clap::{ArgGroup, Args, Parser, Subcommand};
use firmware::election::{Date, Event, Language, Mode, SeatMethod};
use firmware::pin::{
    PinVerifier, PIN_DEFAULT_ITERATIONS, PIN_MAX_ITERATIONS, PIN_MIN_ITERATIONS, PIN_SALT_BYTES,
};
use ring::rand::{SecureRandom, SystemRandom};

/// Exit code: verification failed.
const EXIT_REFUSED: u8 = 1;
/// Exit code: usage or input error.
const EXIT_INPUT: u8 = 2;
/// Seconds in a day (for turning `SOURCE_DATE_EPOCH` and the clock into dates).
const SECONDS_PER_DAY: u64 = 86_400;
/// Builder identification recorded in the image's provenance.
const BUILDER: &str = concat!("boot-image ", env!("CARGO_PKG_VERSION"));

#[derive(Parser)]
#[command(
    name = "boot-image",
    version,
    about = "Build, sign, verify and inspect boot images for the offline voting terminal",
    long_about = "Build, sign, verify and inspect boot images for the offline voting terminal.\n\n\
        Typical flow: `keygen` the authority and office keys once; write the election \
        definition (TOML, see docs/formats/election-definition.md); `build` the image from it \
        and the firmware payload; have each authority `sign` it; `verify` it as a terminal \
        would; `inspect` it to read its fingerprint aloud.\n\n\
        Exit codes: 0 ok, 1 verification failed, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a key pair: NAME.key (secret, mode 0600) and NAME.pub; never overwrites.
    Keygen(KeygenArgs),
    /// Check an election definition (TOML) and print its summary.
    Check(CheckArgs),
    /// Derive an operator PIN verifier file, so images can be built without the PIN.
    Pin(PinArgs),
    /// Build an image from an election definition, payloads and keys (reproducibly).
    Build(Box<BuildArgs>),
    /// Add one authority signature to an image, in place (atomically).
    Sign(SignArgs),
    /// Verify an image as a terminal would; a refused image exits 1 with the reason.
    Verify(VerifyArgs),
    /// Show an image's manifest, election summary and fingerprints (signatures unchecked).
    Inspect(InspectArgs),
    /// Open, verify and tally the terminals' results media (sealed ballot records).
    Records(office::RecordsArgs),
    /// Aggregate station tallies into constituencies, allocate seats, show results and
    /// anomaly flags.
    Results(results_cli::ResultsArgs),
    /// Write the aggregated results as JSON, CSV or EML 510 (atomically, never replacing a
    /// file unless --force).
    Export(results_cli::ExportArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["authority", "office"])))]
struct KeygenArgs {
    /// An election authority signing key (Ed25519).
    #[arg(long)]
    authority: bool,
    /// An election office record key (X25519).
    #[arg(long)]
    office: bool,
    /// Base name of the files to create: NAME.key and NAME.pub.
    #[arg(short = 'o', long = "output", value_name = "NAME")]
    output: PathBuf,
}

#[derive(Args)]
struct CheckArgs {
    /// The election definition (TOML).
    #[arg(value_name = "ELECTION.toml")]
    election: PathBuf,
}

#[derive(Args)]
struct PinArgs {
    /// File holding the operator PIN (4 to 12 digits on one line).
    #[arg(long, value_name = "FILE")]
    pin_file: PathBuf,
    /// Salt as 32 hex digits (default: random).
    #[arg(long, value_name = "HEX")]
    salt: Option<String>,
    /// PBKDF2 iterations.
    #[arg(long, value_name = "N", default_value_t = PIN_DEFAULT_ITERATIONS)]
    iterations: u32,
    /// The verifier file to create (never overwritten).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

#[derive(Args)]
#[command(group(ArgGroup::new("pin").required(true).args(["pin_file", "pin_verifier"])))]
struct BuildArgs {
    /// The election definition (TOML).
    #[arg(long, value_name = "FILE")]
    election: PathBuf,
    /// A firmware payload as MACHINE=FILE (machines: wasm32, riscv32); repeat per machine.
    #[arg(long, value_name = "MACHINE=FILE", required = true, value_parser = parse_payload)]
    payload: Vec<(MachineKind, PathBuf)>,
    /// Authority secret key to sign with; repeat for several authorities (or sign later).
    #[arg(long = "sign", value_name = "KEY")]
    sign: Vec<PathBuf>,
    /// File holding the operator PIN (4 to 12 digits); the image gets its verifier.
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// PIN verifier file made by `boot-image pin` (the PIN never touches this machine).
    #[arg(long, value_name = "FILE")]
    pin_verifier: Option<PathBuf>,
    /// PIN salt as 32 hex digits (with --pin-file; default: derived from the event id,
    /// image version and office key, so rebuilds are byte-identical).
    #[arg(long, value_name = "HEX", requires = "pin_file")]
    pin_salt: Option<String>,
    /// PBKDF2 iterations (with --pin-file).
    #[arg(long, value_name = "N", default_value_t = PIN_DEFAULT_ITERATIONS, requires = "pin_file")]
    pin_iterations: u32,
    /// The office public key file; sealed records are encrypted to it.
    #[arg(long, value_name = "FILE")]
    office_key: PathBuf,
    /// First valid day, YYYY-MM-DD (default: the election day).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_from: Option<Date>,
    /// Last valid day, YYYY-MM-DD (default: the election day).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_until: Option<Date>,
    /// Image version (increase it for each rebuild of an event).
    #[arg(long = "version", value_name = "N", default_value_t = 1)]
    image_version: u32,
    /// Source commit recorded in the provenance.
    #[arg(long, value_name = "ID", default_value = "unrecorded")]
    source_commit: String,
    /// Build time recorded in the provenance, seconds since 1970 (never read from the clock).
    #[arg(long, value_name = "SECONDS", env = "SOURCE_DATE_EPOCH")]
    source_date_epoch: Option<u64>,
    /// The image file to write (replaced atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

#[derive(Args)]
struct SignArgs {
    /// Authority secret key file.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// The image to sign in place.
    #[arg(value_name = "IMAGE")]
    image: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// A trusted authority public key file; repeat for each key.
    #[arg(long, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    /// Also trust the three development authority keys (training images only).
    #[arg(long)]
    trust_dev: bool,
    /// Valid signatures by distinct trusted keys required.
    #[arg(long, value_name = "K")]
    threshold: usize,
    /// The machine kind that would run the image.
    #[arg(long, value_name = "MACHINE", default_value = "wasm32", value_parser = parse_machine)]
    machine: MachineKind,
    /// The day of verification, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Option<Date>,
    /// The image to verify.
    #[arg(value_name = "IMAGE")]
    image: PathBuf,
}

#[derive(Args)]
struct InspectArgs {
    /// The image to show.
    #[arg(value_name = "IMAGE")]
    image: PathBuf,
}

/// Why a command failed, deciding the exit code.
enum Failure {
    /// The image is refused (exit 1).
    Refused(String),
    /// Usage or input error (exit 2).
    Input(String),
}

impl From<KeyError> for Failure {
    fn from(e: KeyError) -> Failure {
        Failure::Input(e.to_string())
    }
}

fn parse_machine(text: &str) -> Result<MachineKind, String> {
    MachineKind::from_name(text)
        .ok_or_else(|| format!("unknown machine kind `{text}` (expected wasm32 or riscv32)"))
}

fn parse_payload(text: &str) -> Result<(MachineKind, PathBuf), String> {
    let (machine, file) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not MACHINE=FILE (e.g. wasm32=firmware.wasm)"))?;
    if file.is_empty() {
        return Err(format!("`{text}` names no file"));
    }
    Ok((parse_machine(machine)?, PathBuf::from(file)))
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("`{text}` is not a date YYYY-MM-DD (2000..9999)"))
}

fn parse_salt(text: &str) -> Result<[u8; PIN_SALT_BYTES], Failure> {
    let bad = || Failure::Input(format!("--salt `{text}`: expected 32 hex digits"));
    if text.len() != PIN_SALT_BYTES * 2 {
        return Err(bad());
    }
    let mut salt = [0u8; PIN_SALT_BYTES];
    for (slot, index) in salt.iter_mut().zip((0..text.len()).step_by(2)) {
        let pair = text.get(index..index + 2).ok_or_else(bad)?;
        *slot = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(salt)
}

fn iterations(n: u32) -> Result<NonZeroU32, Failure> {
    NonZeroU32::new(n)
        .filter(|n| (PIN_MIN_ITERATIONS..=PIN_MAX_ITERATIONS).contains(&n.get()))
        .ok_or_else(|| {
            Failure::Input(format!(
                "PIN iterations {n}: must be {PIN_MIN_ITERATIONS} to {PIN_MAX_ITERATIONS}"
            ))
        })
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Input(format!("{}: {}", path.display(), io_reason(&e))))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Replace `path` with `bytes` atomically (images are rebuilt and signed in place).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    write_file(path, bytes, true)
}

/// Write `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over `path` (`replace`) or linked into place, which never replaces an existing
/// file, even one created while we wrote. File systems without links (FAT sticks) fall back
/// to a rename after checking the name is still free. A crash leaves the old file or the
/// new one, never a partial file under the name.
fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), Failure> {
    use std::io::Write;
    let fail = |e: &std::io::Error| Failure::Input(format!("{}: {}", path.display(), io_reason(e)));
    let name = path
        .file_name()
        .ok_or_else(|| Failure::Input(format!("{}: not a file name", path.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(&e));
    }
    let placed = if replace {
        std::fs::rename(&temp, path)
    } else {
        match std::fs::hard_link(&temp, path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&temp);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) if !path.exists() => std::fs::rename(&temp, path),
            Err(e) => Err(e),
        }
    };
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(Failure::Input(format!(
                "{}: already exists; give --force to replace it",
                path.display()
            )));
        }
        return Err(fail(&e));
    }
    Ok(())
}

/// A day count since 1970-01-01 as a proleptic Gregorian date (civil-from-days).
fn date_from_days(days: u64) -> Option<Date> {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a 400-year era.
    let z = days.checked_add(719_468)?;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    Date::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

fn today() -> Result<Date, Failure> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::Input("the system clock is before 1970; give --date".to_string()))?
        .as_secs();
    date_from_days(seconds / SECONDS_PER_DAY)
        .ok_or_else(|| Failure::Input("the system clock is out of range; give --date".to_string()))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Training => "training",
        Mode::Official => "official",
        _ => "unknown",
    }
}

fn method_name(method: SeatMethod) -> &'static str {
    match method {
        SeatMethod::DHondt => "D'Hondt",
        SeatMethod::Imperiali => "Imperiali",
        _ => "unknown method",
    }
}

/// Threshold in hundredths of a percent, shown as a percentage.
fn percent(hundredths: u16) -> String {
    let (whole, part) = (hundredths / 100, hundredths % 100);
    if part == 0 {
        format!("{whole} %")
    } else if part % 10 == 0 {
        format!("{whole}.{} %", part / 10)
    } else {
        format!("{whole}.{part:02} %")
    }
}

/// A summary of an election event, one line per election.
fn event_summary(event: &Event<'_>) -> String {
    let mut out = String::new();
    let languages: Vec<&str> = event.languages.iter().map(|l| l.code()).collect();
    let _ = writeln!(
        out,
        "event {} ({}), {}, {}, languages {}",
        event.id,
        event.names.show(Language::En),
        event.date,
        mode_name(event.mode),
        languages.join(" ")
    );
    for election in &event.elections {
        let candidates: usize = election.lists.iter().map(|l| l.candidates.len()).sum();
        let _ = writeln!(
            out,
            "  {}: {}, {}: {} seats, {}, threshold {}, {} lists, {} candidates{}",
            election.id,
            election.names.show(Language::En),
            election.constituency.show(Language::En),
            election.seats,
            method_name(election.method),
            percent(election.threshold),
            election.lists.len(),
            candidates,
            if election.successors {
                " (with successors)"
            } else {
                ""
            }
        );
    }
    out
}

fn dev_key_label(public_key: &[u8; 32]) -> String {
    match DEV_AUTHORITY_PUBLIC_KEYS
        .iter()
        .position(|k| k == public_key)
    {
        Some(i) => format!(" (development authority key {})", i + 1),
        None => String::new(),
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

fn keygen(args: &KeygenArgs) -> Result<(), Failure> {
    let with = |ext: &str| {
        let mut name = args.output.as_os_str().to_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    let (secret_path, public_path) = (with(".key"), with(".pub"));
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(Failure::Input(format!(
                "{}: already exists; refusing to overwrite it",
                path.display()
            )));
        }
    }
    let (public_text, fingerprint) = if args.authority {
        let key = AuthorityKey::generate(&secret_path)?;
        key.write(&secret_path)?;
        (key.public_key().file_text(), key.public_key().fingerprint())
    } else {
        let key = OfficeKey::generate(&secret_path)?;
        key.write(&secret_path)?;
        (key.public_key().file_text(), key.public_key().fingerprint())
    };
    if let Err(e) = keys::create_file(&public_path, public_text.as_bytes(), false) {
        // Do not leave a secret without its public half; we created it just now.
        let _ = std::fs::remove_file(&secret_path);
        return Err(e.into());
    }
    println!(
        "wrote {} (secret, mode 0600) and {}",
        secret_path.display(),
        public_path.display()
    );
    println!("fingerprint: {fingerprint}");
    Ok(())
}

fn load_definition(path: &Path) -> Result<Definition, Failure> {
    Definition::load(path).map_err(|e| Failure::Input(e.to_string()))
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let definition = load_definition(&args.election)?;
    print!("{}", event_summary(&definition.event()));
    println!(
        "{}: valid ({} bytes encoded)",
        definition.file(),
        definition.to_postcard().len()
    );
    Ok(())
}

fn pin(args: &PinArgs) -> Result<(), Failure> {
    let pin = load_pin(&args.pin_file)?;
    let salt = match &args.salt {
        Some(text) => parse_salt(text)?,
        None => {
            let mut salt = [0u8; PIN_SALT_BYTES];
            SystemRandom::new()
                .fill(&mut salt)
                .map_err(|_| Failure::Input("the system random generator failed".to_string()))?;
            salt
        }
    };
    let verifier = PinVerifier::derive(&pin, salt, iterations(args.iterations)?);
    write_pin_verifier(&args.output, &verifier)?;
    println!(
        "wrote {} ({} iterations)",
        args.output.display(),
        verifier.iterations
    );
    Ok(())
}

fn build_image(args: &BuildArgs) -> Result<(), Failure> {
    let definition = load_definition(&args.election)?;
    let event = definition.event();
    let election = definition.to_postcard();
    let office = OfficePublicKey::load(&args.office_key)?;
    if event.mode == Mode::Official && office.is_dev() {
        return Err(Failure::Input(format!(
            "{}: the development office key is public; an official image needs the office's \
             own key",
            args.office_key.display()
        )));
    }
    let source_date_epoch = args.source_date_epoch.ok_or_else(|| {
        Failure::Input(
            "no build time: set SOURCE_DATE_EPOCH or give --source-date-epoch \
             (the tool never reads the clock, so builds are reproducible)"
                .to_string(),
        )
    })?;
    let pin_verifier = match (&args.pin_file, &args.pin_verifier) {
        (Some(pin_file), _) => {
            let pin = load_pin(pin_file)?;
            let salt = match &args.pin_salt {
                Some(text) => parse_salt(text)?,
                None => derived_pin_salt(event.id, args.image_version, &office.0),
            };
            PinVerifier::derive(&pin, salt, iterations(args.pin_iterations)?)
        }
        (None, Some(file)) => load_pin_verifier(file)?,
        (None, None) => return Err(Failure::Input("give --pin-file or --pin-verifier".into())),
    };
    let signers = args
        .sign
        .iter()
        .map(|path| AuthorityKey::load(path).map(|key| (path, key)))
        .collect::<Result<Vec<_>, _>>()?;
    for (path, key) in &signers {
        if event.mode == Mode::Official && key.public_key().is_dev() {
            return Err(Failure::Input(format!(
                "{}: a development authority key may only sign training images",
                path.display()
            )));
        }
    }
    let mut payload_bytes = Vec::new();
    for (machine, path) in &args.payload {
        payload_bytes.push((*machine, read_file(path)?));
    }
    let payloads: Vec<(MachineKind, &[u8])> = payload_bytes
        .iter()
        .map(|(machine, bytes)| (*machine, bytes.as_slice()))
        .collect();
    let spec = ImageSpec {
        event_id: event.id,
        mode: event.mode,
        version: args.image_version,
        valid_from: args.valid_from.unwrap_or(event.date),
        valid_until: args.valid_until.unwrap_or(event.date),
        provenance: Provenance {
            source_commit: &args.source_commit,
            source_date_epoch,
            builder: BUILDER,
        },
        payloads: &payloads,
        election: &election,
        office_public_key: office.0,
        pin_verifier,
    };
    let mut image = build(&spec).map_err(|e| Failure::Input(format!("cannot build: {e}")))?;
    for (path, key) in &signers {
        image = sign(&image, key.key_pair())
            .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    }
    write_atomically(&args.output, &image)?;
    let inspected = inspect(&image).map_err(|e| Failure::Input(format!("built image: {e}")))?;
    println!(
        "wrote {}: {} bytes, {} signature(s)",
        args.output.display(),
        image.len(),
        signers.len()
    );
    println!(
        "fingerprint: {}",
        fingerprint_groups(&inspected.fingerprint)
    );
    Ok(())
}

fn sign_image(args: &SignArgs) -> Result<(), Failure> {
    let key = AuthorityKey::load(&args.key)?;
    let image = read_file(&args.image)?;
    let signed = sign(&image, key.key_pair())
        .map_err(|e| Failure::Input(format!("{}: {e}", args.image.display())))?;
    write_atomically(&args.image, &signed)?;
    println!(
        "signed {} with key {}{}",
        args.image.display(),
        key.public_key().fingerprint(),
        dev_key_label(&key.public_key().0)
    );
    Ok(())
}

fn verify_image(args: &VerifyArgs) -> Result<(), Failure> {
    let mut trusted = Vec::new();
    for path in &args.trust {
        trusted.push(AuthorityPublicKey::load(path)?.0);
    }
    if args.trust_dev {
        trusted.extend_from_slice(&DEV_AUTHORITY_PUBLIC_KEYS);
    }
    let policy = TrustPolicy {
        keys: &trusted,
        threshold: args.threshold,
    };
    policy
        .check()
        .map_err(|e| Failure::Input(format!("--trust/--threshold: {e}")))?;
    let today = match args.date {
        Some(date) => date,
        None => today()?,
    };
    let image = read_file(&args.image)?;
    let verified = verify(&image, &policy, args.machine, today).map_err(|refusal| {
        Failure::Refused(format!(
            "{}: refused ({}): {refusal}",
            args.image.display(),
            refusal.class()
        ))
    })?;
    let manifest = &verified.manifest;
    println!(
        "{}: verified: event {} ({}), version {}, {} of {} required signatures valid, \
         {} payload {} bytes",
        args.image.display(),
        manifest.event_id,
        mode_name(manifest.mode),
        manifest.version,
        verified.valid_signatures,
        args.threshold,
        verified.machine,
        verified.payload.len()
    );
    println!("fingerprint: {}", fingerprint_groups(&verified.fingerprint));
    Ok(())
}

fn inspect_image(args: &InspectArgs) -> Result<(), Failure> {
    let image = read_file(&args.image)?;
    let inspected = inspect(&image).map_err(|refusal| {
        Failure::Refused(format!(
            "{}: refused ({}): {refusal}",
            args.image.display(),
            refusal.class()
        ))
    })?;
    let m = &inspected.manifest;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "image:        {} ({} bytes)",
        args.image.display(),
        image.len()
    );
    let _ = writeln!(
        out,
        "fingerprint:  {}",
        fingerprint_groups(&inspected.fingerprint)
    );
    // The file's SHA-256 as `sha256sum` prints it, for comparing published images.
    let _ = writeln!(out, "sha-256:      {}", hex(&sha256(&image)));
    let _ = writeln!(out, "event:        {}", m.event_id);
    let _ = writeln!(out, "mode:         {}", mode_name(m.mode));
    let _ = writeln!(out, "version:      {}", m.version);
    let _ = writeln!(out, "valid:        {} to {}", m.valid_from, m.valid_until);
    let built = date_from_days(m.provenance.source_date_epoch / SECONDS_PER_DAY)
        .map_or_else(String::new, |d| format!(" ({d})"));
    let _ = writeln!(
        out,
        "provenance:   commit {}, SOURCE_DATE_EPOCH {}{built}, builder {}",
        m.provenance.source_commit, m.provenance.source_date_epoch, m.provenance.builder
    );
    let office = OfficePublicKey(m.office_public_key);
    let _ = writeln!(
        out,
        "office key:   {}{}",
        office.fingerprint(),
        if office.is_dev() {
            " (development office key)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "PIN verifier: PBKDF2-HMAC-SHA256, {} iterations",
        m.pin_verifier.iterations
    );
    let _ = writeln!(out, "payloads:");
    for payload in &inspected.payloads {
        let _ = writeln!(
            out,
            "  {:<8}    {} bytes, SHA-256 {}",
            payload.machine.name(),
            payload.bytes.len(),
            fingerprint_groups(&sha256(payload.bytes))
        );
    }
    let _ = writeln!(
        out,
        "signatures:   {} (not verified here; use `boot-image verify`)",
        inspected.signatures.len()
    );
    for entry in inspected.signatures.iter() {
        let _ = writeln!(
            out,
            "  key {}{}",
            keys::key_fingerprint(entry.public_key),
            dev_key_label(entry.public_key)
        );
    }
    match Event::from_postcard(m.election) {
        Ok(event) => {
            let _ = write!(out, "election:     {}", event_summary(&event));
        }
        Err(e) => {
            let _ = writeln!(out, "election:     {e}");
        }
    }
    print!("{out}");
    Ok(())
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Keygen(args) => keygen(args),
        Command::Check(args) => check(args),
        Command::Pin(args) => pin(args),
        Command::Build(args) => build_image(args),
        Command::Sign(args) => sign_image(args),
        Command::Verify(args) => verify_image(args),
        Command::Inspect(args) => inspect_image(args),
        Command::Records(args) => office::run(args),
        Command::Results(args) => results_cli::results(args),
        Command::Export(args) => results_cli::export(args),
    }
}

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with code 2.
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(line)) => {
            eprintln!("{line}");
            ExitCode::from(EXIT_REFUSED)
        }
        Err(Failure::Input(line)) => {
            eprintln!("boot-image: error: {line}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(
            date_from_days(0),
            None,
            "1970 is before the model's year 2000"
        );
        assert_eq!(date_from_days(10_957), Date::new(2000, 1, 1));
        assert_eq!(date_from_days(11_016), Date::new(2000, 2, 29));
        assert_eq!(date_from_days(20_611), Date::new(2026, 6, 7));
        assert_eq!(date_from_days(20_513), Date::new(2026, 3, 1));
        assert_eq!(date_from_days(20_512), Date::new(2026, 2, 28));
    }

    #[test]
    fn thresholds_show_as_percent() {
        assert_eq!(percent(500), "5 %");
        assert_eq!(percent(450), "4.5 %");
        assert_eq!(percent(425), "4.25 %");
        assert_eq!(percent(0), "0 %");
        assert_eq!(percent(10_000), "100 %");
    }

    #[test]
    fn payload_arguments() {
        assert_eq!(
            parse_payload("wasm32=a.wasm"),
            Ok((MachineKind::Wasm32, PathBuf::from("a.wasm")))
        );
        assert!(parse_payload("x86=a").is_err());
        assert!(parse_payload("wasm32").is_err());
        assert!(parse_payload("wasm32=").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
