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
    pub fn quantize(&self, x: f32) -> i8 {
        let q = libm::roundf(x / self.scale);
        let q = if q.is_nan() { 0.0 } else { q.clamp(-256.0, 256.0) };
        (q as i32 + self.zero_point).clamp(-128, 127) as i8
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
