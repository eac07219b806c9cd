//! Ending the program and reporting panics through semihosting, on the QEMU boards whose
//! machine has no exit device of its own (the MPS2 boards, the micro:bit): the exit status
//! becomes QEMU's, the report goes to QEMU's stderr, never into the serial data.

use cortex_m_semihosting::{debug, hio};

use super::ExitStatus;

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
