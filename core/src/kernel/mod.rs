//! Matrix products behind a small trait, so a desktop can plug in a faster kernel
//! while devices (and host inference) use the portable one.
//!
//! One file per instruction set, as candle's `cpu/`: `portable.rs` is the kernel every
//! target runs (bit-identical everywhere), `arm.rs` its Cortex-M4F inner loop in assembly,
//! `x86.rs` its AVX-512F and AVX2+FMA inner loops, the CPU detection and a vectorised
//! `expf`, `neon.rs` its aarch64 inner loop.
//!
//! Dimension checking cannot be skipped: [`MatMul::matmul`] is provided, checks the
//! operands and hands the kernel's [`MatMul::product`] a [`Product`], which only that
//! check can create. A kernel's `unsafe` indexing rests on the [`Product`]'s guarantee.

#[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
mod arm;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use portable::Portable;

use crate::{math, Buffer, Error};

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

/// The operands of `c = a · b`, proven to fit: `a` holds an `m × k` matrix, `b` a
/// `k × n` matrix (every element their strides address lies inside their slices), and
/// `c` exactly `m × n` values, row-major.
///
/// Only [`MatMul::matmul`]'s check creates one (its fields are private), so a kernel
/// given a `Product` may index within those bounds without checking again.
#[derive(Debug)]
pub struct Product<'p> {
    m: usize,
    k: usize,
    n: usize,
    a: Mat<'p>,
    b: Mat<'p>,
    c: &'p mut [f32],
}

impl<'p> Product<'p> {
    /// Checks that `a`, `b` and `c` hold an `m × k`, `k × n` and `m × n` matrix.
    fn check(m: usize, k: usize, n: usize, a: Mat<'p>, b: Mat<'p>, c: &'p mut [f32]) -> Result<Self, Error> {
        if !a.fits(m, k) {
            return Err(Error::BufferSize {
                what: Buffer::MatmulLeft,
                expected: m.saturating_mul(k),
                actual: a.data.len(),
            });
        }
        if !b.fits(k, n) {
            return Err(Error::BufferSize {
                what: Buffer::MatmulRight,
                expected: k.saturating_mul(n),
                actual: b.data.len(),
            });
        }
        let cells = m.saturating_mul(n);
        if c.len() < cells {
            return Err(Error::BufferSize {
                what: Buffer::MatmulOutput,
                expected: cells,
                actual: c.len(),
            });
        }
        let c = &mut c[..cells];
        Ok(Product { m, k, n, a, b, c })
    }

    /// Rows of `a` and `c`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Columns of `a`, rows of `b`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of `b` and `c`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The left operand, `m × k`.
    pub fn a(&self) -> Mat<'p> {
        self.a
    }

    /// The right operand, `k × n`.
    pub fn b(&self) -> Mat<'p> {
        self.b
    }

    /// The output, exactly `m × n` values, row-major.
    pub fn c(&mut self) -> &mut [f32] {
        self.c
    }

    /// The same product for a shorter while, so a kernel can hand it on and keep it.
    pub fn reborrow(&mut self) -> Product<'_> {
        Product { c: self.c, ..*self }
    }
}

/// Computes `c = a · b` for an `m × k` matrix `a` and a `k × n` matrix `b` into the
/// row-major `m × n` slice `c` (overwritten).
///
/// Implementations must give each output the value of a sum over `k`; the order of that
/// sum is theirs. [`Portable`] fixes it (ascending `k`, fused multiply-add), which is what
/// makes host and device inference bit-identical.
///
/// The kernel also computes the exponentials of exponential activations (sigmoid,
/// softmax), the other bulk work of a forward pass, in [`exp_in_place`](Self::exp_in_place).
pub trait MatMul {
    /// `c[m×n] = a[m×k] · b[k×n]`; errors when a view does not fit its slice (then `c`
    /// is untouched). Checks the operands and runs [`product`](Self::product).
    fn matmul(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: Mat<'_>,
        b: Mat<'_>,
        c: &mut [f32],
    ) -> Result<(), Error> {
        self.product(Product::check(m, k, n, a, b, c)?);
        Ok(())
    }

    /// Computes a checked product: `p.c() = p.a() · p.b()`.
    fn product(&self, p: Product<'_>);

    /// `x = exp(x)` for every value, each bit-identical to core's `math::exp` (several
    /// may be computed at once). The default is `math::exp` one value at a time; on
    /// x86-64 (with libm) sixteen at a time with AVX-512F, eight with AVX2 and FMA.
    fn exp_in_place(&self, values: &mut [f32]) {
        #[cfg(all(target_arch = "x86_64", not(feature = "micromath")))]
        if x86::has_avx512f() {
            // SAFETY: the CPU has AVX-512F.
            unsafe { x86::exp_in_place16(values) };
            return;
        }
        #[cfg(all(target_arch = "x86_64", not(feature = "micromath")))]
        if x86::has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA.
            unsafe { x86::exp_in_place(values) };
            return;
        }
        for v in values {
            *v = math::exp(*v);
        }
    }
}

impl<T: MatMul + ?Sized> MatMul for &T {
    fn product(&self, p: Product<'_>) {
        (**self).product(p)
    }

    fn exp_in_place(&self, values: &mut [f32]) {
        (**self).exp_in_place(values)
    }
}
