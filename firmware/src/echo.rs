//! The serial link check: a banner, an echo of everything the host sends until
//! [`END_OF_ECHO`], then a one-line resource report. Generic over the serial port and clock, so it
//! runs unchanged on every board.
//!
//! Lines are ASCII `key=value` pairs separated by spaces, ending in `\n`:
//!
//! ```text
//! microdense-firmware version=0.1.0 board=mps2-an386 model_region=0x00040000+262144 model=blank
//! <echoed bytes>
//! report echoed=5 flash_used=… flash_budget=… static_ram=… stack_size=… stack_used=… clock_unit=instructions clock_resolution=40 clock_check=1000000:1000040
//! ```

use embedded_io::{Read, Write, WriteFmtError};

use crate::clock::Clock;
use crate::memory::MemoryProbe;
use crate::model_region::ModelRegion;
use crate::FIRMWARE_VERSION;

/// The byte (ASCII EOT) that ends the echo; it is not echoed.
pub const END_OF_ECHO: u8 = 0x04;

/// What the firmware tells about itself in the banner and the report.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    /// The board's name.
    pub board: &'a str,
    /// The model region the firmware was linked with.
    pub model: ModelRegion,
    /// A clock self-check: a busy loop of this many instructions …
    pub check_instructions: u32,
    /// … took this many clock ticks (under QEMU's `-icount shift=0` about as many, give or take
    /// the clock's resolution and the few instructions reading the clock).
    pub check_ticks: u64,
}

/// A failure on the serial line.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError<E> {
    /// The port reported an error.
    Io(E),
    /// The port reported end of input (a read of zero bytes) before [`END_OF_ECHO`].
    Closed,
    /// Formatting a line failed.
    Format,
}

impl<E> From<WriteFmtError<E>> for LinkError<E> {
    fn from(e: WriteFmtError<E>) -> Self {
        match e {
            WriteFmtError::Other(e) => LinkError::Io(e),
            _ => LinkError::Format,
        }
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for LinkError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LinkError::Io(e) => write!(f, "serial port error: {e:?}"),
            LinkError::Closed => write!(f, "serial port closed before the end-of-echo byte"),
            LinkError::Format => write!(f, "formatting a report line failed"),
        }
    }
}

/// Runs the link check; returns how many bytes were echoed.
pub fn run<S, C, M>(
    serial: &mut S,
    clock: &C,
    memory: &M,
    identity: &Identity<'_>,
) -> Result<u32, LinkError<S::Error>>
where
    S: Read + Write,
    C: Clock,
    M: MemoryProbe,
{
    let model = identity.model;
    writeln!(
        serial,
        "microdense-firmware version={FIRMWARE_VERSION} board={} model_region=0x{:08x}+{} model={}",
        identity.board,
        model.address(),
        model.bytes().len(),
        if model.is_blank() { "blank" } else { "present" },
    )?;
    serial.flush().map_err(LinkError::Io)?;

    let mut buffer = [0u8; 64];
    let mut echoed: u32 = 0;
    loop {
        let count = serial.read(&mut buffer).map_err(LinkError::Io)?;
        let received = buffer.get(..count).unwrap_or_default();
        if received.is_empty() {
            return Err(LinkError::Closed);
        }
        let end = received.iter().position(|&b| b == END_OF_ECHO);
        let data = received.get(..end.unwrap_or(count)).unwrap_or_default();
        serial.write_all(data).map_err(LinkError::Io)?;
        echoed = echoed.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
        if end.is_some() {
            break;
        }
    }

    let m = memory.report();
    writeln!(
        serial,
        "report echoed={echoed} flash_used={} flash_budget={} static_ram={} stack_size={} stack_used={} \
         clock_unit={} clock_resolution={} clock_check={}:{}",
        m.flash_used,
        m.flash_budget,
        m.static_ram,
        m.stack_size,
        m.stack_used,
        clock.unit().name(),
        clock.resolution(),
        identity.check_instructions,
        identity.check_ticks,
    )?;
    serial.flush().map_err(LinkError::Io)?;
    Ok(echoed)
}
