//! One conformance suite for every [`MatMul`] kernel (as burn runs one suite against
//! every backend): [`conformance`] checks a kernel's products against a reference on
//! row-major, transposed and general strides, dense and mostly-zero left operands, every
//! `m`, `k` or `n` of zero, tail widths 1–17, and that short buffers are errors that leave
//! the output untouched. No heap: devices run it too.

use super::{Mat, MatMul};
use crate::{math, Error, Rng};
use core::fmt;

/// How a case lays out an operand in its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Rows one after another.
    RowMajor,
    /// Columns one after another (a transposed row-major matrix).
    Transposed,
    /// Rows three columns apart, columns two values apart, with padding in between.
    General,
}

impl Layout {
    const ALL: [Layout; 3] = [Layout::RowMajor, Layout::Transposed, Layout::General];

    /// The view of a `rows × cols` matrix laid out this way in `data`, and the length it needs.
    fn view(self, data: &[f32], rows: usize, cols: usize) -> (Mat<'_>, usize) {
        let (row_stride, col_stride) = match self {
            Layout::RowMajor => (cols, 1),
            Layout::Transposed => (1, rows),
            Layout::General => (2 * cols + 3, 2),
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * row_stride + (cols - 1) * col_stride + 1
        };
        let view = Mat {
            data: &data[..len.min(data.len())],
            row_stride,
            col_stride,
        };
        (view, len)
    }
}

/// A case the kernel got wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Failure {
    /// Rows of `a` and `c`.
    pub m: usize,
    /// Columns of `a`, rows of `b`.
    pub k: usize,
    /// Columns of `b` and `c`.
    pub n: usize,
    /// Layout of `a`.
    pub a: Layout,
    /// Layout of `b`.
    pub b: Layout,
    /// What went wrong.
    pub what: FailureKind,
}

/// What a kernel got wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FailureKind {
    /// Output `index` is `got`, the reference `want` (more than rounding apart).
    Value {
        /// Row-major index into `c`.
        index: usize,
        /// The kernel's value.
        got: f32,
        /// The reference value.
        want: f32,
    },
    /// A product of fitting operands failed.
    Refused(Error),
    /// A buffer one value short was accepted (`operand` is `"a"`, `"b"` or `"c"`).
    ShortAccepted {
        /// The short operand.
        operand: &'static str,
    },
    /// A refused product, or one into a longer `c`, wrote where it must not.
    WroteOutside,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}×{}×{} product, a {:?}, b {:?}: ",
            self.m, self.k, self.n, self.a, self.b
        )?;
        match self.what {
            FailureKind::Value { index, got, want } => {
                write!(f, "c[{index}] is {got:e}, the reference {want:e}")
            }
            FailureKind::Refused(e) => write!(f, "refused fitting operands: {e}"),
            FailureKind::ShortAccepted { operand } => write!(f, "accepted `{operand}` one value short"),
            FailureKind::WroteOutside => write!(f, "wrote outside the product's `m × n` outputs"),
        }
    }
}

/// Largest `m`, `k` and `n` the suite tries.
const MAX_M: usize = 5;
const MAX_K: usize = 19;
const MAX_N: usize = 17;
/// Room for the largest operand in any layout.
const A_LEN: usize = (MAX_M - 1) * (2 * MAX_K + 3) + (MAX_K - 1) * 2 + 1;
const B_LEN: usize = (MAX_K - 1) * (2 * MAX_N + 3) + (MAX_N - 1) * 2 + 1;
const C_LEN: usize = MAX_M * MAX_N + 4;
/// What `c` holds before a product: outputs must overwrite it, the rest keep it.
const SENTINEL: f32 = -7.5e30;

/// Runs the suite against `kernel`; the first case it gets wrong is the error.
///
/// Each output must lie within the rounding error of a `k`-term sum (in any order, fused
/// or not) of the reference, itself the portable kernel's sum (ascending `k`, fused
/// multiply-adds); kernels that promise more (the [`Portable`](super::Portable) kernel's
/// exact bits) test that separately.
pub fn conformance<K: MatMul>(kernel: &K) -> Result<(), Failure> {
    let mut rng = Rng::new(0x00C0_FFEE);
    let (mut a, mut b) = ([0.0f32; A_LEN], [0.0f32; B_LEN]);
    let shapes = [
        (0, 3, 4),
        (3, 0, 4),
        (3, 4, 0),
        (0, 0, 0),
        (1, 1, 1),
        (MAX_M, MAX_K, MAX_N),
        (4, 16, 8),
    ];
    let tails = (1..=MAX_N).map(|n| (3, 7, n));
    let depths = (1..=MAX_K).map(|k| (2, k, 9));
    for (m, k, n) in shapes.into_iter().chain(tails).chain(depths) {
        for zeros in [0.0, 0.8] {
            for v in a.iter_mut() {
                *v = if rng.next_f32() < zeros {
                    0.0
                } else {
                    rng.next_f32() * 2.0 - 1.0
                };
            }
            for v in b.iter_mut() {
                *v = rng.next_f32() * 2.0 - 1.0;
            }
            for la in Layout::ALL {
                for lb in Layout::ALL {
                    let fail = |what| Failure {
                        m,
                        k,
                        n,
                        a: la,
                        b: lb,
                        what,
                    };
                    case(kernel, m, k, n, (la, &a), (lb, &b)).map_err(fail)?;
                }
            }
        }
    }
    Ok(())
}

/// One product and its three short-buffer variants.
fn case<K: MatMul>(
    kernel: &K,
    m: usize,
    k: usize,
    n: usize,
    (la, a): (Layout, &[f32]),
    (lb, b): (Layout, &[f32]),
) -> Result<(), FailureKind> {
    let (va, a_len) = la.view(a, m, k);
    let (vb, b_len) = lb.view(b, k, n);
    let cells = m * n;
    let mut c = [SENTINEL; C_LEN];
    kernel
        .matmul(m, k, n, va, vb, &mut c[..cells + 4])
        .map_err(FailureKind::Refused)?;
    if c[cells..].iter().any(|&x| x != SENTINEL) {
        return Err(FailureKind::WroteOutside);
    }
    for i in 0..m {
        for j in 0..n {
            // All in f32: a Cortex-M4F's FPU has no double precision.
            let (mut want, mut magnitude) = (0.0f32, 0.0f32);
            for p in 0..k {
                let x = va.data[i * va.row_stride + p * va.col_stride];
                let w = vb.data[p * vb.row_stride + j * vb.col_stride];
                want = math::mul_add(x, w, want);
                magnitude += (x * w).abs();
            }
            // Each of the k roundings of either sum costs at most half an ulp of a partial
            // sum no larger than `magnitude`; twice that, with room, bounds their distance.
            let bound = 2.0 * (k as f32 + 1.0) * magnitude * f32::EPSILON;
            let got = c[i * n + j];
            let within = (got - want).abs() <= bound;
            if !within {
                let index = i * n + j;
                return Err(FailureKind::Value { index, got, want });
            }
        }
    }
    // Short buffers: only when the operand needs values at all.
    let shorts = [("a", a_len > 0), ("b", b_len > 0), ("c", cells > 0)];
    for (operand, applies) in shorts {
        if !applies {
            continue;
        }
        let (mut sa, mut sb) = (va, vb);
        if operand == "a" {
            sa.data = &va.data[..a_len - 1];
        }
        if operand == "b" {
            sb.data = &vb.data[..b_len - 1];
        }
        let c_len = if operand == "c" { cells - 1 } else { cells };
        let mut c = [SENTINEL; C_LEN];
        match kernel.matmul(m, k, n, sa, sb, &mut c[..c_len]) {
            Err(Error::BufferSize { .. }) => {}
            _ => return Err(FailureKind::ShortAccepted { operand }),
        }
        if c.iter().any(|&x| x != SENTINEL) {
            return Err(FailureKind::WroteOutside);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Portable;

    #[test]
    fn the_portable_kernel_conforms() {
        if let Err(f) = conformance(&Portable) {
            panic!("{f}");
        }
    }

    /// A kernel that skips the last output of every row: the suite must catch it.
    struct DropsLastColumn;

    impl MatMul for DropsLastColumn {
        fn product(&self, mut p: super::super::Product<'_>) {
            let n = p.n();
            Portable.product(p.reborrow());
            if n > 0 {
                for row in p.c().chunks_exact_mut(n) {
                    row[n - 1] = 0.0;
                }
            }
        }
    }

    #[test]
    fn a_wrong_kernel_fails() {
        let failure = conformance(&DropsLastColumn).unwrap_err();
        assert!(matches!(failure.what, FailureKind::Value { .. }), "{failure}");
    }
}
