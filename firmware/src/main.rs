//! The firmware's entry point: takes the board, checks the clock, and serves the host over
//! the serial line (`app`) until the port fails, which ends the program with a failure
//! status (QEMU's exit code).
#![no_std]
#![no_main]

#[cfg(target_arch = "arm")]
use cortex_m_rt::entry;
#[cfg(family = "esp32c3")]
use esp_hal::main as entry;
use microdense_firmware::app::{self, Buffers, Identity, Loaded};
use microdense_firmware::board::{self, ExitStatus};
use microdense_firmware::clock::Clock;
use microdense_firmware::memory::LinkedMemory;
#[cfg(family = "riscv_virt")]
use riscv_rt::entry;

/// Iterations of the two-instruction busy loop the clock is checked against at boot.
const CLOCK_CHECK_ITERATIONS: u32 = 500_000;

/// The server's buffers: static, so the linker proves they fit the RAM.
static mut BUFFERS: Buffers = Buffers::new();

/// The model, validated at boot: static like the buffers.
static mut MODEL: Loaded = Loaded::None;

/// Runs `iterations` times a loop of exactly two instructions (`subs`, `bne` on Arm; `addi`,
/// `bnez` on RISC-V).
#[inline(always)]
fn busy_loop(iterations: u32) {
    // SAFETY: only decrements a scratch register; touches no memory and no stack.
    unsafe {
        #[cfg(target_arch = "arm")]
        core::arch::asm!(
            "2:",
            "subs {0}, #1",
            "bne 2b",
            inout(reg) iterations.max(1) => _,
            options(nomem, nostack),
        );
        #[cfg(target_arch = "riscv32")]
        core::arch::asm!(
            "2:",
            "addi {0}, {0}, -1",
            "bnez {0}, 2b",
            inout(reg) iterations.max(1) => _,
            options(nomem, nostack),
        );
    }
}

/// Makes the FPU compute with subnormal floats as IEEE 754 defines them: clears the
/// flush-to-zero bit (24) of FPSCR, and of FPDSCR (0xE000_EF3C), the value FPSCR takes in
/// exception handlers. Reset clears both already; setting them here states the contract
/// the host relies on for bit-identical inference (its `evaluate` and `predict` never
/// flush; only its training does).
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
fn ieee_subnormals() {
    const FZ: u32 = 1 << 24;
    const FPDSCR: *mut u32 = 0xE000_EF3C as *mut u32;
    // SAFETY: reads FPSCR and writes it back with only FZ cleared; touches no memory.
    unsafe {
        core::arch::asm!(
            "vmrs {t}, fpscr",
            "bic {t}, {t}, #0x1000000",
            "vmsr fpscr, {t}",
            t = out(reg) _,
            options(nomem, nostack),
        );
    }
    // SAFETY: FPDSCR is the FPU's architectural default-state register on every
    // Cortex-M with an FPU; clearing FZ leaves its other fields as they were.
    unsafe { FPDSCR.write_volatile(FPDSCR.read_volatile() & !FZ) };
}

#[entry]
fn main() -> ! {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    ieee_subnormals();
    let Some(mut board) = board::init() else {
        board::exit(ExitStatus::Failure)
    };
    let start = board.clock.now();
    busy_loop(CLOCK_CHECK_ITERATIONS);
    let check_ticks = board.clock.now().saturating_sub(start);
    let identity = Identity {
        board: board::NAME,
        model: board::model_region(),
        check_instructions: 2 * CLOCK_CHECK_ITERATIONS,
        check_ticks,
    };
    // SAFETY: `main` runs once and never returns, and nothing else names BUFFERS or MODEL, so
    // these are the only references to them for the rest of the program.
    let (buffers, model) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(BUFFERS),
            &mut *core::ptr::addr_of_mut!(MODEL),
        )
    };
    app::load_model(identity.model, model);
    let _port_error = app::run(
        &mut board.serial,
        &board.clock,
        &LinkedMemory,
        identity,
        model,
        buffers,
    );
    board::exit(ExitStatus::Failure)
}
