//! A tensor's affine int8 quantisation: `real = scale · (q − zero_point)`.

use super::error::QuantDefect;
use serde::{Deserialize, Serialize};

/// Per-tensor asymmetric int8 quantisation (TFLite's activations): `scale > 0` and
/// finite, `zero_point` in `−128..=127`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Real value of one step.
    pub scale: f32,
    /// The int8 value that stands for real 0.
    pub zero_point: i32,
}

impl QuantParams {
    /// TFLite's choice for a calibrated range: the range is widened to hold 0, split in
    /// 255 steps, and the zero point is `−128 − min / scale` rounded and clamped (so 0 is
    /// exact). A range of width 0 takes scale 1. `None` for non-finite bounds.
    pub fn from_min_max(min: f32, max: f32) -> Option<QuantParams> {
        if !min.is_finite() || !max.is_finite() || min > max {
            return None;
        }
        let (min, max) = (min.min(0.0), max.max(0.0));
        let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
        let zero_point = libm::roundf(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        Some(QuantParams { scale, zero_point })
    }

    /// Checks that the scale is finite and positive and the zero point an int8.
    pub fn check(&self) -> Result<(), QuantDefect> {
        if !self.scale.is_finite() || self.scale <= 0.0 {
            Err(QuantDefect::Scale)
        } else if !(-128..=127).contains(&self.zero_point) {
            Err(QuantDefect::ZeroPoint)
        } else {
            Ok(())
        }
    }

    /// `round(x / scale) + zero_point`, ties away from zero, saturated to int8 (TFLite's
    /// `Quantize`). NaN maps to the zero point.
    ///
    /// Computed without a float rounding function (a Cortex-M4F has no instruction for
    /// ties away from zero, and libm's takes ~20): `t = trunc(2q)` by a saturating float
    /// to int conversion (exact: `2q` is, and NaN gives 0), then `round(q) = (t ± 1) / 2`
    /// truncated, the sign taken from `t`. The same bits as rounding `q` itself, for every
    /// `x` and scale (tested against it).
    pub fn quantize(&self, x: f32) -> i8 {
        let twice = ((x / self.scale) * 2.0) as i32;
        // −512 and 511 are ±256 after halving (a single `ssat` on a Cortex-M): every
        // |q| ≥ 256 saturates as before.
        let twice = twice.clamp(-512, 511);
        let q = (twice + ((twice >> 31) | 1)) / 2;
        q.saturating_add(self.zero_point).clamp(-128, 127) as i8
    }

    /// `scale · (q − zero_point)`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_ranges_hold_zero_exactly() {
        let p = QuantParams::from_min_max(0.0, 255.0).unwrap();
        assert_eq!(
            p,
            QuantParams {
                scale: 1.0,
                zero_point: -128
            }
        );
        assert_eq!(p.quantize(0.0), -128);
        assert_eq!(p.quantize(255.0), 127);
        let p = QuantParams::from_min_max(-1.0, 1.0).unwrap();
        // −128 + 127.5 = −0.5 rounds away from zero.
        assert_eq!(p.zero_point, -1);
    }

    /// What [`QuantParams::quantize`] computes, with libm's rounding.
    fn quantize_by_roundf(p: &QuantParams, x: f32) -> i8 {
        let q = libm::roundf(x / p.scale);
        let q = if q.is_nan() { 0.0 } else { q.clamp(-256.0, 256.0) };
        (q as i32 + p.zero_point).clamp(-128, 127) as i8
    }

    #[test]
    fn quantize_agrees_with_rounding_the_quotient() {
        let mut rng = crate::Rng::new(7);
        let scales = [1.0, 0.5, 1.0 / 255.0, 0.007_843_138, 3.0e-39, 1.0e-3, 7.5, 3.0e38];
        // Ties, values next to them, the saturation edges, zeros, infinities, NaN.
        let mut edges = [0.0f32; 64];
        for (i, e) in edges.iter_mut().enumerate().take(48) {
            let base: f32 = [0.5, 1.5, 2.5, 127.5, 255.5, 256.5, 511.5, 512.5][i % 8];
            let v = match i / 8 % 3 {
                0 => base,
                1 => f32::from_bits(base.to_bits() + 1),
                _ => f32::from_bits(base.to_bits() - 1),
            };
            *e = if i / 24 == 0 { v } else { -v };
        }
        edges[48..].copy_from_slice(&[
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1.0e-45,
            f32::MAX,
            f32::MIN,
            0.499_999_97,
            -0.499_999_97,
            256.0,
            -256.0,
            1.0e9,
            -1.0e9,
        ]);
        for zero_point in [-128, -1, 0, 5, 127, 300, -1000] {
            for &scale in &scales {
                let p = QuantParams { scale, zero_point };
                for &q in &edges {
                    // The quotient itself at the edge (scale 1), and the edge as the input.
                    for x in [q * scale, q] {
                        assert_eq!(
                            p.quantize(x),
                            quantize_by_roundf(&p, x),
                            "{x:e} / {scale:e}, zp {zero_point}"
                        );
                    }
                }
                for _ in 0..20_000 {
                    let x = f32::from_bits(rng.next_u64() as u32);
                    let near = (rng.next_f32() - 0.5) * 1100.0 * scale;
                    for x in [x, near, libm::roundf(near / scale * 2.0) / 2.0 * scale] {
                        assert_eq!(
                            p.quantize(x),
                            quantize_by_roundf(&p, x),
                            "{x:e} / {scale:e}, zp {zero_point}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn quantize_rounds_ties_away_from_zero_and_saturates() {
        let p = QuantParams {
            scale: 0.5,
            zero_point: 3,
        };
        assert_eq!(p.quantize(0.25), 4); // 0.5 → 1
        assert_eq!(p.quantize(-0.25), 2); // −0.5 → −1
        assert_eq!(p.quantize(1e9), 127);
        assert_eq!(p.quantize(-1e9), -128);
        assert_eq!(p.quantize(f32::NAN), 3);
        assert_eq!(p.dequantize(5), 1.0);
        let check = |scale, zero_point| QuantParams { scale, zero_point }.check();
        assert_eq!(check(0.0, 0), Err(QuantDefect::Scale));
        assert_eq!(check(f32::NAN, 0), Err(QuantDefect::Scale));
        assert_eq!(check(f32::INFINITY, 0), Err(QuantDefect::Scale));
        assert_eq!(check(1.0, 128), Err(QuantDefect::ZeroPoint));
        assert_eq!(check(1.0, -128), Ok(()));
        assert_eq!(QuantParams::from_min_max(f32::NAN, 1.0), None);
    }
}
