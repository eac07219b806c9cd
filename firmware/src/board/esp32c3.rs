//! An ESP32-C3 (rv32imc at 160 MHz, 400 KiB SRAM, external SPI flash; e.g. the
//! ESP32-C3-DevKitM-1) through esp-hal: UART0 on GPIO21 (TX) / GPIO20 (RX), the pins of the
//! DevKit's USB-to-UART bridge, at 115,200 baud 8N1; the CPU's cycle counter as the clock; the
//! model copied at boot from its flash partition into RAM. Built and linked by the tests, not
//! run.
//!
//! The C3 reads its flash only through the cache MMU, which the ESP-IDF bootloader sets up for
//! the application's own segments, so the model region (`memory/esp32c3.x`: its flash offset
//! and length) is read with the ROM's SPI flash routines (esp-storage) into a static buffer of
//! the region's length, whole: the decoder then sees the same bytes as on the other boards.
//! The firmware polls UART0 while it waits for the host (no sleep).

use esp_hal::clock::CpuClock;
use esp_hal::peripherals::UART0;
use esp_hal::uart::{self, RxError, TxError, Uart};
use esp_hal::Blocking;
use esp_storage::FlashStorage;

use super::riscv_stack::paint_stack;
use super::uart_report::report_on_uart;
use super::{byte_receiver_io, Board, ByteReceiver, ExitStatus};
use crate::clock::{Clock, TickUnit};
use crate::idle::WaitForInput;
use crate::model_region::ModelRegion;

esp_bootloader_esp_idf::esp_app_desc!();

/// The board's name in reports.
pub const NAME: &str = "esp32c3";

/// The serial line's baud rate (the other boards').
const BAUD: u32 = 115_200;

// `MODEL_REGION_BYTES`: MODEL's LENGTH in `memory/esp32c3.x`, which build.rs reads.
include!(concat!(env!("OUT_DIR"), "/model_region_bytes.rs"));

/// The RAM copy of the model region, filled once by `init`.
static mut MODEL_COPY: [u8; MODEL_REGION_BYTES] = [0; MODEL_REGION_BYTES];

/// The model region's flash offset (`_model_start`, an absolute symbol in `memory/esp32c3.x`).
fn model_flash_offset() -> u32 {
    extern "C" {
        static _model_start: u8;
    }
    // SAFETY: only the symbol's value (its address) is taken.
    let offset = unsafe { core::ptr::from_ref(&_model_start) as usize };
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// The model region: the RAM copy `init` made of the flash partition, reported at its flash
/// offset.
pub fn model_region() -> ModelRegion {
    // SAFETY: `init` wrote the copy before `main` asks for the region, and nothing writes it
    // afterwards, so this shared reference stays valid and unchanged for 'static.
    let bytes: &'static [u8] = unsafe { &*core::ptr::addr_of!(MODEL_COPY) };
    ModelRegion::new(model_flash_offset(), bytes)
}

/// The clock: the C3's machine performance counter (`mpccr`, CSR 0x7E2) counting core
/// cycles, extended from 32 to 64 bits by counting its wraps (every 26.8 s at 160 MHz) at
/// each read, so a measurement is exact as long as reads are less than a wrap apart.
#[derive(Clone, Copy, Debug)]
pub struct CycleClock;

/// The cycle counter's last reading and the wraps seen, for [`CycleClock::now`].
static mut CYCLES_SEEN: (u32, u32) = (0, 0);

impl CycleClock {
    /// Starts counting: `mpcer` (0x7E0) selects clock cycles, `mpcmr` (0x7E1) enables the count
    /// (ESP32-C3 Technical Reference Manual, 1.6 "Performance Counter").
    fn start() -> Self {
        // SAFETY: writes the C3's performance-counter CSRs only.
        unsafe { core::arch::asm!("csrwi 0x7E0, 1", "csrwi 0x7E1, 1", options(nomem, nostack)) };
        CycleClock
    }
}

impl Clock for CycleClock {
    fn now(&self) -> u64 {
        let count: u32;
        // SAFETY: reads `mpccr`; touches no memory.
        unsafe { core::arch::asm!("csrr {}, 0x7E2", out(reg) count, options(nomem, nostack)) };
        // SAFETY: one core and no interrupt handler reads the clock, so this is the only access.
        let seen = unsafe { &mut *core::ptr::addr_of_mut!(CYCLES_SEEN) };
        if count < seen.0 {
            seen.1 = seen.1.wrapping_add(1);
        }
        seen.0 = count;
        u64::from(seen.1) << 32 | u64::from(count)
    }

    fn unit(&self) -> TickUnit {
        TickUnit::Cycles
    }

    fn resolution(&self) -> u32 {
        1
    }
}

/// What can go wrong on the serial line: esp-hal's errors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LineError {
    /// Receiving: FIFO overflow, glitch, framing or parity.
    Receive(RxError),
    /// Transmitting (esp-hal 1.2 reports none yet).
    Transmit(TxError),
}

impl embedded_io::Error for LineError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// The board's serial port: UART0 (8N1), with `embedded-io` 0.6's reads and writes.
pub struct Uart0 {
    uart: Uart<'static, Blocking>,
}

/// The serial port type of this board.
pub type Serial = Uart0;

impl ByteReceiver for Uart0 {
    type Error = LineError;

    fn try_read_byte(&mut self) -> Result<Option<u8>, LineError> {
        let mut byte = [0];
        match self.uart.read_buffered(&mut byte).map_err(LineError::Receive)? {
            0 => Ok(None),
            _ => Ok(Some(byte[0])),
        }
    }

    fn byte_waiting(&mut self) -> bool {
        self.uart.read_ready()
    }
}

byte_receiver_io!(Uart0, LineError);

impl WaitForInput for Uart0 {
    /// Returns at once: the C3 polls UART0 (no receive interrupt is set up).
    fn sleep_until_input(&mut self) {
        core::hint::spin_loop();
    }
}

impl embedded_io::Write for Uart0 {
    /// Waits for room in the transmit FIFO, then fills it with as much of `buf` as fits.
    fn write(&mut self, buf: &[u8]) -> Result<usize, LineError> {
        self.uart.write(buf).map_err(LineError::Transmit)
    }

    fn flush(&mut self) -> Result<(), LineError> {
        self.uart.flush().map_err(LineError::Transmit)
    }
}

/// Starts the chip (160 MHz), copies the model region from flash into RAM, and takes UART0
/// on GPIO21/GPIO20 and the cycle counter; `None` if UART0 cannot be configured or the flash
/// cannot be read.
pub fn init() -> Option<Board> {
    paint_stack();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    // SAFETY: `init` runs once, before anything reads the copy (`model_region`).
    let copy = unsafe { &mut *core::ptr::addr_of_mut!(MODEL_COPY) };
    FlashStorage::new(peripherals.FLASH)
        .read(model_flash_offset(), copy)
        .ok()?;
    let uart = Uart::new(peripherals.UART0, uart::Config::default().with_baudrate(BAUD))
        .ok()?
        .with_tx(peripherals.GPIO21)
        .with_rx(peripherals.GPIO20);
    Some(Board {
        serial: Uart0 { uart },
        clock: CycleClock::start(),
    })
}

/// Ends the program: a failure resets the chip, success parks the core.
pub fn exit(status: ExitStatus) -> ! {
    match status {
        ExitStatus::Failure => esp_hal::system::software_reset(),
        ExitStatus::Success => loop {
            // SAFETY: waits for an interrupt; touches no memory.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
        },
    }
}

/// UART0's transmit FIFO holds 128 bytes.
const TX_FIFO_BYTES: u16 = 128;

/// Prints a panic report (one line, without its line break) on UART0.
pub(crate) fn report_panic(report: &[u8]) {
    // The program is ending; nothing else uses UART0 any more.
    let uart = UART0::regs();
    report_on_uart(
        report,
        || uart.status().read().txfifo_cnt().bits() < TX_FIFO_BYTES,
        |byte| {
            // SAFETY: the FIFO register takes any 8-bit value.
            uart.fifo().write(|w| unsafe { w.rxfifo_rd_byte().bits(byte) });
        },
    );
}
