//! Boot time: from reading the demo image file to the first frame on the screen.
//!
//! The demo image (demo election, training, signed with a dev key, PBKDF2 at 100,000
//! iterations) is built with the boot-image library around the payload in
//! `SIMULATOR_PAYLOAD`, written to a file, then booted as the simulator boots it: read the
//! file, verify it (boot ROM), compile and instantiate the payload in wasmi, write the boot
//! block and call `firmware_boot`, which draws and flushes the first frame.
//!
//! `SIMULATOR_PAYLOAD=<target>/payload/firmware-wasm32.wasm cargo bench -p simulator --bench boot`

mod common;

use common::*;
use firmware::pin::PIN_DEFAULT_ITERATIONS;
use simulator::machine::Percentiles;

/// Boots measured.
const RUNS: usize = 20;

fn main() {
    let Some(payload) = payload() else {
        skipped("boot");
        return;
    };
    let image = demo_image(&payload, PIN_DEFAULT_ITERATIONS);
    println!(
        "boot: demo image {} bytes (payload {} bytes), {RUNS} boots; {}",
        image.len(),
        payload.len(),
        machine_line()
    );
    let path = bench_dir().join("boot-demo.img");
    std::fs::write(&path, &image).expect("write the image");
    let mut total = Vec::new();
    let mut parts: [Vec<u64>; 4] = Default::default();
    let mut fuel = Vec::new();
    for _ in 0..RUNS {
        let b = boot_file(&path);
        let steps = [b.read, b.verify, b.load, b.boot].map(|d| d.as_nanos() as u64);
        for (part, ns) in parts.iter_mut().zip(steps) {
            part.push(ns);
        }
        total.push(steps.iter().sum::<u64>());
        fuel.push(b.machine.calls().iter().map(|c| c.fuel).sum::<u64>());
    }
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "step (wall ms)", "p50", "p99", "max"
    );
    for (name, values) in [
        ("read the image file", &parts[0]),
        ("verify (boot ROM)", &parts[1]),
        ("compile + instantiate (wasmi)", &parts[2]),
        ("boot calls, first frame", &parts[3]),
        ("total: file to first frame", &total),
    ] {
        let p = Percentiles::of(values.iter().copied());
        println!(
            "{name:<34} {:>10.3} {:>10.3} {:>10.3}",
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        );
    }
    let f = Percentiles::of(fuel);
    println!("boot calls fuel: {} ({:.3} M)", f.p50, mfuel(f.p50));
}
