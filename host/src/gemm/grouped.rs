//! The zero-skipping product for wide outputs, a group of [`GROUP`] output rows at a time:
//! the group's outputs are summed over the positions where any of its rows of `a` is
//! non-zero, in ascending position, one fused multiply-add per position and output, so
//! each value of `b` read serves every row of the group. Every [`Simd`] path performs
//! that same sequence, so all give the same bits.
//!
//! A position where a row is zero but a group-mate is not adds `0 · b[t, j]` to that
//! row's sums, which leaves them as they are: unless `b[t, j]` is infinite or NaN, when
//! the sum becomes NaN (as a dense product's would), or the sum is `-0`, which becomes
//! `+0`.

#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use super::{Simd, Values, GROUP};
use microdense_core::Mat;
use std::cell::RefCell;
use std::ops::Range;

/// Outputs at least this wide take this path. Narrower ones (the tutorial's 50) gain
/// nothing: a group's terms are about twice a row's, and with few columns per term the
/// extra multiply-adds and broadcasts cost what the shared loads save (the tutorial
/// trained 15–18% slower this way with AVX2's sixteen registers, no faster with AVX-512);
/// they take [`super::sparse`]'s row-by-row path.
pub(super) const COLUMNS: usize = 128;

/// Rows `rows` of `c = a · b` skipping zeros of `a` (`c` holds those rows); `b`'s rows are
/// contiguous (`col_stride == 1`). The rows are grouped from `rows.start`, [`GROUP`] at a
/// time (the last group may be smaller), so the result depends on where `rows` starts and
/// not otherwise on how a product is cut into blocks of rows.
pub(super) fn grouped_rows(
    simd: Simd,
    rows: Range<usize>,
    k: usize,
    n: usize,
    a: &Mat<'_>,
    b: &Mat<'_>,
    c: &mut [f32],
) {
    TERMS.with_borrow_mut(|terms| {
        for (g, c) in c[..rows.len() * n].chunks_mut(GROUP * n).enumerate() {
            terms.gather(simd, a, rows.start + g * GROUP, c.len() / n, k);
            accumulate(simd, &terms.positions, &terms.values, b, n, c);
        }
    });
}

/// A group's terms: the positions (ascending) where any of its rows of `a` is non-zero
/// (NaN included), and its [`Values`] there.
#[derive(Default)]
struct Terms {
    positions: Vec<u32>,
    values: Vec<Values>,
}

thread_local! {
    /// Per-thread buffer kept between calls.
    static TERMS: RefCell<Terms> = RefCell::default();
}

impl Terms {
    /// Makes these the terms of the `count` (1 to [`GROUP`]) rows of the `k`-column `a`
    /// from row `first`.
    fn gather(&mut self, simd: Simd, a: &Mat<'_>, first: usize, count: usize, k: usize) {
        let (positions, values) = (&mut self.positions, &mut self.values);
        if a.col_stride == 1 {
            // Rows of contiguous values (a forward product's samples).
            let rows: [&[f32]; GROUP] = std::array::from_fn(|r| {
                let at = (first + r.min(count - 1)) * a.row_stride;
                &a.data[at..at + k]
            });
            let rows = &rows[..count];
            positions.clear();
            values.clear();
            match simd {
                // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F.
                #[cfg(target_arch = "x86_64")]
                Simd::Avx512 => unsafe { avx512::gather_rows(rows, k, positions, values) },
                // SAFETY: `Simd::Avx2` exists only where the CPU has AVX2.
                #[cfg(target_arch = "x86_64")]
                Simd::Avx2 => unsafe { avx2::gather_rows(rows, k, positions, values) },
                _ => keep_non_zeros(k, positions, values, |t| {
                    std::array::from_fn(|r| rows.get(r).map_or(0.0, |row| row[t]))
                }),
            }
        } else if a.row_stride == 1 && count == GROUP {
            // A transposed matrix (a weight gradient's input): the group's values at a
            // position are neighbours, copied at once.
            keep_non_zeros(k, positions, values, |t| {
                let mut x = [0.0; GROUP];
                x.copy_from_slice(&a.data[t * a.col_stride + first..][..GROUP]);
                x
            });
        } else {
            keep_non_zeros(k, positions, values, |t| {
                let at = first * a.row_stride + t * a.col_stride;
                std::array::from_fn(|r| {
                    if r < count {
                        a.data[at + r * a.row_stride]
                    } else {
                        0.0
                    }
                })
            });
        }
    }
}

/// Makes `positions` and `values` the positions `t < k` where any of `x(t)` is non-zero
/// (or NaN: any bit set besides the signs), and `x(t)` there. Without a branch per
/// position, which the pixels of images would make unpredictable.
fn keep_non_zeros(k: usize, positions: &mut Vec<u32>, values: &mut Vec<Values>, x: impl Fn(usize) -> Values) {
    positions.resize(k, 0);
    values.resize(k, [0.0; GROUP]);
    let mut len = 0;
    for t in 0..k {
        let v = x(t);
        // `len <= t < k`: written, then kept only when non-zero.
        positions[len] = t as u32;
        values[len] = v;
        len += (v.iter().fold(0, |bits, v| bits | v.to_bits()) & 0x7fff_ffff != 0) as usize;
    }
    positions.truncate(len);
    values.truncate(len);
}

/// `c`'s rows (`n` values each, at most [`GROUP`] of them): row `r` is the sum of
/// `values[i][r] · b[positions[i], :]` over `i`, in order, each term one fused
/// multiply-add.
fn accumulate(simd: Simd, positions: &[u32], values: &[Values], b: &Mat<'_>, n: usize, c: &mut [f32]) {
    match simd {
        // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F; the positions
        // name rows of `b`, which the Product proves hold `n` contiguous values.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512::accumulate_group(positions, values, b, n, c) },
        // SAFETY: as above, with AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2::accumulate_group(positions, values, b, n, c) },
        _ => {
            for (r, c_row) in c.chunks_exact_mut(n).enumerate() {
                c_row.fill(0.0);
                for (&t, x) in positions.iter().zip(values) {
                    let from = &b.data[t as usize * b.row_stride..][..n];
                    for (y, w) in c_row.iter_mut().zip(from) {
                        *y = x[r].mul_add(*w, *y);
                    }
                }
            }
        }
    }
}
