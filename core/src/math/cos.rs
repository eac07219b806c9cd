//! `cos` as libm's `cosf` computes it, without its general argument reduction.
//!
//! Core takes cosines of `2πu` (`u` in `[0, 1)`: Box–Muller's normal draws) and `πt` (`t` in
//! `[0, 1]`: CosineDecay), all within `9π/4`, where libm's `cosf` is a few branches around
//! its `f64` polynomial kernels (copied here from libm 0.2, FreeBSD's `s_cosf.c`,
//! `k_cosf.c`, `k_sinf.c`: same operations, same order, so the same bits). Its reduction of
//! larger arguments (`rem_pio2f`, ~3 KB of code and tables on a microcontroller) is left
//! out: beyond `9π/4` the argument is reduced modulo `2π` in `f64` (the same bits on every
//! target, within float rounding of libm's).

/// Small multiples of π/2 rounded to double precision.
const C1_PIO2: f64 = core::f64::consts::FRAC_PI_2;
const C2_PIO2: f64 = 2.0 * C1_PIO2;
const C3_PIO2: f64 = 3.0 * C1_PIO2;
const C4_PIO2: f64 = 4.0 * C1_PIO2;

/// `cos(x)` for `x` within π/4, |error| < 2^-34.1 before rounding to f32.
fn k_cosf(x: f64) -> f32 {
    const C0: f64 = -0.499999997251031;
    const C1: f64 = 0.04166662332373906;
    const C2: f64 = -0.001388676377460993;
    const C3: f64 = 2.439044879627741e-05;
    let z = x * x;
    let w = z * z;
    let r = C2 + z * C3;
    (((1.0 + z * C0) + w * C1) + (w * z) * r) as f32
}

/// `sin(x)` for `x` within π/4, |error of sin(x)/x| < 2^-37.5 before rounding to f32.
fn k_sinf(x: f64) -> f32 {
    const S1: f64 = -0.16666666641626524;
    const S2: f64 = 0.008333329385889463;
    const S3: f64 = -0.00019839334836096632;
    const S4: f64 = 2.718311493989822e-06;
    let z = x * x;
    let w = z * z;
    let r = S3 + z * S4;
    let s = z * x;
    ((x + s * (S1 + z * S2)) + s * w * r) as f32
}

/// The cosine of `x`: libm's `cosf` bit for bit within `9π/4` (and for ±∞ and NaN, NaN).
pub fn cos(x: f32) -> f32 {
    let x64 = f64::from(x);
    let bits = x.to_bits();
    let negative = bits >> 31 != 0;
    let magnitude = bits & 0x7fff_ffff;
    if magnitude <= 0x3f49_0fda {
        // |x| ≲ π/4
        if magnitude < 0x3980_0000 {
            // |x| < 2^-12
            return 1.0;
        }
        return k_cosf(x64);
    }
    if magnitude <= 0x407b_53d1 {
        // |x| ≲ 5π/4
        if magnitude > 0x4016_cbe3 {
            // |x| ≳ 3π/4
            return -k_cosf(if negative { x64 + C2_PIO2 } else { x64 - C2_PIO2 });
        }
        return if negative {
            k_sinf(x64 + C1_PIO2)
        } else {
            k_sinf(C1_PIO2 - x64)
        };
    }
    if magnitude <= 0x40e2_31d5 {
        // |x| ≲ 9π/4
        if magnitude > 0x40af_eddf {
            // |x| ≳ 7π/4
            return k_cosf(if negative { x64 + C4_PIO2 } else { x64 - C4_PIO2 });
        }
        return if negative {
            k_sinf(-x64 - C3_PIO2)
        } else {
            k_sinf(x64 - C3_PIO2)
        };
    }
    if magnitude >= 0x7f80_0000 {
        // ±∞ or NaN: NaN, as libm (a NaN argument's payload kept).
        #[allow(clippy::eq_op)]
        return x - x;
    }
    // |x| > 9π/4: cos is even and 2π-periodic. Below 2^53 turns the remainder is within
    // [0, 2π] up to f64 rounding (its f32 within 9π/4, so this recurses once); beyond (where
    // f32 values lie more than 2^50 apart), no turn count is meaningful: cos(0).
    let magnitude = f64::from(f32::from_bits(magnitude));
    let turns = (magnitude * (1.0 / C4_PIO2)) as u64;
    let rest = magnitude - turns as f64 * C4_PIO2;
    // The quotient's rounding may count one turn too many.
    let rest = if rest < 0.0 { rest + C4_PIO2 } else { rest };
    cos(if (0.0..=C4_PIO2).contains(&rest) {
        rest as f32
    } else {
        0.0
    })
}

#[cfg(test)]
mod tests {
    use super::cos;

    /// libm's bits for every 61st f32 in [-9π/4, 9π/4] (all magnitudes, from 0), and
    /// around the boundaries of each branch.
    #[test]
    fn is_libms_cosf_within_nine_quarter_pi() {
        let edges = [
            0x3980_0000u32,
            0x3f49_0fda,
            0x4016_cbe3,
            0x407b_53d1,
            0x40af_eddf,
            0x40e2_31d5,
        ];
        let around = edges.iter().flat_map(|&b| [b - 1, b, b + 1]);
        for bits in (0..=0x40e2_31d5u32).step_by(61).chain(around) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!(cos(x).to_bits(), libm::cosf(x).to_bits(), "x = {x:e}");
            }
        }
    }

    /// Beyond 9π/4, within float rounding of libm's; ±∞ and NaN give NaN.
    #[test]
    fn reduces_larger_arguments_modulo_two_pi() {
        for x in [7.1f32, -7.1, 10.0, -123.456, 1.0e4, 3.0e5] {
            assert!(
                (cos(x) - libm::cosf(x)).abs() < 1e-5 * x.abs().max(1.0),
                "x = {x}"
            );
        }
        assert!(cos(f32::INFINITY).is_nan() && cos(f32::NEG_INFINITY).is_nan() && cos(f32::NAN).is_nan());
        assert!(cos(f32::MAX).abs() <= 1.0);
    }
}
