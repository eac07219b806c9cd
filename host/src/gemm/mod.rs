//! The desktop's fast matrix product behind core's [`MatMul`]: `matrixmultiply`'s SGEMM
//! (which picks AVX-512, AVX2+FMA or NEON itself), and a zero-skipping path for sparse
//! left operands (raw MNIST pixels are ~80% zeros), one file per instruction set as
//! candle's `cpu/`: `avx512`, `avx2`, and the portable loop in `sparse`, chosen by
//! [`Simd`]. The exponentials of activations come from core's default (eight at a time
//! with AVX2).
//!
//! A large product is cut into blocks of output columns (SGEMM) or rows (zero-skipping)
//! that rayon's threads compute in parallel. Each output is computed by the same
//! sequence of operations whatever the blocks, so the result does not depend on them or
//! on the number of threads.
//!
//! Used for training only; inference and evaluation use core's [`Portable`] kernel so
//! the host's predictions are bit-identical to the device's.
//!
//! [`Portable`]: microdense_core::Portable

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod simd;
mod sparse;

pub use simd::Simd;

use crate::denormals::{flushing, FlushDenormals};
use microdense_core::{Mat, MatMul, Product};
use rayon::prelude::*;

/// Left operands with at least this fraction of zeros take the zero-skipping path.
const SPARSE_FRACTION: f32 = 0.5;

/// Products of fewer multiply-adds than this run on the calling thread alone.
const PARALLEL_WORK: usize = 1 << 17;

/// Blocks a parallel product is cut into (a fixed number, so that every thread count up
/// to it gets work).
pub(crate) const BLOCKS: usize = 8;

/// SGEMM from the `matrixmultiply` crate (blocked, SIMD), or, when the left operand is
/// mostly zeros, a product that skips them: each row `c[i,:]` is the sum of `a[i,t] · b[t,:]`
/// over the non-zero `a[i,t]` in ascending `t`, accumulated in registers. With
/// `parallel`, large products run in blocks on the current rayon pool, each block under the
/// caller's [`FlushDenormals`] state.
#[derive(Clone, Copy, Debug)]
pub struct HostKernel {
    /// Whether large products are cut into blocks for the pool's threads (not when the
    /// threads are already busy with one product each).
    pub parallel: bool,
    /// The zero-skipping product's instruction set (lowered to [`Simd::best`] if the CPU
    /// lacks it). All give the same bits.
    pub simd: Simd,
}

impl Default for HostKernel {
    /// Not parallel, [`Simd::chosen`].
    fn default() -> Self {
        HostKernel {
            parallel: false,
            simd: Simd::chosen(),
        }
    }
}

impl MatMul for HostKernel {
    fn product(&self, mut p: Product<'_>) {
        let (m, k, n, a, b) = (p.m(), p.k(), p.n(), p.a(), p.b());
        let c = p.c();
        if m == 0 || n == 0 {
            return;
        }
        let parallel = self.parallel && m.saturating_mul(k).saturating_mul(n) >= PARALLEL_WORK;
        let flush = flushing();
        let simd = self.simd.min(Simd::best());
        if k > 0 && b.col_stride == 1 && zero_fraction(m, k, &a) >= SPARSE_FRACTION {
            // Multiples of 8 rows: a transposed `a`'s lines are read eight at a time.
            let rows = if parallel {
                m.div_ceil(BLOCKS).next_multiple_of(8)
            } else {
                m
            };
            c.par_chunks_mut(rows * n).enumerate().for_each(|(block, c)| {
                let _flush = flush.then(FlushDenormals::new);
                // Rows `first..` of `a`: in bounds, as row `first < m` exists.
                let first = block * rows;
                let a = Mat {
                    data: &a.data[first * a.row_stride..],
                    ..a
                };
                sparse::sparse_rows(simd, c.len() / n, k, n, &a, &b, c);
            });
            return;
        }
        // Column blocks of a multiple of 16 (whole register tiles).
        let columns = if parallel {
            n.div_ceil(BLOCKS).next_multiple_of(16)
        } else {
            n
        };
        let out = Output(c.as_mut_ptr());
        (0..n.div_ceil(columns)).into_par_iter().for_each(|block| {
            let _flush = flush.then(FlushDenormals::new);
            let j = block * columns;
            let width = columns.min(n - j);
            // SAFETY: the Product proves that every element the strides address lies
            // inside `a.data` and `b.data` (columns `j..j + width` of `b` among them) and
            // that `c` holds `m × n` values; each block writes only its own columns
            // `j..j + width` of `c`, which is exclusively borrowed for the whole call.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    width,
                    1.0,
                    a.data.as_ptr(),
                    a.row_stride as isize,
                    a.col_stride as isize,
                    b.data.as_ptr().add(j * b.col_stride),
                    b.row_stride as isize,
                    b.col_stride as isize,
                    0.0,
                    out.at(j),
                    n as isize,
                    1,
                );
            }
        });
    }
}

/// The output of a product, shared by the blocks that write disjoint columns of it.
#[derive(Clone, Copy)]
struct Output(*mut f32);

// SAFETY: the blocks given an `Output` write disjoint elements and are joined before the
// product returns (see `HostKernel::product`).
unsafe impl Send for Output {}
// SAFETY: as above.
unsafe impl Sync for Output {}

impl Output {
    /// The address of column `j` of the first row.
    ///
    /// # Safety
    /// `j` must be a column of the output.
    unsafe fn at(self, j: usize) -> *mut f32 {
        // SAFETY: by the caller's contract, `j` lies inside the output.
        unsafe { self.0.add(j) }
    }
}

/// Fraction of zeros among (up to 256 evenly spread) elements of the `m × k` matrix `a`.
fn zero_fraction(m: usize, k: usize, a: &Mat<'_>) -> f32 {
    let step = (m * k).div_ceil(256).max(1);
    let (mut i, mut t) = (0, 0);
    let (mut zeros, mut seen) = (0usize, 0usize);
    while i < m {
        zeros += (a.data[i * a.row_stride + t * a.col_stride] == 0.0) as usize;
        seen += 1;
        t += step;
        while t >= k {
            t -= k;
            i += 1;
        }
    }
    zeros as f32 / seen.max(1) as f32
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

    /// The row-major transpose of the row-major `m × k` matrix `a`.
    fn transpose(a: &[f32], m: usize, k: usize) -> Vec<f32> {
        (0..k * m).map(|x| a[(x % m) * k + x / m]).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Each of `cases` with each instruction set this CPU has.
    fn with_every_simd<T: Copy>(cases: impl IntoIterator<Item = T>) -> impl Iterator<Item = (T, Simd)> {
        cases
            .into_iter()
            .flat_map(|c| Simd::available().map(move |s| (c, s)))
    }

    #[test]
    fn host_kernel_agrees_with_the_portable_kernel() {
        let mut rng = Rng::new(9);
        for &(m, k, n) in &[(64, 784, 50), (50, 64, 20), (7, 13, 9), (1, 1, 1), (9, 37, 150)] {
            for (zeros, simd) in with_every_simd([0.0, 0.8]) {
                let a = matrix(&mut rng, m, k, zeros);
                let at = transpose(&a, m, k);
                let b = matrix(&mut rng, k, n, 0.0);
                for view in [Mat::row_major(&a, k), Mat::transposed(&at, m)] {
                    let mut fast = vec![f32::NAN; m * n];
                    let mut reference = vec![0.0; m * n];
                    HostKernel {
                        parallel: m > 50,
                        simd,
                    }
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
                            "{m}×{k}×{n}, zeros {zeros}, {simd:?}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_parallel_product_gives_the_bits_of_its_rows_computed_alone_and_of_its_transposed_view() {
        let mut rng = Rng::new(5);
        let (m, k, n) = (64, 300, 200);
        assert!(m * k * n >= PARALLEL_WORK && k * n < PARALLEL_WORK);
        for (zeros, simd) in with_every_simd([0.0, 0.8]) {
            let a = matrix(&mut rng, m, k, zeros);
            let at = transpose(&a, m, k);
            let b = matrix(&mut rng, k, n, 0.0);
            let mut whole = vec![f32::NAN; m * n];
            let parallel = HostKernel { parallel: true, simd };
            parallel
                .matmul(m, k, n, Mat::row_major(&a, k), Mat::row_major(&b, n), &mut whole)
                .unwrap();
            // The same sums when `a` is read column by column (a weight gradient's view).
            let mut transposed = vec![f32::NAN; m * n];
            parallel
                .matmul(
                    m,
                    k,
                    n,
                    Mat::transposed(&at, m),
                    Mat::row_major(&b, n),
                    &mut transposed,
                )
                .unwrap();
            assert_eq!(bits(&transposed), bits(&whole), "zeros {zeros}, {simd:?}");
            for (i, (x, y)) in a.chunks_exact(k).zip(whole.chunks_exact(n)).enumerate() {
                let mut alone = vec![f32::NAN; n];
                HostKernel {
                    parallel: false,
                    simd,
                }
                .matmul(1, k, n, Mat::row_major(x, k), Mat::row_major(&b, n), &mut alone)
                .unwrap();
                assert_eq!(bits(&alone), bits(y), "row {i}, zeros {zeros}, {simd:?}");
            }
        }
    }

    #[test]
    fn a_parallel_product_flushes_subnormals_in_every_block_when_its_caller_does() {
        if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            return;
        }
        // Sums of 64 subnormal products stay subnormal, unless the inputs count as zero.
        let (m, k, n) = (64, 64, 256);
        let tiny = f32::MIN_POSITIVE / 1024.0;
        let b = vec![0.5; k * n];
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        // Dense (SGEMM) and mostly zeros (zero-skipping).
        for (every, simd) in with_every_simd([1, 4]) {
            let a: Vec<f32> = (0..m * k)
                .map(|i| if i % every == 0 { tiny } else { 0.0 })
                .collect();
            let product = |flush: bool| {
                let mut c = vec![f32::NAN; m * n];
                pool.install(|| {
                    let _flush = flush.then(FlushDenormals::new);
                    HostKernel { parallel: true, simd }
                        .matmul(m, k, n, Mat::row_major(&a, k), Mat::row_major(&b, n), &mut c)
                        .unwrap();
                });
                c
            };
            assert!(
                product(false).iter().all(|x| x.is_subnormal()),
                "1 in {every}, {simd:?}"
            );
            assert!(product(true).iter().all(|&x| x == 0.0), "1 in {every}, {simd:?}");
        }
    }

    #[test]
    fn every_instruction_set_gives_the_zero_skipping_product_the_same_bits() {
        let mut rng = Rng::new(11);
        // Lines of every length up to 40 (compress tails), outputs up to 260 (masked tails
        // of every width, panels of every register count).
        for (k, n) in (1..=40).map(|k| (k, 1 + (k * 37) % 260)) {
            let m = 1 + k % 9;
            let a = matrix(&mut rng, m, k, 0.7);
            let at = transpose(&a, m, k);
            let b = matrix(&mut rng, k, n, 0.0);
            let mut results = Vec::new();
            for simd in Simd::available() {
                for view in [Mat::row_major(&a, k), Mat::transposed(&at, m)] {
                    let mut c = vec![f32::NAN; m * n];
                    // Only rows of at least half zeros take the zero-skipping path.
                    let mut sparse = vec![f32::NAN; m * n];
                    sparse::sparse_rows(simd, m, k, n, &view, &Mat::row_major(&b, n), &mut sparse);
                    HostKernel {
                        parallel: false,
                        simd,
                    }
                    .matmul(m, k, n, view, Mat::row_major(&b, n), &mut c)
                    .unwrap();
                    if zero_fraction(m, k, &view) >= SPARSE_FRACTION {
                        assert_eq!(bits(&c), bits(&sparse), "{m}×{k}×{n}, {simd:?}");
                    }
                    results.push((simd, bits(&sparse)));
                }
            }
            for (simd, r) in &results {
                assert_eq!(
                    r, &results[0].1,
                    "{m}×{k}×{n}: {simd:?} against {:?}",
                    results[0].0
                );
            }
        }
    }

    #[test]
    fn simd_names_round_trip() {
        for simd in [Simd::Portable, Simd::Avx2, Simd::Avx512] {
            assert_eq!(Simd::named(simd.name()), Some(simd));
        }
        assert_eq!(Simd::named("AVX2"), Some(Simd::Avx2));
        assert_eq!(Simd::named("sse"), None);
        assert!(Simd::available().any(|s| s == Simd::Portable));
        assert_eq!(Simd::available().last(), Some(Simd::best()));
    }

    #[test]
    fn host_kernel_conforms() {
        for (parallel, simd) in with_every_simd([false, true]) {
            let kernel = HostKernel { parallel, simd };
            if let Err(f) = microdense_core::kernel::conformance::conformance(&kernel) {
                panic!("parallel {parallel}, {simd:?}: {f}");
            }
        }
    }
}
