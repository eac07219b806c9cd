//! Flush-to-zero for training, per thread and scoped, as TensorFlow's
//! `ScopedFlushDenormal`.
//!
//! Sigmoids that saturate make derivatives that underflow into subnormal floats, and many
//! x86 cores (Intel's) take a microcode assist, around a hundred cycles, on every
//! operation that reads or produces one. A [`FlushDenormals`] guard makes the current
//! thread treat subnormal inputs as zero and flush subnormal results to zero (x86-64:
//! MXCSR's DAZ and FTZ bits; aarch64: FPCR's FZ bit) until it is dropped, which restores
//! the thread's previous state. Elsewhere it changes nothing.
//!
//! Training runs under it; evaluation and prediction never do: they compute with
//! subnormals as IEEE 754 defines them, as a Cortex-M4F does with its FPSCR's FZ bit
//! clear (the firmware clears it at start-up), so host and device agree bit for bit.
//!
//! Rust (LLVM) assumes the default floating-point environment, so an operation the
//! compiler evaluates at build time may keep a subnormal the same operation at run time
//! flushes. That changes values by less than the smallest normal float and is harmless
//! to training; no memory safety depends on float results.

use std::marker::PhantomData;

/// While alive, the current thread flushes subnormals to zero; dropping it restores the
/// state it found. Not `Send`: the state belongs to the thread that made it.
#[derive(Debug)]
pub struct FlushDenormals {
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    previous: u64,
    _this_thread: PhantomData<*const ()>,
}

impl FlushDenormals {
    /// Turns flushing on for the current thread.
    pub fn new() -> Self {
        let previous = control::read();
        control::write(previous | control::FLUSH);
        FlushDenormals {
            previous,
            _this_thread: PhantomData,
        }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        control::write(self.previous);
    }
}

/// Whether the current thread flushes subnormals to zero (always false where
/// [`FlushDenormals`] changes nothing).
pub fn flushing() -> bool {
    control::FLUSH != 0 && control::read() & control::FLUSH == control::FLUSH
}

#[cfg(target_arch = "x86_64")]
mod control {
    /// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    pub const FLUSH: u64 = 1 << 15 | 1 << 6;

    /// The thread's MXCSR.
    pub fn read() -> u64 {
        let mut csr = 0u32;
        // SAFETY: stmxcsr stores the 32-bit MXCSR into `csr`, which is writable and aligned.
        unsafe {
            core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
        }
        u64::from(csr)
    }

    /// Sets the thread's MXCSR (only bits `read` returned, with [`FLUSH`] perhaps added).
    pub fn write(csr: u64) {
        let csr = csr as u32;
        // SAFETY: ldmxcsr loads a valid MXCSR value (one read from the register, with the
        // defined FTZ and DAZ bits perhaps set; SSE2 on x86-64 always has DAZ) from `csr`.
        unsafe {
            core::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags));
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod control {
    /// FPCR's flush-to-zero bit (24), which covers subnormal inputs and results alike.
    pub const FLUSH: u64 = 1 << 24;

    /// The thread's FPCR.
    pub fn read() -> u64 {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        fpcr
    }

    /// Sets the thread's FPCR (only values `read` returned, with [`FLUSH`] perhaps added).
    pub fn write(fpcr: u64) {
        // SAFETY: writes a valid FPCR value: one read from the register, perhaps with FZ set.
        unsafe {
            core::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod control {
    /// Nothing to set here.
    pub const FLUSH: u64 = 0;

    pub fn read() -> u64 {
        0
    }

    pub fn write(_: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a * b` computed at run time, out of the optimiser's sight.
    fn product(a: f32, b: f32) -> f32 {
        std::hint::black_box(a) * std::hint::black_box(b)
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_guard_flushes_and_restores() {
        let tiny = f32::MIN_POSITIVE;
        assert!(!flushing());
        assert!(product(tiny, 0.5).is_subnormal());
        {
            let _outer = FlushDenormals::new();
            assert!(flushing());
            assert_eq!(product(tiny, 0.5), 0.0);
            {
                let _inner = FlushDenormals::new();
                assert!(flushing());
            }
            // The inner guard restores the outer one's state, not the default.
            assert!(flushing());
        }
        assert!(!flushing());
        assert!(product(tiny, 0.5).is_subnormal());
    }
}
