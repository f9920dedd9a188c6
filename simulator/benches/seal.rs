//! Record rewrite + seal per cast with 2,000 ballots already stored, in the wasm payload
//! under wasmi (issue 6, goal p99 <= 20 ms).
//!
//! A cast is the confirm tap and the ticks that follow it until the firmware is idle. The
//! firmware spreads the work over those calls: the confirm (cast into the store, the
//! "recording your vote" screen), then one tick each to encode the record body (recount
//! and serialize the store), encrypt it (HKDF, ChaCha20-Poly1305), hash the signed part
//! (16 KiB a tick), sign it (Ed25519), and write and flush it to the media; the X25519
//! agreement for the next record is prepared in idle ticks before. After the write come
//! the ticket's signature and its printout. The record rewrite + seal of a cast is the
//! calls from the confirm up to the one that wrote the media; the bench reports their sum
//! and their largest call, and the ticket's calls apart.
//!
//! The 2,000 ballots are cast first through the payload itself, each voter as a script
//! (activate, language, three elections, confirm): there is no shortcut into the
//! firmware. `SEAL_BENCH_VOTERS` (default 2000) and `SEAL_BENCH_SAMPLES` (default 30) change
//! the sizes.
//!
//! `SIMULATOR_PAYLOAD=<target>/payload/firmware-wasm32.wasm cargo bench -p simulator --bench seal`

mod common;

use std::time::Instant;

use common::*;
use device_abi::{EventKind, TICK_INTERVAL_MS};
use firmware::pin::PIN_MIN_ITERATIONS;
use simulator::machine::{CallRecord, Machine, Percentiles};

/// The choices of one voter, cycled through: blank, list votes, preferences.
const VOTERS: [&str; 4] = [
    "tap blank\ntap blank\ntap blank\n",
    "tap list-1\ntap top-box\ntap next\ntap list-2\ntap top-box\ntap next\ntap blank\n",
    "tap list-2\ntap candidate-1\ntap candidate-3\ntap next\ntap blank\ntap list-1\ntap candidate-2\ntap next\n",
    "tap list-3\ntap candidate-2\ntap next\ntap list-1\ntap top-box\ntap next\ntap list-2\ntap candidate-1\ntap next\n",
];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One cast's calls: the record write (confirm to media write), then the rest.
struct Cast {
    write: Vec<CallRecord>,
    after: Vec<CallRecord>,
}

impl Cast {
    fn write_fuel(&self) -> u64 {
        self.write.iter().map(|c| c.fuel).sum()
    }
    fn write_wall(&self) -> u64 {
        self.write.iter().map(|c| c.wall_ns).sum()
    }
    fn largest_write_call(&self) -> &CallRecord {
        self.write
            .iter()
            .max_by_key(|c| c.fuel)
            .expect("a cast has calls")
    }
}

/// Tap `name` (the centre of the element).
fn tap(machine: &mut Machine, name: &str) {
    let (x, y, w, h) = machine
        .element(name)
        .expect("element query")
        .unwrap_or_else(|| panic!("no element {name} on screen"));
    machine
        .handle(
            EventKind::Tap,
            i32::from(x) + i32::from(w) / 2,
            i32::from(y) + i32::from(h) / 2,
        )
        .expect("tap");
}

/// Confirm the review and tick until the firmware is idle again; the calls, split where
/// the media was written.
fn confirm(machine: &mut Machine) -> Cast {
    machine.take_calls();
    let writes = machine.devices().media.writes;
    tap(machine, "confirm");
    let mut write: Vec<CallRecord> = machine
        .take_calls()
        .into_iter()
        .filter(|c| c.event.is_input())
        .collect();
    let mut after = Vec::new();
    let mut written = false;
    for _ in 0..1_000 {
        // Idle again: the large-text toggle is back (the "recording" screen has none).
        if written && machine.element("large-text").expect("query").is_some() {
            break;
        }
        machine.take_calls();
        machine.wait(TICK_INTERVAL_MS).expect("tick");
        let ticks = machine.take_calls();
        if written {
            after.extend(ticks);
        } else {
            write.extend(ticks);
            written = machine.devices().media.writes > writes;
        }
    }
    assert!(written, "the record was written");
    Cast { write, after }
}

/// Cast voter `n` (activate, language, choices, confirm).
fn cast(machine: &mut Machine, n: usize) -> Cast {
    let choices = VOTERS[n % VOTERS.len()];
    run_script(
        machine,
        &format!("operator activate\ntap lang-nl\n{choices}"),
    );
    let cast = confirm(machine);
    // Let the "vote recorded" message time out (and the next agreement be prepared).
    machine.wait(6_000).expect("wait");
    cast
}

fn main() {
    let Some(payload) = payload() else {
        skipped("seal");
        return;
    };
    let voters = env_or("SEAL_BENCH_VOTERS", 2_000);
    let samples = env_or("SEAL_BENCH_SAMPLES", 30);
    let image = demo_image(&payload, PIN_MIN_ITERATIONS);
    let mut b = boot_image(&image, "seal-demo");
    println!(
        "seal: demo image, {voters} voters cast first, then {samples} casts measured; {}",
        machine_line()
    );
    run_script(&mut b.machine, "operator open\npin 123456\ntap continue\n");
    let started = Instant::now();
    let mut milestones = Vec::new();
    for n in 0..voters {
        let c = cast(&mut b.machine, n);
        if n == 0 || (n + 1) % 500 == 0 {
            milestones.push((n + 1, c));
        }
    }
    println!(
        "cast {voters} voters in {:.1} s (the ramp-up, through the payload)",
        started.elapsed().as_secs_f64()
    );
    println!(
        "record rewrite + seal of one cast, as the store grows (sum of its calls; largest call):"
    );
    for (n, c) in &milestones {
        let largest = c.largest_write_call();
        println!(
            "  ballots stored {:>5}: {:>2} calls {:>8.3} M fuel {:>8.3} ms   largest call {:>7.3} M fuel {:>7.3} ms",
            n - 1,
            c.write.len(),
            mfuel(c.write_fuel()),
            ms(c.write_wall()),
            mfuel(largest.fuel),
            ms(largest.wall_ns)
        );
    }
    let mut measured = Vec::new();
    for n in 0..samples {
        measured.push(cast(&mut b.machine, voters + n));
    }
    let stored = b.machine.calls().len(); // keep the log readable below
    let _ = stored;
    println!("with {voters} ballots stored ({samples} casts):");
    println!("{}", header());
    println!(
        "{}",
        figures(
            "rewrite + seal, per cast",
            Percentiles::of(measured.iter().map(Cast::write_fuel)),
            Percentiles::of(measured.iter().map(Cast::write_wall)),
        )
    );
    println!(
        "{}",
        call_figures(
            "  its calls, each",
            measured.iter().flat_map(|c| c.write.iter())
        )
    );
    let first = &measured[0];
    let steps: Vec<String> = first
        .write
        .iter()
        .map(|c| format!("{:.2}", mfuel(c.fuel)))
        .collect();
    println!("  steps of one cast (M fuel): {}", steps.join(", "));
    println!(
        "{}",
        figures(
            "ticket (sign, print), per cast",
            Percentiles::of(
                measured
                    .iter()
                    .map(|c| c.after.iter().map(|a| a.fuel).sum())
            ),
            Percentiles::of(
                measured
                    .iter()
                    .map(|c| c.after.iter().map(|a| a.wall_ns).sum())
            ),
        )
    );
    println!(
        "{}",
        call_figures(
            "  its calls, each",
            measured
                .iter()
                .flat_map(|c| c.after.iter().filter(|a| a.fuel > 10_000))
        )
    );
    println!(
        "media written: {} sectors in all",
        b.machine.devices().media.writes
    );
}
