//! End-to-end scenarios that cross crates live in this package's tests:
//! the office's election definition (TOML) drives the firmware's terminal, whose sealed
//! records the office opens and recounts (`office_recount.rs`); and the demo day
//! (`demo.rs`): the signed demo image booted by the simulator runs the 20 voters of
//! [`demo_voters`] under wasmi, with golden screenshots, the closing report's counts, a
//! power-off memory scan and the office recount of the results media.

pub mod demo_voters;
