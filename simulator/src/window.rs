//! The SDL window (feature `window`): mouse clicks are taps; arrows, Enter and Backspace are
//! the voter keys; F1..F5 are the operator panel (activate, cancel, open, close, power off).

use std::path::Path;
use std::time::{Duration, Instant};

use device_abi::{
    EventKind, DISPLAY_HEIGHT_PX, DISPLAY_WIDTH_PX, KEY_BACK, KEY_DOWN, KEY_ENTER, KEY_LEFT,
    KEY_RIGHT, KEY_UP, OPERATOR_ACTIVATE, OPERATOR_CANCEL, OPERATOR_CLOSE, OPERATOR_OPEN,
    OPERATOR_POWER_OFF, TICK_INTERVAL_MS,
};
use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::{DrawTarget, Point, Size};
use embedded_graphics::Pixel;
use embedded_graphics_simulator::sdl2::Keycode;
use embedded_graphics_simulator::{
    OutputSettingsBuilder, SimulatorDisplay, SimulatorEvent, Window,
};

use crate::machine::Machine;
use crate::{picture, script, Failure, Options};

fn show(display: &mut SimulatorDisplay<Rgb565>, pixels: &[u16]) {
    let width = DISPLAY_WIDTH_PX as usize;
    let _ = display.draw_iter(pixels.iter().enumerate().map(|(i, &raw)| {
        let p = Point::new((i % width) as i32, (i / width) as i32);
        Pixel(p, Rgb565::from(RawU16::new(raw)))
    }));
}

fn input(event: SimulatorEvent) -> Option<(EventKind, i32, i32)> {
    match event {
        SimulatorEvent::MouseButtonUp { point, .. } => Some((EventKind::Tap, point.x, point.y)),
        SimulatorEvent::KeyDown { keycode, .. } => {
            let key = |code| Some((EventKind::Key, code, 0));
            let op = |code| Some((EventKind::Operator, code, 0));
            match keycode {
                Keycode::Up => key(KEY_UP),
                Keycode::Down => key(KEY_DOWN),
                Keycode::Left => key(KEY_LEFT),
                Keycode::Right => key(KEY_RIGHT),
                Keycode::Return => key(KEY_ENTER),
                Keycode::Backspace => key(KEY_BACK),
                Keycode::F1 => op(OPERATOR_ACTIVATE),
                Keycode::F2 => op(OPERATOR_CANCEL),
                Keycode::F3 => op(OPERATOR_OPEN),
                Keycode::F4 => op(OPERATOR_CLOSE),
                Keycode::F5 => op(OPERATOR_POWER_OFF),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What a window run does besides taking input.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowRun<'a> {
    /// A script to play in the window before handing over to the user.
    pub script: Option<&'a [script::Line]>,
    /// Where the script's screenshots and, at the end, the receipts go.
    pub out: Option<&'a Path>,
    /// Milliseconds between script lines.
    pub step_ms: u64,
    /// Close the window once the script is done.
    pub close_after_script: bool,
}

/// Why a window run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum WindowError {
    /// The image was refused or the payload failed to boot.
    Boot(Failure),
    /// A script line could not be done.
    Script(script::ScriptError),
    /// A screenshot or receipt could not be written.
    Output(picture::PictureError),
}

impl std::fmt::Display for WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowError::Boot(e) => write!(f, "{e}"),
            WindowError::Script(e) => write!(f, "{e}"),
            WindowError::Output(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for WindowError {}

impl WindowError {
    /// The process exit code: as headless (1 refused/failed, 2 usage or output error).
    pub fn exit_code(&self) -> u8 {
        match self {
            WindowError::Boot(failure) => failure.exit_code(),
            WindowError::Script(e) if e.malformed => 2,
            WindowError::Script(_) => 1,
            WindowError::Output(_) => 2,
        }
    }
}

/// Boot and run in a window until it is closed. A refused image shows the boot ROM's
/// refusal screen until the window is closed, then returns the refusal. A script plays
/// first, one line per `step_ms`; receipts are written to `out` when the window closes.
pub fn run(options: &Options, run: &WindowRun<'_>) -> Result<(), WindowError> {
    let mut display =
        SimulatorDisplay::<Rgb565>::new(Size::new(DISPLAY_WIDTH_PX, DISPLAY_HEIGHT_PX));
    let mut window = Window::new(
        "Voting terminal simulator",
        &OutputSettingsBuilder::new().build(),
    );
    let mut machine: Machine = match crate::power_on(options) {
        Ok((machine, _)) => machine,
        Err(failure) => {
            eprintln!("simulator: {failure}");
            show(&mut display, &picture::refusal_screen(&failure.to_string()));
            if run.close_after_script {
                window.update(&display);
            } else {
                window.show_static(&display);
            }
            return Err(WindowError::Boot(failure));
        }
    };
    let out = run.out.unwrap_or_else(|| Path::new("."));
    let mut pending = run.script.unwrap_or_default().iter();
    let mut playing = run.script.is_some();
    let mut last_tick = Instant::now();
    let mut last_step = Instant::now();
    let result = loop {
        show(&mut display, &machine.devices().screen.pixels);
        window.update(&display);
        let events: Vec<SimulatorEvent> = window.events().collect();
        if events.contains(&SimulatorEvent::Quit) {
            break Ok(());
        }
        for event in events {
            if let Some((kind, a, b)) = input(event) {
                if let Err(e) = machine.handle(kind, a, b) {
                    eprintln!("simulator: {e}");
                }
            }
        }
        if playing && last_step.elapsed() >= Duration::from_millis(run.step_ms) {
            last_step = Instant::now();
            match pending.next() {
                Some(line) => {
                    if let Err(e) = script::run(&mut machine, std::slice::from_ref(line), out) {
                        break Err(WindowError::Script(e));
                    }
                }
                None => {
                    playing = false;
                    if run.close_after_script {
                        break Ok(());
                    }
                }
            }
        }
        if last_tick.elapsed() >= Duration::from_millis(TICK_INTERVAL_MS) {
            last_tick = Instant::now();
            if machine.is_on() {
                if let Err(e) = machine.wait(TICK_INTERVAL_MS) {
                    eprintln!("simulator: {e}");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if run.out.is_some() {
        script::write_receipts(&machine, out).map_err(WindowError::Output)?;
    }
    result
}
