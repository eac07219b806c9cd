//! AVX2 and FMA: branch-free non-zero extraction, and accumulation of up to 64 outputs
//! (eight registers) at a time.

use super::Pairs;
use microdense_core::Mat;
use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_cmp_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_maskload_ps, _mm256_movemask_ps, _mm256_permutevar8x32_epi32, _mm256_permutevar8x32_ps,
    _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_storeu_ps,
    _mm256_storeu_si256, _CMP_NEQ_UQ,
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
        // Rows whose whole panel of `8 * lanes` values lies inside `b.data` are read
        // with plain loads (the lanes past `width` are never stored); masked loads,
        // slow on AMD cores, only for the last rows of `b`.
        let s = b.row_stride;
        let whole_rows = b
            .data
            .len()
            .checked_sub(p + 8 * lanes)
            .map_or(0, |room| room / s.max(1) + 1);
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
