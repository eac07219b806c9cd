//! AVX-512 (F): non-zero extraction with one compress per sixteen values, and
//! accumulation of up to 128 outputs (eight registers) at a time; for wide outputs, a
//! group's terms found sixteen positions at a time (compressed, then interleaved into
//! [`Values`]) and its outputs accumulated 64 columns (four registers per row) at a time. AVX-512's masked loads
//! never fault on the lanes they leave out and cost what plain loads do, so the last
//! register of every row is read masked and no row needs a path of its own.
//!
//! Each output is the same ascending sequence of fused multiply-adds as in [`super::avx2`]
//! and the portable loop, so all three give the same bits.

use super::{Pairs, Values, GROUP};
use microdense_core::Mat;
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_epi32, _mm512_castpd_ps, _mm512_castps_pd, _mm512_fmadd_ps,
    _mm512_loadu_ps, _mm512_mask_cmp_ps_mask, _mm512_mask_storeu_ps, _mm512_maskz_compress_epi32,
    _mm512_maskz_compress_ps, _mm512_maskz_loadu_ps, _mm512_permutex2var_pd, _mm512_permutex2var_ps,
    _mm512_set1_epi32, _mm512_set1_ps, _mm512_setr_epi32, _mm512_setr_epi64, _mm512_setzero_ps,
    _mm512_storeu_epi32, _mm512_storeu_ps, _CMP_NEQ_UQ,
};

/// The first `lanes` (0 to 16) of sixteen.
fn first(lanes: usize) -> __mmask16 {
    (((1u32 << lanes) - 1) & 0xffff) as __mmask16
}

/// Appends the positions and values of `line`'s non-zeros (NaN included): sixteen values
/// are compared at once and the non-zeros packed with one compress each.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn push_nonzeros(line: &[f32], index: &mut Vec<u32>, value: &mut Vec<f32>) {
    // Every chunk stores sixteen lanes whatever its count: room for one extra chunk.
    index.reserve(line.len() + 16);
    value.reserve(line.len() + 16);
    let start = index.len();
    let mut len = start;
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for from in (0..line.len()).step_by(16) {
        let loaded = first((line.len() - from).min(16));
        // SAFETY: the load reads only the `loaded` lanes, `line[from..]`; the stores write
        // sixteen lanes from `len <= start + from`, and `from + 16 <= line.len() + 16` were
        // reserved above, so every lane lands in the reserved capacity.
        unsafe {
            let v = _mm512_maskz_loadu_ps(loaded, line.as_ptr().add(from));
            let keep = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(loaded, v, _mm512_setzero_ps());
            if keep == 0 {
                // Nothing to keep (runs of zeros are long in images).
                continue;
            }
            let positions = _mm512_add_epi32(lanes, _mm512_set1_epi32(from as i32));
            _mm512_storeu_epi32(
                index.as_mut_ptr().add(len).cast::<i32>(),
                _mm512_maskz_compress_epi32(keep, positions),
            );
            _mm512_storeu_ps(value.as_mut_ptr().add(len), _mm512_maskz_compress_ps(keep, v));
            len += keep.count_ones() as usize;
        }
    }
    // SAFETY: the first `len` values of both vectors were written above (each chunk's
    // leading `count_ones` compressed lanes).
    unsafe {
        index.set_len(len);
        value.set_len(len);
    }
}

/// See [`super::accumulate`].
///
/// # Safety
/// The CPU must have AVX-512F, and every `t` of `pairs` must name a row of `b` with
/// `c_row.len()` contiguous values.
#[target_feature(enable = "avx512f")]
pub unsafe fn accumulate(pairs: impl Pairs, b: &Mat<'_>, c_row: &mut [f32]) {
    let n = c_row.len();
    let mut p = 0;
    while p < n {
        let width = (n - p).min(128);
        let lanes = width.div_ceil(16);
        let tail = first(width - (lanes - 1) * 16);
        // SAFETY: the caller guarantees AVX-512F; `p < n = c_row.len()` and every row `t`
        // of `pairs` has `n` values from `b.data[t * row_stride]`, so the panel reads
        // columns `p..p + width` of those rows (its last register masked to them) and
        // writes `c_row[p..p + width]`.
        unsafe {
            let (base, s) = (b.data.as_ptr().add(p), b.row_stride);
            let out = &mut c_row[p..p + width];
            match lanes {
                1 => panel::<1>(pairs.clone(), base, s, tail, out),
                2 => panel::<2>(pairs.clone(), base, s, tail, out),
                3 => panel::<3>(pairs.clone(), base, s, tail, out),
                4 => panel::<4>(pairs.clone(), base, s, tail, out),
                5 => panel::<5>(pairs.clone(), base, s, tail, out),
                6 => panel::<6>(pairs.clone(), base, s, tail, out),
                7 => panel::<7>(pairs.clone(), base, s, tail, out),
                _ => panel::<8>(pairs.clone(), base, s, tail, out),
            }
        }
        p += width;
    }
}

/// `R` registers of outputs (`16 * (R - 1)` plus the `tail` lanes of the last, which is
/// `out`), summed over `pairs` (`t`, `x`).
///
/// # Safety
/// The CPU must have AVX-512F; for every `t` of `pairs`, the `16 * (R - 1)` values from
/// `base + t * stride` and the `tail` lanes after them must be readable; `out` must hold
/// exactly those `16 * (R - 1)` values and `tail` lanes.
#[target_feature(enable = "avx512f")]
unsafe fn panel<const R: usize>(
    pairs: impl Pairs,
    base: *const f32,
    stride: usize,
    tail: __mmask16,
    out: &mut [f32],
) {
    // SAFETY: the caller guarantees the CPU feature and that each row's panel is readable
    // and `out` writable as described.
    unsafe {
        let mut acc: [__m512; R] = [_mm512_setzero_ps(); R];
        for (t, x) in pairs {
            let x = _mm512_set1_ps(x);
            let row = base.add(t as usize * stride);
            for (r, slot) in acc.iter_mut().enumerate() {
                let w = if r + 1 == R {
                    _mm512_maskz_loadu_ps(tail, row.add(16 * r))
                } else {
                    _mm512_loadu_ps(row.add(16 * r))
                };
                *slot = _mm512_fmadd_ps(x, w, *slot);
            }
        }
        for (r, v) in acc[..R - 1].iter().enumerate() {
            _mm512_storeu_ps(out.as_mut_ptr().add(16 * r), *v);
        }
        _mm512_mask_storeu_ps(out.as_mut_ptr().add(16 * (R - 1)), tail, acc[R - 1]);
    }
}

/// Appends the positions `t < k` where any of `rows` (at most [`GROUP`], `k` values
/// each) is non-zero (NaN included), and the rows' values there.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn gather_rows(rows: &[&[f32]], k: usize, positions: &mut Vec<u32>, values: &mut Vec<Values>) {
    assert!(rows.len() <= GROUP && rows.iter().all(|r| r.len() >= k));
    // Every chunk stores sixteen lanes whatever its count: room for one extra chunk.
    positions.reserve(k + 16);
    values.reserve(k + 16);
    let start = positions.len();
    let mut len = start;
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Pairs of two rows' values, then quadruples of the pairs.
    let pairs_low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    let pairs_high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    let quads_low = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    let quads_high = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    for from in (0..k).step_by(16) {
        let loaded = first((k - from).min(16));
        // SAFETY: the loads read only the `loaded` lanes, `row[from..k]`, inside each row
        // (asserted above); the stores write sixteen positions and sixteen values from
        // `len <= start + from`, and `k + 16` of each were reserved above, so every lane
        // lands in the reserved capacity.
        unsafe {
            let mut v = [_mm512_setzero_ps(); GROUP];
            let mut keep = 0;
            for (v, row) in v.iter_mut().zip(rows) {
                *v = _mm512_maskz_loadu_ps(loaded, row.as_ptr().add(from));
                keep |= _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(loaded, *v, _mm512_setzero_ps());
            }
            if keep == 0 {
                // Nothing to keep (runs of zeros are long in images).
                continue;
            }
            let at = _mm512_add_epi32(lanes, _mm512_set1_epi32(from as i32));
            _mm512_storeu_epi32(
                positions.as_mut_ptr().add(len).cast::<i32>(),
                _mm512_maskz_compress_epi32(keep, at),
            );
            let [r0, r1, r2, r3] = v.map(|v| _mm512_maskz_compress_ps(keep, v));
            let (low01, high01) = (
                _mm512_castps_pd(_mm512_permutex2var_ps(r0, pairs_low, r1)),
                _mm512_castps_pd(_mm512_permutex2var_ps(r0, pairs_high, r1)),
            );
            let (low23, high23) = (
                _mm512_castps_pd(_mm512_permutex2var_ps(r2, pairs_low, r3)),
                _mm512_castps_pd(_mm512_permutex2var_ps(r2, pairs_high, r3)),
            );
            let out = values.as_mut_ptr().add(len).cast::<f32>();
            for (q, (x, y, order)) in [
                (low01, low23, quads_low),
                (low01, low23, quads_high),
                (high01, high23, quads_low),
                (high01, high23, quads_high),
            ]
            .into_iter()
            .enumerate()
            {
                _mm512_storeu_ps(
                    out.add(16 * q),
                    _mm512_castpd_ps(_mm512_permutex2var_pd(x, order, y)),
                );
            }
            len += keep.count_ones() as usize;
        }
    }
    // SAFETY: the first `len` of both vectors were written above (each chunk's leading
    // `count_ones` compressed lanes).
    unsafe {
        positions.set_len(len);
        values.set_len(len);
    }
}

/// See [`super::grouped`]'s `accumulate`.
///
/// # Safety
/// The CPU must have AVX-512F; every one of `positions` must name a row of `b` with `n`
/// contiguous values; `values` must be as long as `positions`; `c` must hold whole rows
/// of `n` values, at most [`GROUP`].
#[target_feature(enable = "avx512f")]
pub unsafe fn accumulate_group(positions: &[u32], values: &[Values], b: &Mat<'_>, n: usize, c: &mut [f32]) {
    let rows = c.len() / n;
    let mut p = 0;
    while p < n {
        let width = (n - p).min(64);
        let lanes = width.div_ceil(16);
        let tail = first(width - (lanes - 1) * 16);
        // SAFETY: the caller guarantees AVX-512F; `p < n` and every one `t` of
        // `positions` has `n` values from `b.data[t * row_stride]`, so the panel reads columns
        // `p..p + width` of those rows (its last register masked to them) and writes
        // columns `p..p + width` of `c`'s `rows` rows.
        unsafe {
            let (base, s) = (b.data.as_ptr().add(p), b.row_stride);
            let out = c.as_mut_ptr().add(p);
            match lanes {
                1 => group_panel::<1>((positions, values), base, s, tail, out, n, rows),
                2 => group_panel::<2>((positions, values), base, s, tail, out, n, rows),
                3 => group_panel::<3>((positions, values), base, s, tail, out, n, rows),
                _ => group_panel::<4>((positions, values), base, s, tail, out, n, rows),
            }
        }
        p += width;
    }
}

/// `R` registers of outputs (`16 * (R - 1)` plus the `tail` lanes of the last) for each
/// of the group's rows, summed over the terms (positions and values), stored to `rows`
/// rows from `out`, `n` apart.
///
/// # Safety
/// The CPU must have AVX-512F; for every position `t` of the terms, the `16 * (R - 1)`
/// values from `base + t * stride` and the `tail` lanes after them must be readable; the
/// same must be writable from `out + r * n` for every `r < rows <= GROUP`.
#[target_feature(enable = "avx512f")]
unsafe fn group_panel<const R: usize>(
    (positions, values): (&[u32], &[Values]),
    base: *const f32,
    stride: usize,
    tail: __mmask16,
    out: *mut f32,
    n: usize,
    rows: usize,
) {
    // SAFETY: the caller guarantees the CPU feature and that each row's panel is readable
    // and each output row's writable as described.
    unsafe {
        let mut acc: [[__m512; R]; GROUP] = [[_mm512_setzero_ps(); R]; GROUP];
        for (&t, x) in positions.iter().zip(values) {
            let row = base.add(t as usize * stride);
            let w: [__m512; R] = std::array::from_fn(|r| {
                if r + 1 == R {
                    _mm512_maskz_loadu_ps(tail, row.add(16 * r))
                } else {
                    _mm512_loadu_ps(row.add(16 * r))
                }
            });
            for (acc, &x) in acc.iter_mut().zip(x) {
                let x = _mm512_set1_ps(x);
                for (slot, &w) in acc.iter_mut().zip(&w) {
                    *slot = _mm512_fmadd_ps(x, w, *slot);
                }
            }
        }
        for (g, acc) in acc[..rows].iter().enumerate() {
            let out = out.add(g * n);
            for (r, v) in acc[..R - 1].iter().enumerate() {
                _mm512_storeu_ps(out.add(16 * r), *v);
            }
            _mm512_mask_storeu_ps(out.add(16 * (R - 1)), tail, acc[R - 1]);
        }
    }
}
