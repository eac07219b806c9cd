//! The int8 kernels' conformance suite, run on the host (core's tests) and on devices
//! (`firmware/examples/kernel_conformance.rs` under QEMU, against the DSP kernel): an
//! [`Int8Kernel`] inside [`Int8Dense`] against a plain reference (i64 sums, then the same
//! requantiser) and against [`PortableInt8`], on pseudo-random shapes — widths 1–40, so
//! every tail of every block, and 500–1100, so rows longer than a kernel's chunk — weights,
//! biases, zero points, scales, ReLU clamps, misaligned rows and buffers, one case in four
//! drawn from the int8 extremes only, one in three with most inputs the zero point (as a
//! kernel that skips them sees them) and one in three with none. No heap.

use super::kernel::{Int8Kernel, PortableInt8};
use super::{Int8Dense, Requantizer};
use crate::Rng;

/// Widest short case, and the range of long ones.
const MAX_SHORT: usize = 40;
const LONG: core::ops::Range<usize> = 500..1101;
/// Most units per case, and the weights' room (long cases take fewer units).
const MAX_UNITS: usize = 12;
const W_LEN: usize = 3 * 1100 + 3;

/// The first case the kernel got wrong: its number and the unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int8Mismatch {
    /// Case number.
    pub case: usize,
    /// Output unit.
    pub unit: usize,
}

/// Runs `cases` pseudo-random cases from `seed` against `kernel`.
pub fn conformance<K: Int8Kernel>(kernel: &K, seed: u64, cases: usize) -> Result<(), Int8Mismatch> {
    let mut rng = Rng::new(seed);
    let mut x = [0i8; LONG.end + 3];
    let mut w = [0i8; W_LEN];
    for case in 0..cases {
        let inputs = if case % 8 == 7 {
            LONG.start + rng.below(LONG.len())
        } else {
            1 + rng.below(MAX_SHORT)
        };
        let units = 1 + rng.below(MAX_UNITS.min((W_LEN - 3) / inputs));
        // Extremes only: every value −128, −127, 0, 1 or 127, zero points at the ends.
        let extreme = rng.below(4) == 0;
        let byte = |rng: &mut Rng| {
            if extreme {
                [-128, -127, 0, 1, 127][rng.below(5)]
            } else {
                (rng.next_u64() >> 56) as u8 as i8
            }
        };
        x.iter_mut().for_each(|v| *v = byte(&mut rng));
        w.iter_mut().for_each(|v| *v = byte(&mut rng));
        let mut bias = [0i32; MAX_UNITS];
        let mut multipliers = [0i32; MAX_UNITS];
        let mut shifts = [0i32; MAX_UNITS];
        for j in 0..units {
            bias[j] = if extreme {
                rng.next_u64() as i32
            } else {
                rng.below(200_001) as i32 - 100_000
            };
            // A Q31 mantissa in [2³⁰, 2³¹) and a shift of −21..=2 (no f64: the Cortex-M4F's
            // FPU has none).
            multipliers[j] = (1 << 30) | (rng.next_u64() as i32 & 0x3fff_ffff);
            shifts[j] = rng.below(24) as i32 - 21;
        }
        let zero_point = |rng: &mut Rng| {
            if extreme {
                [-128, 127][rng.below(2)]
            } else {
                rng.below(256) as i32 - 128
            }
        };
        let (zero_in, zero_out) = (zero_point(&mut rng), zero_point(&mut rng));
        // One case in three sparse: most inputs the zero point (every one, or all but about
        // 1 in 32, 1 in 8, 1 in 3), as MNIST's background pixels are; the others with no
        // input the zero point at all.
        let zero = zero_in as i8;
        if case % 3 == 1 {
            let keep = [0, 32, 8, 3][rng.below(4)];
            x.iter_mut()
                .filter(|_| keep == 0 || rng.below(keep) != 0)
                .for_each(|v| *v = zero);
        } else if case % 3 == 2 {
            x.iter_mut().filter(|v| **v == zero).for_each(|v| *v ^= 1);
        }
        let relu = rng.below(2) == 1;
        // Rows and buffers at every alignment.
        let (x_at, w_at) = (rng.below(4), rng.below(4));
        let (x, w) = (&x[x_at..x_at + inputs], &w[w_at..w_at + inputs * units]);
        let dense = Int8Dense {
            inputs,
            units,
            weights: w,
            bias: &bias[..units],
            multipliers: &multipliers[..units],
            shifts: &shifts[..units],
            input_offset: -zero_in,
            output_zero_point: zero_out,
            min: if relu { zero_out as i8 } else { -128 },
            max: 127,
        };
        let (mut y, mut portable) = ([0i8; MAX_UNITS], [0i8; MAX_UNITS]);
        if !dense.forward_with(kernel, x, &mut y[..units])
            || !dense.forward_with(&PortableInt8, x, &mut portable[..units])
        {
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
            let want = q.clamp(lo, 127) as i8;
            if y[j] != want || portable[j] != want {
                return Err(Int8Mismatch { case, unit: j });
            }
        }
        // A weight short: refused, the sums untouched.
        let mut sums = [7i32; MAX_UNITS];
        if kernel.accumulate(&w[..w.len() - 1], x, -zero_in, &mut sums[..units]) || sums != [7; MAX_UNITS] {
            return Err(Int8Mismatch { case, unit: 0 });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::kernel::{Int8Kernel, Native, PortableInt8};

    #[test]
    fn the_int8_kernels_conform_on_the_host() {
        assert_eq!(super::conformance(&PortableInt8, 1, 2000), Ok(()));
        assert_eq!(super::conformance(&Native, 2, 2000), Ok(()));
    }

    /// A kernel that drops every row's last product: the suite must catch it.
    struct DropsLastInput;

    impl Int8Kernel for DropsLastInput {
        fn accumulate(&self, weights: &[i8], x: &[i8], offset: i32, acc: &mut [i32]) -> bool {
            let n = x.len();
            let mut short = [0i8; 1200 * 12];
            for (j, row) in weights.chunks_exact(n.max(1)).enumerate() {
                short[j * (n - 1)..(j + 1) * (n - 1)].copy_from_slice(&row[..n - 1]);
            }
            n > 1 && PortableInt8.accumulate(&short[..acc.len() * (n - 1)], &x[..n - 1], offset, acc)
        }
    }

    #[test]
    fn a_wrong_kernel_fails() {
        assert!(super::conformance(&DropsLastInput, 1, 2000).is_err());
    }
}
