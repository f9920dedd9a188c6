//! `simulator`: the voting terminal's hardware stand-in.

use std::path::PathBuf;
use std::process::ExitCode;

use boot_image::keys::AuthorityPublicKey;
use clap::Parser;
use firmware::election::Date;
use simulator::machine::{
    summarize, CallRecord, Limits, DEFAULT_FUEL_PER_CALL, DEFAULT_MEMORY_LIMIT_BYTES,
};
use simulator::rom::Trust;
use simulator::{picture, script, Failure, Options};

const AFTER_HELP: &str = "\
Boot: the boot ROM verifies the whole image (signatures under the trust policy, payload
digests, machine kind, validity dates for official images) BEFORE loading anything of it.
A refused image is never instantiated: the reason goes to stderr (and, headless, to
OUT/refused.png) and the exit code is 1.

Sandbox: the payload runs in wasmi with a memory limit (--memory-mib) and a fuel budget per
call (--fuel); a payload exceeding it is stopped with \"firmware not responding\". A payload
importing anything outside the device ABI (module `device`) is refused before it starts.

Files: the simulator writes only the --media file, the --out directory and stdout/stderr.
A missing --media file is created with 32768 sectors of 512 bytes (16 MiB).

Headless script commands (one per line, # comments):
  tap X Y | tap NAME            touch tap at a pixel, or at the centre of a named element
  key up|down|left|right|enter|back
  operator activate|cancel|open|close|power-off
  pin DIGITS                    tap pin-D for each digit, then pin-ok
  wait MS                       advance the simulated clock (ticks every 100 ms)
  shot NAME                     write OUT/NAME.png
  expect-text TEXT              fail unless TEXT is visible
  show                          print the visible text to stdout
  power-off | pull-media | power-cut
After each tap, key, operator or pin line, simulated time passes (ticks every 100 ms) while
the firmware works in its ticks: checking the PIN, writing a record, printing.
Printed receipts are written as OUT/receipt-N.png at the end of the run.

Performance (--stats FILE, headless): every call into the payload after boot is logged as a
CSV line `line,export,event,fuel,wall_ns,flushed_px` (event: tap, key, operator, tick, query,
power); the run then prints fuel and wall-time p50/p99/max over the input events (taps, keys,
operator keys, ticks), per event kind, and over the screen changes (calls flushing at least
half of the display).

Window keys (feature `window`): mouse click = tap; arrows, Enter, Backspace = voter keys;
operator panel: F1 activate, F2 cancel, F3 open poll, F4 close poll, F5 power off.
With --script (and no --headless) the window plays the script at --step-ms per line, then
stays interactive (or closes with --close-after-script); --out gets its screenshots and, when
the window closes, the receipts.

Exit codes: 0 ok; 1 image refused, firmware failure or failed expectation; 2 usage or input
error (including a malformed script line).";

/// The voting terminal simulator: boot ROM, wasm sandbox and emulated devices.
#[derive(Parser, Debug)]
#[command(name = "simulator", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// The signed boot image to boot.
    image: PathBuf,
    /// Authority public key file(s) the boot ROM trusts (repeatable). Without it: the dev
    /// authority keys, which can only boot training images.
    #[arg(long, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    /// Valid authority signatures required.
    #[arg(long, default_value_t = 1)]
    threshold: usize,
    /// Run without a window, from --script, writing to --out.
    #[arg(long)]
    headless: bool,
    /// Script to run (headless).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Directory for screenshots and receipts (created if missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Results media image file (created with 16 MiB if missing). Without it the slot is empty.
    #[arg(long, value_name = "FILE")]
    media: Option<PathBuf>,
    /// Today's date (YYYY-MM-DD) for the clock and the validity check; default: today (UTC).
    #[arg(long)]
    date: Option<String>,
    /// 64 hex digits: deterministic entropy (training images only).
    #[arg(long, value_name = "HEX")]
    entropy_seed: Option<String>,
    /// Polling station name handed to the firmware.
    #[arg(long, default_value = "SIMULATOR")]
    station: String,
    /// Fuel (about one per wasm instruction) for each call into the payload.
    #[arg(long, default_value_t = DEFAULT_FUEL_PER_CALL)]
    fuel: u64,
    /// Memory limit of the payload in MiB.
    #[arg(long, default_value_t = (DEFAULT_MEMORY_LIMIT_BYTES / (1024 * 1024)) as u64)]
    memory_mib: u64,
    /// Echo the firmware's log lines to stderr.
    #[arg(long)]
    log: bool,
    /// Window: milliseconds between the lines of a --script played in the window.
    #[arg(long, value_name = "MS", default_value_t = 400)]
    step_ms: u64,
    /// Window: close the window when the --script is done (for unattended runs).
    #[arg(long)]
    close_after_script: bool,
    /// Headless: write one CSV line per call into the payload (script line, export, event,
    /// fuel, wall ns, flushed pixels) to FILE, and print fuel and wall-time percentiles.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
}

fn usage(message: String) -> ExitCode {
    eprintln!("simulator: {message}");
    ExitCode::from(2)
}

fn parse_seed(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        seed[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(seed)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let image = match std::fs::read(&cli.image) {
        Ok(bytes) => bytes,
        Err(e) => return usage(format!("cannot read image {}: {e}", cli.image.display())),
    };
    let trust = if cli.trust.is_empty() {
        Trust::dev(cli.threshold)
    } else {
        let mut keys = Vec::new();
        for path in &cli.trust {
            match AuthorityPublicKey::load(path) {
                Ok(key) => keys.push(key.0),
                Err(e) => return usage(e.to_string()),
            }
        }
        Trust {
            keys,
            threshold: cli.threshold,
        }
    };
    let today = match &cli.date {
        Some(text) => match Date::parse(text) {
            Some(d) => d,
            None => return usage(format!("--date `{text}` is not a valid YYYY-MM-DD date")),
        },
        None => match simulator::system_today() {
            Some(d) => d,
            None => return usage("the system clock gives no valid date; pass --date".into()),
        },
    };
    let entropy_seed = match &cli.entropy_seed {
        Some(hex) => match parse_seed(hex) {
            Some(seed) => Some(seed),
            None => return usage(format!("--entropy-seed `{hex}` is not 64 hex digits")),
        },
        None => None,
    };
    let memory_bytes = match usize::try_from(cli.memory_mib.saturating_mul(1024 * 1024)) {
        Ok(n) => n,
        Err(_) => return usage(format!("--memory-mib {} is too large", cli.memory_mib)),
    };
    // The station id is sealed into every ballot record header: printable ASCII, no spaces.
    let station_ok = !cli.station.is_empty()
        && cli.station.len() <= 32
        && cli.station.bytes().all(|b| b.is_ascii_graphic());
    if !station_ok {
        return usage(format!(
            "--station `{}`: must be 1 to 32 printable ASCII characters without spaces",
            cli.station
        ));
    }
    let options = Options {
        image,
        trust,
        today,
        entropy_seed,
        media: cli.media.clone(),
        station: cli.station.clone(),
        limits: Limits {
            memory_bytes,
            fuel_per_call: cli.fuel,
        },
        echo_log: cli.log,
    };
    if cli.headless {
        headless(&cli, &options)
    } else {
        windowed(&cli, &options)
    }
}

fn headless(cli: &Cli, options: &Options) -> ExitCode {
    let (Some(script_path), Some(out)) = (&cli.script, &cli.out) else {
        return usage("--headless needs --script FILE and --out DIR".into());
    };
    let text = match std::fs::read_to_string(script_path) {
        Ok(t) => t,
        Err(e) => return usage(format!("cannot read script {}: {e}", script_path.display())),
    };
    let lines = match script::parse(&text) {
        Ok(lines) => lines,
        Err(e) => return usage(format!("{}: {e}", script_path.display())),
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        return usage(format!("cannot create --out {}: {e}", out.display()));
    }
    let mut machine = match simulator::power_on(options) {
        Ok((machine, verified)) => {
            println!(
                "booted image {} ({} valid signature(s))",
                boot_image::fingerprint_groups(&verified.fingerprint),
                verified.valid_signatures
            );
            machine
        }
        Err(failure) => {
            eprintln!("simulator: {failure}");
            if let Failure::Refused(_) = failure {
                let screen = picture::refusal_screen(&failure.to_string());
                if let Err(e) = picture::write_screen(&out.join("refused.png"), &screen) {
                    eprintln!("simulator: {e}");
                }
            }
            return ExitCode::from(failure.exit_code());
        }
    };
    let result = if cli.stats.is_some() {
        machine.record_calls(true);
        // Line by line, so each call is tagged with its script line.
        lines.iter().enumerate().try_for_each(|(i, line)| {
            machine.set_line(line.number);
            script::run(&mut machine, &lines[i..=i], out)
        })
    } else {
        script::run(&mut machine, &lines, out)
    };
    if let Some(path) = &cli.stats {
        if let Err(e) = write_stats(path, machine.calls()) {
            return usage(format!("cannot write --stats {}: {e}", path.display()));
        }
    }
    let receipts = script::write_receipts(&machine, out);
    if let Err(e) = result {
        eprintln!("simulator: {}: {e}", script_path.display());
        return ExitCode::from(1);
    }
    match receipts {
        Ok(n) => {
            let fuel = machine.fuel();
            println!("script done: {} line(s), {n} receipt(s)", lines.len());
            println!(
                "fuel: {} call(s), {} total, largest {} in `{}`",
                fuel.calls, fuel.total, fuel.largest, fuel.largest_export
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("simulator: {e}");
            ExitCode::from(2)
        }
    }
}

/// Write the call log as CSV and print its summary.
fn write_stats(path: &std::path::Path, calls: &[CallRecord]) -> std::io::Result<()> {
    let mut text = String::from(CallRecord::CSV_HEADER);
    text.push('\n');
    for call in calls {
        text.push_str(&call.csv());
        text.push('\n');
    }
    std::fs::write(path, text)?;
    println!(
        "stats: {} call(s) logged to {}",
        calls.len(),
        path.display()
    );
    for group in summarize(calls) {
        println!("stats: {group}");
    }
    Ok(())
}

#[cfg(feature = "window")]
fn windowed(cli: &Cli, options: &Options) -> ExitCode {
    let playback = match &cli.script {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => return usage(format!("cannot read script {}: {e}", path.display())),
            };
            match script::parse(&text) {
                Ok(lines) => Some((lines, path.clone())),
                Err(e) => return usage(format!("{}: {e}", path.display())),
            }
        }
        None => None,
    };
    if let Some(out) = &cli.out {
        if let Err(e) = std::fs::create_dir_all(out) {
            return usage(format!("cannot create --out {}: {e}", out.display()));
        }
    }
    let window = simulator::window::WindowRun {
        script: playback.as_ref().map(|(lines, _)| lines.as_slice()),
        out: cli.out.as_deref(),
        step_ms: cli.step_ms,
        close_after_script: cli.close_after_script,
    };
    match simulator::window::run(options, &window) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match (&e, &playback) {
                (simulator::window::WindowError::Script(_), Some((_, path))) => {
                    eprintln!("simulator: {}: {e}", path.display())
                }
                _ => eprintln!("simulator: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(not(feature = "window"))]
fn windowed(_: &Cli, _: &Options) -> ExitCode {
    usage("this build has no window (build with `--features window`); use --headless".into())
}
