//! A 64-bit tick counter built on the Cortex-M SysTick timer (24 bits, wraps counted in its
//! exception), shared by every board.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

use crate::clock::{Clock, TickUnit};

/// SysTick's reload value: the full 24-bit range.
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick periods completed since the clock started.
static WRAPS: AtomicU32 = AtomicU32::new(0);

// Only this handler writes WRAPS once the clock runs (a load and a store: the Cortex-M0 has no
// atomic read-modify-write), and readers mask interrupts.
#[exception]
fn SysTick() {
    WRAPS.store(WRAPS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// How many ticks of the clock's unit one SysTick tick is: `numerator / 2^shift` (62.5 =
/// 125 / 2 instructions at the micro:bit's 16 MHz under QEMU's one instruction per
/// nanosecond). A power of two below, so reading the clock divides by shifting: a Cortex-M0
/// has no divide instruction, and a 64-bit division's library call would take a few hundred
/// instructions of every measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickScale {
    /// Ticks of the unit per `2^shift` SysTick ticks.
    pub numerator: u32,
    /// The power of two the numerator is divided by.
    pub shift: u32,
}

impl TickScale {
    /// `n` ticks of the unit per SysTick tick.
    pub const fn whole(n: u32) -> Self {
        TickScale {
            numerator: n,
            shift: 0,
        }
    }
}

/// A [`Clock`] counting SysTick ticks at the core clock, scaled to the board's tick unit.
pub struct SysTickClock {
    _syst: SYST,
    scale: TickScale,
    unit: TickUnit,
}

impl SysTickClock {
    /// Starts SysTick from the core clock, counting wraps in its exception; each SysTick tick
    /// counts as `scale` ticks of `unit`.
    pub fn start(mut syst: SYST, scale: TickScale, unit: TickUnit) -> Self {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        WRAPS.store(0, Ordering::Relaxed);
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickClock {
            _syst: syst,
            scale,
            unit,
        }
    }

    /// SysTick ticks since start.
    ///
    /// The counter runs RELOAD, RELOAD-1, …, 1, 0, RELOAD, …; reaching 0 pends the exception that
    /// counts a wrap. So within a period the ticks elapsed are `RELOAD + 1 - current`, except at
    /// 0, which is the first tick of the next period (the wrap already counted, or pending).
    /// At start the counter is cleared to 0 and reloads on the first tick without a wrap.
    fn raw_ticks() -> u64 {
        cortex_m::interrupt::free(|_| {
            let mut wraps = WRAPS.load(Ordering::Relaxed);
            let mut current = SYST::get_current();
            // A wrap whose exception has not run yet (interrupts are masked here, or it happened
            // between the two reads): count it and read the counter again, after the wrap.
            if SCB::is_pendst_pending() {
                wraps = wraps.wrapping_add(1);
                current = SYST::get_current();
            }
            let in_period = if current == 0 {
                0
            } else {
                (RELOAD + 1).saturating_sub(current)
            };
            u64::from(wraps) * u64::from(RELOAD + 1) + u64::from(in_period)
        })
    }
}

impl Clock for SysTickClock {
    fn now(&self) -> u64 {
        // No overflow in practice: 2^64 / 125 SysTick ticks of 16 MHz are 292 centuries (and
        // wrapping multiplication is a few instructions on a Cortex-M0, where overflow
        // checking takes a library call).
        Self::raw_ticks().wrapping_mul(u64::from(self.scale.numerator)) >> self.scale.shift
    }

    fn unit(&self) -> TickUnit {
        self.unit
    }

    fn resolution(&self) -> u32 {
        self.scale.numerator.div_ceil(1 << self.scale.shift)
    }
}
