#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
// Data paths in the firmware never panic: every failure is a typed error.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(test)]
extern crate std;

pub mod app;
pub mod ballot;
pub mod election;
pub mod hal;
pub mod i18n;
pub mod media;
pub mod pin;
pub mod printout;
pub mod record;
pub mod report;
pub mod screen;
pub mod seal;
pub mod store;
pub mod terminal;
pub mod ticket;
