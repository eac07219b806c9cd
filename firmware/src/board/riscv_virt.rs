//! QEMU's RISC-V `virt` machine with one rv32imac hart (`qemu-system-riscv32 -machine virt
//! -cpu rv32 -bios none`), the stand-in for ESP32-C3-class parts: an [`Ns16550Uart`] for the
//! host link, the CLINT's `mtime` as the clock, semihosting for panic reports (QEMU's
//! stderr, never the serial data) and the SiFive test device for the exit status.
//!
//! Interrupts only wake the core: `mstatus.MIE` stays clear, so no handler ever runs, while
//! `mie` lets the UART's line (through the PLIC) and the timer end a `wfi`.

use core::ptr::{read_volatile, write_volatile};

use super::ns16550_uart::Ns16550Uart;
use super::{Board, ExitStatus};
use crate::clock::{Clock, TickUnit};
use crate::memory::STACK_PAINT;

/// The board's name in reports.
pub const NAME: &str = "riscv32-virt";

/// The serial port type of this board.
pub type Serial = Ns16550Uart;

/// UART0 (NS16550A).
const UART0: usize = 0x1000_0000;
/// UART0's PLIC source.
const UART0_IRQ: usize = 10;
/// The PLIC: source priorities, hart 0's machine-mode enables, threshold and claim.
const PLIC_PRIORITY: usize = 0x0c00_0000;
const PLIC_ENABLE: usize = 0x0c00_2000;
const PLIC_THRESHOLD: usize = 0x0c20_0000;
const PLIC_CLAIM: usize = 0x0c20_0004;
/// The CLINT's hart 0 timer compare register and its free-running timer (10 MHz).
const MTIMECMP: usize = 0x0200_4000;
const MTIME: usize = 0x0200_bff8;
/// QEMU's `sifive_test` device: a write ends QEMU with a status.
const TEST_DEVICE: usize = 0x0010_0000;
const TEST_PASS: u32 = 0x5555;
const TEST_FAIL: u32 = 0x3333;
/// `mtime` ticks per second.
const MTIME_HZ: u64 = 10_000_000;
/// The longest sleep: the timer wakes the core twice a second, so time-outs still end.
const WAKE_INTERVAL: u64 = MTIME_HZ / 2;
/// `mie` bits: machine timer and machine external interrupts.
const MIE_MTIE: usize = 1 << 7;
const MIE_MEIE: usize = 1 << 11;

/// Reads a 32-bit device register.
fn read_reg(address: usize) -> u32 {
    // SAFETY: every caller passes one of this board's documented device registers.
    unsafe { read_volatile(address as *const u32) }
}

/// Writes a 32-bit device register.
fn write_reg(address: usize, value: u32) {
    // SAFETY: as in `read_reg`.
    unsafe { write_volatile(address as *mut u32, value) }
}

/// The 64-bit `mtime`, read as two halves without tearing.
fn mtime() -> u64 {
    loop {
        let high = read_reg(MTIME + 4);
        let low = read_reg(MTIME);
        if read_reg(MTIME + 4) == high {
            return (u64::from(high) << 32) | u64::from(low);
        }
    }
}

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

/// Paints the stack below the current frame (what cortex-m-rt's `paint-stack` does at reset),
/// so the memory report can find the stack's high-water mark.
fn paint_stack() {
    extern "C" {
        static _stack_end: u8;
    }
    // SAFETY: only the symbol's address is taken.
    let bottom = unsafe { core::ptr::from_ref(&_stack_end) as usize };
    let sp: usize;
    // SAFETY: reads the stack pointer; touches no memory.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    // Leave a margin below the live frame for this function's own calls.
    let top = (sp - 256) & !3;
    let mut address = bottom;
    while address < top {
        // SAFETY: [bottom, top) lies in the stack region below every live frame: unused RAM.
        unsafe { write_volatile(address as *mut u32, STACK_PAINT) };
        address += 4;
    }
}

/// Takes the board's peripherals: called once, from `main`.
pub fn init() -> Option<Board> {
    paint_stack();
    // The UART's line reaches hart 0's machine context; its claims are completed in `sleep_until`.
    write_reg(PLIC_PRIORITY + 4 * UART0_IRQ, 1);
    write_reg(PLIC_ENABLE + 4 * (UART0_IRQ / 32), 1 << (UART0_IRQ % 32));
    write_reg(PLIC_THRESHOLD, 0);
    // SAFETY: sets `mie`'s timer and external bits; with `mstatus.MIE` clear no trap follows.
    unsafe { core::arch::asm!("csrs mie, {}", in(reg) MIE_MTIE | MIE_MEIE, options(nomem, nostack)) };
    Some(Board {
        // SAFETY: `init` runs once, so nothing else owns UART0.
        serial: unsafe { Ns16550Uart::new(UART0) },
        clock: MtimeClock,
    })
}

/// Sets the timer to wake the core `WAKE_INTERVAL` from now (which also clears a pending one).
fn arm_wake_timer() {
    let at = mtime() + WAKE_INTERVAL;
    // High word first at its maximum, so the compare never passes half-written.
    write_reg(MTIMECMP + 4, u32::MAX);
    write_reg(MTIMECMP, at as u32);
    write_reg(MTIMECMP + 4, (at >> 32) as u32);
}

/// Sleeps until the UART's line or the timer is pending, unless `ready()` says there is no
/// need. The PLIC forwards a line once until its claim is completed: completing first re-arms
/// it, and a line still asserted is pending again at once, so no wake-up is lost.
pub fn sleep_until(ready: impl FnOnce() -> bool) {
    let claimed = read_reg(PLIC_CLAIM);
    if claimed != 0 {
        write_reg(PLIC_CLAIM, claimed);
    }
    arm_wake_timer();
    if !ready() {
        // SAFETY: waits for an interrupt; with `mstatus.MIE` clear none is taken.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
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
        // SAFETY: as in `sleep_until`.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
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
