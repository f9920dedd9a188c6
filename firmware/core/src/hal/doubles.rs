//! RAM-backed test doubles of the devices, with fault injection.
//!
//! Always compiled (no_std, no heap) so other crates' tests and benchmarks can use them:
//! - [`RamMedia`]: media over a byte slice that can fail the n-th write, cut power at
//!   byte K of the bytes written, be removed and flip bits;
//! - [`SeededEntropy`] (deterministic SHA-256 counter stream) and [`FixedEntropy`];
//! - [`FakeClock`]: settable date and milliseconds;
//! - [`RamPrinter`]: collects raster lines into a fixed buffer;
//! - [`ScriptedInput`], [`RecordingDisplay`], [`RecordingPower`].

use super::{
    Area, Clock, Display, DisplayError, Entropy, EntropyError, Framebuffer, Input, InputEvent,
    Media, MediaError, Power, Printer, PrinterError, RasterLine, PRINTER_LINE_BYTES,
    SECTOR_SIZE_BYTES,
};
use crate::election::Date;
use core::cell::Cell;
use ring::digest;

// ---------------------------------------------------------------------------------------------
// Media

/// Removable media held in a byte slice (its length divided by [`SECTOR_SIZE_BYTES`] gives
/// the sectors; a trailing partial sector is not used).
///
/// Faults:
/// - [`RamMedia::fail_nth_write`]: the n-th write from now returns `WriteFailed` and
///   stores nothing; later writes work again;
/// - [`RamMedia::cut_power_at_byte`]: counting the bytes written from now, the write that
///   would store byte `k` stores only the bytes before it and returns `PowerLost`; every
///   later call returns `PowerLost` until [`RamMedia::restore_power`];
/// - [`RamMedia::remove`]: every call returns `Missing` until [`RamMedia::insert`];
/// - [`RamMedia::flip_bit`]: corrupt stored data.
#[derive(Debug)]
pub struct RamMedia<'a> {
    data: &'a mut [u8],
    present: bool,
    powered: bool,
    fail_write_in: Option<u32>,
    cut_at: Option<u64>,
    bytes_written: u64,
    writes: u64,
    flushes: u64,
}

impl<'a> RamMedia<'a> {
    /// Media over `data`, inserted and powered, with no fault armed.
    pub fn new(data: &'a mut [u8]) -> RamMedia<'a> {
        RamMedia {
            data,
            present: true,
            powered: true,
            fail_write_in: None,
            cut_at: None,
            bytes_written: 0,
            writes: 0,
            flushes: 0,
        }
    }

    /// Make the `n`-th write from now fail (`1` = the next write); `0` disarms.
    pub fn fail_nth_write(&mut self, n: u32) {
        self.fail_write_in = (n > 0).then_some(n);
    }

    /// Cut power when the `k`-th byte (0-based) of the bytes written from now is reached:
    /// that write stores bytes `..k` only. `k = 0` cuts at the start of the next write.
    pub fn cut_power_at_byte(&mut self, k: u64) {
        self.cut_at = Some(self.bytes_written.saturating_add(k));
    }

    /// Disarm a pending power cut.
    pub fn disarm_power_cut(&mut self) {
        self.cut_at = None;
    }

    /// Power the media again after a cut (the data written so far stays).
    pub fn restore_power(&mut self) {
        self.powered = true;
    }

    /// Whether the media has power.
    pub const fn is_powered(&self) -> bool {
        self.powered
    }

    /// Take the media out.
    pub fn remove(&mut self) {
        self.present = false;
    }

    /// Put the media back.
    pub fn insert(&mut self) {
        self.present = true;
    }

    /// Bytes stored by writes since [`RamMedia::new`] (partial writes count what they stored).
    pub const fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Write calls that stored all their data.
    pub const fn writes(&self) -> u64 {
        self.writes
    }

    /// Successful flushes.
    pub const fn flushes(&self) -> u64 {
        self.flushes
    }

    /// The stored bytes.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// Flip bit `bit` (0..8) of byte `offset`; returns whether that byte exists.
    pub fn flip_bit(&mut self, offset: usize, bit: u8) -> bool {
        match self.data.get_mut(offset) {
            Some(byte) => {
                *byte ^= 1u8.checked_shl(u32::from(bit)).unwrap_or(0);
                true
            }
            None => false,
        }
    }

    fn sector_count(&self) -> u32 {
        u32::try_from(self.data.len() / SECTOR_SIZE_BYTES).unwrap_or(u32::MAX)
    }

    fn check(&self, sector: u32) -> Result<usize, MediaError> {
        if !self.powered {
            return Err(MediaError::PowerLost);
        }
        if !self.present {
            return Err(MediaError::Missing);
        }
        let sectors = self.sector_count();
        if sector >= sectors {
            return Err(MediaError::OutOfRange { sector, sectors });
        }
        usize::try_from(sector)
            .ok()
            .and_then(|s| s.checked_mul(SECTOR_SIZE_BYTES))
            .ok_or(MediaError::OutOfRange { sector, sectors })
    }
}

impl Media for RamMedia<'_> {
    fn sectors(&mut self) -> Result<u32, MediaError> {
        if !self.powered {
            return Err(MediaError::PowerLost);
        }
        if !self.present {
            return Err(MediaError::Missing);
        }
        Ok(self.sector_count())
    }

    fn read(&mut self, sector: u32, buf: &mut [u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        let start = self.check(sector)?;
        let src = start
            .checked_add(SECTOR_SIZE_BYTES)
            .and_then(|end| self.data.get(start..end))
            .ok_or(MediaError::ReadFailed { sector })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, sector: u32, data: &[u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        let start = self.check(sector)?;
        if let Some(n) = self.fail_write_in {
            if n <= 1 {
                self.fail_write_in = None;
                return Err(MediaError::WriteFailed { sector });
            }
            self.fail_write_in = Some(n.saturating_sub(1));
        }
        let dst = start
            .checked_add(SECTOR_SIZE_BYTES)
            .and_then(|end| self.data.get_mut(start..end))
            .ok_or(MediaError::WriteFailed { sector })?;
        let room = self
            .cut_at
            .map(|cut| cut.saturating_sub(self.bytes_written));
        match room {
            Some(room) if room < SECTOR_SIZE_BYTES as u64 => {
                // room < 512, so it fits in usize.
                let kept = usize::try_from(room).unwrap_or(0);
                if let (Some(d), Some(s)) = (dst.get_mut(..kept), data.get(..kept)) {
                    d.copy_from_slice(s);
                }
                self.bytes_written = self.bytes_written.saturating_add(room);
                self.cut_at = None;
                self.powered = false;
                Err(MediaError::PowerLost)
            }
            _ => {
                dst.copy_from_slice(data);
                self.bytes_written = self.bytes_written.saturating_add(SECTOR_SIZE_BYTES as u64);
                self.writes = self.writes.saturating_add(1);
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<(), MediaError> {
        if !self.powered {
            return Err(MediaError::PowerLost);
        }
        if !self.present {
            return Err(MediaError::Missing);
        }
        self.flushes = self.flushes.saturating_add(1);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Entropy

/// Domain-separation label of the [`SeededEntropy`] stream.
pub const SEEDED_ENTROPY_LABEL: &[u8] = b"voting-terminal test entropy v1/";

/// Deterministic "entropy" for tests: block `i` is SHA-256(label || seed || i as u64 LE).
#[derive(Debug, Clone)]
pub struct SeededEntropy {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededEntropy {
    /// The stream for `seed`.
    pub const fn new(seed: [u8; 32]) -> SeededEntropy {
        SeededEntropy {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(SEEDED_ENTROPY_LABEL);
        ctx.update(&self.seed);
        ctx.update(&self.counter.to_le_bytes());
        self.block.copy_from_slice(ctx.finish().as_ref());
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        for out in buf.iter_mut() {
            if self.used >= self.block.len() {
                self.refill();
            }
            *out = self.block.get(self.used).copied().unwrap_or(0);
            self.used = self.used.saturating_add(1);
        }
        Ok(())
    }
}

/// "Entropy" that repeats the given bytes; with no bytes it fails like a dead TRNG.
#[derive(Debug, Clone)]
pub struct FixedEntropy<'a> {
    bytes: &'a [u8],
    next: usize,
}

impl<'a> FixedEntropy<'a> {
    /// Repeat `bytes` forever (empty: every fill fails with `Unavailable`).
    pub const fn new(bytes: &'a [u8]) -> FixedEntropy<'a> {
        FixedEntropy { bytes, next: 0 }
    }
}

impl Entropy for FixedEntropy<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        if self.bytes.is_empty() {
            return Err(EntropyError::Unavailable);
        }
        for out in buf.iter_mut() {
            if self.next >= self.bytes.len() {
                self.next = 0;
            }
            *out = self.bytes.get(self.next).copied().unwrap_or(0);
            self.next = self.next.saturating_add(1);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Clock

/// A clock the test sets by hand. Setters take `&self` so a clock shared with the code
/// under test can still be advanced.
#[derive(Debug, Clone)]
pub struct FakeClock {
    ms: Cell<u64>,
    today: Cell<Date>,
}

impl FakeClock {
    /// A clock showing `today` and `ms` milliseconds since boot.
    pub const fn new(today: Date, ms: u64) -> FakeClock {
        FakeClock {
            ms: Cell::new(ms),
            today: Cell::new(today),
        }
    }

    /// Set the milliseconds since boot.
    pub fn set_ms(&self, ms: u64) {
        self.ms.set(ms);
    }

    /// Move the millisecond counter forward by `ms`.
    pub fn advance_ms(&self, ms: u64) {
        self.ms.set(self.ms.get().saturating_add(ms));
    }

    /// Set the date.
    pub fn set_today(&self, today: Date) {
        self.today.set(today);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.ms.get()
    }

    fn today(&self) -> Date {
        self.today.get()
    }
}

// ---------------------------------------------------------------------------------------------
// Printer

/// A printer that keeps up to `LINES` raster lines (then reports `OutOfPaper`).
#[derive(Debug, Clone)]
pub struct RamPrinter<const LINES: usize> {
    lines: [RasterLine; LINES],
    count: usize,
    cuts: u32,
    offline: bool,
}

impl<const LINES: usize> Default for RamPrinter<LINES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const LINES: usize> RamPrinter<LINES> {
    /// An empty printer with a roll of `LINES` lines.
    pub const fn new() -> Self {
        RamPrinter {
            lines: [[0; PRINTER_LINE_BYTES]; LINES],
            count: 0,
            cuts: 0,
            offline: false,
        }
    }

    /// The lines printed so far.
    pub fn lines(&self) -> &[RasterLine] {
        self.lines.get(..self.count).unwrap_or(&[])
    }

    /// Paper cuts made.
    pub const fn cuts(&self) -> u32 {
        self.cuts
    }

    /// Put in a fresh roll (forget the printed lines).
    pub fn new_roll(&mut self) {
        self.count = 0;
    }

    /// Make the printer stop answering (or answer again).
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }
}

impl<const LINES: usize> Printer for RamPrinter<LINES> {
    fn print_line(&mut self, line: &RasterLine) -> Result<(), PrinterError> {
        if self.offline {
            return Err(PrinterError::Offline);
        }
        let slot = self
            .lines
            .get_mut(self.count)
            .ok_or(PrinterError::OutOfPaper)?;
        *slot = *line;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    fn cut(&mut self) -> Result<(), PrinterError> {
        if self.offline {
            return Err(PrinterError::Offline);
        }
        self.cuts = self.cuts.saturating_add(1);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Input, display, power

/// Input that replays a fixed script of events.
#[derive(Debug, Clone)]
pub struct ScriptedInput<'a> {
    events: &'a [InputEvent],
    next: usize,
}

impl<'a> ScriptedInput<'a> {
    /// Replay `events` in order.
    pub const fn new(events: &'a [InputEvent]) -> ScriptedInput<'a> {
        ScriptedInput { events, next: 0 }
    }
}

impl Input for ScriptedInput<'_> {
    fn next_event(&mut self) -> Option<InputEvent> {
        let event = self.events.get(self.next).copied()?;
        self.next = self.next.saturating_add(1);
        Some(event)
    }
}

/// A display that records the flushed areas (and can fail the next flush).
#[derive(Debug, Clone, Default)]
pub struct RecordingDisplay {
    flushes: u32,
    last: Option<Area>,
    fail_next: bool,
}

impl RecordingDisplay {
    /// A display with nothing flushed.
    pub const fn new() -> RecordingDisplay {
        RecordingDisplay {
            flushes: 0,
            last: None,
            fail_next: false,
        }
    }

    /// Successful flushes.
    pub const fn flushes(&self) -> u32 {
        self.flushes
    }

    /// The last area flushed.
    pub const fn last(&self) -> Option<Area> {
        self.last
    }

    /// Make the next flush fail with `TransferFailed`.
    pub fn fail_next(&mut self) {
        self.fail_next = true;
    }
}

impl Display for RecordingDisplay {
    fn flush(&mut self, frame: &Framebuffer, area: Area) -> Result<(), DisplayError> {
        if core::mem::take(&mut self.fail_next) {
            return Err(DisplayError::TransferFailed);
        }
        // Touch every row, as a panel driver would.
        if frame.rows(area).count() != usize::from(area.height()) {
            return Err(DisplayError::TransferFailed);
        }
        self.flushes = self.flushes.saturating_add(1);
        self.last = Some(area);
        Ok(())
    }
}

/// A power supply that records power-off requests and raises a power-fail notice on demand.
#[derive(Debug, Clone, Default)]
pub struct RecordingPower {
    off_requests: u32,
    failing: bool,
}

impl RecordingPower {
    /// A healthy supply.
    pub const fn new() -> RecordingPower {
        RecordingPower {
            off_requests: 0,
            failing: false,
        }
    }

    /// Power-off requests received.
    pub const fn off_requests(&self) -> u32 {
        self.off_requests
    }

    /// Raise (or clear) the power-fail notice.
    pub fn set_failing(&mut self, failing: bool) {
        self.failing = failing;
    }
}

impl Power for RecordingPower {
    fn power_off(&mut self) {
        self.off_requests = self.off_requests.saturating_add(1);
    }

    fn power_failing(&mut self) -> bool {
        self.failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::{Key, OperatorKey};

    const SECTORS: usize = 8;

    fn sector(fill: u8) -> [u8; SECTOR_SIZE_BYTES] {
        [fill; SECTOR_SIZE_BYTES]
    }

    #[test]
    fn media_reads_back_writes_and_checks_ranges() {
        let mut data = [0u8; SECTORS * SECTOR_SIZE_BYTES + 100];
        let mut m = RamMedia::new(&mut data);
        assert_eq!(m.sectors(), Ok(SECTORS as u32));
        m.write(3, &sector(0xAB)).unwrap();
        let mut buf = sector(0);
        m.read(3, &mut buf).unwrap();
        assert_eq!(buf, sector(0xAB));
        assert_eq!(
            m.write(8, &sector(1)),
            Err(MediaError::OutOfRange {
                sector: 8,
                sectors: 8
            })
        );
        assert_eq!(
            m.read(u32::MAX, &mut buf),
            Err(MediaError::OutOfRange {
                sector: u32::MAX,
                sectors: 8
            })
        );
        m.flush().unwrap();
        assert_eq!((m.writes(), m.flushes(), m.bytes_written()), (1, 1, 512));
    }

    #[test]
    fn media_fails_exactly_the_nth_write() {
        let mut data = [0u8; SECTORS * SECTOR_SIZE_BYTES];
        let mut m = RamMedia::new(&mut data);
        m.fail_nth_write(3);
        m.write(0, &sector(1)).unwrap();
        m.write(1, &sector(2)).unwrap();
        assert_eq!(
            m.write(2, &sector(3)),
            Err(MediaError::WriteFailed { sector: 2 })
        );
        // Nothing of the failed write was stored, and the fault is one-shot.
        let mut buf = sector(9);
        m.read(2, &mut buf).unwrap();
        assert_eq!(buf, sector(0));
        m.write(2, &sector(3)).unwrap();
        m.read(2, &mut buf).unwrap();
        assert_eq!(buf, sector(3));
        // n = 1 is the next write; 0 disarms.
        m.fail_nth_write(1);
        assert!(m.write(0, &sector(5)).is_err());
        m.fail_nth_write(2);
        m.fail_nth_write(0);
        m.write(0, &sector(5)).unwrap();
        m.write(0, &sector(5)).unwrap();
    }

    #[test]
    fn media_cuts_power_at_byte_k_inside_a_write() {
        let mut data = [0u8; SECTORS * SECTOR_SIZE_BYTES];
        let mut m = RamMedia::new(&mut data);
        m.write(0, &sector(0x11)).unwrap();
        // Counted from arming: 512 bytes of sector 1 land, then 100 bytes of sector 2.
        m.cut_power_at_byte(612);
        m.write(1, &sector(0x22)).unwrap();
        assert_eq!(m.write(2, &sector(0x33)), Err(MediaError::PowerLost));
        assert_eq!(m.bytes_written(), 512 + 612);
        // Every call fails until power comes back.
        let mut buf = sector(0);
        assert_eq!(m.read(0, &mut buf), Err(MediaError::PowerLost));
        assert_eq!(m.write(3, &sector(0x44)), Err(MediaError::PowerLost));
        assert_eq!(m.flush(), Err(MediaError::PowerLost));
        assert_eq!(m.sectors(), Err(MediaError::PowerLost));
        assert!(!m.is_powered());
        m.restore_power();
        m.read(2, &mut buf).unwrap();
        assert!(buf[..100].iter().all(|&b| b == 0x33));
        assert!(buf[100..].iter().all(|&b| b == 0));
        m.read(3, &mut buf).unwrap();
        assert_eq!(buf, sector(0), "nothing written after the cut");
        // The cut is one-shot: writes work again.
        m.write(3, &sector(0x44)).unwrap();
    }

    #[test]
    fn media_cut_at_zero_and_at_a_sector_boundary_stores_nothing_of_that_write() {
        for (k, expect_first_ok) in [(0u64, false), (512, true)] {
            let mut data = [0u8; SECTORS * SECTOR_SIZE_BYTES];
            let mut m = RamMedia::new(&mut data);
            m.cut_power_at_byte(k);
            assert_eq!(m.write(0, &sector(7)).is_ok(), expect_first_ok, "k = {k}");
            if expect_first_ok {
                assert_eq!(m.write(1, &sector(7)), Err(MediaError::PowerLost));
            }
            assert_eq!(m.bytes_written(), k);
            m.restore_power();
            let mut buf = sector(1);
            m.read(u32::from(expect_first_ok), &mut buf).unwrap();
            assert_eq!(buf, sector(0));
        }
    }

    #[test]
    fn media_cut_sweep_stores_exactly_k_bytes() {
        // Every cut point over a 3-sector write sequence leaves exactly k bytes stored.
        for k in 0..3 * SECTOR_SIZE_BYTES as u64 {
            let mut data = [0u8; 4 * SECTOR_SIZE_BYTES];
            let mut m = RamMedia::new(&mut data);
            m.cut_power_at_byte(k);
            let mut result = Ok(());
            for s in 0..3u32 {
                result = m.write(s, &sector(0xFF));
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(result, Err(MediaError::PowerLost), "k = {k}");
            let ones = m.data().iter().filter(|&&b| b == 0xFF).count() as u64;
            assert_eq!(ones, k);
        }
    }

    #[test]
    fn media_can_be_removed_and_corrupted() {
        let mut data = [0u8; SECTORS * SECTOR_SIZE_BYTES];
        let mut m = RamMedia::new(&mut data);
        m.remove();
        let mut buf = sector(0);
        assert_eq!(m.sectors(), Err(MediaError::Missing));
        assert_eq!(m.read(0, &mut buf), Err(MediaError::Missing));
        assert_eq!(m.write(0, &buf), Err(MediaError::Missing));
        assert_eq!(m.flush(), Err(MediaError::Missing));
        m.insert();
        assert!(m.flip_bit(513, 7));
        assert!(!m.flip_bit(SECTORS * SECTOR_SIZE_BYTES, 0));
        m.read(1, &mut buf).unwrap();
        assert_eq!(buf[1], 0x80);
    }

    #[test]
    fn seeded_entropy_is_deterministic_and_chunking_free() {
        let mut a = SeededEntropy::new([1; 32]);
        let mut b = SeededEntropy::new([1; 32]);
        let mut c = SeededEntropy::new([2; 32]);
        let mut x = [0u8; 100];
        a.fill(&mut x).unwrap();
        let mut y = [0u8; 100];
        b.fill(&mut y[..7]).unwrap();
        b.fill(&mut y[7..70]).unwrap();
        b.fill(&mut y[70..]).unwrap();
        assert_eq!(x, y);
        let mut z = [0u8; 100];
        c.fill(&mut z).unwrap();
        assert_ne!(x, z);
        // Block 0 is SHA-256(label || seed || 0u64 LE).
        let mut msg = std::vec::Vec::from(SEEDED_ENTROPY_LABEL);
        msg.extend_from_slice(&[1; 32]);
        msg.extend_from_slice(&0u64.to_le_bytes());
        assert_eq!(&x[..32], digest::digest(&digest::SHA256, &msg).as_ref());
    }

    #[test]
    fn fixed_entropy_repeats_or_fails() {
        let mut e = FixedEntropy::new(&[1, 2, 3]);
        let mut buf = [0u8; 7];
        e.fill(&mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 1, 2, 3, 1]);
        e.fill(&mut buf[..2]).unwrap();
        assert_eq!(buf[..2], [2, 3]);
        let mut dead = FixedEntropy::new(&[]);
        assert_eq!(dead.fill(&mut buf), Err(EntropyError::Unavailable));
    }

    #[test]
    fn fake_clock_is_settable_through_a_shared_reference() {
        let day = Date::new(2026, 5, 31).unwrap();
        let clock = FakeClock::new(day, 1_000);
        let shared: &dyn Clock = &clock;
        clock.advance_ms(500);
        assert_eq!(shared.now_ms(), 1_500);
        clock.set_ms(10);
        assert_eq!(shared.now_ms(), 10);
        let next = Date::new(2026, 6, 1).unwrap();
        clock.set_today(next);
        assert_eq!(shared.today(), next);
        clock.set_ms(u64::MAX);
        clock.advance_ms(1);
        assert_eq!(clock.now_ms(), u64::MAX);
    }

    #[test]
    fn ram_printer_collects_lines_until_out_of_paper() {
        let mut p = RamPrinter::<2>::new();
        let mut line = [0u8; PRINTER_LINE_BYTES];
        line[0] = 0x80;
        p.print_line(&line).unwrap();
        p.print_line(&[0xFF; PRINTER_LINE_BYTES]).unwrap();
        assert_eq!(p.print_line(&line), Err(PrinterError::OutOfPaper));
        assert_eq!(p.lines(), &[line, [0xFF; PRINTER_LINE_BYTES]]);
        p.cut().unwrap();
        assert_eq!(p.cuts(), 1);
        p.new_roll();
        assert!(p.lines().is_empty());
        p.set_offline(true);
        assert_eq!(p.print_line(&line), Err(PrinterError::Offline));
        assert_eq!(p.cut(), Err(PrinterError::Offline));
    }

    #[test]
    fn scripted_input_and_recording_power() {
        let script = [
            InputEvent::Operator(OperatorKey::OpenPoll),
            InputEvent::Tap { x: 10, y: 20 },
            InputEvent::Key(Key::Enter),
        ];
        let mut input = ScriptedInput::new(&script);
        let got: std::vec::Vec<_> = core::iter::from_fn(|| input.next_event()).collect();
        assert_eq!(got, script);
        assert_eq!(input.next_event(), None);

        let mut power = RecordingPower::new();
        assert!(!power.power_failing());
        power.set_failing(true);
        assert!(power.power_failing());
        power.power_off();
        assert_eq!(power.off_requests(), 1);
    }
}
