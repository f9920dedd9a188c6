#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod devices;
pub mod machine;
pub mod picture;
pub mod rom;
pub mod script;
#[cfg(feature = "window")]
pub mod window;

use std::fmt;
use std::path::PathBuf;

use boot_image::Refusal;
use device_abi::BootMode;
use firmware::election::Date;

use crate::devices::{Devices, Entropy, Media, MediaFileError};
use crate::machine::{Limits, Machine, MachineError};
use crate::rom::{Trust, VerifiedBoot};

/// Everything a simulator run needs (the CLI's options, parsed).
#[derive(Debug, Clone)]
pub struct Options {
    /// The signed boot image bytes.
    pub image: Vec<u8>,
    /// Trusted authority keys and threshold.
    pub trust: Trust,
    /// Today's date for the clock and the validity check.
    pub today: Date,
    /// Entropy seed (training images only).
    pub entropy_seed: Option<[u8; 32]>,
    /// Results media file; `None` = no media inserted.
    pub media: Option<PathBuf>,
    /// Polling station name passed in the boot block.
    pub station: String,
    /// Sandbox limits.
    pub limits: Limits,
    /// Echo the payload's log lines to stderr.
    pub echo_log: bool,
}

/// Why a run stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// The boot ROM refused the image (nothing of it ran).
    Refused(Refusal),
    /// The payload was refused by the sandbox or failed while booting or running.
    Machine(MachineError),
    /// `--entropy-seed` was given for an official image.
    SeedForOfficial,
    /// The media file is unusable.
    Media(MediaFileError),
}

impl Failure {
    /// The process exit code: 1 for a refusal or firmware failure, 2 for a usage error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused(_) | Failure::Machine(_) => 1,
            Failure::SeedForOfficial | Failure::Media(_) => 2,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(r) => write!(f, "boot ROM refused the image: {r}"),
            Failure::Machine(e) => write!(f, "{e}"),
            Failure::SeedForOfficial => f.write_str(
                "--entropy-seed is accepted only for training images; official images take OS entropy",
            ),
            Failure::Media(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Failure {}

/// Verify the image, then (only if it verified) load the payload and boot it.
///
/// Returns the running machine and what the boot ROM verified.
pub fn power_on(options: &Options) -> Result<(Machine, VerifiedBoot), Failure> {
    let verified = rom::verify_image(&options.image, &options.trust, options.today)
        .map_err(Failure::Refused)?;
    let entropy = match (options.entropy_seed, verified.mode) {
        (Some(_), BootMode::Official) => return Err(Failure::SeedForOfficial),
        (Some(seed), _) => Entropy::Seeded { seed, counter: 0 },
        (None, _) => Entropy::Os(ring::rand::SystemRandom::new()),
    };
    let media = match &options.media {
        Some(path) => Media::file(path).map_err(Failure::Media)?,
        None => Media::none(),
    };
    let today = (options.today.year, options.today.month, options.today.day);
    let mut devices = Devices::new(media, today, entropy);
    devices.echo_log = options.echo_log;
    let mut machine =
        Machine::load(&verified.payload, devices, options.limits).map_err(Failure::Machine)?;
    machine
        .boot(&verified.boot_block(&options.station))
        .map_err(Failure::Machine)?;
    Ok((machine, verified))
}

/// Today's date in UTC from the system clock.
pub fn system_today() -> Option<Date> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let days = i64::try_from(secs / 86_400).ok()?;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_today_is_a_valid_recent_date() {
        let today = super::system_today().unwrap();
        assert!(today.year >= 2024, "{today:?}");
        assert!(today.is_valid());
    }
}
