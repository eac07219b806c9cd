//! The int8 kernel's conformance suite, run on the host (core's tests) and on devices
//! (`firmware/examples/kernel_conformance.rs` under QEMU): [`Int8Dense`] against a plain
//! reference (i64 sums, then the same requantiser) on pseudo-random shapes — widths 1–40,
//! so every tail — weights, biases, zero points, scales and ReLU clamps. No heap.

use super::{Int8Dense, Requantizer};
use crate::Rng;

/// Widest case input and output.
const MAX_IN: usize = 40;
const MAX_UNITS: usize = 12;

/// The first case the kernel got wrong: its number and the unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int8Mismatch {
    /// Case number.
    pub case: usize,
    /// Output unit.
    pub unit: usize,
}

/// Runs `cases` pseudo-random cases from `seed`.
pub fn conformance(seed: u64, cases: usize) -> Result<(), Int8Mismatch> {
    let mut rng = Rng::new(seed);
    let byte = |rng: &mut Rng| (rng.next_u64() >> 56) as u8 as i8;
    for case in 0..cases {
        let inputs = 1 + rng.below(MAX_IN);
        let units = 1 + rng.below(MAX_UNITS);
        let mut x = [0i8; MAX_IN];
        let mut w = [0i8; MAX_IN * MAX_UNITS];
        let mut bias = [0i32; MAX_UNITS];
        let mut multipliers = [0i32; MAX_UNITS];
        let mut shifts = [0i32; MAX_UNITS];
        x.iter_mut().for_each(|v| *v = byte(&mut rng));
        w.iter_mut().for_each(|v| *v = byte(&mut rng).max(-127));
        for j in 0..units {
            bias[j] = rng.below(200_001) as i32 - 100_000;
            // A Q31 mantissa in [2³⁰, 2³¹) and a shift of −21..=2 (no f64: the Cortex-M4F's
            // FPU has none).
            multipliers[j] = (1 << 30) | (rng.next_u64() as i32 & 0x3fff_ffff);
            shifts[j] = rng.below(24) as i32 - 21;
        }
        let zero_in = rng.below(256) as i32 - 128;
        let zero_out = rng.below(256) as i32 - 128;
        let relu = rng.below(2) == 1;
        let dense = Int8Dense {
            inputs,
            units,
            weights: &w[..inputs * units],
            bias: &bias[..units],
            multipliers: &multipliers[..units],
            shifts: &shifts[..units],
            input_offset: -zero_in,
            output_zero_point: zero_out,
            min: if relu { zero_out as i8 } else { -128 },
            max: 127,
        };
        let mut y = [0i8; MAX_UNITS];
        if !dense.forward(&x[..inputs], &mut y[..units]) {
            return Err(Int8Mismatch { case, unit: 0 });
        }
        for j in 0..units {
            let dot: i64 = (0..inputs)
                .map(|i| (i64::from(x[i]) - i64::from(zero_in)) * i64::from(w[j * inputs + i]))
                .sum();
            let r = Requantizer {
                multiplier: multipliers[j],
                shift: shifts[j],
            };
            let q = r.apply((dot + i64::from(bias[j])) as i32) + zero_out;
            let lo = if relu { zero_out } else { -128 };
            if y[j] != q.clamp(lo, 127) as i8 {
                return Err(Int8Mismatch { case, unit: j });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_int8_kernel_conforms_on_the_host() {
        assert_eq!(super::conformance(1, 2000), Ok(()));
    }
}
