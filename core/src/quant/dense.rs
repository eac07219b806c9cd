//! The int8 Dense kernel: int8 × int8 products accumulated in int32, requantised per
//! output channel, clamped to the activation's range.

use super::kernel::{Int8Kernel, Native};
use super::multiplier::Requantizer;

/// One int8 Dense layer's parameters, borrowed (from a file, in flash).
///
/// Buffer sizes: `weights` `units · inputs` i8 (unit-major: unit `j`'s weights are
/// `j·inputs ..`), `bias` `units` i32 or empty, `multipliers` and `shifts` `units` i32
/// each; [`forward`](Self::forward) reads `inputs` i8 and writes `units` i8, no scratch.
#[derive(Clone, Copy, Debug)]
pub struct Int8Dense<'a> {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub units: usize,
    /// Symmetric int8 weights (zero point 0), unit-major.
    pub weights: &'a [i8],
    /// int32 biases at `input_scale · weight_scale[j]`, or empty.
    pub bias: &'a [i32],
    /// Per unit, the Q31 multiplier of `input_scale · weight_scale[j] / output_scale`.
    pub multipliers: &'a [i32],
    /// Per unit, its power-of-two shift.
    pub shifts: &'a [i32],
    /// `−input_zero_point`.
    pub input_offset: i32,
    /// The output's zero point.
    pub output_zero_point: i32,
    /// Smallest output (−128, or the zero point for a fused ReLU).
    pub min: i8,
    /// Largest output.
    pub max: i8,
}

/// Units summed at a time (the int32 sums live on the stack: 256 bytes). A kernel call
/// prepares the input once for its units (the tutorial's widest layer has 50).
const UNITS_AT_ONCE: usize = 64;

impl Int8Dense<'_> {
    /// `y[j] = clamp(requant_j(bias[j] + Σ_i (x[i] + input_offset) · w[j][i]) +
    /// output_zero_point)`, as TFLite Micro's reference `FullyConnected` computes it, with
    /// this target's [`Native`] kernel. Returns `false` (and writes nothing) when a length
    /// disagrees with the shapes.
    pub fn forward(&self, x: &[i8], y: &mut [i8]) -> bool {
        self.forward_with(&Native, x, y)
    }

    /// [`forward`](Self::forward) with the sums from `kernel` (every kernel gives the same bits).
    pub fn forward_with<K: Int8Kernel>(&self, kernel: &K, x: &[i8], y: &mut [i8]) -> bool {
        let lengths_agree = x.len() == self.inputs
            && y.len() == self.units
            && self.weights.len() == self.units * self.inputs
            && (self.bias.is_empty() || self.bias.len() == self.units)
            && self.multipliers.len() == self.units
            && self.shifts.len() == self.units;
        if !lengths_agree || self.inputs == 0 {
            return false;
        }
        let rows = self.weights.chunks(UNITS_AT_ONCE * self.inputs);
        for (block, (weights, out)) in rows.zip(y.chunks_mut(UNITS_AT_ONCE)).enumerate() {
            let first = block * UNITS_AT_ONCE;
            let mut sums = [0i32; UNITS_AT_ONCE];
            let sums = &mut sums[..out.len()];
            if let Some(bias) = self.bias.get(first..first + out.len()) {
                sums.copy_from_slice(bias);
            }
            if !kernel.accumulate(weights, x, self.input_offset, sums) {
                return false;
            }
            for (j, (out, &acc)) in out.iter_mut().zip(sums.iter()).enumerate() {
                let requant = Requantizer {
                    multiplier: self.multipliers[first + j],
                    shift: self.shifts[first + j],
                };
                let q = requant.apply(acc).saturating_add(self.output_zero_point);
                *out = q.clamp(i32::from(self.min), i32::from(self.max)) as i8;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_computed_layer() {
        // Two inputs (zero point −1: offset +1), two units.
        // Unit 0: w = [2, −3], bias 10, scale 0.5 → acc = 10 + (4+1)·2 + (−2+1)·(−3) = 23 → 11.5 → 12, +zp 5 = 17.
        // Unit 1: w = [127, 127], bias −1000, scale 0.5 → acc = −1000 + 5·127 − 127 = −492 → −246 → clamp −128.
        let layer = Int8Dense {
            inputs: 2,
            units: 2,
            weights: &[2, -3, 127, 127],
            bias: &[10, -1000],
            multipliers: &[1 << 30, 1 << 30],
            shifts: &[0, 0],
            input_offset: 1,
            output_zero_point: 5,
            min: -128,
            max: 127,
        };
        let mut y = [0i8; 2];
        assert!(layer.forward(&[4, -2], &mut y));
        assert_eq!(y, [17, -128]);
        // A fused ReLU clamps at the zero point.
        let relu = Int8Dense { min: 5, ..layer };
        assert!(relu.forward(&[4, -2], &mut y));
        assert_eq!(y, [17, 5]);
        // Wrong lengths are refused, nothing written.
        let mut y = [9i8; 3];
        assert!(!layer.forward(&[4, -2], &mut y));
        assert_eq!(y, [9; 3]);
    }
}
