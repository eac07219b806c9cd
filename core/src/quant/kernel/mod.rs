//! The int8 Dense layer's integer sums behind a small trait, one file per instruction set
//! (as the float kernels in [`crate::kernel`]): `portable.rs` runs on every target,
//! `dsp.rs` on Cortex-M cores with the DSP extension (`SXTB16`, `SMLAD`). int32 sums are
//! exact (wrapping), so every kernel gives the same bits; [`Native`] is the one this
//! target's inference runs.

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp;
mod portable;

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
pub use dsp::Dsp;
pub use portable::PortableInt8;

/// The kernel inference runs on this target: `Dsp` where the core has the DSP extension
/// (thumbv7em: Cortex-M4, M7), else [`PortableInt8`].
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
pub use dsp::Dsp as Native;
/// The kernel inference runs on this target: `Dsp` where the core has the DSP extension
/// (thumbv7em: Cortex-M4, M7), else [`PortableInt8`].
#[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
pub use portable::PortableInt8 as Native;

/// Accumulates an int8 Dense layer's sums.
pub trait Int8Kernel {
    /// For every row `j < acc.len()`: `acc[j] += Σ_i (x[i] + input_offset) · w[j·n + i]`
    /// with `n = x.len()`, in wrapping int32 arithmetic. Returns `false` (and leaves `acc`
    /// untouched) unless `weights.len() == acc.len() · x.len()`.
    fn accumulate(&self, weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) -> bool;
}
