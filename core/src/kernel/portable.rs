//! The portable kernel: the same bits on every target.

use super::{Mat, MatMul, Product};
use crate::math;

/// The portable kernel: for each output, `acc = 0; for p in 0..k { acc = fma(a[i,p], b[p,j], acc) }`.
///
/// Several outputs are computed at a time, their accumulators in registers (on x86-64,
/// tiles of four rows by up to 64 columns in AVX-512 registers or 16 in AVX ones, then
/// sixteen or eight of a row; eight in two NEON registers on aarch64, blocks of up to
/// twelve on a Cortex-M4F, else eight, four, two);
/// the per-output order of operations never changes, so every target gets the same bits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

impl MatMul for Portable {
    fn product(&self, mut p: Product<'_>) {
        let (k, n, a, b) = (p.k(), p.n(), p.a(), p.b());
        if n == 0 {
            return;
        }
        if k == 0 {
            // Empty sums; `a` may hold nothing at all.
            p.c().fill(0.0);
            return;
        }
        // Whole tiles of rows first where the CPU has them (the other rows below).
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the Product proves every (i, p) of `a` and (p, j) of `b` in bounds, and
        // `c` holds `m × n` outputs.
        let tiled = unsafe { super::x86::tiles(&a, &b, k, n, p.c()) };
        #[cfg(not(target_arch = "x86_64"))]
        let tiled = 0;
        for (i, c_row) in p.c().chunks_exact_mut(n).enumerate().skip(tiled) {
            let a_row = i * a.row_stride;
            let mut j = 0;
            #[cfg(target_arch = "x86_64")]
            if b.col_stride == 1 && super::x86::has_avx512f() {
                while j < n {
                    let width = (n - j).min(16);
                    // SAFETY: the CPU has AVX-512F; the Product proves every (i, p) of `a`
                    // and (p, j..j+width) of `b` in bounds.
                    let acc = unsafe { super::x86::fma_block16(&a, &b, a_row, j, k, width) };
                    c_row[j..j + width].copy_from_slice(&acc[..width]);
                    j += width;
                }
            } else if b.col_stride == 1 && super::x86::has_avx2_fma() {
                while j < n {
                    let width = (n - j).min(8);
                    // SAFETY: the CPU has AVX2 and FMA; the Product proves every (i, p) of
                    // `a` and (p, j..j+width) of `b` in bounds.
                    let acc = unsafe { super::x86::fma_block(&a, &b, a_row, j, k, width) };
                    c_row[j..j + width].copy_from_slice(&acc[..width]);
                    j += width;
                }
            }
            #[cfg(target_arch = "aarch64")]
            if b.col_stride == 1 {
                while j < n {
                    let width = (n - j).min(8);
                    // SAFETY: the Product proves every (i, p) of `a` and (p, j..j+width) of
                    // `b` in bounds.
                    let acc = unsafe { super::neon::fma_block(&a, &b, a_row, j, k, width) };
                    c_row[j..j + width].copy_from_slice(&acc[..width]);
                    j += width;
                }
            }
            #[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
            if b.col_stride == 1 {
                // SAFETY: `b`'s columns are contiguous; the Product proves every (i, p) of
                // `a` and (p, 0..n) of `b` in bounds, and `c_row` holds `n` values.
                unsafe { super::arm::row(&a, &b, a_row, k, n, c_row) };
                j = n;
            }
            #[cfg(not(all(target_arch = "arm", target_feature = "vfp2")))]
            if b.col_stride == 1 {
                // Contiguous weights: eight outputs at a time.
                while j + 8 <= n {
                    // SAFETY: the Product proves every (i, p) of `a` and (p, j..j+8) of `b` in bounds.
                    let acc = unsafe { block::<8>(&a, &b, a_row, j, k, 8) };
                    c_row[j..j + 8].copy_from_slice(&acc);
                    j += 8;
                }
            }
            while j + 4 <= n {
                // SAFETY: the Product proves every (i, p) of `a` and (p, j..j+4) of `b` in bounds.
                let acc = unsafe { block::<4>(&a, &b, a_row, j, k, 4) };
                c_row[j..j + 4].copy_from_slice(&acc);
                j += 4;
            }
            while j < n {
                // The last one or two outputs, together.
                let width = (n - j).min(2);
                // SAFETY: the Product proves every (i, p) of `a` and (p, j..j+width) of `b` in bounds.
                let acc = unsafe { block::<2>(&a, &b, a_row, j, k, width) };
                c_row[j..j + width].copy_from_slice(&acc[..width]);
                j += width;
            }
        }
    }
}

/// `c[i, j..j+width]` of `a · b` (`width` ≤ `W`, the rest of the result zero), each
/// output the ascending sequence of fused multiply-adds over `k`.
///
/// # Safety
/// `a` must hold row `a_row` over `k` columns (element `a_row + p * a.col_stride` for
/// every `p < k`) and `b` rows `0..k` over columns `j..j+width`.
#[inline(always)]
unsafe fn block<const W: usize>(
    a: &Mat<'_>,
    b: &Mat<'_>,
    a_row: usize,
    j: usize,
    k: usize,
    width: usize,
) -> [f32; W] {
    let mut acc = [0.0f32; W];
    let (mut ai, mut bi) = (a_row, j * b.col_stride);
    for _ in 0..k {
        // SAFETY: `ai` is `a_row + p * a.col_stride` for this `p < k`, in bounds by the contract.
        let x = unsafe { *a.data.get_unchecked(ai) };
        for (q, slot) in acc[..width].iter_mut().enumerate() {
            // SAFETY: element (p, j + q) of `b` with `q < width`, in bounds by the contract.
            let w = unsafe { *b.data.get_unchecked(bi + q * b.col_stride) };
            *slot = math::mul_add(x, w, *slot);
        }
        ai += a.col_stride;
        bi += b.row_stride;
    }
    acc
}
