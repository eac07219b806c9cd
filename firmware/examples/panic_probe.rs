//! Panics on purpose, so a test can check the panic handler: the message reaches QEMU's stderr
//! through semihosting and QEMU exits with status 1.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
// Links the firmware library: its panic handler and board support.
use microdense_firmware as _;

#[entry]
fn main() -> ! {
    panic!("deliberate panic from the panic_probe example")
}
