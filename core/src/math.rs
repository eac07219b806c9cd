//! The scalar math the engine uses: `libm` by default, `micromath`'s fast
//! approximations with the `micromath` feature.

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
    /// Square root.
    pub fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
    /// Cosine.
    pub fn cos(x: f32) -> f32 {
        libm::cosf(x)
    }
}

#[cfg(feature = "micromath")]
mod imp {
    use micromath::F32Ext;
    /// `e^x`.
    pub fn exp(x: f32) -> f32 {
        x.exp()
    }
    /// Natural logarithm.
    pub fn ln(x: f32) -> f32 {
        x.ln()
    }
    /// Hyperbolic tangent.
    pub fn tanh(x: f32) -> f32 {
        // micromath has no tanh: build it from its exp, saturating where exp overflows.
        if x > 9.0 {
            1.0
        } else if x < -9.0 {
            -1.0
        } else {
            let e = (2.0 * x).exp();
            (e - 1.0) / (e + 1.0)
        }
    }
    /// Square root.
    pub fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }
    /// Cosine.
    pub fn cos(x: f32) -> f32 {
        x.cos()
    }
}

pub use imp::{cos, exp, ln, sqrt, tanh};

/// `|x|`.
pub fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
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

/// The error function (always `libm`: micromath has none).
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}
