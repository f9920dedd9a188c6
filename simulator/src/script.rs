//! The headless script language: one command per line, `#` starts a comment.
//!
//! | command | effect |
//! |---|---|
//! | `tap X Y` | touch tap at pixel X, Y |
//! | `tap NAME` | tap the centre of the named touch target (the payload's `element` export) |
//! | `key up\|down\|left\|right\|enter\|back` | a voter key |
//! | `operator activate\|cancel\|open\|close\|power-off` | an operator panel key |
//! | `pin DIGITS` | tap `pin-D` for each digit, then `pin-ok` |
//! | `wait MS` | advance the simulated clock, ticking every 100 ms |
//! | `shot NAME` | write the screen to `OUT/NAME.png` |
//! | `expect-text TEXT` | fail unless TEXT is visible (the payload's `screen_text` export) |
//! | `show` | print the visible text to stdout (what a bystander reads on the screen) |
//! | `power-off` | orderly power-off (the firmware wipes its memory) |
//! | `pull-media` | remove the results media |
//! | `power-cut` | power-fail notice, then the power is gone |
//!
//! After every input (`tap`, `key`, `operator`, `pin`) the runner lets simulated time pass,
//! one tick per 100 ms, while the firmware works in its ticks: a PIN check (its progress
//! screen), or a record being written and a ticket or report printed (a screen without
//! touch targets). The next line then sees the screen that follows, as a person at the
//! terminal would.

use std::fmt;
use std::path::Path;

use device_abi::{
    EventKind, KEY_BACK, KEY_DOWN, KEY_ENTER, KEY_LEFT, KEY_RIGHT, KEY_UP, OPERATOR_ACTIVATE,
    OPERATOR_CANCEL, OPERATOR_CLOSE, OPERATOR_OPEN, OPERATOR_POWER_OFF, TICK_INTERVAL_MS,
};

use crate::machine::{Machine, MachineError};
use crate::picture;

/// One script command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Tap at a pixel.
    TapAt {
        /// x in pixels.
        x: u16,
        /// y in pixels.
        y: u16,
    },
    /// Tap a named element.
    TapElement(String),
    /// A voter key (ABI key code).
    Key(i32),
    /// An operator key (ABI operator code).
    Operator(i32),
    /// Enter a PIN on the keypad.
    Pin(String),
    /// Advance time.
    Wait(u64),
    /// Screenshot.
    Shot(String),
    /// Expect visible text.
    ExpectText(String),
    /// Print the visible text.
    Show,
    /// Orderly power-off.
    PowerOff,
    /// Remove the media.
    PullMedia,
    /// Sudden power loss.
    PowerCut,
}

/// A script line with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Line number in the file (1-based).
    pub number: usize,
    /// The line as written.
    pub text: String,
    /// The parsed command.
    pub command: Command,
}

/// Why a script stopped.
#[derive(Debug)]
pub struct ScriptError {
    /// Line number (1-based).
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// Why it could not be done.
    pub reason: String,
    /// Whether the line is malformed (usage error) rather than failed when run.
    pub malformed: bool,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "script line {} `{}`: {}",
            self.line, self.text, self.reason
        )
    }
}

impl std::error::Error for ScriptError {}

fn parse_line(words: &[&str]) -> Result<Command, String> {
    let arg = |i: usize, what: &str| -> Result<&str, String> {
        words
            .get(i)
            .copied()
            .ok_or_else(|| format!("missing {what}"))
    };
    let command = match words.first().copied().unwrap_or_default() {
        "tap" => match (words.get(1), words.get(2)) {
            (Some(x), Some(y)) => Command::TapAt {
                x: x.parse()
                    .map_err(|_| format!("x `{x}` is not a pixel column"))?,
                y: y.parse()
                    .map_err(|_| format!("y `{y}` is not a pixel row"))?,
            },
            (Some(name), None) => Command::TapElement((*name).to_string()),
            _ => return Err("expected `tap X Y` or `tap NAME`".into()),
        },
        "key" => Command::Key(match arg(1, "key name")? {
            "up" => KEY_UP,
            "down" => KEY_DOWN,
            "left" => KEY_LEFT,
            "right" => KEY_RIGHT,
            "enter" => KEY_ENTER,
            "back" => KEY_BACK,
            other => {
                return Err(format!(
                    "unknown key `{other}` (up, down, left, right, enter, back)"
                ))
            }
        }),
        "operator" => Command::Operator(match arg(1, "operator key")? {
            "activate" => OPERATOR_ACTIVATE,
            "cancel" => OPERATOR_CANCEL,
            "open" => OPERATOR_OPEN,
            "close" => OPERATOR_CLOSE,
            "power-off" => OPERATOR_POWER_OFF,
            other => {
                return Err(format!(
                    "unknown operator key `{other}` (activate, cancel, open, close, power-off)"
                ))
            }
        }),
        "pin" => {
            let digits = arg(1, "PIN digits")?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("PIN `{digits}` is not digits"));
            }
            Command::Pin(digits.to_string())
        }
        "wait" => {
            let ms = arg(1, "milliseconds")?;
            Command::Wait(
                ms.parse()
                    .map_err(|_| format!("`{ms}` is not milliseconds"))?,
            )
        }
        "shot" => {
            let name = arg(1, "screenshot name")?;
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "screenshot name `{name}` may hold only letters, digits, - and _"
                ));
            }
            Command::Shot(name.to_string())
        }
        "expect-text" => {
            let text = words.get(1..).unwrap_or_default().join(" ");
            if text.is_empty() {
                return Err("missing text".into());
            }
            Command::ExpectText(text)
        }
        "show" => Command::Show,
        "power-off" => Command::PowerOff,
        "pull-media" => Command::PullMedia,
        "power-cut" => Command::PowerCut,
        other => return Err(format!("unknown command `{other}`")),
    };
    let max = match command {
        Command::ExpectText(_) => usize::MAX,
        Command::TapAt { .. } => 3,
        Command::PowerOff | Command::PullMedia | Command::PowerCut | Command::Show => 1,
        _ => 2,
    };
    if words.len() > max {
        return Err(format!("unexpected `{}`", words[max]));
    }
    Ok(command)
}

/// Parse a whole script; the first malformed line is an error.
pub fn parse(script: &str) -> Result<Vec<Line>, ScriptError> {
    let mut lines = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let text = raw.split('#').next().unwrap_or_default().trim();
        if text.is_empty() {
            continue;
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let command = parse_line(&words).map_err(|reason| ScriptError {
            line: i + 1,
            text: raw.trim().to_string(),
            reason,
            malformed: true,
        })?;
        lines.push(Line {
            number: i + 1,
            text: raw.trim().to_string(),
            command,
        });
    }
    Ok(lines)
}

fn tap_element(machine: &mut Machine, name: &str) -> Result<(), String> {
    let (x, y, w, h) = machine
        .element(name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no element `{name}` on this screen"))?;
    machine
        .handle(
            EventKind::Tap,
            i32::from(x) + i32::from(w) / 2,
            i32::from(y) + i32::from(h) / 2,
        )
        .map_err(|e| e.to_string())
}

/// Most ticks a script waits for the firmware's PIN check (the firmware's maximum of
/// 1,000,000 PBKDF2 iterations at 200 per tick is 5,000 ticks).
const MAX_PIN_CHECK_TICKS: u32 = 20_000;
/// Most ticks a script waits on a screen without touch targets: the firmware writing a
/// record and printing (a few to a few tens of ticks), or the powered-off screen (which
/// never changes).
const MAX_BUSY_TICKS: u32 = 1_000;

/// After an input, let simulated time pass one tick at a time while the firmware works
/// in the ticks: while it shows its PIN check (a cancel button, no PIN pad), or a screen
/// without touch targets (not even the large-text toggle: a record being written, a
/// ticket or report being printed). Time passes as on a terminal, where the ticks run
/// every [`TICK_INTERVAL_MS`] anyway.
fn settle(machine: &mut Machine) -> Result<(), String> {
    let fw = |e: MachineError| e.to_string();
    let mut busy_ticks = 0u32;
    for _ in 0..MAX_PIN_CHECK_TICKS {
        if !machine.is_on() {
            return Ok(());
        }
        let checking = machine.element("pin-cancel").map_err(fw)?.is_some()
            && machine.element("pin-ok").map_err(fw)?.is_none();
        if !checking {
            if machine.element("large-text").map_err(fw)?.is_some() || busy_ticks >= MAX_BUSY_TICKS
            {
                return Ok(());
            }
            busy_ticks += 1;
        }
        machine.wait(TICK_INTERVAL_MS).map_err(fw)?;
    }
    Err(format!(
        "the PIN check did not end within {MAX_PIN_CHECK_TICKS} ticks"
    ))
}

fn run_line(machine: &mut Machine, command: &Command, out: &Path) -> Result<(), String> {
    let fw = |e: MachineError| e.to_string();
    match command {
        Command::TapAt { x, y } => {
            machine
                .handle(EventKind::Tap, i32::from(*x), i32::from(*y))
                .map_err(fw)?;
            settle(machine)
        }
        Command::TapElement(name) => {
            tap_element(machine, name)?;
            settle(machine)
        }
        Command::Key(code) => {
            machine.handle(EventKind::Key, *code, 0).map_err(fw)?;
            settle(machine)
        }
        Command::Operator(code) => {
            machine.handle(EventKind::Operator, *code, 0).map_err(fw)?;
            settle(machine)
        }
        Command::Pin(digits) => {
            for d in digits.chars() {
                tap_element(machine, &format!("pin-{d}"))?;
            }
            tap_element(machine, "pin-ok")?;
            settle(machine)
        }
        Command::Wait(ms) => machine.wait(*ms).map_err(fw),
        Command::Shot(name) => picture::write_screen(
            &out.join(format!("{name}.png")),
            &machine.devices().screen.pixels,
        )
        .map_err(|e| e.to_string()),
        Command::ExpectText(text) => {
            let visible = machine.screen_text().map_err(fw)?;
            if visible.contains(text.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "text `{text}` is not on the screen; visible: {visible:?}"
                ))
            }
        }
        Command::Show => {
            let visible = machine.screen_text().map_err(fw)?;
            println!("screen:");
            for line in visible.lines() {
                println!("  {line}");
            }
            Ok(())
        }
        Command::PowerOff => machine.power_off().map_err(fw),
        Command::PullMedia => {
            machine.devices_mut().media.pull();
            Ok(())
        }
        Command::PowerCut => machine.power_cut().map_err(fw),
    }
}

/// Run `lines` on `machine`, writing screenshots into `out`; stops at the first line it
/// cannot do.
pub fn run(machine: &mut Machine, lines: &[Line], out: &Path) -> Result<(), ScriptError> {
    for line in lines {
        if !machine.is_on() && !matches!(line.command, Command::Shot(_)) {
            return Err(ScriptError {
                line: line.number,
                text: line.text.clone(),
                reason: MachineError::Off.to_string(),
                malformed: false,
            });
        }
        run_line(machine, &line.command, out).map_err(|reason| ScriptError {
            line: line.number,
            text: line.text.clone(),
            reason,
            malformed: false,
        })?;
    }
    Ok(())
}

/// Write every printed receipt as `OUT/receipt-N.png` (N from 1).
pub fn write_receipts(machine: &Machine, out: &Path) -> Result<usize, picture::PictureError> {
    let receipts = machine.devices().printer.all_receipts();
    for (i, receipt) in receipts.iter().enumerate() {
        picture::write_receipt(&out.join(format!("receipt-{}.png", i + 1)), receipt)?;
    }
    Ok(receipts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        let lines = parse(
            "# comment\ntap 10 20\ntap list-3\nkey enter\noperator power-off\npin 1234\nwait 500\n\
             shot opening\nexpect-text Kamer 2026\npower-off # done\npull-media\npower-cut\nshow\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 12);
        assert_eq!(lines[11].command, Command::Show);
        assert_eq!(lines[0].number, 2);
        assert_eq!(lines[0].command, Command::TapAt { x: 10, y: 20 });
        assert_eq!(lines[1].command, Command::TapElement("list-3".into()));
        assert_eq!(lines[3].command, Command::Operator(OPERATOR_POWER_OFF));
        assert_eq!(lines[7].command, Command::ExpectText("Kamer 2026".into()));
        assert_eq!(lines[8].command, Command::PowerOff);
    }

    #[test]
    fn names_the_first_bad_line() {
        for (script, line, reason) in [
            ("key enter\nkey sideways\n", 2, "unknown key"),
            ("\n\njump\n", 3, "unknown command"),
            ("tap 1 2 3\n", 1, "unexpected"),
            ("pin 12a4\n", 1, "not digits"),
            ("shot ../x\n", 1, "may hold only"),
            ("wait soon\n", 1, "not milliseconds"),
            ("tap 70000 1\n", 1, "not a pixel column"),
        ] {
            let e = parse(script).unwrap_err();
            assert_eq!(e.line, line, "{script:?}");
            assert!(e.reason.contains(reason), "{script:?}: {e}");
            assert!(e.malformed);
        }
    }
}
