//! Board support: the thin layer between the application and the hardware.
//!
//! Exactly one board is compiled in, chosen by a cargo feature: `mps2-an386` (QEMU, default) or
//! `stm32f411`. Each provides [`init`] returning a [`Board`] (a serial port implementing
//! `embedded-io` and a [`SysTickClock`]), [`exit`], and the panic report.

mod systick;

pub use systick::SysTickClock;

#[cfg(all(feature = "mps2-an386", feature = "stm32f411"))]
compile_error!(
    "choose one board: features `mps2-an386` and `stm32f411` exclude each other (use --no-default-features)"
);
#[cfg(not(any(feature = "mps2-an386", feature = "stm32f411")))]
compile_error!("choose a board: enable feature `mps2-an386` or `stm32f411`");

#[cfg(feature = "mps2-an386")]
mod mps2_an386;
#[cfg(feature = "mps2-an386")]
use mps2_an386 as active;

#[cfg(all(feature = "stm32f411", not(feature = "mps2-an386")))]
mod stm32f411;
#[cfg(all(feature = "stm32f411", not(feature = "mps2-an386")))]
use stm32f411 as active;

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
    pub clock: SysTickClock,
}
