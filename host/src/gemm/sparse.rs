//! The zero-skipping product: each row of `c = a · b` summed over the non-zeros of the
//! matching row of `a` only, in ascending position, one fused multiply-add per non-zero
//! and output. Every [`Simd`] path performs that same sequence, so all give the same bits.

use super::Simd;
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use microdense_core::Mat;

/// `c = a · b` skipping zeros of `a`; `b`'s rows are contiguous (`col_stride == 1`).
///
/// Each row of `c` is accumulated in registers over the non-zeros of the matching row of
/// `a`, in ascending `t`, and stored once. When `a`'s rows are contiguous (a forward
/// pass: `a` holds samples) their non-zeros are read off directly; when its columns are
/// (a weight gradient: `a` is the transposed input), the non-zeros are read column by
/// column and bucketed by row first.
pub(super) fn sparse_rows(simd: Simd, m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &mut [f32]) {
    SPARSE.with_borrow_mut(|(rows, columns)| {
        rows.clear();
        if a.col_stride == 1 {
            for i in 0..m {
                rows.push_line(simd, &a.data[i * a.row_stride..i * a.row_stride + k]);
            }
        } else if a.row_stride == 1 {
            columns.clear();
            for t in 0..k {
                columns.push_line(simd, &a.data[t * a.col_stride..t * a.col_stride + m]);
            }
            rows.transpose_of(columns, m);
        } else {
            for i in 0..m {
                for t in 0..k {
                    let x = a.data[i * a.row_stride + t * a.col_stride];
                    if x != 0.0 {
                        rows.index.push(t as u32);
                        rows.value.push(x);
                    }
                }
                rows.starts.push(rows.index.len());
            }
        }
        for (i, c_row) in c[..m * n].chunks_exact_mut(n).enumerate() {
            let (index, value) = rows.line(i);
            accumulate(simd, index, value, b, c_row);
        }
    });
}

/// The non-zeros of a matrix line by line (rows or columns): line `l` holds positions
/// `index[starts[l]..starts[l + 1]]` with values `value[..]` alike.
#[derive(Default)]
struct Sparse {
    starts: Vec<usize>,
    index: Vec<u32>,
    value: Vec<f32>,
}

thread_local! {
    /// Per-thread buffers kept between calls: the non-zeros of `a` by row, and by column
    /// while a column-major `a` is bucketed.
    static SPARSE: std::cell::RefCell<(Sparse, Sparse)> = std::cell::RefCell::default();
}

impl Sparse {
    /// Empties it.
    fn clear(&mut self) {
        self.starts.clear();
        self.starts.push(0);
        self.index.clear();
        self.value.clear();
    }

    /// Line `l`'s positions and values.
    fn line(&self, l: usize) -> (&[u32], &[f32]) {
        let r = self.starts[l]..self.starts[l + 1];
        (&self.index[r.clone()], &self.value[r])
    }

    /// Appends a line: the position and value of every non-zero (NaN included) of `line`.
    fn push_line(&mut self, simd: Simd, line: &[f32]) {
        let (index, value) = (&mut self.index, &mut self.value);
        match simd {
            // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { avx512::push_nonzeros(line, index, value) },
            // SAFETY: `Simd::Avx2` exists only where the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { avx2::push_nonzeros(line, index, value) },
            _ => {
                for (t, &x) in line.iter().enumerate() {
                    if x != 0.0 {
                        index.push(t as u32);
                        value.push(x);
                    }
                }
            }
        }
        self.starts.push(self.index.len());
    }

    /// Makes this the `lines`-line transpose of `other`, each line in ascending position.
    fn transpose_of(&mut self, other: &Sparse, lines: usize) {
        let mut next = vec![0usize; lines + 1];
        for &i in &other.index {
            next[i as usize + 1] += 1;
        }
        for i in 0..lines {
            next[i + 1] += next[i];
        }
        self.starts.clear();
        self.starts.extend_from_slice(&next);
        self.index.resize(other.index.len(), 0);
        self.value.resize(other.index.len(), 0.0);
        // Lines of `other` are taken in order, so each new line fills in ascending position.
        for t in 0..other.starts.len() - 1 {
            let (index, value) = other.line(t);
            for (&i, &x) in index.iter().zip(value) {
                let slot = &mut next[i as usize];
                self.index[*slot] = t as u32;
                self.value[*slot] = x;
                *slot += 1;
            }
        }
    }
}

/// `c_row = Σ x · b[t, :]` over the pairs of `index` (`t`) and `value` (`x`), in order,
/// each term one fused multiply-add.
fn accumulate(simd: Simd, index: &[u32], value: &[f32], b: &Mat<'_>, c_row: &mut [f32]) {
    match simd {
        // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F; `index` names rows
        // of `b` that the Product proves hold `c_row.len()` contiguous values.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512::accumulate(index, value, b, c_row) },
        // SAFETY: as above, with AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2::accumulate(index, value, b, c_row) },
        _ => {
            c_row.fill(0.0);
            for (&t, &x) in index.iter().zip(value) {
                let from = &b.data[t as usize * b.row_stride..][..c_row.len()];
                for (y, w) in c_row.iter_mut().zip(from) {
                    *y = x.mul_add(*w, *y);
                }
            }
        }
    }
}
