//! `math::soft_fma` (the fused multiply-add of cores without an FPU) against `libm::fmaf`,
//! both correctly rounded: the same bits on random operands of every kind, on operands
//! whose exponents make the product and the addend cancel, and on the edge cases.

use microdense_core::math::soft_fma;
use microdense_core::Rng;

fn same(a: f32, b: f32, c: f32) {
    let (ours, libm) = (soft_fma(a, b, c), libm::fmaf(a, b, c));
    assert!(
        ours.to_bits() == libm.to_bits() || (ours.is_nan() && libm.is_nan()),
        "fma({a:e}, {b:e}, {c:e}) = {ours:e} ({:#010x}), libm {libm:e} ({:#010x})",
        ours.to_bits(),
        libm.to_bits()
    );
}

#[test]
fn random_bit_patterns_match_libm() {
    let mut rng = Rng::new(1);
    let mut bits = || (rng.next_u64() >> 32) as u32;
    for _ in 0..2_000_000 {
        let (a, b, c) = (bits(), bits(), bits());
        same(f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
    }
}

#[test]
fn cancelling_and_nearby_operands_match_libm() {
    let mut rng = Rng::new(2);
    for _ in 0..2_000_000 {
        // Values within a few binades of one, c near −a·b: every alignment and cancellation.
        let mut near = |spread: f32| {
            let x = (rng.next_f32() * 2.0 - 1.0) * spread;
            if rng.next_f32() < 0.5 {
                x
            } else {
                x * 1e-3
            }
        };
        let (a, b) = (near(4.0), near(4.0));
        let c = -(a * b) * (1.0 + (near(1.0) * 1e-6)) + near(1e-6);
        same(a, b, c);
        same(a, b, near(8.0));
        let mantissa_neighbour = f32::from_bits((a * b).to_bits() ^ ((rng.next_u64() as u32) & 0xF));
        same(a, b, -mantissa_neighbour);
    }
}

#[test]
fn products_on_a_rounding_tie_plus_a_tiny_addend_match_libm() {
    // a·b needs 25 bits and ends in a 1: exactly halfway between two floats. A tiny c
    // decides the rounding only through the sticky bit of the alignment.
    let mut rng = Rng::new(3);
    let mut tested = 0;
    while tested < 200_000 {
        let a = (rng.below(1 << 13) | 1) as f32;
        let b = (rng.below(1 << 13) | 1) as f32;
        let product = a as u64 * b as u64;
        if 64 - product.leading_zeros() != 25 {
            continue;
        }
        tested += 1;
        let scale = f32::from_bits(((rng.below(200) as u32) + 27) << 23);
        let tiny = (a * b) * f32::from_bits(((rng.below(30) as u32) + 127 - 60) << 23);
        let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
        same(a * scale, b, sign * tiny * scale);
        same(a, -b * scale, sign * tiny * scale);
    }
}

#[test]
fn bits_shifted_out_of_the_product_break_a_tie() {
    // 8392705 · 16769026 = 2^47 + 2, so a·b = 2 + 2^-45 and 2^25 + a·b lies just above the
    // midpoint of 2^25 and 2^25 + 4: it rounds up. The 2^-45 lies beyond the 62-bit window
    // and survives only as the sticky bit; without it the tie would round to even, down.
    let a = 8_392_705.0 / 8_388_608.0;
    let b = 16_769_026.0 / 8_388_608.0;
    let c = 33_554_432.0; // 2^25
    assert_eq!(soft_fma(a, b, c), c + 4.0);
    for k in [-100i32, -20, 0, 20, 90] {
        let s = f32::from_bits(((127 + k) as u32) << 23);
        same(a * s, b, c * s);
        same(-a * s, b, -c * s);
    }
}

/// Subnormal operands, and results in and around the subnormal range and around overflow:
/// products whose exponents sum to those ranges, plus addends of the same size.
#[test]
fn subnormal_and_overflowing_results_match_libm() {
    let mut rng = Rng::new(3);
    let mut draw = |below: u32| (rng.next_u64() >> 32) as u32 % below;
    for _ in 0..2_000_000 {
        let float = |exponent: u32, sign: u32, fraction: u32| {
            f32::from_bits((sign << 31) | (exponent << 23) | fraction)
        };
        let tiny = draw(2) == 0;
        // The product's exponent field (ea + eb − 127): −30..10 for tiny results, 250..258
        // for overflowing ones.
        let product = if tiny {
            draw(41) as i32 - 30
        } else {
            250 + draw(9) as i32
        };
        let ea = if tiny {
            draw(61) as i32
        } else {
            127 + draw(128) as i32
        };
        let eb = (product + 127 - ea).clamp(0, 254);
        let ec = if tiny { draw(13) } else { 240 + draw(15) };
        let (a, b, c) = (
            float(ea as u32, draw(2), draw(1 << 23)),
            float(eb as u32, draw(2), draw(1 << 23)),
            float(ec, draw(2), draw(1 << 23)),
        );
        same(a, b, c);
        same(a, b, 0.0);
        same(a, b, -(a * b));
    }
}

#[test]
fn edge_cases_match_libm() {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::from_bits(0x007F_FFFF),
        f32::MAX,
        -f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0 + f32::EPSILON,
        1.0 - f32::EPSILON / 2.0,
        3.0e-20,
        -7.5e19,
        0.5,
    ];
    for &a in &values {
        for &b in &values {
            for &c in &values {
                same(a, b, c);
            }
        }
    }
}
