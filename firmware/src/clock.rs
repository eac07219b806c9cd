//! Counting work: the [`Clock`] trait the application measures with.

/// What one [`Clock`] tick stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickUnit {
    /// Executed instructions: QEMU run with `-icount shift=0` (one nanosecond per instruction).
    Instructions,
    /// Core clock cycles: real hardware.
    Cycles,
}

impl TickUnit {
    /// A lower-case name for reports ("instructions", "cycles").
    pub fn name(self) -> &'static str {
        match self {
            TickUnit::Instructions => "instructions",
            TickUnit::Cycles => "cycles",
        }
    }
}

/// A free-running counter for measuring work.
pub trait Clock {
    /// Ticks since the clock was started; monotonic (64 bits do not wrap in practice).
    fn now(&self) -> u64;
    /// What one tick is.
    fn unit(&self) -> TickUnit;
    /// The counter advances in steps of this many ticks (1 on hardware; 40 on QEMU's AN386,
    /// whose SysTick runs at 25 MHz against a virtual clock of one instruction per nanosecond).
    fn resolution(&self) -> u32;
}
