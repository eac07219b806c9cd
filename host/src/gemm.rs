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

/// Fraction of zeros among the `m × k` elements of `a`.
fn zero_fraction(m: usize, k: usize, a: &Mat<'_>) -> f32 {
    let mut zeros = 0usize;
    for i in 0..m {
        for t in 0..k {
            zeros += (a.data[i * a.row_stride + t * a.col_stride] == 0.0) as usize;
        }
    }
    zeros as f32 / (m * k) as f32
}

/// `c = a · b` skipping zeros of `a`; `b`'s rows are contiguous (`col_stride == 1`).
fn sparse_rows(m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &mut [f32]) {
    c[..m * n].fill(0.0);
    let axpy = axpy_for_this_cpu();
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for t in 0..k {
            let x = a.data[i * a.row_stride + t * a.col_stride];
            if x != 0.0 {
                axpy(row, x, &b.data[t * b.row_stride..t * b.row_stride + n]);
            }
        }
    }
}

/// `y += alpha · x`, using AVX2 + FMA when the CPU has them.
fn axpy_for_this_cpu() -> fn(&mut [f32], f32, &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return |y, alpha, x| {
                // SAFETY: the CPU supports the features axpy_avx2 is compiled for.
                unsafe { axpy_avx2(y, alpha, x) }
            };
        }
    }
    |y, alpha, x| {
        for (y, x) in y.iter_mut().zip(x) {
            *y += alpha * x;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2(y: &mut [f32], alpha: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = alpha.mul_add(*x, *y);
    }
}
