//! Steps: a header before, the outcome and the duration after.

use std::time::Instant;

/// Run `body` as the step `name`: print a header, then the outcome and how long it took.
pub fn run(name: &str, body: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("\n==> {name}");
    let start = Instant::now();
    let result = body();
    let seconds = start.elapsed().as_secs_f64();
    match &result {
        Ok(()) => println!("<== {name}: ok ({seconds:.1} s)"),
        Err(_) => println!("<== {name}: FAILED ({seconds:.1} s)"),
    }
    result.map_err(|e| format!("{name}: {e}"))
}
