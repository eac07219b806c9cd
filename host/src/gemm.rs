//! The desktop's fast matrix product behind core's [`MatMul`]: `matrixmultiply`'s SGEMM,
//! and a zero-skipping path for sparse left operands (raw MNIST pixels are ~80% zeros).
//!
//! Used for training only; inference and evaluation use core's [`Portable`] kernel so
//! the host's predictions are bit-identical to the device's.
//!
//! [`Portable`]: microdense_core::Portable

use microdense_core::{check_dims, Error, Mat, MatMul};

/// Left operands with at least this fraction of zeros take the zero-skipping path.
const SPARSE_FRACTION: f32 = 0.5;

/// SGEMM from the `matrixmultiply` crate (blocked, SIMD), or, when the left operand is
/// mostly zeros, a row-update product that skips them: `c[i,:] += a[i,t] · b[t,:]` for
/// every non-zero `a[i,t]`, in ascending `t`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostKernel;

impl MatMul for HostKernel {
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
        if m == 0 || n == 0 {
            return Ok(());
        }
        if k > 0 && b.col_stride == 1 && zero_fraction(m, k, &a) >= SPARSE_FRACTION {
            sparse_rows(m, k, n, &a, &b, c);
            return Ok(());
        }
        // SAFETY: check_dims proved that every element the strides address lies inside
        // `a.data`, `b.data` and `c`; `c` is exclusively borrowed.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.data.as_ptr(),
                a.row_stride as isize,
                a.col_stride as isize,
                b.data.as_ptr(),
                b.row_stride as isize,
                b.col_stride as isize,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        Ok(())
    }
}

/// Fraction of zeros among (up to 1024 evenly spread) elements of the `m × k` matrix `a`.
fn zero_fraction(m: usize, k: usize, a: &Mat<'_>) -> f32 {
    let cells = m * k;
    let step = cells.div_ceil(1024).max(1);
    let (mut zeros, mut seen) = (0usize, 0usize);
    for cell in (0..cells).step_by(step) {
        let (i, t) = (cell / k, cell % k);
        zeros += (a.data[i * a.row_stride + t * a.col_stride] == 0.0) as usize;
        seen += 1;
    }
    zeros as f32 / seen.max(1) as f32
}

/// `c = a · b` skipping zeros of `a`; `b`'s rows are contiguous (`col_stride == 1`).
/// Every `c[i,j]` sums its terms in ascending `t`, whichever order `a` is walked in.
fn sparse_rows(m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features sparse_rows_avx2 is compiled for.
            unsafe { sparse_rows_avx2(m, k, n, a, b, c) };
            return;
        }
    }
    sparse_rows_body::<false>(m, k, n, a, b, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sparse_rows_avx2(m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &mut [f32]) {
    sparse_rows_body::<true>(m, k, n, a, b, c);
}

/// The zero-skipping product; `FUSED` uses fused multiply-adds (only where the CPU has them).
///
/// `a` is walked in memory order (along rows when they are contiguous, else along
/// columns); each line's non-zeros are first gathered without branches, then applied.
#[inline(always)]
fn sparse_rows_body<const FUSED: bool>(
    m: usize,
    k: usize,
    n: usize,
    a: &Mat<'_>,
    b: &Mat<'_>,
    c: &mut [f32],
) {
    c[..m * n].fill(0.0);
    let by_columns = a.row_stride == 1 && a.col_stride != 1;
    let (lines, along) = if by_columns { (k, m) } else { (m, k) };
    let mut nonzero: Vec<(usize, f32)> = vec![(0, 0.0); along];
    for line in 0..lines {
        let mut count = 0;
        for pos in 0..along {
            let (i, t) = if by_columns { (pos, line) } else { (line, pos) };
            let x = a.data[i * a.row_stride + t * a.col_stride];
            nonzero[count] = (pos, x);
            count += (x != 0.0) as usize;
        }
        for &(pos, x) in &nonzero[..count] {
            let (i, t) = if by_columns { (pos, line) } else { (line, pos) };
            let row = &mut c[i * n..(i + 1) * n];
            let from = &b.data[t * b.row_stride..t * b.row_stride + n];
            for (y, w) in row.iter_mut().zip(from) {
                *y = if FUSED { x.mul_add(*w, *y) } else { *y + x * w };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microdense_core::{Portable, Rng};

    /// A `rows × cols` matrix with roughly `zeros` of its values zero.
    fn matrix(rng: &mut Rng, rows: usize, cols: usize, zeros: f32) -> Vec<f32> {
        (0..rows * cols)
            .map(|_| {
                if rng.next_f32() < zeros {
                    0.0
                } else {
                    rng.next_f32() * 2.0 - 1.0
                }
            })
            .collect()
    }

    #[test]
    fn host_kernel_agrees_with_the_portable_kernel() {
        let mut rng = Rng::new(9);
        for &(m, k, n) in &[(64, 784, 50), (50, 64, 20), (7, 13, 9), (1, 1, 1)] {
            for zeros in [0.0, 0.8] {
                let a = matrix(&mut rng, m, k, zeros);
                let at: Vec<f32> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect(); // a's transpose, row-major
                let b = matrix(&mut rng, k, n, 0.0);
                for view in [Mat::row_major(&a, k), Mat::transposed(&at, m)] {
                    let mut fast = vec![f32::NAN; m * n];
                    let mut reference = vec![0.0; m * n];
                    HostKernel
                        .matmul(m, k, n, view, Mat::row_major(&b, n), &mut fast)
                        .unwrap();
                    Portable
                        .matmul(m, k, n, view, Mat::row_major(&b, n), &mut reference)
                        .unwrap();
                    // Sums of k terms in a different order differ by a few ulps per term.
                    let tolerance = 1e-6 * k as f32;
                    for (x, y) in fast.iter().zip(&reference) {
                        assert!(
                            (x - y).abs() <= tolerance * y.abs().max(1.0),
                            "{m}×{k}×{n}, zeros {zeros}: {x} vs {y}"
                        );
                    }
                }
            }
        }
        let mut c = [0.0; 4];
        assert!(HostKernel
            .matmul(
                2,
                2,
                2,
                Mat::row_major(&[1.0; 3], 2),
                Mat::row_major(&[1.0; 4], 2),
                &mut c
            )
            .is_err());
    }
}
