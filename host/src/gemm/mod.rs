//! The desktop's fast matrix product behind core's [`MatMul`]: `matrixmultiply`'s SGEMM
//! (which picks AVX-512, AVX2+FMA or NEON itself), and a zero-skipping path for sparse
//! left operands (raw MNIST pixels are ~80% zeros): row by row (`sparse`), or, for wide
//! outputs, rows in groups that share each value of `b` they read (`grouped`); one file
//! per instruction set as candle's `cpu/`: `avx512`, `avx2`, and the portable loops in
//! `sparse` and `grouped`, chosen by [`Simd`]. The exponentials of activations come from
//! core's default (eight at a time with AVX2).
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
mod grouped;
mod simd;
mod sparse;

pub use simd::Simd;

use crate::denormals::{flushing, FlushDenormals};
use microdense_core::{Mat, MatMul, Product};
use rayon::prelude::*;
pub use sparse::Sparse;
use std::cell::{Cell, Ref, RefCell};

/// Left operands with at least this fraction of zeros take the zero-skipping path.
const SPARSE_FRACTION: f32 = 0.5;

/// Multiply-adds per block of a parallel product, at least: a smaller product is cut into
/// fewer blocks (one: it runs on the calling thread alone), so that each block's work
/// outweighs handing it to another thread.
const BLOCK_WORK: usize = 1 << 19;

/// The most blocks a parallel product is cut into (enough for every thread count up to it
/// to get work).
pub(crate) const BLOCKS: usize = 8;

/// SGEMM from the `matrixmultiply` crate (blocked, SIMD), or, when the left operand is
/// mostly zeros, a product that skips them: each row `c[i,:]` is the sum of `a[i,t] · b[t,:]`
/// over the non-zero `a[i,t]` in ascending `t`, accumulated in registers (for outputs of
/// 128 columns or more, over the positions where any row of its group of four is
/// non-zero: the same sums, but for the sign of a zero and infinite `b`). With
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
    fn product(&self, p: Product<'_>) {
        self.product_knowing(p, None);
    }
}

impl HostKernel {
    /// The product; `known`, when given, is `a` (or its transpose) and keeps its non-zeros.
    fn product_knowing(&self, mut p: Product<'_>, known: Option<&InputKernel<'_>>) {
        let (m, k, n, a, b) = (p.m(), p.k(), p.n(), p.a(), p.b());
        let c = p.c();
        if m == 0 || n == 0 {
            return;
        }
        let blocks = if self.parallel {
            (m.saturating_mul(k).saturating_mul(n) / BLOCK_WORK).clamp(1, BLOCKS)
        } else {
            1
        };
        let flush = flushing();
        let simd = self.simd.min(Simd::best());
        if k > 0 && b.col_stride == 1 && zero_fraction(m, k, &a) >= SPARSE_FRACTION {
            let grouped = n >= grouped::COLUMNS;
            // Whole groups per block, so that the groups do not depend on the blocks.
            let rows = if blocks > 1 {
                m.div_ceil(blocks).next_multiple_of(GROUP)
            } else {
                m
            };
            let known = known.filter(|_| !grouped).map(|k| k.nonzeros(simd));
            let known = known.as_deref();
            c.par_chunks_mut(rows * n).enumerate().for_each(|(block, c)| {
                let _flush = flush.then(FlushDenormals::new);
                let first = block * rows;
                let rows = first..first + c.len() / n;
                if grouped {
                    grouped::grouped_rows(simd, rows, k, n, &a, &b, c);
                } else {
                    sparse::sparse_rows(simd, rows, k, n, &a, &b, c, known);
                }
            });
            return;
        }
        // Column blocks of a multiple of 16 (whole register tiles).
        let columns = if blocks > 1 {
            n.div_ceil(blocks).next_multiple_of(16)
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

/// A [`HostKernel`] for the products of one chunk of training, which knows the chunk's
/// `input` (its samples, `width` values each): a product that reads it, as `a` or as
/// `aᵀ` (the first layer's forward product and weight gradient), finds its rows' non-zeros
/// the first time and reuses them after. Other products are the [`HostKernel`]'s.
pub struct InputKernel<'a> {
    kernel: HostKernel,
    input: &'a [f32],
    width: usize,
    /// The non-zeros of `input`'s rows, once `found`.
    nonzeros: RefCell<&'a mut Sparse>,
    found: Cell<bool>,
}

impl<'a> InputKernel<'a> {
    /// `kernel` knowing `input`, `width` values per row; `buffer` keeps the non-zeros
    /// (and its memory between chunks).
    pub fn new(kernel: HostKernel, input: &'a [f32], width: usize, buffer: &'a mut Sparse) -> Self {
        InputKernel {
            kernel,
            input,
            width,
            nonzeros: RefCell::new(buffer),
            found: Cell::new(false),
        }
    }

    /// Whether `a` (`m × k`) is `input`, or its transpose: then its elements are the
    /// input's (the input is borrowed, unchanged, as long as this kernel lives).
    fn reads_input(&self, m: usize, k: usize, a: &Mat<'_>) -> bool {
        let rows = self.input.len() / self.width.max(1);
        let same = std::ptr::eq(a.data.as_ptr(), self.input.as_ptr()) && self.width > 0;
        let direct = a.col_stride == 1 && a.row_stride == self.width && k == self.width && m <= rows;
        let transposed = a.row_stride == 1 && a.col_stride == self.width && m == self.width && k <= rows;
        same && (direct || transposed)
    }

    /// The non-zeros of the input's rows, found now if not yet.
    fn nonzeros(&self, simd: Simd) -> Ref<'_, Sparse> {
        if !self.found.replace(true) {
            self.nonzeros.borrow_mut().set_rows(simd, self.input, self.width);
        }
        Ref::map(self.nonzeros.borrow(), |n| &**n)
    }
}

impl MatMul for InputKernel<'_> {
    fn product(&self, p: Product<'_>) {
        let known = self.reads_input(p.m(), p.k(), &p.a()).then_some(self);
        self.kernel.product_knowing(p, known);
    }

    fn exp_in_place(&self, values: &mut [f32]) {
        self.kernel.exp_in_place(values);
    }
}

/// Output rows the zero-skipping product of wide outputs sums together ([`grouped`]).
/// Four MNIST images have about twice one image's non-zero pixels together, four
/// neighbouring pixels of a batch about 1.5 times one pixel's, so each value of `b` read
/// serves two or three non-zero terms.
const GROUP: usize = 4;

/// A group's values of `a` at one position, one per row (zero past the group's rows).
type Values = [f32; GROUP];

/// Pairs `(t, x)` of a position and a non-zero value there, in ascending `t`; cloned to
/// be read once per panel of outputs.
trait Pairs: Iterator<Item = (u32, f32)> + Clone {}

impl<P: Iterator<Item = (u32, f32)> + Clone> Pairs for P {}

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

/// Fraction of zeros among (up to 256) elements of the `m × k` matrix `a`: rows evenly
/// spread, columns scattered (a fixed stride through the elements can meet the same few
/// columns in every row: a stride of 196 through MNIST's 784 pixels meets only column 0
/// of every seventh image row, always blank).
fn zero_fraction(m: usize, k: usize, a: &Mat<'_>) -> f32 {
    /// A prime: its multiples visit every column of any `k` it does not divide.
    const SCATTER: u64 = 2_654_435_761;
    let samples = m.saturating_mul(k).min(256);
    let zeros = (0..samples)
        .filter(|&s| {
            let i = s * m / samples;
            let t = (s as u64 * SCATTER % k as u64) as usize;
            a.data[i * a.row_stride + t * a.col_stride] == 0.0
        })
        .count();
    zeros as f32 / samples.max(1) as f32
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
    fn the_zero_fraction_looks_at_every_column() {
        // MNIST's shape; zero only in the columns a stride of 196 would meet (and then
        // everywhere but there).
        let (m, k) = (64, 784);
        let sparse_at = |t: usize| t.is_multiple_of(196);
        let mostly_dense: Vec<f32> = (0..m * k)
            .map(|x| if sparse_at(x % k) { 0.0 } else { 1.0 })
            .collect();
        let mostly_zero: Vec<f32> = (0..m * k)
            .map(|x| if sparse_at(x % k) { 1.0 } else { 0.0 })
            .collect();
        for (a, low, high) in [(&mostly_dense, 0.0, 0.1), (&mostly_zero, 0.9, 1.0)] {
            let fraction = zero_fraction(m, k, &Mat::row_major(a, k));
            assert!(
                (low..=high).contains(&fraction),
                "{fraction} not in {low}..={high}"
            );
        }
    }

    #[test]
    fn a_parallel_product_gives_the_bits_of_its_rows_computed_alone_and_of_its_transposed_view() {
        let mut rng = Rng::new(5);
        let (m, k, n) = (64, 300, 256);
        assert!(m * k * n >= BLOCKS * BLOCK_WORK && k * n < BLOCK_WORK);
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
        let (m, k, n) = (64, 64, 1024);
        assert!(m * k * n >= BLOCKS * BLOCK_WORK);
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
        // of every width, panels of every register count), groups of 1 to 4 rows.
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
                    sparse::sparse_rows(simd, 0..m, k, n, &view, &Mat::row_major(&b, n), &mut sparse, None);
                    // Rows summed in groups (partial ones included) give each row's own
                    // sums: the group-mates' zeros add nothing to finite sums.
                    let mut grouped = vec![f32::NAN; m * n];
                    grouped::grouped_rows(simd, 0..m, k, n, &view, &Mat::row_major(&b, n), &mut grouped);
                    assert_eq!(bits(&grouped), bits(&sparse), "{m}×{k}×{n}, {simd:?}, grouped");
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
                    results.push((simd, bits(&grouped)));
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
    fn a_kernel_that_knows_its_input_gives_the_host_kernels_bits() {
        let mut rng = Rng::new(13);
        // A chunk's forward product and weight gradient, alone and in parallel blocks (over
        // 64 samples, more than one word of bits per position).
        let shapes = [(32, 784, 50), (64, 300, 200), (100, 70, 20), (3, 5, 7)];
        for (&(rows, width, units), simd) in with_every_simd(&shapes) {
            let input = matrix(&mut rng, rows, width, 0.8);
            let weights = matrix(&mut rng, width, units, 0.0);
            let grad = matrix(&mut rng, rows, units, 0.0);
            for parallel in [false, true] {
                let host = HostKernel { parallel, simd };
                let mut buffer = Sparse::default();
                let known = InputKernel::new(host, &input, width, &mut buffer);
                let forward = |kernel: &dyn MatMul| {
                    let mut c = vec![f32::NAN; rows * units];
                    let (a, b) = (Mat::row_major(&input, width), Mat::row_major(&weights, units));
                    kernel.matmul(rows, width, units, a, b, &mut c).unwrap();
                    bits(&c)
                };
                let gradient = |kernel: &dyn MatMul| {
                    let mut c = vec![f32::NAN; width * units];
                    let (a, b) = (Mat::transposed(&input, width), Mat::row_major(&grad, units));
                    kernel.matmul(width, rows, units, a, b, &mut c).unwrap();
                    bits(&c)
                };
                // Either product may come first; a product of other values is not changed.
                let case = format!("{rows}×{width}×{units}, {simd:?}, parallel {parallel}");
                assert_eq!(gradient(&known), gradient(&host), "{case}");
                assert_eq!(forward(&known), forward(&host), "{case}");
                let other = matrix(&mut rng, rows, width, 0.8);
                let mut c = vec![f32::NAN; rows * units];
                let mut expected = c.clone();
                let b = Mat::row_major(&weights, units);
                for (kernel, c) in [(&known as &dyn MatMul, &mut c), (&host, &mut expected)] {
                    kernel
                        .matmul(rows, width, units, Mat::row_major(&other, width), b, c)
                        .unwrap();
                }
                assert_eq!(bits(&c), bits(&expected), "{case}");
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
