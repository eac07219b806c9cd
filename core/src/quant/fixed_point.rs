//! gemmlowp's fixed-point primitives, as TensorFlow Lite Micro and CMSIS-NN requantise
//! with them: every platform computes the same bits.

/// `round(a · b / 2³¹)` with ties toward +∞ (gemmlowp's nudge, then C's truncating
/// division: 1.5 → 2, −1.5 → −1), saturating the one overflowing case
/// (`a = b = i32::MIN`) to `i32::MAX`: gemmlowp's `SaturatingRoundingDoublingHighMul`.
///
/// gemmlowp writes it `(ab + nudge) / 2³¹` with `nudge = 2³⁰` for `ab ≥ 0`, else
/// `1 − 2³⁰`, dividing toward zero; that is `⌊(ab + 2³⁰) / 2³¹⌋` for every `ab` (for
/// `ab < 0`, `trunc((ab + 1 − 2³⁰) / 2³¹) = −⌊(|ab| + 2³⁰ − 1) / 2³¹⌋ = −⌈(|ab| − 2³⁰) / 2³¹⌉`),
/// one arithmetic shift: a multiply, an add with carry and a shift on a 32-bit core.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    // |ab| ≤ 2⁶²: neither the sum nor the quotient overflows.
    ((ab + (1 << 30)) >> 31) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero: gemmlowp's
/// `RoundingDivideByPOT`. `exponent` is clamped to `0..=31`.
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = exponent.min(31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x · multiplier · 2^shift / 2³¹`, rounded as TFLite Micro's reference
/// `MultiplyByQuantizedMultiplier`: a left shift (`shift > 0`, wrapping as two's
/// complement does) before the high multiply, a rounding right shift (`shift < 0`) after.
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.clamp(0, 31) as u32;
    let right = (-shift).clamp(0, 31) as u32;
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left), multiplier),
        right,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_high_mul_rounds_ties_up_and_saturates() {
        // 2³⁰ · 2³⁰ · 2 / 2³² = 2²⁹ exactly.
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        // 3 · 2³⁰ / 2³¹ = 1.5 → 2; −1.5 → −1 (ties toward +∞).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // 0.5 → 1; −0.5 → 0; −0.75 → −1.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 29), -1);
        // Just below a half rounds down: 1 · (2³⁰ − 1) / 2³¹ < 0.5.
        assert_eq!(saturating_rounding_doubling_high_mul(1, (1 << 30) - 1), 0);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn doubling_high_mul_is_gemmlowps_division() {
        // gemmlowp's form, a nudge and a division toward zero, on edges and random pairs.
        let gemmlowp = |a: i32, b: i32| {
            let ab = i64::from(a) * i64::from(b);
            let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
            ((ab + nudge) / (1i64 << 31)) as i32
        };
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            1 << 30,
            -(1 << 30),
            i32::MAX,
            i32::MIN + 1,
            12345,
        ];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    gemmlowp(a, b),
                    "{a} {b}"
                );
            }
        }
        let mut rng = crate::Rng::new(11);
        for _ in 0..200_000 {
            let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
            // Small products too, where the ties are.
            for (a, b) in [(a, b), (a >> 20, b), (a, (1 << 30) + (b & 7))] {
                if a != i32::MIN || b != i32::MIN {
                    assert_eq!(
                        saturating_rounding_doubling_high_mul(a, b),
                        gemmlowp(a, b),
                        "{a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn divide_by_pot_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2); // −1.75 → −2
        assert_eq!(rounding_divide_by_pot(-5, 2), -1); // −1.25 → −1
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(-1, 31), 0);
    }

    #[test]
    fn quantized_multiplier_shifts_both_ways() {
        // 0.75 = 2³⁰·1.5 / 2³¹: multiplier 3·2²⁹, shift 0.
        assert_eq!(multiply_by_quantized_multiplier(100, 3 << 29, 0), 75);
        // 0.75 · 2⁻² = 0.1875: 100 → 18.75 → 19; −100 → −19.
        assert_eq!(multiply_by_quantized_multiplier(100, 3 << 29, -2), 19);
        assert_eq!(multiply_by_quantized_multiplier(-100, 3 << 29, -2), -19);
        // 0.75 · 2² = 3: a left shift before the multiply.
        assert_eq!(multiply_by_quantized_multiplier(100, 3 << 29, 2), 300);
        // Two roundings, not one: 0.5 · 3 / 2 = 0.75 → SRDHM gives 2 (1.5 rounded), then 2/2 = 1.
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, -1), 1);
        // A huge accumulator saturates in the high multiply, not before.
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, i32::MIN, 0), i32::MAX);
    }
}
