//! `a * b + c` with one rounding in integer arithmetic, for cores without an FPU.
//!
//! libm's `fmaf` is correctly rounded too, but computes through `f64`, which a core without
//! an FPU emulates call by call (~260 instructions per multiply-accumulate on a Cortex-M3)
//! and links (~2.7 KB of soft `f64` on RISC-V). Here every finite case — zero, subnormal
//! or normal operands, subnormal or overflowing results — takes one 32×32→64-bit multiply
//! and a few 64-bit shifts; infinities and NaNs, whose product is exact, take the plain
//! `a * b + c`. Correctly rounded, so the bits are the same as the host's and the FPU's
//! (NaNs are NaNs; their payloads are not compared).

/// The significand and exponent of a finite nonzero `f32`, normalised so the significand
/// is in `[2^23, 2^24)` (a subnormal's exponent goes below 1), or `None` for zero,
/// infinities and NaNs.
fn finite_parts(bits: u32) -> Option<(u64, i32)> {
    let exponent = ((bits >> 23) & 0xFF) as i32;
    let fraction = bits & 0x7F_FFFF;
    match exponent {
        0xFF => None,
        0 if fraction == 0 => None,
        0 => {
            // 2^23 > fraction: shift its leading one up to bit 23.
            let shift = fraction.leading_zeros() - 8;
            Some((u64::from(fraction << shift), 1 - shift as i32))
        }
        _ => Some((u64::from(fraction | 0x80_0000), exponent)),
    }
}

/// Whether `bits` is ±0, tested on its fields: LLVM turns `bits << 1 == 0` into a float
/// comparison, which is a library call on cores without an FPU.
fn is_zero(bits: u32) -> bool {
    (((bits >> 23) & 0xFF) | (bits & 0x7F_FFFF)) == 0
}

/// Whether `bits` is finite (not an infinity or NaN).
fn is_finite(bits: u32) -> bool {
    (bits >> 23) & 0xFF != 0xFF
}

/// `x >> shift`, with the bits shifted out ORed into the lowest bit (sticky).
fn shift_right_sticky(x: u64, shift: u32) -> u64 {
    if shift == 0 {
        x
    } else if shift >= 64 {
        u64::from(x != 0)
    } else {
        (x >> shift) | u64::from(x & ((1 << shift) - 1) != 0)
    }
}

/// `a * b + c`, rounded once to nearest-even.
///
/// ```
/// use microdense_core::math::soft_fma;
/// // 1 + 2^-24 squared is 1 + 2^-23 + 2^-48: a separate rounding would lose the 2^-48.
/// let a = 1.0 + f32::EPSILON / 2.0;
/// assert_eq!(soft_fma(a, a, -1.0), libm::fmaf(a, a, -1.0));
/// ```
pub fn soft_fma(a: f32, b: f32, c: f32) -> f32 {
    let (ab, bb, cb) = (a.to_bits(), b.to_bits(), c.to_bits());
    if !(is_finite(ab) && is_finite(bb)) {
        // An infinite or NaN factor: the product is exact (±∞ or NaN), so one rounding.
        return a * b + c;
    }
    if !is_finite(cb) {
        // A finite product plus ±∞ or NaN is c.
        return c + c;
    }
    let (Some((ma, ea)), Some((mb, eb))) = (finite_parts(ab), finite_parts(bb)) else {
        // A zero factor leaves c, or a zero whose sign is negative only if both the
        // product's and c's are: the most common case in a network fed zero pixels or
        // ReLU zeros.
        let sign = if is_zero(cb) { (ab ^ bb) & cb } else { cb };
        return f32::from_bits((sign & 0x8000_0000) | (cb & 0x7FFF_FFFF));
    };
    let product_sign = (ab ^ bb) >> 31;
    // The product: ma·mb ∈ [2^46, 2^48), moved up to [2^60, 2^62); its value is
    // product · 2^(ea + eb − 314).
    let product = (ma * mb) << 14;
    let product_scale = ea + eb - 314;
    // c: mc ∈ [2^23, 2^24) moved up to [2^61, 2^62), value c_sig · 2^(ec − 188); a zero c
    // joins at the product's scale and changes nothing.
    let (c_sig, c_scale, c_sign) = match finite_parts(cb) {
        Some((mc, ec)) => (mc << 38, ec - 188, cb >> 31),
        None => (0, product_scale, product_sign),
    };
    // Align to the larger scale; bits shifted out below 62 significant ones only set the
    // sticky bit, and when any are, the two differ by so much that at most one leading bit
    // cancels: 36 bits below the result's 24 remain.
    let (scale, p, q) = if product_scale >= c_scale {
        let shift = (product_scale - c_scale) as u32;
        (product_scale, product, shift_right_sticky(c_sig, shift))
    } else {
        let shift = (c_scale - product_scale) as u32;
        (c_scale, shift_right_sticky(product, shift), c_sig)
    };
    let (sum, sign) = if product_sign == c_sign {
        (p + q, product_sign)
    } else if p >= q {
        (p - q, product_sign)
    } else {
        (q - p, c_sign)
    };
    if sum == 0 {
        // An exact cancellation is +0 when rounding to nearest.
        return 0.0;
    }
    let lz = sum.leading_zeros();
    // The leading one at bit 63, and the exponent field a normal result would have.
    let normalized = sum << lz;
    let exponent = scale - lz as i32 + 190;
    // The result's significand is the top 24 bits (a normal result) or fewer, down to none,
    // for a subnormal one, whose exponent field is 0: the `drop` bits below them round it.
    let (drop, field) = if exponent >= 1 {
        (40, exponent as u32)
    } else {
        (40 + (1 - exponent).min(25) as u32, 0)
    };
    let (mut significand, below, half) = match drop {
        ..=63 => (
            (normalized >> drop) as u32,
            normalized & ((1 << drop) - 1),
            1 << (drop - 1),
        ),
        64 => (0, normalized, 1 << 63),
        // Less than half the smallest subnormal: zero.
        _ => (0, 0, 1),
    };
    if below > half || (below == half && significand & 1 == 1) {
        // A carry out of the significand moves into the exponent field: from the largest
        // subnormal to the smallest normal, from 2^24 − 1 ulps to the next binade.
        significand += 1;
    }
    // The significand's leading bit (bit 23 of a normal one) adds one to the exponent field.
    let magnitude = ((field.saturating_sub(1)) << 23) + significand;
    if magnitude >= 0x7F80_0000 {
        return f32::from_bits((sign << 31) | 0x7F80_0000);
    }
    f32::from_bits((sign << 31) | magnitude)
}
