//! A real scale as a Q31 multiplier and a power-of-two shift (TFLite's
//! `QuantizeMultiplier`), the form in which integer kernels apply it.

use super::fixed_point::multiply_by_quantized_multiplier;
use serde::{Deserialize, Serialize};

/// Smallest shift a [`Requantizer`] may have (scales below 2⁻³² flush to zero).
pub const MIN_SHIFT: i32 = -31;
/// Largest shift a [`Requantizer`] may have.
pub const MAX_SHIFT: i32 = 30;

/// `scale ≈ multiplier · 2^shift / 2³¹`, with `multiplier` in `[2³⁰, 2³¹)` (or both 0
/// for a scale too small to represent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requantizer {
    /// Q31 mantissa in `[2³⁰, 2³¹)`, or 0.
    pub multiplier: i32,
    /// Power of two, in [`MIN_SHIFT`]`..=`[`MAX_SHIFT`].
    pub shift: i32,
}

impl Requantizer {
    /// TFLite's `QuantizeMultiplier`: the mantissa of `scale` (as `frexp` gives it, in
    /// `[0.5, 1)`) rounded to 31 bits, ties away from zero. `None` unless `scale` is finite
    /// and ≥ 0, or when it needs a shift above [`MAX_SHIFT`]; below 2⁻³² it flushes to 0.
    pub fn from_scale(scale: f64) -> Option<Requantizer> {
        if !scale.is_finite() || scale < 0.0 {
            return None;
        }
        const ZERO: Requantizer = Requantizer {
            multiplier: 0,
            shift: 0,
        };
        // Below 2⁻¹⁰²² (subnormal, or 0) the shift is far below MIN_SHIFT anyway.
        if scale < f64::MIN_POSITIVE {
            return Some(ZERO);
        }
        let bits = scale.to_bits();
        let mut shift = ((bits >> 52) & 0x7ff) as i32 - 1022;
        let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
        let mut q = libm::round(mantissa * (1u64 << 31) as f64) as i64;
        if q == 1 << 31 {
            q /= 2;
            shift += 1;
        }
        if shift < MIN_SHIFT {
            return Some(ZERO);
        }
        let r = Requantizer {
            multiplier: q as i32,
            shift,
        };
        r.is_valid().then_some(r)
    }

    /// Whether the multiplier and shift are in range (what a decoder checks).
    pub fn is_valid(&self) -> bool {
        let zero = self.multiplier == 0 && self.shift == 0;
        zero || (self.multiplier >= 1 << 30 && (MIN_SHIFT..=MAX_SHIFT).contains(&self.shift))
    }

    /// `x · scale`, rounded as gemmlowp rounds (twice: in the high multiply, then in the
    /// shift).
    pub fn apply(&self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self.multiplier, self.shift)
    }

    /// The scale this represents.
    pub fn scale(&self) -> f64 {
        f64::from(self.multiplier) * libm::pow(2.0, f64::from(self.shift - 31))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(multiplier: i32, shift: i32) -> Option<Requantizer> {
        Some(Requantizer { multiplier, shift })
    }

    #[test]
    fn scales_become_tflites_multipliers_and_shifts() {
        assert_eq!(Requantizer::from_scale(0.5), r(1 << 30, 0));
        assert_eq!(Requantizer::from_scale(0.75), r(3 << 29, 0));
        assert_eq!(Requantizer::from_scale(1.0), r(1 << 30, 1));
        assert_eq!(Requantizer::from_scale(0.1875), r(3 << 29, -2));
        assert_eq!(Requantizer::from_scale(3.0), r(3 << 29, 2));
        // A mantissa that rounds up to 2³¹ moves to the next power: (1 − 2⁻⁴⁰)/2 → 2³⁰ · 2⁰.
        assert_eq!(
            Requantizer::from_scale(0.5 - 1.0 / (1u64 << 41) as f64),
            r(1 << 30, 0)
        );
        // 1/3: mantissa 2/3 · 2³¹ = 1431655765.33 → 1431655765, shift −1.
        assert_eq!(Requantizer::from_scale(1.0 / 3.0), r(1_431_655_765, -1));
        // Tiny scales flush to zero; negative, NaN and huge ones are refused.
        assert_eq!(Requantizer::from_scale(1e-12), r(0, 0));
        assert_eq!(Requantizer::from_scale(0.0), r(0, 0));
        assert_eq!(Requantizer::from_scale(-0.5), None);
        assert_eq!(Requantizer::from_scale(f64::NAN), None);
        assert_eq!(Requantizer::from_scale(1e12), None);
    }

    #[test]
    fn validity_bounds_the_multiplier_and_shift() {
        assert!(Requantizer {
            multiplier: 1 << 30,
            shift: MIN_SHIFT
        }
        .is_valid());
        assert!(!Requantizer {
            multiplier: (1 << 30) - 1,
            shift: 0
        }
        .is_valid());
        assert!(!Requantizer {
            multiplier: -(1 << 30),
            shift: 0
        }
        .is_valid());
        assert!(!Requantizer {
            multiplier: 1 << 30,
            shift: MAX_SHIFT + 1
        }
        .is_valid());
        assert!(!Requantizer {
            multiplier: 0,
            shift: 3
        }
        .is_valid());
    }

    #[test]
    fn applying_a_scale_rounds_to_nearest() {
        let third = Requantizer::from_scale(1.0 / 3.0).unwrap();
        assert_eq!(third.apply(300), 100);
        // Two roundings: −301 · 2/3 = −200.67 → −201, then −100.5 → −101.
        assert_eq!(third.apply(-301), -101);
        assert_eq!(third.apply(302), 101);
        assert!((third.scale() - 1.0 / 3.0).abs() < 1e-9);
    }
}
