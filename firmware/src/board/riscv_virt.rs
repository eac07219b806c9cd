//! QEMU's RISC-V `virt` machine with one rv32imac hart (`qemu-system-riscv32 -machine virt
//! -cpu rv32 -bios none`), the stand-in for ESP32-C3-class parts: an [`Ns16550Uart`] for the
//! host link (sleeping as `riscv_wake` says), the CLINT's `mtime` as the clock, semihosting
//! for panic reports (QEMU's stderr, never the serial data) and the SiFive test device for the
//! exit status.

use super::ns16550_uart::Ns16550Uart;
use super::riscv_stack::paint_stack;
use super::riscv_wake::{enable_wake_ups, mtime, wait_for_interrupt, write_reg, MTIME_HZ};
use super::{Board, ExitStatus};
use crate::clock::{Clock, TickUnit};

/// The board's name in reports.
pub const NAME: &str = "riscv32-virt";

/// The serial port type of this board.
pub type Serial = Ns16550Uart;

/// UART0 (NS16550A).
const UART0: usize = 0x1000_0000;
/// QEMU's `sifive_test` device: a write ends QEMU with a status.
const TEST_DEVICE: usize = 0x0010_0000;
const TEST_PASS: u32 = 0x5555;
const TEST_FAIL: u32 = 0x3333;

/// The clock: the CLINT's `mtime`. Under `-icount shift=0` QEMU's virtual clock advances one
/// nanosecond per instruction, so one 10 MHz tick is 100 instructions.
#[derive(Clone, Copy, Debug)]
pub struct MtimeClock;

/// Instructions per `mtime` tick under `-icount shift=0`.
const INSTRUCTIONS_PER_TICK: u32 = (1_000_000_000 / MTIME_HZ) as u32;

impl Clock for MtimeClock {
    fn now(&self) -> u64 {
        mtime() * u64::from(INSTRUCTIONS_PER_TICK)
    }

    fn unit(&self) -> TickUnit {
        TickUnit::Instructions
    }

    fn resolution(&self) -> u32 {
        INSTRUCTIONS_PER_TICK
    }
}

/// Takes the board's peripherals: called once, from `main`.
pub fn init() -> Option<Board> {
    paint_stack();
    enable_wake_ups();
    Some(Board {
        // SAFETY: `init` runs once, so nothing else owns UART0.
        serial: unsafe { Ns16550Uart::new(UART0) },
        clock: MtimeClock,
    })
}

/// Ends the program: QEMU exits with status 0 for success, 1 for failure.
pub fn exit(status: ExitStatus) -> ! {
    write_reg(
        TEST_DEVICE,
        match status {
            ExitStatus::Success => TEST_PASS,
            ExitStatus::Failure => (1 << 16) | TEST_FAIL,
        },
    );
    loop {
        wait_for_interrupt();
    }
}

/// Semihosting's SYS_WRITE0: writes a NUL-terminated string to QEMU's stderr.
const SYS_WRITE0: usize = 0x04;

/// Prints a panic report (one line, without its newline) on QEMU's stderr (semihosting), apart
/// from the serial data.
pub(crate) fn report_panic(report: &[u8]) {
    let mut line = [0u8; 260];
    let len = report.len().min(line.len() - 2);
    line[..len].copy_from_slice(&report[..len]);
    line[len] = b'\n';
    // SAFETY: RISC-V's semihosting call: this exact uncompressed three-instruction sequence,
    // with the operation in a0 and a pointer to the NUL-terminated string in a1; QEMU
    // (`-semihosting-config enable=on`) only reads the string.
    unsafe {
        core::arch::asm!(
            ".option push",
            ".option norvc",
            ".balign 16",
            "slli zero, zero, 0x1f",
            "ebreak",
            "srai zero, zero, 0x7",
            ".option pop",
            inout("a0") SYS_WRITE0 => _,
            in("a1") line.as_ptr(),
            options(nostack, readonly),
        );
    }
}
