//! x86-64 with AVX2 and FMA: up to eight outputs at a time in one AVX register, and libm's
//! `expf` eight values at a time. Each lane performs the same sequence of correctly rounded
//! operations as the scalar path, so the results are bit-identical to it (and to a
//! Cortex-M4F's `vfma.f32` and libm), only faster.

use super::Mat;
use core::arch::x86_64::*;
use core::sync::atomic::{AtomicU8, Ordering};

/// Whether AVX2 and FMA are usable: 0 not yet known, 1 absent, 2 present.
static AVX2_FMA: AtomicU8 = AtomicU8::new(0);

/// Whether the CPU and OS support AVX2 with FMA (CPUID leaves 1 and 7, XCR0's YMM state).
pub fn has_avx2_fma() -> bool {
    match AVX2_FMA.load(Ordering::Relaxed) {
        0 => {
            let present = detect();
            AVX2_FMA.store(if present { 2 } else { 1 }, Ordering::Relaxed);
            present
        }
        v => v == 2,
    }
}

fn detect() -> bool {
    // CPUID is always present on x86-64.
    let leaf1 = __cpuid(1);
    let (fma, osxsave, avx) = (leaf1.ecx >> 12 & 1, leaf1.ecx >> 27 & 1, leaf1.ecx >> 28 & 1);
    if fma == 0 || osxsave == 0 || avx == 0 || __cpuid(0).eax < 7 {
        return false;
    }
    let avx2 = __cpuid_count(7, 0).ebx >> 5 & 1;
    if avx2 == 0 {
        return false;
    }
    // SAFETY: OSXSAVE is set, so XGETBV is available.
    let xcr0 = unsafe { xgetbv0() };
    xcr0 & 0b110 == 0b110
}

#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    // SAFETY: the caller checked OSXSAVE.
    unsafe { _xgetbv(0) }
}

/// `c[i, j..j+width]` (`width` ≤ 8, the rest of the result zero) of `a · b` with
/// `b`'s columns contiguous.
///
/// # Safety
/// The CPU must have AVX2 and FMA; `a` must hold row `a_row` over `k` columns and `b`
/// rows `0..k` over columns `j..j+width`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn fma_block(
    a: &Mat<'_>,
    b: &Mat<'_>,
    a_row: usize,
    j: usize,
    k: usize,
    width: usize,
) -> [f32; 8] {
    let mut acc = _mm256_setzero_ps();
    let (mut ai, mut bi) = (a_row, j);
    if width == 8 {
        for _ in 0..k {
            // SAFETY: element (row, p) of `a` and (p, j..j+8) of `b`, in bounds by the contract.
            let (x, w) = unsafe {
                (
                    *a.data.get_unchecked(ai),
                    _mm256_loadu_ps(b.data.as_ptr().add(bi)),
                )
            };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(x), w, acc);
            ai += a.col_stride;
            bi += b.row_stride;
        }
    } else {
        let lanes = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(width as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        for _ in 0..k {
            // SAFETY: element (row, p) of `a` and (p, j..j+width) of `b` (the lanes loaded),
            // in bounds by the contract.
            let (x, w) = unsafe {
                (
                    *a.data.get_unchecked(ai),
                    _mm256_maskload_ps(b.data.as_ptr().add(bi), lanes),
                )
            };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(x), w, acc);
            ai += a.col_stride;
            bi += b.row_stride;
        }
    }
    let mut out = [0.0f32; 8];
    // SAFETY: `out` holds eight values.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// [`exp8`] over `values`, eight at a time (the last few padded); values outside its
/// range go through `math::exp`.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(not(feature = "micromath"))]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn exp_in_place(values: &mut [f32]) {
    let mut chunks = values.chunks_exact_mut(8);
    for chunk in &mut chunks {
        // SAFETY: `chunk` holds eight values; the CPU has AVX2 and FMA (the contract).
        let (x8, outside) = unsafe {
            let x = _mm256_loadu_ps(chunk.as_ptr());
            let (y, outside) = exp8(x);
            _mm256_storeu_ps(chunk.as_mut_ptr(), y);
            let mut x8 = [0.0f32; 8];
            _mm256_storeu_ps(x8.as_mut_ptr(), x);
            (x8, outside)
        };
        exp_outside(&x8, outside, chunk);
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut x8 = [0.0f32; 8];
        x8[..rest.len()].copy_from_slice(rest);
        let mut y8 = [0.0f32; 8];
        // SAFETY: `x8` and `y8` hold eight values; the CPU has AVX2 and FMA (the contract).
        let outside = unsafe {
            let (y, outside) = exp8(_mm256_loadu_ps(x8.as_ptr()));
            _mm256_storeu_ps(y8.as_mut_ptr(), y);
            outside
        };
        exp_outside(&x8, outside, &mut y8);
        rest.copy_from_slice(&y8[..rest.len()]);
    }
}

/// `out[lane] = math::exp(x[lane])` for each `lane` set in `outside` (and in `out`).
#[cfg(not(feature = "micromath"))]
fn exp_outside(x: &[f32; 8], mut outside: u32, out: &mut [f32]) {
    while outside != 0 {
        let lane = outside.trailing_zeros() as usize;
        if let Some(o) = out.get_mut(lane) {
            *o = crate::math::exp(x[lane]);
        }
        outside &= outside - 1;
    }
}

/// Eight `libm::expf` at once, bit for bit: the same FreeBSD algorithm (reduction by
/// `k·ln 2` split in two, the same rational approximation, scaling by `2^k`) with
/// the same operations in the same order, none fused, with libm's two-step scaling
/// into subnormals and its `+0` for `x ≤ -103.97`. Also returns a bit mask of the
/// lanes whose value is NaN or `x ≥ 87.33`, where libm takes its overflow branches
/// and this result is meaningless.
#[cfg(not(feature = "micromath"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp8(x: __m256) -> (__m256, u32) {
    // libm's constants, by their bits.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let bits = _mm256_castps_si256(x);
    let hx = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fff_ffff));
    // |x| ≥ 87.33 (0x42aeac50) or NaN: libm's special cases.
    let negative = _mm256_srai_epi32::<31>(bits); // all ones where x < 0
                                                  // libm returns +0 for -inf ≤ x ≤ -103.97 (0x42cff1b5).
    let nan = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x7f80_0000));
    let zero = _mm256_andnot_si256(
        nan,
        _mm256_and_si256(negative, _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x42cf_f1b4))),
    );
    // NaN and x ≥ 87.33: libm's overflow branches, left to it.
    let special = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x42ae_ac4f));
    let positive = _mm256_xor_si256(negative, _mm256_set1_epi32(-1));
    let outside = _mm256_and_si256(special, _mm256_or_si256(nan, positive));
    let outside = _mm256_movemask_ps(_mm256_castsi256_ps(outside)) as u32;
    // k: 0 for |x| ≤ ln2/2, ±1 up to 1.5·ln2, else trunc(x/ln2 ± 1/2).
    let half = _mm256_blendv_ps(
        _mm256_set1_ps(0.5),
        _mm256_set1_ps(-0.5),
        _mm256_castsi256_ps(negative),
    );
    let k_far = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(INV_LN2), x), half));
    let k_near = _mm256_or_si256(negative, _mm256_set1_epi32(1)); // -1 or 1
    let beyond_half = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x3eb1_7218));
    let beyond_1_5 = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x3f85_1592));
    let k = _mm256_and_si256(beyond_half, _mm256_blendv_epi8(k_near, k_far, beyond_1_5));
    let kf = _mm256_cvtepi32_ps(k);
    let hi = _mm256_sub_ps(x, _mm256_mul_ps(kf, _mm256_set1_ps(LN2_HI)));
    let lo = _mm256_mul_ps(kf, _mm256_set1_ps(LN2_LO));
    let r = _mm256_sub_ps(hi, lo);
    let rr = _mm256_mul_ps(r, r);
    let poly = _mm256_add_ps(_mm256_set1_ps(P1), _mm256_mul_ps(rr, _mm256_set1_ps(P2)));
    let c = _mm256_sub_ps(r, _mm256_mul_ps(rr, poly));
    let ratio = _mm256_div_ps(_mm256_mul_ps(r, c), _mm256_sub_ps(_mm256_set1_ps(2.0), c));
    let y = _mm256_add_ps(_mm256_set1_ps(1.0), _mm256_add_ps(_mm256_sub_ps(ratio, lo), hi));
    // scalbnf(y, k): for -126 ≤ k ≤ 127 one multiplication by 2^k; below, libm first
    // multiplies by 2^-102 (exactly), then by 2^(k + 102).
    let below = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(-126), k));
    let pre = _mm256_blendv_ps(
        _mm256_set1_ps(1.0),
        _mm256_set1_ps(f32::from_bits(0x0c80_0000)),
        below,
    );
    let k = _mm256_add_epi32(
        k,
        _mm256_and_si256(_mm256_castps_si256(below), _mm256_set1_epi32(102)),
    );
    let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        k,
        _mm256_set1_epi32(127),
    )));
    let scaled = _mm256_mul_ps(_mm256_mul_ps(y, pre), scale);
    // |x| ≤ 2^-14 (0x39000000): libm returns 1 + x.
    let tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x3900_0001), hx);
    let y = _mm256_blendv_ps(
        scaled,
        _mm256_add_ps(_mm256_set1_ps(1.0), x),
        _mm256_castsi256_ps(tiny),
    );
    (_mm256_andnot_ps(_mm256_castsi256_ps(zero), y), outside)
}
