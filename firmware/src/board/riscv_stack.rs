//! The RISC-V boards' stack paint: their runtimes (riscv-rt, esp-hal's) do not paint the stack.

use core::ptr::write_volatile;

use crate::memory::{STACK_PAINT, UNPAINTED_STACK};

/// Paints the stack below the current frame (what cortex-m-rt's `paint-stack` does at reset),
/// above its [`UNPAINTED_STACK`] bytes, so the memory report can find the stack's high-water
/// mark.
pub fn paint_stack() {
    extern "C" {
        static _stack_end: u8;
    }
    // SAFETY: only the symbol's address is taken.
    let bottom = unsafe { core::ptr::from_ref(&_stack_end) as usize } + UNPAINTED_STACK;
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
