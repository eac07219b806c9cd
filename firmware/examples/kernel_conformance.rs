//! Runs core's kernel conformance suite against the portable kernel as the Cortex-M4F runs
//! it (its `vfma.f32` assembly blocks), and the int8 one (`quant::conformance`, 2,000 cases)
//! against the board's native int8 kernel (the DSP extension's `SXTB16`/`SMLAD` kernel on
//! the Cortex-M4F and M7, checked against the reference and the portable int8 kernel), and
//! exits with success, or with failure on the first case either gets wrong. Run by
//! `tests/tests/device_kernel.rs` under QEMU.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use microdense_core::kernel::conformance::conformance;
use microdense_core::quant::kernel::Native;
use microdense_core::Portable;
use microdense_firmware::board::{self, ExitStatus};

#[entry]
fn main() -> ! {
    let int8 = microdense_core::quant::conformance::conformance(&Native, 1, 2000);
    match (conformance(&Portable), int8) {
        (Ok(()), Ok(())) => board::exit(ExitStatus::Success),
        _ => board::exit(ExitStatus::Failure),
    }
}
