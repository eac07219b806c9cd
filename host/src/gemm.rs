//! The desktop's fast matrix product: `matrixmultiply`'s SGEMM behind core's [`MatMul`].
//!
//! Used for training only; inference and evaluation use core's [`Portable`] kernel so
//! the host's predictions are bit-identical to the device's.
//!
//! [`Portable`]: microdense_core::Portable

use microdense_core::{check_dims, Error, Mat, MatMul};

/// SGEMM from the `matrixmultiply` crate (blocked, SIMD, single-threaded per call).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sgemm;

impl MatMul for Sgemm {
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
