//! Board support: the thin layer between the application and the hardware.
//!
//! Exactly one board is compiled in, chosen by a cargo feature (build.rs checks there is one
//! and links its `memory/<board>.x`). Each provides [`init`] returning a [`Board`] (a serial
//! port implementing `embedded-io` and [`WaitForInput`](crate::idle::WaitForInput), and a
//! [`BoardClock`]), [`exit`], [`NAME`] and the panic report. What a family of boards shares
//! lives in its own module (build.rs sets `cfg(family = …)`): `cmsdk_uart` and `mps2` for QEMU's MPS2 boards, `cortex_m` and
//! `systick` for every Cortex-M core, `ns16550_uart`, `riscv_wake` and `riscv_virt` for QEMU's RISC-V `virt`.

#[cfg(target_arch = "arm")]
mod cortex_m;
#[cfg(target_arch = "arm")]
mod systick;

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

#[cfg(family = "nrf52")]
mod nrf52840_dk;
#[cfg(family = "nrf52")]
use nrf52840_dk as active;
#[cfg(family = "nrf52")]
mod nrf_uart;

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

pub(crate) use active::report_panic;
pub use active::{exit, init, Serial, NAME};

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
