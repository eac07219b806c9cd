//! QEMU's `microbit` machine (`qemu-system-arm -machine microbit`): the BBC micro:bit's
//! nRF51822, a Cortex-M0 (no FPU: float32 in software) with 256 KiB of flash and 16 KiB of
//! RAM. UART0 ([`NrfUart`], the nRF51's legacy UART, on the micro:bit's interface-chip pins
//! P0.24/P0.25) for the host link, SysTick counting instructions, semihosting for exit and
//! panic reports. Its buffers are the 16 KiB sizes of `app/buffers.rs` (feature `ram-16k`).

use super::nrf_uart::NrfUart;
use super::systick::{SysTickClock, TickScale};
use super::Board;
use crate::clock::TickUnit;

pub use super::semihosting::exit;
pub(crate) use super::semihosting::report_panic;

/// The board's name in reports (QEMU's machine name).
pub const NAME: &str = "microbit";

/// The serial port type of this board.
pub type Serial = NrfUart;

/// The micro:bit's UART pins (GPIO numbers), wired to its interface chip's USB serial port.
const TX_PIN: u32 = 24;
const RX_PIN: u32 = 25;

/// Under `-icount shift=0` QEMU's virtual clock advances one nanosecond per instruction and
/// SysTick runs at the nRF51's 16 MHz, so one SysTick tick is 62.5 instructions.
const INSTRUCTIONS_PER_TICK: TickScale = TickScale {
    numerator: 125,
    shift: 1,
};

/// Takes the board's peripherals; `None` if they were taken before.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    Some(Board {
        // SAFETY: `Peripherals::take` succeeded, so this runs once: nothing else owns UART0.
        serial: unsafe { NrfUart::new(TX_PIN, RX_PIN) },
        clock: SysTickClock::start(core.SYST, INSTRUCTIONS_PER_TICK, TickUnit::Instructions),
    })
}
