//! The panic handler: the board reports the panic (QEMU: on stderr through semihosting), then the
//! program ends with a failure status (QEMU exits with 1).

use core::panic::PanicInfo;

use crate::board::{self, ExitStatus};

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    board::report_panic(info);
    board::exit(ExitStatus::Failure)
}
