//! The NS16550A UART of QEMU's RISC-V `virt` machine: byte-wide registers, no baud rate to set
//! (QEMU's character backend moves whole bytes). Its FIFOs stay off: enabling them empties
//! them, which would drop what the host sent before the firmware set the UART up, and QEMU
//! holds bytes back until the holding register is free. Receiving raises the board's external
//! interrupt line, which only wakes the core ([`sleep_until`]).

use core::hint::spin_loop;
use core::ptr::{read_volatile, write_volatile};

use super::riscv_wake::sleep_until;
use super::{byte_receiver_io, ByteReceiver};
use crate::idle::WaitForInput;

/// Receive buffer (read) / transmit holding register (write).
const RBR_THR: usize = 0;
/// Interrupt enable.
const IER: usize = 1;
/// Line control.
const LCR: usize = 3;
/// Line status.
const LSR: usize = 5;

const IER_RX_AVAILABLE: u8 = 1 << 0;
const LCR_8N1: u8 = 0b11;
const LSR_DATA_READY: u8 = 1 << 0;
const LSR_OVERRUN: u8 = 1 << 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// What can go wrong receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// A byte arrived before the last one was read: the stream lost data.
    RxOverrun,
}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// The UART at `base`.
pub struct Ns16550Uart {
    base: usize,
}

impl Ns16550Uart {
    /// Sets 8N1 and enables the receive interrupt.
    ///
    /// # Safety
    /// `base` is the UART's address, and nothing else uses the UART.
    pub unsafe fn new(base: usize) -> Self {
        let mut uart = Ns16550Uart { base };
        uart.write_reg(LCR, LCR_8N1);
        uart.write_reg(IER, IER_RX_AVAILABLE);
        uart
    }

    fn read_reg(&self, offset: usize) -> u8 {
        // SAFETY: `new`'s contract: a register of this UART.
        unsafe { read_volatile((self.base + offset) as *const u8) }
    }

    fn write_reg(&mut self, offset: usize, value: u8) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + offset) as *mut u8, value) }
    }

    fn rx_ready(&self) -> bool {
        self.read_reg(LSR) & LSR_DATA_READY != 0
    }

    fn tx_ready(&self) -> bool {
        self.read_reg(LSR) & LSR_THR_EMPTY != 0
    }
}

impl ByteReceiver for Ns16550Uart {
    type Error = UartError;

    fn try_read_byte(&mut self) -> Result<Option<u8>, UartError> {
        let status = self.read_reg(LSR);
        if status & LSR_OVERRUN != 0 {
            return Err(UartError::RxOverrun);
        }
        if status & LSR_DATA_READY == 0 {
            return Ok(None);
        }
        Ok(Some(self.read_reg(RBR_THR)))
    }

    fn byte_waiting(&mut self) -> bool {
        self.rx_ready()
    }
}

byte_receiver_io!(Ns16550Uart, UartError);

impl WaitForInput for Ns16550Uart {
    fn sleep_until_input(&mut self) {
        sleep_until(|| self.rx_ready());
    }
}

impl embedded_io::Write for Ns16550Uart {
    /// Waits for the transmitter, then writes one byte.
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let Some(&byte) = buf.first() else {
            return Ok(0);
        };
        while !self.tx_ready() {
            spin_loop();
        }
        self.write_reg(RBR_THR, byte);
        Ok(1)
    }

    fn flush(&mut self) -> Result<(), UartError> {
        while !self.tx_ready() {
            spin_loop();
        }
        Ok(())
    }
}
