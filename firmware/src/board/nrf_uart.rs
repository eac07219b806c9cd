//! The legacy (non-DMA) UART of Nordic's nRF51 and nRF52 parts, UART0 at 0x4000_2000: one
//! received byte in RXD, one byte to send in TXD, events for each, and an RXDRDY interrupt
//! that only wakes the core.

use core::hint::spin_loop;
use core::ptr::{read_volatile, write_volatile};

use super::cortex_m::{sleep_until, Irq};
use super::{byte_receiver_io, ByteReceiver};
use crate::idle::WaitForInput;

/// UART0's base address on the nRF51 and nRF52 series.
const UART0: usize = 0x4000_2000;
/// UART0's interrupt line on both series.
const UART0_IRQ: Irq = Irq(2);

const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const EVENTS_ERROR: usize = 0x124;
const INTENSET: usize = 0x304;
const ERRORSRC: usize = 0x480;
const ENABLE: usize = 0x500;
const PSELTXD: usize = 0x50C;
const PSELRXD: usize = 0x514;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;

/// ENABLE: the UART (rather than the UARTE) is on.
const ENABLE_UART: u32 = 4;
/// BAUDRATE: 115,200 baud.
const BAUD_115200: u32 = 0x01D7_E000;
/// INTENSET: RXDRDY.
const INT_RXDRDY: u32 = 1 << 2;

/// What can go wrong on the UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// A byte was lost or malformed (ERRORSRC: overrun, parity, framing or break).
    Line(u32),
}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// UART0, 8N1 at 115,200 baud, receiving and transmitting.
pub struct NrfUart {
    /// TXD was written and TXDRDY has not come yet.
    sending: bool,
}

fn read_reg(offset: usize) -> u32 {
    // SAFETY: UART0's registers are word-aligned MMIO on every nRF51/nRF52 part.
    unsafe { read_volatile((UART0 + offset) as *const u32) }
}

fn write_reg(offset: usize, value: u32) {
    // SAFETY: as in `read_reg`; only the `NrfUart` (one per program) writes them.
    unsafe { write_volatile((UART0 + offset) as *mut u32, value) }
}

impl NrfUart {
    /// Routes UART0 to pins `tx` and `rx` (GPIO numbers) and starts it, with its RXDRDY
    /// interrupt, which stays masked in the NVIC except while [`WaitForInput`] sleeps.
    ///
    /// # Safety
    /// Nothing else may use UART0; call once.
    pub unsafe fn new(tx: u32, rx: u32) -> Self {
        write_reg(PSELTXD, tx);
        write_reg(PSELRXD, rx);
        write_reg(BAUDRATE, BAUD_115200);
        write_reg(ENABLE, ENABLE_UART);
        write_reg(INTENSET, INT_RXDRDY);
        write_reg(EVENTS_RXDRDY, 0);
        write_reg(EVENTS_TXDRDY, 0);
        write_reg(TASKS_STARTRX, 1);
        write_reg(TASKS_STARTTX, 1);
        NrfUart { sending: false }
    }

    fn rx_ready(&self) -> bool {
        read_reg(EVENTS_RXDRDY) != 0
    }

    /// Waits for the previous byte to leave TXD.
    fn wait_sent(&mut self) {
        if self.sending {
            while read_reg(EVENTS_TXDRDY) == 0 {
                spin_loop();
            }
            write_reg(EVENTS_TXDRDY, 0);
            self.sending = false;
        }
    }
}

impl ByteReceiver for NrfUart {
    type Error = UartError;

    fn try_read_byte(&mut self) -> Result<Option<u8>, UartError> {
        if read_reg(EVENTS_ERROR) != 0 {
            write_reg(EVENTS_ERROR, 0);
            let source = read_reg(ERRORSRC);
            write_reg(ERRORSRC, source);
            return Err(UartError::Line(source));
        }
        if !self.rx_ready() {
            return Ok(None);
        }
        write_reg(EVENTS_RXDRDY, 0);
        Ok(Some(read_reg(RXD).to_le_bytes()[0]))
    }

    fn byte_waiting(&mut self) -> bool {
        self.rx_ready()
    }
}

byte_receiver_io!(NrfUart, UartError);

impl WaitForInput for NrfUart {
    /// RXDRDY stays set (and its interrupt raised) until the byte is taken.
    fn sleep_until_input(&mut self) {
        sleep_until(UART0_IRQ, || self.rx_ready());
    }
}

impl embedded_io::Write for NrfUart {
    /// Sends one byte (TXD holds one), after the previous one has left.
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let Some(&byte) = buf.first() else {
            return Ok(0);
        };
        self.wait_sent();
        write_reg(TXD, u32::from(byte));
        self.sending = true;
        Ok(1)
    }

    fn flush(&mut self) -> Result<(), UartError> {
        self.wait_sent();
        Ok(())
    }
}

/// Writes `bytes` to UART0 whoever owns it, for a panic report (the program is ending) on a
/// board without semihosting.
#[cfg(family = "nrf52")]
pub fn write_for_panic(bytes: &[u8]) {
    for &byte in bytes {
        write_reg(EVENTS_TXDRDY, 0);
        write_reg(TXD, u32::from(byte));
        let mut spins = 0u32;
        while read_reg(EVENTS_TXDRDY) == 0 && spins < 100_000 {
            spins += 1;
            spin_loop();
        }
    }
}
