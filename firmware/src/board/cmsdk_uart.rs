//! Arm's CMSDK APB UART, the serial port of QEMU's MPS2 boards (QEMU's first `-serial` is
//! UART0): polled reads and writes, and a receive interrupt that only wakes the core.

use core::hint::spin_loop;
use core::ptr::{read_volatile, write_volatile};

use super::cortex_m::{sleep_until, Irq};
use super::{byte_receiver_io, ByteReceiver};
use crate::idle::WaitForInput;

/// The serial line's baud rate (QEMU ignores it; a real MPS2 FPGA would not).
const BAUD: u32 = 115_200;

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
/// CTRL: receive interrupt enable.
const CTRL_RX_INT_EN: u32 = 1 << 3;
/// INTSTATUS: the receive interrupt.
const INT_RX: u32 = 1 << 1;

/// What can go wrong on the UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// A received byte was lost because the previous one had not been read yet.
    RxOverrun,
}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// One CMSDK APB UART.
pub struct CmsdkUart {
    base: usize,
    rx_irq: Irq,
}

impl CmsdkUart {
    /// Configures the UART at `base` (8N1 at [`BAUD`] from a `clock_hz` peripheral clock,
    /// transmitter and receiver on) with its receive interrupt, line `rx_irq`, raised for
    /// every byte received; the interrupt stays masked except while [`WaitForInput`] sleeps.
    ///
    /// # Safety
    /// `base` must be a CMSDK APB UART's register block, used by nothing else.
    pub unsafe fn new(base: usize, rx_irq: u16, clock_hz: u32) -> Self {
        let mut uart = CmsdkUart {
            base,
            rx_irq: Irq(rx_irq),
        };
        uart.write_reg(CTRL, 0);
        uart.write_reg(BAUDDIV, clock_hz / BAUD);
        uart.write_reg(INTSTATUS, 0xF);
        uart.write_reg(STATE, STATE_RX_OVERRUN);
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s caller promised a UART register block, word-aligned MMIO.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn rx_full(&self) -> bool {
        self.read_reg(STATE) & STATE_RX_FULL != 0
    }

    fn tx_full(&self) -> bool {
        self.read_reg(STATE) & STATE_TX_FULL != 0
    }
}

impl ByteReceiver for CmsdkUart {
    type Error = UartError;

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

    fn byte_waiting(&mut self) -> bool {
        self.rx_full()
    }
}

byte_receiver_io!(CmsdkUart, UartError);

impl WaitForInput for CmsdkUart {
    fn sleep_until_input(&mut self) {
        // A byte that arrives after this clear raises the interrupt again, so it wakes the
        // core even if it lands between the check and the `wfi`.
        self.write_reg(INTSTATUS, INT_RX);
        sleep_until(self.rx_irq, || self.rx_full());
    }
}

impl embedded_io::Write for CmsdkUart {
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

impl embedded_io::WriteReady for CmsdkUart {
    fn write_ready(&mut self) -> Result<bool, UartError> {
        Ok(!self.tx_full())
    }
}
