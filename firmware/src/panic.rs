//! The panic handler: the board reports the panic (QEMU: on stderr through semihosting), then the
//! program ends with a failure status (QEMU exits with 1).
//!
//! The report is put together without `core::fmt`, which nothing else in the firmware uses
//! (errors reach the host as data): `firmware panicked at FILE:LINE:COLUMN: MESSAGE`, the
//! message only when it is a plain string literal (`panic!("...")`); a message with arguments
//! would need formatting and is left out. (`core`'s own bounds-check panics still name
//! `usize`'s `Display` in their arguments, so that one formatter stays linked.)

use core::panic::PanicInfo;

use crate::board::{self, ExitStatus};

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    let mut report = Report::new();
    report.push(b"firmware panicked");
    if let Some(at) = info.location() {
        report.push(b" at ");
        report.push(at.file().as_bytes());
        report.push(b":");
        report.push_decimal(at.line());
        report.push(b":");
        report.push_decimal(at.column());
    }
    if let Some(message) = info.message().as_str() {
        report.push(b": ");
        report.push(message.as_bytes());
    }
    board::report_panic(report.bytes());
    board::exit(ExitStatus::Failure)
}

/// A panic report built in a fixed buffer; what does not fit is cut off.
struct Report {
    buf: [u8; 256],
    len: usize,
}

impl Report {
    fn new() -> Self {
        Report {
            buf: [0; 256],
            len: 0,
        }
    }

    /// Appends `bytes`, as many as fit.
    fn push(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
    }

    /// Appends `n` in decimal.
    fn push_decimal(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
