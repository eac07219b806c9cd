//! Runs core's kernel conformance suite against the portable kernel as the Cortex-M4F runs
//! it (its `vfma.f32` assembly blocks), and the int8 kernel's (`quant::conformance`, the
//! same 2,000 cases as the host's), and exits with success, or with failure on the first
//! case either gets wrong. Run by `tests/tests/device_kernel.rs` under QEMU.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use microdense_core::kernel::conformance::conformance;
use microdense_core::Portable;
use microdense_firmware::board::{self, ExitStatus};

#[entry]
fn main() -> ! {
    let int8 = microdense_core::quant::conformance::conformance(1, 2000);
    match (conformance(&Portable), int8) {
        (Ok(()), Ok(())) => board::exit(ExitStatus::Success),
        _ => board::exit(ExitStatus::Failure),
    }
}
