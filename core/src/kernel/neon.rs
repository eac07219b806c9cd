//! aarch64 with NEON (every aarch64 CPU has it): up to eight outputs at a time in two
//! 128-bit registers. Each lane performs the same sequence of fused multiply-adds
//! (`fmla`, correctly rounded once) as the portable path's `libm::fmaf`, so the results
//! are bit-identical to it, only faster.

use super::Mat;
use core::arch::aarch64::{vdupq_n_f32, vfmaq_f32, vld1q_f32, vst1q_f32};

/// `c[i, j..j+width]` (`width` ≤ 8, the rest of the result zero) of `a · b` with
/// `b`'s columns contiguous.
///
/// # Safety
/// `a` must hold row `a_row` over `k` columns and `b` rows `0..k` over columns
/// `j..j+width`.
#[target_feature(enable = "neon")]
pub unsafe fn fma_block(
    a: &Mat<'_>,
    b: &Mat<'_>,
    a_row: usize,
    j: usize,
    k: usize,
    width: usize,
) -> [f32; 8] {
    let mut out = [0.0f32; 8];
    let (mut ai, mut bi) = (a_row, j);
    if width == 8 {
        let (mut lo, mut hi) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
        for _ in 0..k {
            // SAFETY: element (row, p) of `a` and (p, j..j+8) of `b`, in bounds by the contract.
            let (x, w_lo, w_hi) = unsafe {
                let w = b.data.as_ptr().add(bi);
                (*a.data.get_unchecked(ai), vld1q_f32(w), vld1q_f32(w.add(4)))
            };
            let x = vdupq_n_f32(x);
            lo = vfmaq_f32(lo, x, w_lo);
            hi = vfmaq_f32(hi, x, w_hi);
            ai += a.col_stride;
            bi += b.row_stride;
        }
        // SAFETY: `out` holds eight values.
        unsafe {
            vst1q_f32(out.as_mut_ptr(), lo);
            vst1q_f32(out.as_mut_ptr().add(4), hi);
        }
    } else {
        // A tail: the values are gathered into a zero-padded row first, so no load reads
        // past `b`'s end.
        let mut lanes = [vdupq_n_f32(0.0); 2];
        for _ in 0..k {
            let mut w = [0.0f32; 8];
            // SAFETY: element (row, p) of `a` and (p, j..j+width) of `b`, in bounds by the contract.
            let x = unsafe {
                w[..width].copy_from_slice(b.data.get_unchecked(bi..bi + width));
                vdupq_n_f32(*a.data.get_unchecked(ai))
            };
            for (half, acc) in lanes.iter_mut().enumerate() {
                // SAFETY: `w` holds eight values.
                *acc = vfmaq_f32(*acc, x, unsafe { vld1q_f32(w.as_ptr().add(4 * half)) });
            }
            ai += a.col_stride;
            bi += b.row_stride;
        }
        for (half, acc) in lanes.iter().enumerate() {
            // SAFETY: `out` holds eight values.
            unsafe { vst1q_f32(out.as_mut_ptr().add(4 * half), *acc) };
        }
        out[width..].fill(0.0);
    }
    out
}
