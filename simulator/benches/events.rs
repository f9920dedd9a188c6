//! Fuel and wall time per input event over a full voting flow in the demo image: boot,
//! open the poll (PIN at the image's 100,000 PBKDF2 iterations, checked in ticks), five
//! voters (list votes, preferences, blank, a change from the review, large text, keys,
//! French and German), a cancelled session, close. Every call into the payload is logged;
//! the figures are per event kind (taps, keys, operator keys, ticks), over all input
//! events, and over the screen changes (calls that redraw at least half the display).
//!
//! The goal (issue 4): every input event p99 <= 16 ms wall and <= 5 million fuel.
//!
//! `SIMULATOR_PAYLOAD=<target>/payload/firmware-wasm32.wasm cargo bench -p simulator --bench events`

mod common;

use common::*;
use firmware::pin::PIN_DEFAULT_ITERATIONS;
use simulator::machine::EventTag;

/// The flow. `wait` lines let the "vote recorded" message time out.
const FLOW: &str = "\
operator open
pin 123456
tap continue
# voter 1: list votes (top box) in every election
operator activate
tap lang-nl
tap list-1
tap top-box
tap next
tap list-2
tap top-box
tap next
tap list-3
tap top-box
tap next
tap confirm
wait 6000
# voter 2: preferences, French
operator activate
tap lang-fr
tap list-2
tap candidate-1
tap candidate-3
tap next
tap list-1
tap candidate-2
tap next
tap blank
tap confirm
wait 6000
# voter 3: blank, then a change from the review, German
operator activate
tap lang-de
tap blank
tap blank
tap blank
tap change-2
tap list-4
tap candidate-1
tap next
tap confirm
wait 6000
# voter 4: large text and keys
operator activate
tap lang-en
tap large-text
key down
key down
key enter
key enter
tap next
tap blank
tap blank
tap confirm
wait 6000
# voter 5: walks away; the president cancels
operator activate
tap lang-nl
tap list-1
operator cancel
wait 6000
operator close
pin 123456
";

fn main() {
    let Some(payload) = payload() else {
        skipped("events");
        return;
    };
    let image = demo_image(&payload, PIN_DEFAULT_ITERATIONS);
    let mut b = boot_image(&image, "events-demo");
    println!(
        "events: demo image, PIN at {PIN_DEFAULT_ITERATIONS} iterations; {}",
        machine_line()
    );
    run_script(&mut b.machine, FLOW);
    let calls = b.machine.take_calls();
    let input: Vec<_> = calls.iter().filter(|c| c.event.is_input()).collect();
    println!("{}", header());
    println!(
        "{}",
        call_figures("all input events", input.iter().copied())
    );
    for tag in [
        EventTag::Tap,
        EventTag::Key,
        EventTag::Operator,
        EventTag::Tick,
    ] {
        let of = input.iter().copied().filter(move |c| c.event == tag);
        println!("{}", call_figures(tag.name(), of));
    }
    let busy_ticks = input
        .iter()
        .copied()
        .filter(|c| c.event == EventTag::Tick && c.fuel > 10_000);
    println!("{}", call_figures("ticks with work", busy_ticks));
    let changes = input.iter().copied().filter(|c| c.is_screen_change());
    println!("{}", call_figures("screen changes", changes));
    let boot = calls.iter().filter(|c| c.event == EventTag::Boot);
    println!("{}", call_figures("boot", boot));
    let over: Vec<_> = input.iter().filter(|c| c.fuel > 5_000_000).collect();
    println!(
        "events over 5 M fuel: {} of {}; the largest:",
        over.len(),
        input.len()
    );
    let mut largest = input.clone();
    largest.sort_by_key(|c| std::cmp::Reverse(c.fuel));
    for c in largest.iter().take(8) {
        println!(
            "  line {:>3} {:<9} {:>8.3} M fuel {:>8.3} ms  {} px flushed",
            c.line,
            c.event.name(),
            mfuel(c.fuel),
            ms(c.wall_ns),
            c.flushed_px
        );
    }
    // The PIN check's steps: the ticks of the `pin` line (line 2) that cost what a step of
    // PBKDF2 costs (the median tick of that line); the rest of the line's ticks open the
    // poll (record generation 1, print the opening report).
    let line_ticks: Vec<_> = input
        .iter()
        .filter(|c| c.event == EventTag::Tick && c.line == 2)
        .collect();
    let median = simulator::machine::Percentiles::of(line_ticks.iter().map(|c| c.fuel)).p50;
    let steps: Vec<_> = line_ticks
        .iter()
        .filter(|c| c.fuel.abs_diff(median) < median / 10)
        .collect();
    let pin_fuel: u64 = steps.iter().map(|c| c.fuel).sum();
    let pin_wall: u64 = steps.iter().map(|c| c.wall_ns).sum();
    println!(
        "PIN check at {PIN_DEFAULT_ITERATIONS} iterations: {} ticks ({:.1} s of ticks at 100 ms), {:.0} M fuel, {:.0} ms of wall time in the payload",
        steps.len(),
        steps.len() as f64 / 10.0,
        mfuel(pin_fuel),
        ms(pin_wall)
    );
}
