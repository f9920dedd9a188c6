//! Shared by the simulator benches: the payload from `SIMULATOR_PAYLOAD`, the demo image
//! built with the boot-image library and the dev keys, a machine on RAM media, running
//! script text, and printing call-log figures.
#![allow(dead_code)]

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use boot_image::definition::Definition;
use boot_image::keys::{AuthorityKey, OfficeKey};
use boot_image::{build, sign, ImageSpec, MachineKind, Provenance};
use firmware::election::{Date, Mode};
use firmware::pin::PinVerifier;
use simulator::devices::{Devices, Entropy, Media};
use simulator::machine::{CallRecord, Limits, Machine, Percentiles};
use simulator::rom::{self, Trust};
use simulator::script;

/// The operator PIN of the demo image (`dev-keys/dev-operator.pin`).
pub const PIN: &[u8] = b"123456";
/// The polling station the benches boot as.
pub const STATION: &str = "LINDENHOVE-001";
/// The polling day of the demo election.
pub const DAY: (u16, u8, u8) = (2026, 6, 7);
/// Results media of the benches: 16 MiB of RAM.
pub const MEDIA_SECTORS: u32 = 32 * 1024;
/// Entropy seed of the benches (training image: replayable runs).
pub const SEED: [u8; 32] = [7; 32];

/// The payload named by `SIMULATOR_PAYLOAD`, or `None` (the caller prints how to get it).
pub fn payload() -> Option<Vec<u8>> {
    let path = std::env::var_os("SIMULATOR_PAYLOAD")?;
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            eprintln!("SIMULATOR_PAYLOAD {}: {e}", Path::new(&path).display());
            None
        }
    }
}

/// Print why the bench does not run.
pub fn skipped(bench: &str) {
    println!(
        "{bench}: skipped: set SIMULATOR_PAYLOAD to the payload `cargo xtask payload` prints \
         (<target dir>/payload/firmware-wasm32.wasm)"
    );
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The demo image as `cargo xtask image` makes it (the demo election, training mode, the
/// dev office key, PIN 123456 with `pin_iterations` PBKDF2 iterations), signed by dev
/// authority key 1.
pub fn demo_image(payload: &[u8], pin_iterations: u32) -> Vec<u8> {
    let definition = workspace_root().join("docs/examples/demo-election.toml");
    let election = Definition::load(&definition)
        .unwrap_or_else(|e| panic!("{}: {e}", definition.display()))
        .to_postcard();
    let iterations = NonZeroU32::new(pin_iterations).expect("iterations > 0");
    let spec = ImageSpec {
        event_id: "DEMO-LINDENHOVE-2026",
        mode: Mode::Training,
        version: 1,
        valid_from: Date::new(2026, 6, 1).expect("date"),
        valid_until: Date::new(2026, 6, 30).expect("date"),
        provenance: Provenance {
            source_commit: "simulator-benches",
            source_date_epoch: 1_780_000_000,
            builder: "simulator benches",
        },
        payloads: &[(MachineKind::Wasm32, payload)],
        election: &election,
        office_public_key: OfficeKey::dev().public_key().0,
        pin_verifier: PinVerifier::derive(PIN, [0x5a; 16], iterations),
    };
    let image = build(&spec).expect("build the demo image");
    sign(&image, AuthorityKey::dev(1).key_pair()).expect("sign the demo image")
}

/// The polling day.
pub fn today() -> Date {
    Date::new(DAY.0, DAY.1, DAY.2).expect("date")
}

/// What booting took.
pub struct Boot {
    /// The running machine (call log on, boot calls in it).
    pub machine: Machine,
    /// Reading the image file.
    pub read: Duration,
    /// The boot ROM's verification.
    pub verify: Duration,
    /// Compiling and instantiating the payload in wasmi.
    pub load: Duration,
    /// The boot calls, up to the first frame flushed.
    pub boot: Duration,
}

/// Boot the image in file `image` as the simulator does (read, verify, load, boot), on
/// RAM media, with the call log on from the first boot call.
pub fn boot_file(image: &Path) -> Boot {
    let started = Instant::now();
    let bytes = std::fs::read(image).expect("read the image");
    let read = started.elapsed();
    let started = Instant::now();
    let verified = rom::verify_image(&bytes, &Trust::dev(1), today()).expect("image verifies");
    let verify = started.elapsed();
    let started = Instant::now();
    let devices = Devices::new(
        Media::ram(MEDIA_SECTORS),
        DAY,
        Entropy::Seeded {
            seed: SEED,
            counter: 0,
        },
    );
    let mut machine =
        Machine::load(&verified.payload, devices, Limits::default()).expect("payload loads");
    let load = started.elapsed();
    machine.record_calls(true);
    let started = Instant::now();
    machine
        .boot(&verified.boot_block(STATION))
        .expect("firmware boots");
    let boot = started.elapsed();
    assert!(
        machine.devices().screen.flushes > 0,
        "the first frame is on the screen"
    );
    Boot {
        machine,
        read,
        verify,
        load,
        boot,
    }
}

/// Boot `image` (written to a file in the bench's target directory first).
pub fn boot_image(image: &[u8], name: &str) -> Boot {
    let dir = bench_dir();
    let path = dir.join(format!("{name}.img"));
    std::fs::write(&path, image).expect("write the image");
    boot_file(&path)
}

/// A scratch directory for the benches (screenshots are not written; the path is needed).
pub fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("simulator-benches");
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    dir
}

/// Run script `text` line by line, tagging the calls with their line numbers.
pub fn run_script(machine: &mut Machine, text: &str) {
    let lines = script::parse(text).unwrap_or_else(|e| panic!("bench script: {e}"));
    let out = bench_dir();
    for (i, line) in lines.iter().enumerate() {
        machine.set_line(line.number);
        script::run(machine, &lines[i..=i], &out).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Milliseconds in a nanosecond count.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Millions in a fuel count.
pub fn mfuel(fuel: u64) -> f64 {
    fuel as f64 / 1e6
}

/// One line of percentiles: fuel in millions, wall in milliseconds.
pub fn figures(name: &str, fuel: Percentiles, wall: Percentiles) -> String {
    format!(
        "{name:<28} {:>6}  fuel p50 {:>7.3} M  p99 {:>7.3} M  max {:>7.3} M   wall p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        fuel.count,
        mfuel(fuel.p50),
        mfuel(fuel.p99),
        mfuel(fuel.max),
        ms(wall.p50),
        ms(wall.p99),
        ms(wall.max)
    )
}

/// The figures of a group of calls.
pub fn call_figures<'c>(name: &str, calls: impl Iterator<Item = &'c CallRecord> + Clone) -> String {
    figures(
        name,
        Percentiles::of(calls.clone().map(|c| c.fuel)),
        Percentiles::of(calls.map(|c| c.wall_ns)),
    )
}

/// The header line of [`figures`].
pub fn header() -> String {
    format!(
        "{:<28} {:>6}  {:>44}   {}",
        "calls", "count", "fuel (1 unit ~ 1 wasm instruction)", "wall time"
    )
}

/// The machine the figures were taken on: CPU model, cores and load.
pub fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!("{cpu}, {cores} cores, load average {load}")
}
