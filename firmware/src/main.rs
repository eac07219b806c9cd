//! The firmware's entry point: takes the board, checks the clock, runs the application, and ends
//! with a status QEMU turns into its exit code.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use microdense_firmware::board::{self, ExitStatus};
use microdense_firmware::clock::Clock;
use microdense_firmware::echo::{self, Identity};
use microdense_firmware::memory::LinkedMemory;
use microdense_firmware::model_region;

/// Iterations of the two-instruction busy loop the clock is checked against at boot.
const CLOCK_CHECK_ITERATIONS: u32 = 500_000;

/// Runs `iterations` times a loop of exactly two instructions (`subs`, `bne`).
#[inline(always)]
fn busy_loop(iterations: u32) {
    // SAFETY: only decrements a scratch register; touches no memory and no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {0}, #1",
            "bne 2b",
            inout(reg) iterations.max(1) => _,
            options(nomem, nostack),
        );
    }
}

#[entry]
fn main() -> ! {
    let Some(mut board) = board::init() else {
        board::exit(ExitStatus::Failure)
    };
    let start = board.clock.now();
    busy_loop(CLOCK_CHECK_ITERATIONS);
    let check_ticks = board.clock.now().saturating_sub(start);
    let identity = Identity {
        board: board::NAME,
        model: model_region::linked(),
        check_instructions: 2 * CLOCK_CHECK_ITERATIONS,
        check_ticks,
    };
    let status = match echo::run(&mut board.serial, &board.clock, &LinkedMemory, &identity) {
        Ok(_) => ExitStatus::Success,
        Err(_) => ExitStatus::Failure,
    };
    board::exit(status)
}
