//! Board support: the thin layer between the application and the hardware.
//!
//! Exactly one board is compiled in, chosen by a cargo feature (build.rs checks there is one
//! and links its `memory/<board>.x`). Each provides [`init`] returning a [`Board`] (a serial
//! port implementing `embedded-io` and [`WaitForInput`](crate::idle::WaitForInput), and a
//! [`BoardClock`]), [`exit`], [`NAME`] and the panic report. What a family of boards shares
//! lives in its own module (build.rs sets `cfg(family = …)`): `cmsdk_uart` and `mps2` for QEMU's MPS2 boards, `semihosting` for them and the
//! micro:bit, `nrf_uart` for the nRF51 and nRF52 parts, `rp_pico` for the RP2040, `cortex_m` and
//! `systick` for every Cortex-M core, `ns16550_uart`, `riscv_wake` and `riscv_virt` for QEMU's RISC-V `virt`,
//! `riscv_stack` for both RISC-V boards, `esp32c3` for the ESP32-C3, `uart_report` for the real boards' panic reports. Each board
//! also provides [`model_region`]: the linked flash region, or on the ESP32-C3 the RAM copy
//! of its model partition.

#[cfg(target_arch = "arm")]
mod cortex_m;
#[cfg(target_arch = "arm")]
mod systick;

#[cfg(family = "esp32c3")]
pub use esp32c3::CycleClock as BoardClock;
#[cfg(family = "riscv_virt")]
pub use riscv_virt::MtimeClock as BoardClock;
/// The clock the board measures with: SysTick on Cortex-M, `minstret` on RISC-V.
#[cfg(target_arch = "arm")]
pub use systick::SysTickClock as BoardClock;

#[cfg(family = "mps2")]
mod cmsdk_uart;
#[cfg(family = "mps2")]
mod mps2;
#[cfg(family = "mps2")]
use mps2 as active;

#[cfg(any(family = "mps2", family = "nrf51"))]
mod semihosting;

#[cfg(family = "nrf52")]
mod nrf52840_dk;
#[cfg(family = "nrf52")]
use nrf52840_dk as active;
#[cfg(any(family = "nrf51", family = "nrf52"))]
mod nrf_uart;

#[cfg(family = "nrf51")]
mod microbit;
#[cfg(family = "nrf51")]
use microbit as active;

#[cfg(family = "rp2040")]
mod rp_pico;
#[cfg(family = "rp2040")]
use rp_pico as active;

#[cfg(family = "stm32f4")]
mod stm32f411;
#[cfg(family = "stm32f4")]
use stm32f411 as active;

#[cfg(family = "riscv_virt")]
mod ns16550_uart;
#[cfg(family = "riscv_virt")]
mod riscv_virt;
#[cfg(family = "riscv_virt")]
mod riscv_wake;
#[cfg(family = "riscv_virt")]
use riscv_virt as active;

#[cfg(family = "esp32c3")]
mod esp32c3;
#[cfg(family = "esp32c3")]
use esp32c3 as active;

#[cfg(any(family = "rp2040", family = "stm32f4", family = "esp32c3"))]
mod uart_report;

#[cfg(any(family = "riscv_virt", family = "esp32c3"))]
mod riscv_stack;

#[cfg(not(family = "esp32c3"))]
pub use crate::model_region::linked as model_region;
#[cfg(family = "esp32c3")]
pub use active::model_region;

#[cfg(not(family = "stm32f4"))]
use crate::idle::WaitForInput;
pub(crate) use active::report_panic;
pub use active::{exit, init, Serial, NAME};

/// A serial port that takes received bytes one at a time (the UART drivers).
#[cfg(not(family = "stm32f4"))]
pub(crate) trait ByteReceiver: WaitForInput {
    /// What can go wrong receiving.
    type Error;
    /// The received byte, if one is waiting; never blocks.
    fn try_read_byte(&mut self) -> Result<Option<u8>, Self::Error>;
    /// Whether a received byte is waiting.
    fn byte_waiting(&mut self) -> bool;
}

/// `embedded_io`'s `ErrorType` (the [`ByteReceiver`]'s error), `Read` (by [`read_waiting`])
/// and `ReadReady` (by [`ByteReceiver::byte_waiting`]) for a [`ByteReceiver`]: the same for
/// every UART driver.
#[cfg(not(family = "stm32f4"))]
macro_rules! byte_receiver_io {
    ($port:ty, $error:ty) => {
        impl embedded_io::ErrorType for $port {
            type Error = $error;
        }

        impl embedded_io::Read for $port {
            /// Waits for the first byte (asleep where the port can wake the core), then takes
            /// what else has arrived.
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, $error> {
                $crate::board::read_waiting(self, buf)
            }
        }

        impl embedded_io::ReadReady for $port {
            fn read_ready(&mut self) -> Result<bool, $error> {
                Ok($crate::board::ByteReceiver::byte_waiting(self))
            }
        }
    };
}
#[cfg(not(family = "stm32f4"))]
pub(crate) use byte_receiver_io;

/// `embedded_io::Read::read` of a [`ByteReceiver`]: waits (asleep) for the first byte, then
/// takes whatever else has already arrived.
#[cfg(not(family = "stm32f4"))]
pub(crate) fn read_waiting<R: ByteReceiver>(port: &mut R, buf: &mut [u8]) -> Result<usize, R::Error> {
    let mut slots = buf.iter_mut();
    let Some(first) = slots.next() else {
        return Ok(0);
    };
    *first = loop {
        if let Some(byte) = port.try_read_byte()? {
            break byte;
        }
        port.sleep_until_input();
    };
    let mut count = 1;
    for slot in slots {
        match port.try_read_byte()? {
            Some(byte) => *slot = byte,
            None => break,
        }
        count += 1;
    }
    Ok(count)
}

/// How the firmware ends (QEMU turns it into the process's exit status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything went as it should (QEMU exits with 0).
    Success,
    /// Something failed (QEMU exits with 1).
    Failure,
}

/// The peripherals the application uses.
pub struct Board {
    /// The serial port to the host.
    pub serial: Serial,
    /// The clock measurements are taken with.
    pub clock: BoardClock,
}
