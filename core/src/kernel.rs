//! Matrix products behind a small trait, so a desktop can plug in a faster kernel
//! while devices (and host inference) use the portable one.

use crate::{math, Error};

/// A read-only matrix view: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
///
/// Strides make transposes free: the transpose of a row-major `rows × cols` matrix is
/// `Mat { data, row_stride: 1, col_stride: cols }`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    /// The backing values.
    pub data: &'a [f32],
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive columns.
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// True when every element of a `rows × cols` view lies inside `data`.
    pub fn fits(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let last = (rows - 1).checked_mul(self.row_stride).and_then(|r| {
            (cols - 1)
                .checked_mul(self.col_stride)
                .and_then(|c| r.checked_add(c))
        });
        matches!(last, Some(i) if i < self.data.len())
    }
}

/// Computes `c = a · b` for an `m × k` matrix `a` and a `k × n` matrix `b` into the
/// row-major `m × n` slice `c` (overwritten).
///
/// Implementations must give each output the value of a sum over `k`; the order of that
/// sum is theirs. [`Portable`] fixes it (ascending `k`, fused multiply-add), which is what
/// makes host and device inference bit-identical.
pub trait MatMul {
    /// `c[m×n] = a[m×k] · b[k×n]`; errors when a view does not fit its slice.
    fn matmul(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: Mat<'_>,
        b: Mat<'_>,
        c: &mut [f32],
    ) -> Result<(), Error>;
}

impl<T: MatMul + ?Sized> MatMul for &T {
    fn matmul(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: Mat<'_>,
        b: Mat<'_>,
        c: &mut [f32],
    ) -> Result<(), Error> {
        (**self).matmul(m, k, n, a, b, c)
    }
}

/// Checks that `a`, `b` and `c` hold an `m × k`, `k × n` and `m × n` matrix.
pub fn check_dims(m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &[f32]) -> Result<(), Error> {
    if !a.fits(m, k) {
        return Err(Error::BufferSize {
            what: "matmul left operand",
            expected: m * k,
            actual: a.data.len(),
        });
    }
    if !b.fits(k, n) {
        return Err(Error::BufferSize {
            what: "matmul right operand",
            expected: k * n,
            actual: b.data.len(),
        });
    }
    let cells = m.checked_mul(n).unwrap_or(usize::MAX);
    if c.len() < cells {
        return Err(Error::BufferSize {
            what: "matmul output",
            expected: cells,
            actual: c.len(),
        });
    }
    Ok(())
}

/// The portable kernel: for each output, `acc = 0; for p in 0..k { acc = fma(a[i,p], b[p,j], acc) }`.
///
/// Four outputs are computed at a time so a Cortex-M4F keeps them in registers; the
/// per-output order of operations never changes, so every target gets the same bits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

impl MatMul for Portable {
    fn matmul(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: Mat<'_>,
        b: Mat<'_>,
        c: &mut [f32],
    ) -> Result<(), Error> {
        check_dims(m, k, n, &a, &b, c)?;
        for i in 0..m {
            let a_row = i * a.row_stride;
            let c_row = &mut c[i * n..(i + 1) * n];
            let mut j = 0;
            while j + 4 <= n {
                let mut acc = [0.0f32; 4];
                let mut ai = a_row;
                let mut bi = j * b.col_stride;
                for _ in 0..k {
                    // SAFETY: check_dims proved every (i, p) of `a` and (p, j..j+4) of `b` in bounds.
                    let x = unsafe { *a.data.get_unchecked(ai) };
                    for (q, slot) in acc.iter_mut().enumerate() {
                        let w = unsafe { *b.data.get_unchecked(bi + q * b.col_stride) };
                        *slot = math::mul_add(x, w, *slot);
                    }
                    ai += a.col_stride;
                    bi += b.row_stride;
                }
                c_row[j..j + 4].copy_from_slice(&acc);
                j += 4;
            }
            while j < n {
                let mut acc = 0.0f32;
                for p in 0..k {
                    let x = a.data[a_row + p * a.col_stride];
                    acc = math::mul_add(x, b.data[p * b.row_stride + j * b.col_stride], acc);
                }
                c_row[j] = acc;
                j += 1;
            }
        }
        Ok(())
    }
}
