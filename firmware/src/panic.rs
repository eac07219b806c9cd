//! How the firmware reports that it stopped: the board writes a one-line report (QEMU: on
//! stderr through semihosting), then the program ends with a failure status (QEMU exits with 1).
//!
//! Two ways lead here. The panic handler serves builds whose panics call it (a stock `core`,
//! as rustup's prebuilt target has). scripts/firmware-build.sh builds `core` from source with
//! `-Cpanic=immediate-abort` instead, which drops every panic message and location from the
//! image (about 7 KB): a panic then executes a trap instruction (`udf`), and the HardFault
//! handler reports `firmware panicked (trap at pc 0x…)` with the address of that trap, which
//! `llvm-addr2line -e ELF 0x…` turns into the source line. Any other hard fault is reported
//! with its program counter too, so nothing ends in a silent loop.
//!
//! The report is put together without `core::fmt`, which nothing else in the firmware uses
//! (errors reach the host as data): `firmware panicked at FILE:LINE:COLUMN: MESSAGE`, the
//! message only when it is a plain string literal (`panic!("...")`); a message with arguments
//! would need formatting and is left out. (`core`'s own bounds-check panics still name
//! `usize`'s `Display` in their arguments, so that one formatter stays linked.)

use core::panic::PanicInfo;

use crate::board::{self, ExitStatus};

#[cfg(target_arch = "arm")]
mod fault {
    use cortex_m_rt::{exception, ExceptionFrame};

    use super::fault_report;
    use crate::board::{self, ExitStatus};

    /// Thumb's `udf #imm8` (permanently undefined): `0xdeXX`, what a panic compiles to under
    /// `panic=immediate-abort`.
    const UDF_MASK: u16 = 0xff00;
    const UDF: u16 = 0xde00;

    #[exception]
    unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
        let pc = frame.pc();
        // SAFETY: the stacked pc is the address of the faulting instruction, in flash.
        let instruction = unsafe { core::ptr::read_volatile((pc & !1) as *const u16) };
        let report = fault_report(instruction & UDF_MASK == UDF, pc);
        board::report_panic(report.bytes());
        board::exit(ExitStatus::Failure)
    }
}

/// The ESP32-C3's exceptions go to esp-hal's `ExceptionHandler`, which panics with the trap's
/// cause and address (its images keep the panic handler: scripts/firmware-build.sh builds them
/// without `-Cpanic=immediate-abort`).
#[cfg(family = "riscv_virt")]
mod fault {
    use super::fault_report;
    use crate::board::{self, ExitStatus};

    /// `unimp` (`csrrw x0, cycle, x0`) and its compressed form (all zeros): what a panic
    /// compiles to under `panic=immediate-abort`.
    const UNIMP: u32 = 0xc000_1073;
    const C_UNIMP: u16 = 0x0000;

    /// Every exception lands here (riscv-rt's `ExceptionHandler`); interrupts never trap.
    #[export_name = "ExceptionHandler"]
    fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
        let pc: usize;
        // SAFETY: reads the trap's program counter; touches no memory.
        unsafe { core::arch::asm!("csrr {}, mepc", out(reg) pc, options(nomem, nostack)) };
        // SAFETY: mepc is the address of the trapping instruction, in flash; 16-bit reads
        // stay inside it whether it is compressed or not.
        let (low, high) = unsafe {
            (
                core::ptr::read_volatile(pc as *const u16),
                core::ptr::read_volatile((pc + 2) as *const u16),
            )
        };
        let trapped = low == C_UNIMP || (u32::from(high) << 16 | u32::from(low)) == UNIMP;
        let report = fault_report(trapped, pc as u32);
        board::report_panic(report.bytes());
        board::exit(ExitStatus::Failure)
    }
}

/// The report of a fault at `pc`: a panic's trap instruction, or any other fault.
#[cfg(not(family = "esp32c3"))]
fn fault_report(panic_trap: bool, pc: u32) -> Report {
    let mut report = Report::new();
    if panic_trap {
        report.push(b"firmware panicked (trap at pc ");
    } else {
        report.push(b"firmware hard fault (at pc ");
    }
    report.push_hex(pc);
    report.push(b")");
    report
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    #[cfg(target_arch = "arm")]
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

    /// Appends `n` as `0x` and eight hexadecimal digits.
    #[cfg(not(family = "esp32c3"))]
    fn push_hex(&mut self, n: u32) {
        let mut digits = *b"0x00000000";
        for (i, d) in digits[2..].iter_mut().enumerate() {
            let nibble = (n >> (28 - 4 * i)) & 0xf;
            *d = b"0123456789abcdef"[nibble as usize];
        }
        self.push(&digits);
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
