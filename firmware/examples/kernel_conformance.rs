//! Runs core's kernel conformance suite against the portable kernel as the Cortex-M4F runs
//! it (its `vfma.f32` assembly blocks) and exits with success, or with failure on the first
//! case it gets wrong. Run by `tests/tests/device_kernel.rs` under QEMU.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use microdense_core::kernel::conformance::conformance;
use microdense_core::Portable;
use microdense_firmware::board::{self, ExitStatus};

#[entry]
fn main() -> ! {
    match conformance(&Portable) {
        Ok(()) => board::exit(ExitStatus::Success),
        Err(_) => board::exit(ExitStatus::Failure),
    }
}
