//! QEMU's MPS2 boards (`-machine mps2-an385|mps2-an386|mps2-an500|mps2-an505`): a
//! [`CmsdkUart`] for the host link, SysTick counting instructions, semihosting for exit and
//! panic reports (they go to QEMU's stdout/stderr, never into the serial data). A board of
//! the family is one [`Part`] constant (and its `memory/<board>.x`).

use super::cmsdk_uart::CmsdkUart;
use super::cortex_m::{device_vectors, Vector};
use super::systick::{SysTickClock, TickScale};
use super::Board;
use crate::clock::TickUnit;

pub use super::semihosting::exit;
pub(crate) use super::semihosting::report_panic;

/// What tells one MPS2 board from another.
pub struct Part {
    /// The board's name in reports (QEMU's machine name).
    pub name: &'static str,
    /// The system clock SysTick and the UART run from.
    pub sysclk_hz: u32,
    /// UART0's base address, as the core (in its security state) sees it.
    pub uart0: usize,
    /// UART0's receive interrupt line.
    pub uart0_rx_irq: u16,
    /// The NVIC's device interrupt lines (QEMU's `num-irq`).
    pub irq_lines: usize,
}

/// AN385: Cortex-M3, no FPU.
#[cfg(feature = "mps2-an385")]
pub const PART: Part = Part {
    name: "mps2-an385",
    sysclk_hz: 25_000_000,
    uart0: 0x4000_4000,
    uart0_rx_irq: 0,
    irq_lines: 32,
};

/// AN386: Cortex-M4 with FPU.
#[cfg(feature = "mps2-an386")]
pub const PART: Part = Part {
    name: "mps2-an386",
    sysclk_hz: 25_000_000,
    uart0: 0x4000_4000,
    uart0_rx_irq: 0,
    irq_lines: 32,
};

/// AN500: Cortex-M7 with FPU.
#[cfg(feature = "mps2-an500")]
pub const PART: Part = Part {
    name: "mps2-an500",
    sysclk_hz: 25_000_000,
    uart0: 0x4000_4000,
    uart0_rx_irq: 0,
    irq_lines: 32,
};

/// AN505: Cortex-M33 with FPU (SSE-200). The firmware runs in the Secure state, so it
/// uses the Secure alias of UART0 (0x4020_0000 + bit 28).
#[cfg(feature = "mps2-an505")]
pub const PART: Part = Part {
    name: "mps2-an505",
    sysclk_hz: 20_000_000,
    uart0: 0x5020_0000,
    uart0_rx_irq: 32,
    // The SSE-200's 32 lines, then the board's 92 (QEMU's mps2-tz.c).
    irq_lines: 124,
};

/// The board's name in reports.
pub const NAME: &str = PART.name;

/// The device interrupt vectors: one per line of the part.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
static __INTERRUPTS: [Vector; PART.irq_lines] = device_vectors();

/// The serial port type of this board.
pub type Serial = CmsdkUart;

/// Takes the board's peripherals; `None` if they were taken before.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    // Under `-icount shift=0` QEMU's virtual clock advances one nanosecond per instruction,
    // so one SysTick tick is 1e9 / SYSCLK instructions (40 at 25 MHz).
    let instructions_per_tick = 1_000_000_000 / PART.sysclk_hz;
    Some(Board {
        // SAFETY: `Peripherals::take` succeeded, so this runs once: nothing else owns UART0.
        serial: unsafe { CmsdkUart::new(PART.uart0, PART.uart0_rx_irq, PART.sysclk_hz) },
        clock: SysTickClock::start(
            core.SYST,
            TickScale::whole(instructions_per_tick),
            TickUnit::Instructions,
        ),
    })
}
