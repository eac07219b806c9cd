//! Nordic's nRF52840 DK (PCA10056, Cortex-M4F): UART0 on P0.06 (TX) / P0.08 (RX), the on-board
//! interface MCU's virtual COM port; the crystal oscillator (HFXO) started for an exact baud
//! rate; SysTick counting cycles of the 64 MHz core clock. Built and linked by the tests, not
//! run.

use core::ptr::{read_volatile, write_volatile};

use super::cortex_m::{device_vectors, Vector};
use super::nrf_uart::{write_for_panic, NrfUart};
use super::systick::{SysTickClock, TickScale};
use super::Board;
use crate::clock::TickUnit;

pub use super::cortex_m::reset_or_park as exit;

/// The board's name in reports.
pub const NAME: &str = "nrf52840-dk";

/// The serial port type of this board.
pub type Serial = NrfUart;

/// The device interrupt vectors: the nRF52840's 48 peripheral IDs.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
static __INTERRUPTS: [Vector; 48] = device_vectors();

/// The CLOCK peripheral's TASKS_HFCLKSTART register.
const HFCLKSTART: usize = 0x4000_0000;
/// The CLOCK peripheral's EVENTS_HFCLKSTARTED register.
const HFCLKSTARTED: usize = 0x4000_0100;
/// The DK's UART pins (GPIO numbers on port 0).
const TX_PIN: u32 = 6;
const RX_PIN: u32 = 8;

/// Takes the board's peripherals, starts the crystal, UART0 and SysTick; `None` if the
/// peripherals were taken before.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    // SAFETY: the CLOCK peripheral's documented registers; nothing else uses them.
    unsafe {
        write_volatile(HFCLKSTART as *mut u32, 1);
        while read_volatile(HFCLKSTARTED as *const u32) == 0 {}
    }
    Some(Board {
        // SAFETY: `Peripherals::take` succeeded, so this runs once.
        serial: unsafe { NrfUart::new(TX_PIN, RX_PIN) },
        clock: SysTickClock::start(core.SYST, TickScale::whole(1), TickUnit::Cycles),
    })
}

/// Prints a panic report (one line, without its line break) on UART0.
pub(crate) fn report_panic(report: &[u8]) {
    write_for_panic(b"\r\n");
    write_for_panic(report);
    write_for_panic(b"\r\n");
}
