//! A Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz from the 12 MHz crystal): UART0 on GP0
//! (TX, pin 1) / GP1 (RX, pin 2) through rp2040-hal, SysTick counting cycles of the core
//! clock, and the second-stage bootloader for the Pico's W25Q16JV flash in `.boot2` (the
//! boot ROM copies it from the first 256 bytes of flash, and it maps the flash for execute in
//! place at 0x1000_0000). Built and linked by the tests, not run.
//!
//! rp2040-hal's ROM floating-point routines are left out (its `disable-intrinsics` feature):
//! they flush subnormals to zero, compiler-builtins' do not, so the outputs stay the host's.

use core::convert::Infallible;

use embedded_hal_nb::serial::Write as NbWrite;
use rp2040_hal::fugit::RateExtU32;
use rp2040_hal::gpio::{bank0, FunctionUart, Pin, PullDown};
use rp2040_hal::uart::{DataBits, ReadErrorType, StopBits, UartConfig, UartPeripheral};
use rp2040_hal::{clocks, pac, Clock as _, Sio, Watchdog};

use super::cortex_m::{sleep_until, Irq};
use super::systick::{SysTickClock, TickScale};
use super::uart_report::report_on_uart;
use super::{byte_receiver_io, Board, ByteReceiver};
use crate::clock::TickUnit;
use crate::idle::WaitForInput;

pub use super::cortex_m::reset_or_park as exit;

/// The board's name in reports.
pub const NAME: &str = "rp-pico";

/// The second-stage bootloader for the Pico's W25Q16JV flash (W25Q080-compatible commands),
/// which the layout (`memory/rp-pico.x`) places at the start of flash.
#[link_section = ".boot2"]
#[used]
static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XOSC_HZ: u32 = 12_000_000;
/// The serial line's baud rate (the other boards').
const BAUD: u32 = 115_200;
/// UART0's interrupt line (the datasheet's IRQ 20).
const UART0_IRQ: Irq = Irq(20);

/// GP0 and GP1 in their UART function.
type Uart0Pins = (
    Pin<bank0::Gpio0, FunctionUart, PullDown>,
    Pin<bank0::Gpio1, FunctionUart, PullDown>,
);

/// What can go wrong receiving: the PL011's error for a byte (overrun, break, parity, framing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineError(pub ReadErrorType);

impl embedded_io::Error for LineError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// The board's serial port: UART0 (8N1), with `embedded-io` 0.6's blocking reads and writes
/// (rp2040-hal implements 0.7's).
pub struct Uart0 {
    uart: UartPeripheral<rp2040_hal::uart::Enabled, pac::UART0, Uart0Pins>,
}

/// The serial port type of this board.
pub type Serial = Uart0;

impl ByteReceiver for Uart0 {
    type Error = LineError;

    fn try_read_byte(&mut self) -> Result<Option<u8>, LineError> {
        let mut byte = [0];
        match self.uart.read_raw(&mut byte) {
            Ok(_) => Ok(Some(byte[0])),
            Err(nb::Error::WouldBlock) => Ok(None),
            Err(nb::Error::Other(e)) => Err(LineError(e.err_type)),
        }
    }

    fn byte_waiting(&mut self) -> bool {
        self.uart.uart_is_readable()
    }
}

byte_receiver_io!(Uart0, LineError);

impl WaitForInput for Uart0 {
    /// The receive interrupt (FIFO level) and the receive time-out interrupt (a byte waiting
    /// for 32 bit periods), both enabled in `init`, stay raised until the FIFO is read.
    fn sleep_until_input(&mut self) {
        sleep_until(UART0_IRQ, || self.uart.uart_is_readable());
    }
}

impl embedded_io::Write for Uart0 {
    /// Waits for room in the transmit FIFO, then fills it with as much of `buf` as fits.
    fn write(&mut self, buf: &[u8]) -> Result<usize, LineError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let rest = nb::block!(self.uart.write_raw(buf)).unwrap_or_else(|e: Infallible| match e {});
        Ok(buf.len() - rest.len())
    }

    fn flush(&mut self) -> Result<(), LineError> {
        nb::block!(NbWrite::flush(&mut self.uart)).map_err(LineError)
    }
}

/// Takes the board's peripherals, starts the crystal and the PLLs (125 MHz), UART0 on GP0/GP1
/// and SysTick; `None` if the peripherals were taken before or a clock does not start.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    let mut device = pac::Peripherals::take()?;
    let mut watchdog = Watchdog::new(device.WATCHDOG);
    let clocks = clocks::init_clocks_and_plls(
        XOSC_HZ,
        device.XOSC,
        device.CLOCKS,
        device.PLL_SYS,
        device.PLL_USB,
        &mut device.RESETS,
        &mut watchdog,
    )
    .ok()?;
    let sio = Sio::new(device.SIO);
    let pins = rp2040_hal::gpio::Pins::new(
        device.IO_BANK0,
        device.PADS_BANK0,
        sio.gpio_bank0,
        &mut device.RESETS,
    );
    let mut uart = UartPeripheral::new(
        device.UART0,
        (pins.gpio0.into_function(), pins.gpio1.into_function()),
        &mut device.RESETS,
    )
    .enable(
        UartConfig::new(BAUD.Hz(), DataBits::Eight, None, StopBits::One),
        clocks.peripheral_clock.freq(),
    )
    .ok()?;
    uart.enable_rx_interrupt();
    Some(Board {
        serial: Uart0 { uart },
        clock: SysTickClock::start(core.SYST, TickScale::whole(1), TickUnit::Cycles),
    })
}

/// Prints a panic report (one line, without its line break) on UART0.
pub(crate) fn report_panic(report: &[u8]) {
    // SAFETY: the program is ending; nothing else uses UART0 any more.
    let uart = unsafe { &*pac::UART0::ptr() };
    report_on_uart(
        report,
        || uart.uartfr().read().txff().bit_is_clear(),
        // SAFETY: DATA takes any 8-bit value.
        |byte| uart.uartdr().write(|w| unsafe { w.data().bits(byte) }),
    );
}
