//! `a * b + c` with one rounding in integer arithmetic, for cores without an FPU.
//!
//! libm's `fmaf` is correctly rounded too, but computes through `f64`, which a core without
//! an FPU emulates call by call (~260 instructions per multiply-accumulate on a Cortex-M3).
//! Here the common case — normal, zero or finite operands with a normal result — takes one
//! 32×32→64-bit multiply and a few 64-bit shifts; everything else (infinities, NaNs,
//! subnormal operands or results, overflow) goes to `libm::fmaf`. Both are correctly
//! rounded, so the bits are the same as the host's and the FPU's.

/// The significand (implicit bit included) and biased exponent of a finite nonzero normal
/// `f32`, or `None`.
fn normal_parts(bits: u32) -> Option<(u64, i32)> {
    let exponent = ((bits >> 23) & 0xFF) as i32;
    if exponent == 0 || exponent == 0xFF {
        return None;
    }
    Some((u64::from((bits & 0x7F_FFFF) | 0x80_0000), exponent))
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
    let (Some((ma, ea)), Some((mb, eb))) = (normal_parts(ab), normal_parts(bb)) else {
        // A zero factor of finite operands leaves c, or a zero whose sign is negative only
        // if both the product's and c's are: the most common case in a network fed zero
        // pixels or ReLU zeros.
        if (is_zero(ab) || is_zero(bb)) && is_finite(ab) && is_finite(bb) && is_finite(cb) {
            let sign = if is_zero(cb) { (ab ^ bb) & cb } else { cb };
            return f32::from_bits((sign & 0x8000_0000) | (cb & 0x7FFF_FFFF));
        }
        return libm::fmaf(a, b, c);
    };
    let product_sign = (ab ^ bb) >> 31;
    // The product: ma·mb ∈ [2^46, 2^48), moved up to [2^60, 2^62); its value is
    // product · 2^(ea + eb − 314).
    let product = (ma * mb) << 14;
    let product_scale = ea + eb - 314;
    // c: mc ∈ [2^23, 2^24) moved up to [2^61, 2^62), value c_sig · 2^(ec − 188); a zero c
    // joins at the product's scale and changes nothing.
    let (c_sig, c_scale, c_sign) = if is_zero(cb) {
        (0, product_scale, product_sign)
    } else {
        match normal_parts(cb) {
            Some((mc, ec)) => (mc << 38, ec - 188, cb >> 31),
            None => return libm::fmaf(a, b, c),
        }
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
    let normalized = sum << lz;
    let mut significand = (normalized >> 40) as u32;
    let rest = normalized & ((1 << 40) - 1);
    let mut exponent = scale - lz as i32 + 190;
    const HALF: u64 = 1 << 39;
    if rest > HALF || (rest == HALF && significand & 1 == 1) {
        significand += 1;
        if significand == 1 << 24 {
            significand >>= 1;
            exponent += 1;
        }
    }
    if exponent <= 0 || exponent >= 0xFF {
        // Subnormal or overflowing results round differently: libm does them.
        return libm::fmaf(a, b, c);
    }
    f32::from_bits((sign << 31) | ((exponent as u32) << 23) | (significand & 0x7F_FFFF))
}
