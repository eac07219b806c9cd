//! Sleeping on a Cortex-M core: `wfi` until a peripheral's interrupt line (or any other enabled
//! interrupt, such as SysTick's) is pending. Shared by every Cortex-M board.
//!
//! An interrupt here only wakes the core; the work happens in the code that slept. So a
//! peripheral's line is unmasked in the NVIC only while the core sleeps, and the handler
//! ([`DefaultHandler`]) masks it again, whichever line it was: a level-triggered line that is
//! still asserted cannot fire over and over.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;

#[cfg(any(family = "nrf52", family = "rp2040", family = "stm32f4"))]
use super::ExitStatus;

/// An interrupt line of the NVIC (a device interrupt, numbered from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irq(pub u16);

// SAFETY: an `Irq` is built from a board's documented interrupt numbers, which are valid
// NVIC lines of that part.
unsafe impl InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// Sleeps until `line` is pending, unless `ready()` says there is no need. Wakes on any other
/// enabled interrupt too (the clock's), so callers check again and sleep again.
///
/// Interrupts are masked (PRIMASK) from the check to the `wfi`, so an interrupt in between
/// is not handled before the `wfi` but keeps the line pending, and a pending line ends `wfi`
/// whatever PRIMASK says: no wake-up is lost. The pending line is handled (and masked again)
/// once PRIMASK is cleared.
pub fn sleep_until(line: Irq, ready: impl FnOnce() -> bool) {
    cortex_m::interrupt::free(|_| {
        NVIC::unpend(line);
        if !ready() {
            // SAFETY: the only handler this line reaches is `DefaultHandler`, which touches
            // nothing but the NVIC; no critical section relies on the line staying masked.
            unsafe { NVIC::unmask(line) };
            cortex_m::asm::wfi();
        }
    });
}

/// An entry of the table of device interrupt vectors.
pub type Vector = unsafe extern "C" fn();

/// The table of device interrupt vectors of a part with `N` NVIC lines, every one to
/// [`DefaultHandler`]: a board without a peripheral-access crate places it as
/// `__INTERRUPTS` (build.rs's `OWN_VECTORS`).
pub const fn device_vectors<const N: usize>() -> [Vector; N] {
    extern "C" {
        // cortex-m-rt's name for the handler `#[exception]` makes of `DefaultHandler` below.
        fn DefaultHandler();
    }
    [DefaultHandler; N]
}

/// Every device interrupt lands here: it masks its own line, which [`sleep_until`] unmasked.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if let Ok(line) = u16::try_from(irqn) {
        NVIC::mask(Irq(line));
    }
}

#[cfg(any(family = "nrf52", family = "rp2040", family = "stm32f4"))]
/// Ends the program on real hardware: a failure resets the chip, success parks the core.
pub fn reset_or_park(status: ExitStatus) -> ! {
    match status {
        ExitStatus::Failure => cortex_m::peripheral::SCB::sys_reset(),
        ExitStatus::Success => loop {
            cortex_m::asm::wfi();
        },
    }
}
