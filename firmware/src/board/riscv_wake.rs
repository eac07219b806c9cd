//! Sleeping on QEMU `virt`'s RISC-V hart: `wfi` until the UART's line (through the PLIC) or
//! the CLINT timer is pending. Interrupts only wake the core: `mstatus.MIE` stays clear, so
//! no handler ever runs, while `mie` lets both lines end a `wfi`.

use core::ptr::{read_volatile, write_volatile};

/// UART0's PLIC source.
const UART0_IRQ: usize = 10;
/// The PLIC: source priorities, hart 0's machine-mode enables, threshold and claim.
const PLIC_PRIORITY: usize = 0x0c00_0000;
const PLIC_ENABLE: usize = 0x0c00_2000;
const PLIC_THRESHOLD: usize = 0x0c20_0000;
const PLIC_CLAIM: usize = 0x0c20_0004;
/// The CLINT's hart 0 timer compare register and its free-running timer.
const MTIMECMP: usize = 0x0200_4000;
const MTIME: usize = 0x0200_bff8;
/// `mtime` ticks per second.
pub const MTIME_HZ: u64 = 10_000_000;
/// The longest sleep: the timer wakes the core twice a second, so time-outs still end.
const WAKE_INTERVAL: u64 = MTIME_HZ / 2;
/// `mie` bits: machine timer and machine external interrupts.
const MIE_MTIE: usize = 1 << 7;
const MIE_MEIE: usize = 1 << 11;

/// Reads a 32-bit device register.
fn read_reg(address: usize) -> u32 {
    // SAFETY: every caller passes one of the `virt` machine's documented device registers.
    unsafe { read_volatile(address as *const u32) }
}

/// Writes a 32-bit device register.
pub fn write_reg(address: usize, value: u32) {
    // SAFETY: as in `read_reg`.
    unsafe { write_volatile(address as *mut u32, value) }
}

/// The 64-bit `mtime`, read as two halves without tearing.
pub fn mtime() -> u64 {
    loop {
        let high = read_reg(MTIME + 4);
        let low = read_reg(MTIME);
        if read_reg(MTIME + 4) == high {
            return (u64::from(high) << 32) | u64::from(low);
        }
    }
}

/// Routes the UART's line to hart 0's machine context and lets it and the timer wake the
/// core (their claims are completed in [`sleep_until`]).
pub fn enable_wake_ups() {
    write_reg(PLIC_PRIORITY + 4 * UART0_IRQ, 1);
    write_reg(PLIC_ENABLE + 4 * (UART0_IRQ / 32), 1 << (UART0_IRQ % 32));
    write_reg(PLIC_THRESHOLD, 0);
    // SAFETY: sets `mie`'s timer and external bits; with `mstatus.MIE` clear no trap follows.
    unsafe { core::arch::asm!("csrs mie, {}", in(reg) MIE_MTIE | MIE_MEIE, options(nomem, nostack)) };
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
        wait_for_interrupt();
    }
}

/// `wfi`: with `mstatus.MIE` clear no interrupt is taken, a pending one only ends the wait.
pub fn wait_for_interrupt() {
    // SAFETY: waits for an interrupt; touches no memory.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
}
