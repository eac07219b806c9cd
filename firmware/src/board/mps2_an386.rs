//! QEMU's MPS2 AN386 board (Cortex-M4 with FPU): CMSDK APB UART0 for the host link, SysTick for
//! counting, semihosting for exit and panic reports (they go to QEMU's stdout/stderr, never into
//! the serial data).

use core::hint::spin_loop;
use core::ptr::{read_volatile, write_volatile};

use cortex_m_semihosting::{debug, hio};

use super::{Board, ExitStatus, SysTickClock};
use crate::clock::TickUnit;

/// The board's name in reports.
pub const NAME: &str = "mps2-an386";

/// The board's system clock (QEMU's MPS2 SYSCLK), which SysTick and the UART run from.
const SYSCLK_HZ: u32 = 25_000_000;
/// Under `-icount shift=0` QEMU's virtual clock advances one nanosecond per instruction, so one
/// tick of the 25 MHz SysTick is 40 instructions.
const INSTRUCTIONS_PER_TICK: u32 = 1_000_000_000 / SYSCLK_HZ;
/// The serial line's baud rate (QEMU ignores it; a real MPS2 FPGA would not).
const BAUD: u32 = 115_200;

/// UART0's base address.
const UART0_BASE: usize = 0x4000_4000;
/// Data register: reading takes the received byte, writing sends one.
const DATA: usize = 0x000;
/// Status register.
const STATE: usize = 0x004;
/// Control register.
const CTRL: usize = 0x008;
/// Interrupt status (write 1 to clear).
const INTSTATUS: usize = 0x00C;
/// Baud rate divider (at least 16).
const BAUDDIV: usize = 0x010;

/// STATE: the transmit buffer is full.
const STATE_TX_FULL: u32 = 1 << 0;
/// STATE: a received byte waits in DATA.
const STATE_RX_FULL: u32 = 1 << 1;
/// STATE: a byte arrived while DATA was still full (write 1 to clear).
const STATE_RX_OVERRUN: u32 = 1 << 3;
/// CTRL: transmitter enable.
const CTRL_TX_EN: u32 = 1 << 0;
/// CTRL: receiver enable.
const CTRL_RX_EN: u32 = 1 << 1;

/// What can go wrong on the UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// A received byte was lost because the previous one had not been read yet.
    RxOverrun,
}

impl core::fmt::Display for UartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UartError::RxOverrun => write!(f, "UART0 receive overrun: a byte was lost"),
        }
    }
}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// The board's serial port: CMSDK APB UART0 (QEMU's first `-serial`).
pub struct Uart0 {
    _owned: (),
}

/// The serial port type of this board.
pub type Serial = Uart0;

impl Uart0 {
    /// Configures UART0 (8N1 at [`BAUD`], transmitter and receiver on, interrupts off).
    fn new() -> Self {
        let mut uart = Uart0 { _owned: () };
        uart.write_reg(CTRL, 0);
        uart.write_reg(BAUDDIV, SYSCLK_HZ / BAUD);
        uart.write_reg(INTSTATUS, 0xF);
        uart.write_reg(STATE, STATE_RX_OVERRUN);
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: UART0's registers are word-aligned MMIO on this board, owned by this value.
        unsafe { read_volatile((UART0_BASE + offset) as *const u32) }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((UART0_BASE + offset) as *mut u32, value) }
    }

    /// The received byte, if one is waiting; never blocks.
    fn try_read_byte(&mut self) -> Result<Option<u8>, UartError> {
        let state = self.read_reg(STATE);
        if state & STATE_RX_OVERRUN != 0 {
            self.write_reg(STATE, STATE_RX_OVERRUN);
            return Err(UartError::RxOverrun);
        }
        if state & STATE_RX_FULL == 0 {
            return Ok(None);
        }
        Ok(Some(self.read_reg(DATA).to_le_bytes()[0]))
    }

    fn tx_full(&self) -> bool {
        self.read_reg(STATE) & STATE_TX_FULL != 0
    }
}

impl embedded_io::ErrorType for Uart0 {
    type Error = UartError;
}

impl embedded_io::Read for Uart0 {
    /// Waits for the first byte, then takes whatever else has already arrived.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        let mut slots = buf.iter_mut();
        let Some(first) = slots.next() else {
            return Ok(0);
        };
        *first = loop {
            if let Some(byte) = self.try_read_byte()? {
                break byte;
            }
            spin_loop();
        };
        let mut count = 1;
        for slot in slots {
            match self.try_read_byte()? {
                Some(byte) => *slot = byte,
                None => break,
            }
            count += 1;
        }
        Ok(count)
    }
}

impl embedded_io::ReadReady for Uart0 {
    fn read_ready(&mut self) -> Result<bool, UartError> {
        Ok(self.read_reg(STATE) & STATE_RX_FULL != 0)
    }
}

impl embedded_io::Write for Uart0 {
    /// Waits until the transmitter takes the first byte, then sends as many more as it takes
    /// without waiting.
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let mut bytes = buf.iter();
        let Some(&first) = bytes.next() else {
            return Ok(0);
        };
        while self.tx_full() {
            spin_loop();
        }
        self.write_reg(DATA, u32::from(first));
        let mut count = 1;
        for &byte in bytes {
            if self.tx_full() {
                break;
            }
            self.write_reg(DATA, u32::from(byte));
            count += 1;
        }
        Ok(count)
    }

    fn flush(&mut self) -> Result<(), UartError> {
        while self.tx_full() {
            spin_loop();
        }
        Ok(())
    }
}

impl embedded_io::WriteReady for Uart0 {
    fn write_ready(&mut self) -> Result<bool, UartError> {
        Ok(!self.tx_full())
    }
}

/// Takes the board's peripherals; `None` if they were taken before.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    Some(Board {
        serial: Uart0::new(),
        clock: SysTickClock::start(core.SYST, INSTRUCTIONS_PER_TICK, TickUnit::Instructions),
    })
}

/// Ends the program: QEMU exits with status 0 for success, 1 for failure.
pub fn exit(status: ExitStatus) -> ! {
    debug::exit(match status {
        ExitStatus::Success => debug::EXIT_SUCCESS,
        ExitStatus::Failure => debug::EXIT_FAILURE,
    });
    // Only reached without a semihosting host (no debugger attached): stop here.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Prints a panic report (one line, without its newline) on QEMU's stderr (semihosting), apart
/// from the serial data.
pub(crate) fn report_panic(report: &[u8]) {
    if let Ok(mut stderr) = hio::hstderr() {
        // Nothing more can be done if the report itself fails.
        let _ = stderr.write_all(report);
        let _ = stderr.write_all(b"\n");
    }
}
