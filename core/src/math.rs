//! The scalar math the engine uses: `libm` by default, `micromath`'s fast
//! approximations with the `micromath` feature.

#[cfg(not(feature = "micromath"))]
mod cos;
mod soft_fma;

pub use soft_fma::soft_fma;

#[cfg(not(feature = "micromath"))]
mod imp {
    /// `e^x`.
    pub fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
    /// Natural logarithm.
    pub fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    /// Hyperbolic tangent.
    pub fn tanh(x: f32) -> f32 {
        libm::tanhf(x)
    }
    /// Cosine (libm's `cosf` within 9π/4, every argument core takes; see [`super::cos`]).
    pub fn cos(x: f32) -> f32 {
        super::cos::cos(x)
    }
}

#[cfg(feature = "micromath")]
mod imp {
    // Called as trait functions: with std linked (unit tests) `x.exp()` would be std's.
    use micromath::F32Ext;
    /// `e^x`.
    pub fn exp(x: f32) -> f32 {
        F32Ext::exp(x)
    }
    /// Natural logarithm.
    pub fn ln(x: f32) -> f32 {
        F32Ext::ln(x)
    }
    /// Hyperbolic tangent.
    pub fn tanh(x: f32) -> f32 {
        // micromath has no tanh: build it from its exp, saturating where exp overflows.
        if x > 9.0 {
            1.0
        } else if x < -9.0 {
            -1.0
        } else {
            let e = F32Ext::exp(2.0 * x);
            (e - 1.0) / (e + 1.0)
        }
    }
    /// Cosine.
    pub fn cos(x: f32) -> f32 {
        F32Ext::cos(x)
    }
}

pub use imp::{cos, exp, ln, tanh};

/// Square root, always correctly rounded (IEEE 754's basic operation): the optimizers and
/// normalisation layers divide by it and must match Keras to float rounding, which
/// micromath's approximation does not. The FPU's `vsqrt.f32` on ARM built with `vfp2` (as
/// [`mul_add`]: 0.5 KB less code than libm's), `libm::sqrtf` elsewhere; both correctly
/// rounded, so they give the same bits.
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
    {
        let root: f32;
        // SAFETY: vsqrt.f32 only reads and writes the two single-precision registers given.
        unsafe {
            core::arch::asm!(
                "vsqrt.f32 {root}, {x}",
                root = lateout(sreg) root,
                x = in(sreg) x,
                options(pure, nomem, nostack),
            );
        }
        root
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "vfp2")))]
    {
        libm::sqrtf(x)
    }
}

/// `|x|`.
pub fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}

/// The sign of `x`: 1, -1, or 0 at ±0 (TensorFlow's gradient of `abs`).
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `ln(1 + x)`, accurate for small `x`.
pub fn ln_1p(x: f32) -> f32 {
    #[cfg(not(feature = "micromath"))]
    {
        libm::log1pf(x)
    }
    #[cfg(feature = "micromath")]
    {
        ln(1.0 + x)
    }
}

/// `x^y`, always `libm`: the optimizers' bias corrections and learning-rate schedules
/// run once per step and must match Keras's to float rounding.
pub fn pow(x: f32, y: f32) -> f32 {
    libm::powf(x, y)
}

/// The error function (always `libm`: micromath has none).
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// `a * b + c` with a single rounding (fused multiply-add), identical on every target:
/// the FPU's `vfma.f32` on ARM when built with `-C target-feature=+vfp2` (which the
/// firmware's build sets: rustc does not yet imply it from the Cortex-M4F's FPv4),
/// [`soft_fma`]'s integer arithmetic on other bare-metal cores (no FPU: Cortex-M3,
/// RISC-V rv32imac), and `libm::fmaf` on the host. All three are correctly rounded, so
/// they give the same bits.
#[inline(always)]
pub fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
    {
        let mut acc = c;
        // SAFETY: vfma.f32 only reads and writes the three single-precision registers given.
        unsafe {
            core::arch::asm!(
                "vfma.f32 {acc}, {a}, {b}",
                acc = inout(sreg) acc,
                a = in(sreg) a,
                b = in(sreg) b,
                options(pure, nomem, nostack),
            );
        }
        acc
    }
    #[cfg(all(target_os = "none", not(all(target_arch = "arm", target_feature = "vfp2"))))]
    {
        soft_fma(a, b, c)
    }
    #[cfg(not(target_os = "none"))]
    {
        libm::fmaf(a, b, c)
    }
}
