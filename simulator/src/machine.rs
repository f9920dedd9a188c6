//! The sandbox: the payload runs in wasmi with a memory limit, a fuel budget per call, and
//! only the device ABI imports.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use device_abi::{
    export, import, BootBlock, BootStatus, EventKind, MediaStatus, ABI_VERSION, DISPLAY_HEIGHT_PX,
    DISPLAY_TRANSFER_FAILED, DISPLAY_WIDTH_PX, ENTROPY_UNAVAILABLE, IMPORT_MODULE,
    MAX_ENTROPY_REQUEST_BYTES, MAX_LOG_BYTES, PIXEL_BYTES, PRINTER_LINE_BYTES, SECTOR_SIZE_BYTES,
    STATUS_OK, TICK_INTERVAL_MS,
};
use wasmi::{
    Caller, Config, Engine, Extern, Instance, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, TrapCode, TypedFunc,
};

use crate::devices::{Devices, RasterLine};

/// Default limit of the payload's linear memory, in bytes (64 MiB).
pub const DEFAULT_MEMORY_LIMIT_BYTES: usize = 64 * 1024 * 1024;
/// Default fuel (about one unit per wasm instruction) for one call into the payload.
///
/// The firmware keeps every input event and tick under 5 million units (the PIN check,
/// record writes and printouts are spread over ticks; `cargo bench -p simulator` measures
/// it) and boot under 10 million; this limit, a hundred times more (a few seconds of
/// interpretation), stops a payload that loops forever without cutting short a legitimate
/// call on the largest events and stores.
pub const DEFAULT_FUEL_PER_CALL: u64 = 1_000_000_000;

static INSTANCES_STARTED: AtomicU64 = AtomicU64::new(0);

/// How many payload instances this process has started (instantiated) so far.
///
/// The boot ROM's refusals happen before any instantiation; tests use this to show it.
pub fn instances_started() -> u64 {
    INSTANCES_STARTED.load(Ordering::SeqCst)
}

/// Resource limits of the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes of linear memory the payload may have.
    pub memory_bytes: usize,
    /// Fuel for one call of an export.
    pub fuel_per_call: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
            fuel_per_call: DEFAULT_FUEL_PER_CALL,
        }
    }
}

/// Why the machine stopped or refused the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MachineError {
    /// The payload is not a valid wasm module.
    InvalidModule {
        /// The reason from the validator.
        reason: String,
    },
    /// The payload imports something outside the device ABI.
    ForeignImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// The payload lacks an export of the device ABI, or it has the wrong type.
    MissingExport {
        /// Export name.
        name: &'static str,
    },
    /// The payload implements another ABI version.
    AbiVersion {
        /// Version it reports.
        found: i64,
    },
    /// The payload could not be instantiated (e.g. its memory exceeds the limit).
    Instantiation {
        /// The reason.
        reason: String,
    },
    /// The boot block does not fit the payload's buffer.
    BootBlockTooLarge {
        /// Bytes needed.
        needed: usize,
        /// Capacity the payload offers.
        capacity: usize,
    },
    /// The payload refused to boot.
    BootRefused {
        /// The status code it returned.
        code: i32,
    },
    /// An export ran out of fuel: the firmware is not responding.
    NotResponding {
        /// The export.
        export: &'static str,
    },
    /// An export trapped (e.g. a panic in the firmware).
    Trap {
        /// The export.
        export: &'static str,
        /// What the engine reported.
        reason: String,
    },
    /// An export returned an error status.
    Status {
        /// The export.
        export: &'static str,
        /// The status.
        code: i32,
    },
    /// The terminal was switched off or lost power.
    Off,
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineError::InvalidModule { reason } => {
                write!(f, "payload refused: not a valid wasm module: {reason}")
            }
            MachineError::ForeignImport { module, name } => write!(
                f,
                "payload refused: it imports `{module}.{name}`, which is not part of device ABI v{ABI_VERSION}"
            ),
            MachineError::MissingExport { name } => write!(
                f,
                "payload refused: export `{name}` of device ABI v{ABI_VERSION} is missing or has the wrong type"
            ),
            MachineError::AbiVersion { found } => write!(
                f,
                "payload refused: it implements device ABI v{found}, this machine v{ABI_VERSION}"
            ),
            MachineError::Instantiation { reason } => {
                write!(f, "payload refused: cannot instantiate: {reason}")
            }
            MachineError::BootBlockTooLarge { needed, capacity } => write!(
                f,
                "boot block of {needed} bytes exceeds the payload's {capacity}-byte buffer"
            ),
            MachineError::BootRefused { code } => match BootStatus::from_code(*code) {
                Some(status) => write!(f, "firmware refused to boot (code {code}): {status}"),
                None => write!(f, "firmware refused to boot (code {code})"),
            },
            MachineError::NotResponding { export } => {
                write!(f, "firmware not responding (fuel budget exhausted in `{export}`)")
            }
            MachineError::Trap { export, reason } => {
                write!(f, "firmware halted in `{export}`: {reason}")
            }
            MachineError::Status { export, code } => {
                write!(f, "firmware error in `{export}`: code {code}")
            }
            MachineError::Off => f.write_str("the terminal is off"),
        }
    }
}

impl std::error::Error for MachineError {}

/// The store's data: devices and limits.
pub struct Host {
    /// The emulated devices.
    pub devices: Devices,
    limits: StoreLimits,
    /// Pixels copied to the screen by display flushes so far (for the call log).
    flushed_px: u64,
}

/// The exports the host calls.
struct Exports {
    boot_block: TypedFunc<(), i32>,
    boot_block_capacity: TypedFunc<(), i32>,
    boot: TypedFunc<(), i32>,
    handle: TypedFunc<(i32, i32, i32), i32>,
    tick: TypedFunc<(), i32>,
    power_fail: TypedFunc<(), ()>,
    power_off: TypedFunc<(), ()>,
    text_buffer: TypedFunc<(), i32>,
    text_capacity: TypedFunc<(), i32>,
    element: TypedFunc<i32, i64>,
    screen_text: TypedFunc<(), i32>,
}

/// A running payload.
pub struct Machine {
    store: Store<Host>,
    memory: Memory,
    exports: Exports,
    limits: Limits,
    on: bool,
    fuel: FuelStats,
    /// Per-call records, when [`Machine::record_calls`] is on.
    log: Option<Vec<CallRecord>>,
    /// The script line (or other caller tag) the next calls belong to.
    line: usize,
    /// What the next calls deliver (set by [`Machine::handle`] and [`Machine::wait`]).
    event: EventTag,
}

/// What a call into the payload was for, as the call log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventTag {
    /// A touch tap (`firmware_handle`).
    Tap,
    /// A voter key (`firmware_handle`).
    Key,
    /// An operator panel key (`firmware_handle`).
    Operator,
    /// The periodic tick (`firmware_tick`), every [`TICK_INTERVAL_MS`] of simulated time.
    Tick,
    /// Boot: ABI version, boot block and `firmware_boot`.
    Boot,
    /// A query of the host (element areas, visible text): not an input event.
    Query,
    /// Power-fail notice or power-off.
    Power,
}

impl EventTag {
    /// The tag's name in the call log.
    pub const fn name(self) -> &'static str {
        match self {
            EventTag::Tap => "tap",
            EventTag::Key => "key",
            EventTag::Operator => "operator",
            EventTag::Tick => "tick",
            EventTag::Boot => "boot",
            EventTag::Query => "query",
            EventTag::Power => "power",
        }
    }

    /// Whether the call delivered an input event or a tick (the calls the per-event
    /// budget of 16 ms and 5 M fuel applies to).
    pub const fn is_input(self) -> bool {
        matches!(
            self,
            EventTag::Tap | EventTag::Key | EventTag::Operator | EventTag::Tick
        )
    }
}

/// One call into the payload, as recorded by the call log ([`Machine::record_calls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRecord {
    /// The caller's tag when the call was made (the script line, 1-based; 0 before any).
    pub line: usize,
    /// The export called.
    pub export: &'static str,
    /// What the call was for.
    pub event: EventTag,
    /// Fuel the call consumed.
    pub fuel: u64,
    /// Wall-clock time of the call, in nanoseconds (host dependent).
    pub wall_ns: u64,
    /// Pixels the payload flushed to the display during the call.
    pub flushed_px: u64,
}

/// Pixels on the display; a call flushing at least half of them counts as a full-screen
/// change in the call log's summary.
pub const DISPLAY_PIXELS: u64 = DISPLAY_WIDTH_PX as u64 * DISPLAY_HEIGHT_PX as u64;

impl CallRecord {
    /// The header line of [`CallRecord::csv`].
    pub const CSV_HEADER: &'static str = "line,export,event,fuel,wall_ns,flushed_px";

    /// The record as one CSV line (no newline).
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.line,
            self.export,
            self.event.name(),
            self.fuel,
            self.wall_ns,
            self.flushed_px
        )
    }

    /// Whether the call redrew at least half of the display (a screen-to-screen step).
    pub fn is_screen_change(&self) -> bool {
        self.flushed_px.saturating_mul(2) >= DISPLAY_PIXELS
    }
}

/// Percentiles of a sample (nearest-rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Sample size.
    pub count: usize,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest value.
    pub max: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (all zero for an empty sample).
    pub fn of(values: impl IntoIterator<Item = u64>) -> Percentiles {
        let mut v: Vec<u64> = values.into_iter().collect();
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        let rank = |p: usize| {
            // nearest rank: ceil(p/100 * n), 1-based
            let r = (p * v.len()).div_ceil(100).max(1);
            v[r - 1]
        };
        Percentiles {
            count: v.len(),
            p50: rank(50),
            p99: rank(99),
            max: v[v.len() - 1],
        }
    }
}

/// Fuel and wall-time percentiles of a group of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group's name (`all input events`, an event tag, `screen changes`).
    pub name: String,
    /// Fuel per call.
    pub fuel: Percentiles,
    /// Wall time per call, in nanoseconds.
    pub wall_ns: Percentiles,
}

impl GroupSummary {
    fn of<'r>(name: &str, calls: impl Iterator<Item = &'r CallRecord> + Clone) -> GroupSummary {
        GroupSummary {
            name: name.to_string(),
            fuel: Percentiles::of(calls.clone().map(|c| c.fuel)),
            wall_ns: Percentiles::of(calls.map(|c| c.wall_ns)),
        }
    }
}

impl fmt::Display for GroupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |ns: u64| ns as f64 / 1e6;
        write!(
            f,
            "{:<22} {:>6} calls  fuel p50 {:>11} p99 {:>11} max {:>11}  wall p50 {:>8.3} ms p99 {:>8.3} ms max {:>8.3} ms",
            self.name,
            self.fuel.count,
            self.fuel.p50,
            self.fuel.p99,
            self.fuel.max,
            ms(self.wall_ns.p50),
            ms(self.wall_ns.p99),
            ms(self.wall_ns.max)
        )
    }
}

/// Summaries of a call log: all input events (taps, keys, operator keys, ticks), each
/// event tag, and the calls that changed at least half of the screen.
pub fn summarize(calls: &[CallRecord]) -> Vec<GroupSummary> {
    let input = calls.iter().filter(|c| c.event.is_input());
    let mut groups = vec![GroupSummary::of("input events", input.clone())];
    let mut tags: Vec<EventTag> = calls.iter().map(|c| c.event).collect();
    tags.sort_unstable();
    tags.dedup();
    for tag in tags {
        groups.push(GroupSummary::of(
            tag.name(),
            calls.iter().filter(move |c| c.event == tag),
        ));
    }
    groups.push(GroupSummary::of(
        "screen changes",
        input.filter(|c| c.is_screen_change()),
    ));
    groups
}

/// Fuel the payload consumed (about one unit per wasm instruction): a machine-independent
/// measure of the firmware's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FuelStats {
    /// Calls into the payload.
    pub calls: u64,
    /// Fuel of all calls.
    pub total: u64,
    /// Fuel of the most expensive call.
    pub largest: u64,
    /// The export of the most expensive call.
    pub largest_export: &'static str,
}

/// Check every import of `module` against the device ABI (names only; the linker checks the
/// types before anything runs).
pub fn check_imports(module: &Module) -> Result<(), MachineError> {
    for imp in module.imports() {
        if imp.module() != IMPORT_MODULE || !import::ALL.contains(&imp.name()) {
            return Err(MachineError::ForeignImport {
                module: imp.module().to_string(),
                name: imp.name().to_string(),
            });
        }
    }
    Ok(())
}

fn memory_of(caller: &Caller<'_, Host>) -> Option<Memory> {
    caller
        .get_export(export::MEMORY)
        .and_then(Extern::into_memory)
}

fn range(ptr: i32, len: u32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(u32::from_ne_bytes(ptr.to_ne_bytes())).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some(start..end)
}

fn media_code(r: Result<(), MediaStatus>) -> i32 {
    match r {
        Ok(()) => STATUS_OK,
        Err(s) => s.code(),
    }
}

fn define_imports(linker: &mut Linker<Host>) -> Result<(), wasmi::Error> {
    linker.func_wrap(
        IMPORT_MODULE,
        import::DISPLAY_FLUSH,
        |mut caller: Caller<'_, Host>, fb: i32, x: i32, y: i32, w: i32, h: i32| -> i32 {
            let Some(memory) = memory_of(&caller) else {
                return DISPLAY_TRANSFER_FAILED;
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let (Ok(x), Ok(y), Ok(w), Ok(h)) = (
                u32::try_from(x),
                u32::try_from(y),
                u32::try_from(w),
                u32::try_from(h),
            ) else {
                return DISPLAY_TRANSFER_FAILED;
            };
            if x.saturating_add(w) > DISPLAY_WIDTH_PX || y.saturating_add(h) > DISPLAY_HEIGHT_PX {
                return DISPLAY_TRANSFER_FAILED;
            }
            let Some(frame) = range(fb, DISPLAY_WIDTH_PX * DISPLAY_HEIGHT_PX * PIXEL_BYTES)
                .and_then(|r| data.get(r))
            else {
                return DISPLAY_TRANSFER_FAILED;
            };
            let width = DISPLAY_WIDTH_PX as usize;
            for row in y as usize..(y + h) as usize {
                for col in x as usize..(x + w) as usize {
                    let i = row * width + col;
                    let px = u16::from_le_bytes([frame[2 * i], frame[2 * i + 1]]);
                    host.devices.screen.pixels[i] = px;
                }
            }
            host.devices.screen.flushes += 1;
            host.flushed_px += u64::from(w) * u64::from(h);
            STATUS_OK
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::MEDIA_SECTORS,
        |caller: Caller<'_, Host>| -> i64 {
            match caller.data().devices.media.sectors() {
                Ok(n) => i64::from(n),
                Err(s) => -i64::from(s.code()),
            }
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::MEDIA_READ,
        |mut caller: Caller<'_, Host>, sector: i32, buf: i32| -> i32 {
            let Some(memory) = memory_of(&caller) else {
                return MediaStatus::ReadFailed.code();
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(dst) = range(buf, SECTOR_SIZE_BYTES).and_then(|r| data.get_mut(r)) else {
                return MediaStatus::ReadFailed.code();
            };
            let sector = u32::from_ne_bytes(sector.to_ne_bytes());
            media_code(host.devices.media.read(sector, dst))
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::MEDIA_WRITE,
        |mut caller: Caller<'_, Host>, sector: i32, buf: i32| -> i32 {
            let Some(memory) = memory_of(&caller) else {
                return MediaStatus::WriteFailed.code();
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(src) = range(buf, SECTOR_SIZE_BYTES).and_then(|r| data.get(r)) else {
                return MediaStatus::WriteFailed.code();
            };
            let sector = u32::from_ne_bytes(sector.to_ne_bytes());
            media_code(host.devices.media.write(sector, src))
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::MEDIA_FLUSH,
        |mut caller: Caller<'_, Host>| -> i32 {
            media_code(caller.data_mut().devices.media.flush())
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::PRINTER_LINE,
        |mut caller: Caller<'_, Host>, line: i32| -> i32 {
            let Some(memory) = memory_of(&caller) else {
                return device_abi::PrinterStatus::Offline.code();
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(src) = range(line, PRINTER_LINE_BYTES).and_then(|r| data.get(r)) else {
                return device_abi::PrinterStatus::Offline.code();
            };
            let mut raster: RasterLine = [0; PRINTER_LINE_BYTES as usize];
            raster.copy_from_slice(src);
            host.devices.printer.current.push(raster);
            STATUS_OK
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::PRINTER_CUT,
        |mut caller: Caller<'_, Host>| -> i32 {
            let printer = &mut caller.data_mut().devices.printer;
            let receipt = std::mem::take(&mut printer.current);
            printer.receipts.push(receipt);
            STATUS_OK
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::CLOCK_NOW_MS,
        |caller: Caller<'_, Host>| -> i64 {
            i64::try_from(caller.data().devices.clock.now_ms).unwrap_or(i64::MAX)
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::CLOCK_TODAY,
        |caller: Caller<'_, Host>| -> i32 {
            let (y, m, d) = caller.data().devices.clock.today;
            device_abi::pack_date(y, m, d)
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::ENTROPY_FILL,
        |mut caller: Caller<'_, Host>, buf: i32, len: i32| -> i32 {
            let Some(memory) = memory_of(&caller) else {
                return ENTROPY_UNAVAILABLE;
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(len) = u32::try_from(len)
                .ok()
                .filter(|&l| l <= MAX_ENTROPY_REQUEST_BYTES)
            else {
                return ENTROPY_UNAVAILABLE;
            };
            let Some(dst) = range(buf, len).and_then(|r| data.get_mut(r)) else {
                return ENTROPY_UNAVAILABLE;
            };
            if !host.devices.entropy.fill(dst) {
                return ENTROPY_UNAVAILABLE;
            }
            if let Some(record) = &mut host.devices.entropy_record {
                record.extend_from_slice(dst);
            }
            STATUS_OK
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::LOG,
        |mut caller: Caller<'_, Host>, text: i32, len: i32| {
            let Some(memory) = memory_of(&caller) else {
                return;
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let len = u32::try_from(len).unwrap_or(0).min(MAX_LOG_BYTES);
            if let Some(bytes) = range(text, len).and_then(|r| data.get(r)) {
                let line = String::from_utf8_lossy(bytes).into_owned();
                if host.devices.echo_log {
                    eprintln!("firmware: {line}");
                }
                host.devices.log.push(line);
            }
        },
    )?;
    Ok(())
}

fn typed<P: wasmi::WasmParams, R: wasmi::WasmResults>(
    store: &Store<Host>,
    instance: &Instance,
    name: &'static str,
) -> Result<TypedFunc<P, R>, MachineError> {
    instance
        .get_typed_func::<P, R>(store, name)
        .map_err(|_| MachineError::MissingExport { name })
}

fn is_out_of_fuel(e: &wasmi::Error) -> bool {
    e.as_trap_code() == Some(TrapCode::OutOfFuel) || e.to_string().contains("fuel")
}

impl Machine {
    /// Check `payload` against the device ABI and instantiate it on `devices`.
    ///
    /// Nothing of the payload runs before its imports are checked; then only instantiation
    /// (data segments) and the ABI version export run.
    pub fn load(payload: &[u8], devices: Devices, limits: Limits) -> Result<Machine, MachineError> {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, payload).map_err(|e| MachineError::InvalidModule {
            reason: e.to_string(),
        })?;
        check_imports(&module)?;
        let host = Host {
            devices,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(1)
                .memories(1)
                .tables(1)
                .build(),
            flushed_px: 0,
        };
        let mut store = Store::new(&engine, host);
        store.limiter(|host| &mut host.limits);
        store
            .set_fuel(limits.fuel_per_call)
            .map_err(|e| MachineError::Instantiation {
                reason: e.to_string(),
            })?;
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).map_err(|e| MachineError::Instantiation {
            reason: e.to_string(),
        })?;
        INSTANCES_STARTED.fetch_add(1, Ordering::SeqCst);
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .map_err(|e| MachineError::Instantiation {
                reason: e.to_string(),
            })?;
        let memory =
            instance
                .get_memory(&store, export::MEMORY)
                .ok_or(MachineError::MissingExport {
                    name: export::MEMORY,
                })?;
        let version: TypedFunc<(), i32> = typed(&store, &instance, export::ABI_VERSION)?;
        let exports = Exports {
            boot_block: typed(&store, &instance, export::BOOT_BLOCK)?,
            boot_block_capacity: typed(&store, &instance, export::BOOT_BLOCK_CAPACITY)?,
            boot: typed(&store, &instance, export::BOOT)?,
            handle: typed(&store, &instance, export::HANDLE)?,
            tick: typed(&store, &instance, export::TICK)?,
            power_fail: typed(&store, &instance, export::POWER_FAIL)?,
            power_off: typed(&store, &instance, export::POWER_OFF)?,
            text_buffer: typed(&store, &instance, export::TEXT_BUFFER)?,
            text_capacity: typed(&store, &instance, export::TEXT_CAPACITY)?,
            element: typed(&store, &instance, export::ELEMENT)?,
            screen_text: typed(&store, &instance, export::SCREEN_TEXT)?,
        };
        let mut machine = Machine {
            store,
            memory,
            exports,
            limits,
            on: true,
            fuel: FuelStats::default(),
            log: None,
            line: 0,
            event: EventTag::Boot,
        };
        let found = machine.call(export::ABI_VERSION, |s| version.call(s, ()))?;
        if u32::try_from(found).ok() != Some(ABI_VERSION) {
            return Err(MachineError::AbiVersion {
                found: i64::from(found),
            });
        }
        Ok(machine)
    }

    /// Call into the payload with a fresh fuel budget.
    fn call<R>(
        &mut self,
        export: &'static str,
        f: impl FnOnce(&mut Store<Host>) -> Result<R, wasmi::Error>,
    ) -> Result<R, MachineError> {
        if !self.on {
            return Err(MachineError::Off);
        }
        self.store
            .set_fuel(self.limits.fuel_per_call)
            .map_err(|e| MachineError::Trap {
                export,
                reason: e.to_string(),
            })?;
        let flushed_before = self.store.data().flushed_px;
        let started = Instant::now();
        let result = f(&mut self.store);
        let wall = started.elapsed();
        let used = self
            .limits
            .fuel_per_call
            .saturating_sub(self.store.get_fuel().unwrap_or(0));
        self.fuel.calls += 1;
        self.fuel.total = self.fuel.total.saturating_add(used);
        if used > self.fuel.largest {
            self.fuel.largest = used;
            self.fuel.largest_export = export;
        }
        if let Some(log) = &mut self.log {
            log.push(CallRecord {
                line: self.line,
                export,
                event: self.event,
                fuel: used,
                wall_ns: u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
                flushed_px: self.store.data().flushed_px - flushed_before,
            });
        }
        result.map_err(|e| {
            // A stopped payload is never called again.
            self.on = false;
            if is_out_of_fuel(&e) {
                MachineError::NotResponding { export }
            } else {
                MachineError::Trap {
                    export,
                    reason: e.to_string(),
                }
            }
        })
    }

    /// Run `f` with the calls it makes tagged `tag` in the call log; later calls are
    /// queries until tagged otherwise.
    fn tagged<R>(&mut self, tag: EventTag, f: impl FnOnce(&mut Self) -> R) -> R {
        self.event = tag;
        let result = f(self);
        self.event = EventTag::Query;
        result
    }

    /// Keep a record of every call into the payload from now on (fuel, wall time, flushed
    /// pixels), or stop keeping them (`false`; the records so far are dropped).
    pub fn record_calls(&mut self, on: bool) {
        self.log = on.then(Vec::new);
    }

    /// Tag the next calls with `line` (a script line number) in the call log.
    pub fn set_line(&mut self, line: usize) {
        self.line = line;
    }

    /// The calls recorded so far (empty unless [`Machine::record_calls`] is on).
    pub fn calls(&self) -> &[CallRecord] {
        self.log.as_deref().unwrap_or_default()
    }

    /// Take the calls recorded so far, keeping the log on.
    pub fn take_calls(&mut self) -> Vec<CallRecord> {
        match &mut self.log {
            Some(log) => std::mem::take(log),
            None => Vec::new(),
        }
    }

    fn status(export: &'static str, code: i32) -> Result<(), MachineError> {
        if code == STATUS_OK {
            Ok(())
        } else {
            Err(MachineError::Status { export, code })
        }
    }

    /// Write the boot block into the payload's buffer and boot the firmware.
    pub fn boot(&mut self, block: &BootBlock<'_>) -> Result<(), MachineError> {
        self.tagged(EventTag::Boot, |m| m.boot_tagged(block))
    }

    fn boot_tagged(&mut self, block: &BootBlock<'_>) -> Result<(), MachineError> {
        let exports = (self.exports.boot_block, self.exports.boot_block_capacity);
        let at = self.call(export::BOOT_BLOCK, |s| exports.0.call(s, ()))?;
        let capacity = self.call(export::BOOT_BLOCK_CAPACITY, |s| exports.1.call(s, ()))?;
        let capacity = usize::try_from(capacity).unwrap_or(0);
        let needed = block.encoded_len();
        let area = range(at, u32::try_from(capacity).unwrap_or(0))
            .and_then(|r| self.memory.data_mut(&mut self.store).get_mut(r))
            .ok_or(MachineError::BootBlockTooLarge { needed, capacity })?;
        block
            .encode_into(area)
            .map_err(|_| MachineError::BootBlockTooLarge { needed, capacity })?;
        let boot = self.exports.boot;
        let code = self.call(export::BOOT, |s| boot.call(s, ()))?;
        if code != STATUS_OK {
            return Err(MachineError::BootRefused { code });
        }
        Ok(())
    }

    /// Deliver one input event.
    pub fn handle(&mut self, kind: EventKind, a: i32, b: i32) -> Result<(), MachineError> {
        let handle = self.exports.handle;
        let tag = match kind {
            EventKind::Tap => EventTag::Tap,
            EventKind::Key => EventTag::Key,
            _ => EventTag::Operator,
        };
        let code = self.tagged(tag, |m| {
            m.call(export::HANDLE, |s| handle.call(s, (kind.code(), a, b)))
        })?;
        Self::status(export::HANDLE, code)
    }

    /// Advance the simulated clock by `ms`, calling the tick export every
    /// [`TICK_INTERVAL_MS`].
    pub fn wait(&mut self, ms: u64) -> Result<(), MachineError> {
        let mut left = ms;
        while left > 0 {
            let step = left.min(TICK_INTERVAL_MS);
            self.devices_mut().clock.now_ms += step;
            left -= step;
            let tick = self.exports.tick;
            let code = self.tagged(EventTag::Tick, |m| {
                m.call(export::TICK, |s| tick.call(s, ()))
            })?;
            Self::status(export::TICK, code)?;
        }
        Ok(())
    }

    /// Power-fail notice, then the power is gone (media fails, the payload stops).
    pub fn power_cut(&mut self) -> Result<(), MachineError> {
        let power_fail = self.exports.power_fail;
        let result = self.tagged(EventTag::Power, |m| {
            m.call(export::POWER_FAIL, |s| power_fail.call(s, ()))
        });
        self.devices_mut().media.cut_power();
        self.on = false;
        result
    }

    /// Orderly power-off: the firmware wipes its memory; the machine then stops.
    pub fn power_off(&mut self) -> Result<(), MachineError> {
        let power_off = self.exports.power_off;
        let result = self.tagged(EventTag::Power, |m| {
            m.call(export::POWER_OFF, |s| power_off.call(s, ()))
        });
        self.on = false;
        result
    }

    /// Fuel consumed so far.
    pub fn fuel(&self) -> FuelStats {
        self.fuel
    }

    /// Whether the machine still runs.
    pub fn is_on(&self) -> bool {
        self.on
    }

    fn text_area(&mut self) -> Result<std::ops::Range<usize>, MachineError> {
        let (buffer, capacity) = (self.exports.text_buffer, self.exports.text_capacity);
        let at = self.call(export::TEXT_BUFFER, |s| buffer.call(s, ()))?;
        let capacity = self.call(export::TEXT_CAPACITY, |s| capacity.call(s, ()))?;
        range(at, u32::try_from(capacity).unwrap_or(0))
            .filter(|r| r.end <= self.memory.data(&self.store).len())
            .ok_or(MachineError::MissingExport {
                name: export::TEXT_BUFFER,
            })
    }

    /// The area `(x, y, width, height)` of the named touch target on the current screen.
    pub fn element(&mut self, name: &str) -> Result<Option<(u16, u16, u16, u16)>, MachineError> {
        let area = self.text_area()?;
        let bytes = name.as_bytes();
        if bytes.len() > area.len() {
            return Ok(None);
        }
        let start = area.start;
        self.memory.data_mut(&mut self.store)[start..start + bytes.len()].copy_from_slice(bytes);
        let element = self.exports.element;
        let len = i32::try_from(bytes.len()).unwrap_or(0);
        let packed = self.call(export::ELEMENT, |s| element.call(s, len))?;
        Ok(device_abi::unpack_area(packed))
    }

    /// All text visible on the current screen.
    pub fn screen_text(&mut self) -> Result<String, MachineError> {
        let area = self.text_area()?;
        let screen_text = self.exports.screen_text;
        let len = self.call(export::SCREEN_TEXT, |s| screen_text.call(s, ()))?;
        let len = usize::try_from(len).map_err(|_| MachineError::Status {
            export: export::SCREEN_TEXT,
            code: len,
        })?;
        let bytes = self
            .memory
            .data(&self.store)
            .get(area.start..area.start + len.min(area.len()))
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// The payload's linear memory (also after power-off, until the machine is dropped).
    pub fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    /// Offset of the first occurrence of `pattern` in linear memory.
    pub fn find_in_memory(&self, pattern: &[u8]) -> Option<usize> {
        if pattern.is_empty() {
            return None;
        }
        self.memory()
            .windows(pattern.len())
            .position(|w| w == pattern)
    }

    /// The devices.
    pub fn devices(&self) -> &Devices {
        &self.store.data().devices
    }

    /// The devices, mutable (to pull media, for example).
    pub fn devices_mut(&mut self) -> &mut Devices {
        &mut self.store.data_mut().devices
    }
}
