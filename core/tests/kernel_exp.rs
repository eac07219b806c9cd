//! The kernel's bulk exponential against libm's `expf`, bit for bit.

#![cfg(not(feature = "micromath"))]

use microdense_core::{MatMul, Portable};

/// Runs `values` through `Portable::exp_in_place` and checks every result's bits
/// against `libm::expf` (NaNs only for being NaN).
fn check(values: &[f32]) {
    let mut out = values.to_vec();
    Portable.exp_in_place(&mut out);
    for (x, y) in values.iter().zip(&out) {
        let want = libm::expf(*x);
        assert!(
            y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
            "exp({x:e}) = {y:e}, libm gives {want:e}"
        );
    }
}

#[test]
fn every_seventh_float_up_to_120_matches_libm() {
    // Every 7th bit pattern of both signs up to |x| = 120 (past all special-case
    // thresholds): about 300 million values, all of libm's branches.
    let limit = 120f32.to_bits();
    let mut values = Vec::with_capacity(1 << 16);
    for sign in [0u32, 0x8000_0000] {
        let mut bits = 0u32;
        while bits <= limit {
            values.push(f32::from_bits(bits | sign));
            if values.len() == values.capacity() {
                check(&values);
                values.clear();
            }
            bits += 7;
        }
    }
    check(&values);
}

#[test]
fn special_values_and_odd_lengths_match_libm() {
    let specials = [
        0.0,
        -0.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        88.72,
        -87.34,
        -103.97,
        f32::MIN_POSITIVE,
        1e-30,
        0.346_573_6,
        1.039_720_8,
        -1.039_720_8,
    ];
    for len in 0..specials.len() {
        check(&specials[..len]);
    }
    // A group of eight with one special value: that lane alone takes libm's path.
    let mut mixed = [0.5f32; 8];
    mixed[3] = f32::NAN;
    check(&mixed);
}
