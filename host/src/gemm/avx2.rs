//! AVX2 and FMA: branch-free non-zero extraction, and accumulation of up to 64 outputs
//! (eight registers) at a time; for wide outputs, a group's terms found eight positions
//! at a time (packed with one permutation per row, then interleaved into [`Values`]) and
//! its outputs accumulated up to 24 columns (three registers per row) at a time.

use super::{Pairs, Values, GROUP};
use microdense_core::Mat;
use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_cmp_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_maskload_ps, _mm256_movemask_ps, _mm256_or_ps, _mm256_permute2f128_ps,
    _mm256_permutevar8x32_epi32, _mm256_permutevar8x32_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setr_epi32, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_storeu_si256,
    _mm256_unpackhi_ps, _mm256_unpacklo_ps, _CMP_NEQ_UQ,
};

/// For each 8-bit mask, the lanes whose bit is set, in order (then zeros).
static COMPRESS: [[u32; 8]; 256] = {
    let mut table = [[0u32; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut lane, mut at) = (0, 0);
        while lane < 8 {
            if mask >> lane & 1 == 1 {
                table[mask][at] = lane as u32;
                at += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// Appends the positions and values of `line`'s non-zeros (NaN included): eight
/// values are compared at once and the non-zeros packed with one permutation.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn push_nonzeros(line: &[f32], index: &mut Vec<u32>, value: &mut Vec<f32>) {
    // Whole chunks store eight lanes whatever their count: room for one extra chunk.
    index.reserve(line.len() + 8);
    value.reserve(line.len() + 8);
    let mut len = index.len();
    let chunks = line.len() / 8;
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for chunk in 0..chunks {
        // SAFETY: `8 * chunk + 8 <= line.len()` (whole chunks only); the stores write
        // eight lanes from `len`, and `len <= 8 * chunk` with `line.len() + 8` reserved
        // above, so every lane lands in the reserved capacity.
        unsafe {
            let v = _mm256_loadu_ps(line.as_ptr().add(8 * chunk));
            let bits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
            if bits == 0 {
                // Nothing to keep (runs of zeros are long in images).
                continue;
            }
            let positions = _mm256_add_epi32(lanes, _mm256_set1_epi32(8 * chunk as i32));
            let order = _mm256_loadu_si256(COMPRESS[bits].as_ptr().cast::<__m256i>());
            _mm256_storeu_si256(
                index.as_mut_ptr().add(len).cast::<__m256i>(),
                _mm256_permutevar8x32_epi32(positions, order),
            );
            _mm256_storeu_ps(value.as_mut_ptr().add(len), _mm256_permutevar8x32_ps(v, order));
            len += bits.count_ones() as usize;
        }
    }
    for (t, &x) in line.iter().enumerate().skip(8 * chunks) {
        if x != 0.0 {
            // SAFETY: `len < line.len() + 8`, inside the capacity reserved above.
            unsafe {
                index.as_mut_ptr().add(len).write(t as u32);
                value.as_mut_ptr().add(len).write(x);
            }
            len += 1;
        }
    }
    // SAFETY: the first `len` values of both vectors were written above (a permuted
    // chunk's leading `count_ones` lanes, then the tail's non-zeros).
    unsafe {
        index.set_len(len);
        value.set_len(len);
    }
}

/// Appends the positions `t < k` where any of `rows` (at most [`GROUP`], `k` values
/// each) is non-zero (NaN included), and the rows' values there.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn gather_rows(rows: &[&[f32]], k: usize, positions: &mut Vec<u32>, values: &mut Vec<Values>) {
    assert!(rows.len() <= GROUP && rows.iter().all(|r| r.len() >= k));
    // Whole chunks store eight lanes whatever their count: room for one extra chunk.
    positions.reserve(k + 8);
    values.reserve(k + 8);
    let start = positions.len();
    let mut len = start;
    let chunks = k / 8;
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for chunk in 0..chunks {
        let from = 8 * chunk;
        // SAFETY: `from + 8 <= k`, inside each row (asserted above); the stores write
        // eight positions and eight values from `len <= start + from`, and `k + 8` of
        // each were reserved above, so every lane lands in the reserved capacity.
        unsafe {
            let mut v = [_mm256_setzero_ps(); GROUP];
            let mut any = _mm256_setzero_ps();
            for (v, row) in v.iter_mut().zip(rows) {
                *v = _mm256_loadu_ps(row.as_ptr().add(from));
                any = _mm256_or_ps(any, _mm256_cmp_ps::<_CMP_NEQ_UQ>(*v, _mm256_setzero_ps()));
            }
            let keep = _mm256_movemask_ps(any) as usize;
            if keep == 0 {
                // Nothing to keep (runs of zeros are long in images).
                continue;
            }
            let order = _mm256_loadu_si256(COMPRESS[keep].as_ptr().cast::<__m256i>());
            let at = _mm256_add_epi32(lanes, _mm256_set1_epi32(from as i32));
            _mm256_storeu_si256(
                positions.as_mut_ptr().add(len).cast::<__m256i>(),
                _mm256_permutevar8x32_epi32(at, order),
            );
            let [r0, r1, r2, r3] = v.map(|v| _mm256_permutevar8x32_ps(v, order));
            // Within each half: pairs of rows 0 and 1, 2 and 3, then quadruples.
            let (low01, high01) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (low23, high23) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            // Positions 0 and 4, 1 and 5, 2 and 6, 3 and 7.
            let q04 = _mm256_shuffle_ps::<0x44>(low01, low23);
            let q15 = _mm256_shuffle_ps::<0xEE>(low01, low23);
            let q26 = _mm256_shuffle_ps::<0x44>(high01, high23);
            let q37 = _mm256_shuffle_ps::<0xEE>(high01, high23);
            let out = values.as_mut_ptr().add(len).cast::<f32>();
            _mm256_storeu_ps(out, _mm256_permute2f128_ps::<0x20>(q04, q15));
            _mm256_storeu_ps(out.add(8), _mm256_permute2f128_ps::<0x20>(q26, q37));
            _mm256_storeu_ps(out.add(16), _mm256_permute2f128_ps::<0x31>(q04, q15));
            _mm256_storeu_ps(out.add(24), _mm256_permute2f128_ps::<0x31>(q26, q37));
            len += keep.count_ones() as usize;
        }
    }
    for t in 8 * chunks..k {
        let x: Values = std::array::from_fn(|r| rows.get(r).map_or(0.0, |row| row[t]));
        if x.iter().any(|&v| v != 0.0) {
            // SAFETY: `len < k + 8`, inside the capacity reserved above.
            unsafe {
                positions.as_mut_ptr().add(len).write(t as u32);
                values.as_mut_ptr().add(len).write(x);
            }
            len += 1;
        }
    }
    // SAFETY: the first `len` of both vectors were written above (a permuted chunk's
    // leading `count_ones` lanes, then the tail's).
    unsafe {
        positions.set_len(len);
        values.set_len(len);
    }
}

/// See [`super::accumulate`].
///
/// # Safety
/// The CPU must have AVX2 and FMA, and every `t` of `pairs` must name a row of `b`
/// with `c_row.len()` contiguous values.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn accumulate(pairs: impl Pairs, b: &Mat<'_>, c_row: &mut [f32]) {
    let n = c_row.len();
    let mut p = 0;
    while p < n {
        let width = (n - p).min(64);
        let lanes = width.div_ceil(8);
        let (s, whole_rows) = (b.row_stride, whole_rows(b, p, lanes));
        // SAFETY: the caller guarantees AVX2 and FMA; `p < n = c_row.len()` and every
        // row `t` of `pairs` has `n` values from `b.data[t * row_stride]`, so the panel
        // reads columns `p..p + width` of those rows (and, for the rows before
        // `whole_rows`, up to `8 * lanes` values, inside `b.data` as computed) and writes
        // `c_row[p..p + width]`.
        unsafe {
            let tail = mask(width - (lanes - 1) * 8);
            let base = b.data.as_ptr().add(p);
            let out = &mut c_row[p..p + width];
            let pairs = (pairs.clone(), whole_rows);
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

/// See [`super::grouped`]'s `accumulate`.
///
/// # Safety
/// The CPU must have AVX2 and FMA; every one of `positions` must name a row of `b` with
/// `n` contiguous values; `values` must be as long as `positions`; `c` must hold whole
/// rows of `n` values, at most [`GROUP`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn accumulate_group(positions: &[u32], values: &[Values], b: &Mat<'_>, n: usize, c: &mut [f32]) {
    let rows = c.len() / n;
    let mut p = 0;
    while p < n {
        // Panels of at most three registers, as even as they come (fifty columns are
        // 24 + 16 + 10, not 24 + 24 + 2: each panel reads every term once).
        let left = (n - p).div_ceil(8);
        let lanes = left.div_ceil(left.div_ceil(3));
        let width = (n - p).min(8 * lanes);
        let (s, whole_rows) = (b.row_stride, whole_rows(b, p, lanes));
        // SAFETY: the caller guarantees AVX2 and FMA; `p < n` and every position `t` of
        // `positions` has `n` values from `b.data[t * row_stride]`, so the panel reads columns
        // `p..p + width` of those rows (and, for the rows before `whole_rows`, up to
        // `8 * lanes` values, inside `b.data` as computed) and writes columns
        // `p..p + width` of `c`'s rows.
        unsafe {
            let tail = mask(width - (lanes - 1) * 8);
            let base = b.data.as_ptr().add(p);
            let out = &mut c[p..];
            let panel_of = Panel {
                base,
                stride: s,
                whole_rows,
                tail,
                n,
                rows,
            };
            match lanes {
                1 => panel_of.sum::<1>(positions, values, width, out),
                2 => panel_of.sum::<2>(positions, values, width, out),
                _ => panel_of.sum::<3>(positions, values, width, out),
            }
        }
        p += width;
    }
}

/// The rows of `b` whose panel of `8 * lanes` values from column `p` lies inside
/// `b.data`: read with plain loads (the lanes past the panel's width are never stored);
/// masked loads, slow on AMD cores, only for the last rows of `b`.
fn whole_rows(b: &Mat<'_>, p: usize, lanes: usize) -> usize {
    b.data
        .len()
        .checked_sub(p + 8 * lanes)
        .map_or(0, |room| room / b.row_stride.max(1) + 1)
}

/// A mask selecting the first `lanes` (1 to 8) of eight.
#[target_feature(enable = "avx2")]
fn mask(lanes: usize) -> __m256i {
    let l = lanes as i32;
    _mm256_setr_epi32(
        -((l > 0) as i32),
        -((l > 1) as i32),
        -((l > 2) as i32),
        -((l > 3) as i32),
        -((l > 4) as i32),
        -((l > 5) as i32),
        -((l > 6) as i32),
        -((l > 7) as i32),
    )
}

/// `R` registers of outputs (`out.len()` of them stored), summed over `pairs.0` (`t`,
/// `x`): rows before `pairs.1` read with plain loads, later ones with the last register's
/// load masked by `tail`.
///
/// # Safety
/// The CPU must have AVX2 and FMA; for every `t` of `pairs.0`, the `8 * R` values from
/// `base + t * stride` must be readable when `t < pairs.1`, else the `8 * (R - 1)` values
/// from there and the `tail` lanes after them; `out.len()` must be at most `8 * R`.
#[target_feature(enable = "avx2,fma")]
unsafe fn panel<const R: usize>(
    (pairs, whole_rows): (impl Pairs, usize),
    base: *const f32,
    stride: usize,
    tail: __m256i,
    out: &mut [f32],
) {
    // SAFETY: the caller guarantees the CPU features and that each row's panel is
    // readable as described.
    unsafe {
        let mut acc: [__m256; R] = [_mm256_setzero_ps(); R];
        for (t, x) in pairs {
            let x = _mm256_set1_ps(x);
            let row = base.add(t as usize * stride);
            let whole = (t as usize) < whole_rows;
            for (r, slot) in acc.iter_mut().enumerate() {
                let w = if r + 1 == R && !whole {
                    _mm256_maskload_ps(row.add(8 * r), tail)
                } else {
                    _mm256_loadu_ps(row.add(8 * r))
                };
                *slot = _mm256_fmadd_ps(x, w, *slot);
            }
        }
        let last = 8 * (R - 1);
        for (r, v) in acc[..R - 1].iter().enumerate() {
            _mm256_storeu_ps(out.as_mut_ptr().add(8 * r), *v);
        }
        if out.len() == 8 * R {
            _mm256_storeu_ps(out.as_mut_ptr().add(last), acc[R - 1]);
        } else {
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc[R - 1]);
            for (y, x) in out[last..].iter_mut().zip(lanes) {
                *y = x;
            }
        }
    }
}

/// Where a panel of columns lies: in `b` from `base`, rows `stride` apart (those before
/// `whole_rows` readable for whole registers, the others to the `tail` lanes of the
/// last); in the output, `rows` rows `n` apart.
struct Panel {
    base: *const f32,
    stride: usize,
    whole_rows: usize,
    tail: __m256i,
    n: usize,
    rows: usize,
}

impl Panel {
    /// `R` registers of outputs for each of the group's rows, summed over the terms; the
    /// first `width` columns of each stored from `out`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; the panel's rows must be readable as described on
    /// [`Panel`] for every one of `positions`; `out` must hold `rows - 1` rows of `n`
    /// values and `width <= 8 * R` more.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sum<const R: usize>(
        &self,
        positions: &[u32],
        values: &[Values],
        width: usize,
        out: &mut [f32],
    ) {
        // SAFETY: the caller guarantees the CPU features and that each row's panel is
        // readable as described.
        unsafe {
            let mut acc: [[__m256; R]; GROUP] = [[_mm256_setzero_ps(); R]; GROUP];
            for (&t, x) in positions.iter().zip(values) {
                let row = self.base.add(t as usize * self.stride);
                let whole = (t as usize) < self.whole_rows;
                let w: [__m256; R] = std::array::from_fn(|r| {
                    if r + 1 == R && !whole {
                        _mm256_maskload_ps(row.add(8 * r), self.tail)
                    } else {
                        _mm256_loadu_ps(row.add(8 * r))
                    }
                });
                for (acc, &x) in acc.iter_mut().zip(x) {
                    let x = _mm256_set1_ps(x);
                    for (slot, &w) in acc.iter_mut().zip(&w) {
                        *slot = _mm256_fmadd_ps(x, w, *slot);
                    }
                }
            }
            for (g, acc) in acc[..self.rows].iter().enumerate() {
                let out = &mut out[g * self.n..][..width];
                for (out, v) in out.chunks_mut(8).zip(acc) {
                    if out.len() == 8 {
                        _mm256_storeu_ps(out.as_mut_ptr(), *v);
                    } else {
                        let mut lanes = [0.0f32; 8];
                        _mm256_storeu_ps(lanes.as_mut_ptr(), *v);
                        for (y, x) in out.iter_mut().zip(lanes) {
                            *y = x;
                        }
                    }
                }
            }
        }
    }
}
