//! The desktop's fast matrix product behind core's [`MatMul`]: `matrixmultiply`'s SGEMM,
//! and a zero-skipping path for sparse left operands (raw MNIST pixels are ~80% zeros).
//! The exponentials of activations come from core's default (eight at a time with AVX2).
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
#[derive(Clone, Copy, Debug, Default)]
pub struct HostKernel {
    /// Whether large products are cut into blocks for the pool's threads (not when the
    /// threads are already busy with one product each).
    pub parallel: bool,
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
                sparse_rows(c.len() / n, k, n, &a, &b, c);
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

/// `c = a · b` skipping zeros of `a`; `b`'s rows are contiguous (`col_stride == 1`).
///
/// Each row of `c` is accumulated in registers over the non-zeros of the matching row of
/// `a`, in ascending `t`, and stored once. When `a`'s rows are contiguous (a forward
/// pass: `a` holds samples) their non-zeros are read off directly; when its columns are
/// (a weight gradient: `a` is the transposed input), the non-zeros are read column by
/// column and bucketed by row first.
fn sparse_rows(m: usize, k: usize, n: usize, a: &Mat<'_>, b: &Mat<'_>, c: &mut [f32]) {
    SPARSE.with_borrow_mut(|(rows, columns)| {
        rows.clear();
        if a.col_stride == 1 {
            for i in 0..m {
                rows.push_line(&a.data[i * a.row_stride..i * a.row_stride + k]);
            }
        } else if a.row_stride == 1 {
            columns.clear();
            for t in 0..k {
                columns.push_line(&a.data[t * a.col_stride..t * a.col_stride + m]);
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
            accumulate(index, value, b, c_row);
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
    fn push_line(&mut self, line: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                unsafe { avx2::push_nonzeros(line, &mut self.index, &mut self.value) };
                self.starts.push(self.index.len());
                return;
            }
        }
        for (t, &x) in line.iter().enumerate() {
            if x != 0.0 {
                self.index.push(t as u32);
                self.value.push(x);
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

/// `c_row = Σ x · b[t, :]` over the pairs of `index` (`t`) and `value` (`x`), in order.
fn accumulate(index: &[u32], value: &[f32], b: &Mat<'_>, c_row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA; `index` names rows of `b` that the Product
            // proves hold `c_row.len()` contiguous values.
            unsafe { avx2::accumulate(index, value, b, c_row) };
            return;
        }
    }
    c_row.fill(0.0);
    for (&t, &x) in index.iter().zip(value) {
        let from = &b.data[t as usize * b.row_stride..][..c_row.len()];
        for (y, w) in c_row.iter_mut().zip(from) {
            *y += x * w;
        }
    }
}

/// AVX2 versions: branch-free non-zero extraction, and accumulation of up to 64 outputs
/// (eight registers) at a time.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use microdense_core::Mat;
    use std::arch::x86_64::{
        __m256, __m256i, _mm256_add_epi32, _mm256_cmp_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_maskload_ps, _mm256_movemask_ps, _mm256_permutevar8x32_epi32,
        _mm256_permutevar8x32_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps,
        _mm256_storeu_ps, _mm256_storeu_si256, _CMP_NEQ_UQ,
    };

    /// For each 8-bit mask, the lanes whose bit is set, in order (then zeros).
    static COMPRESS: [[u32; 8]; 256] = {
        let mut table = [[0u32; 8]; 256];
        let mut mask = 0;
        while mask < 256 {
            let (mut lane, mut at) = (0, 0);
            while lane < 8 {
                if mask >> lane & 1 == 1 {
                    table[mask][at] = lane as u32;
                    at += 1;
                }
                lane += 1;
            }
            mask += 1;
        }
        table
    };

    /// Appends the positions and values of `line`'s non-zeros (NaN included): eight
    /// values are compared at once and the non-zeros packed with one permutation.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn push_nonzeros(line: &[f32], index: &mut Vec<u32>, value: &mut Vec<f32>) {
        // Whole chunks store eight lanes whatever their count: room for one extra chunk.
        index.reserve(line.len() + 8);
        value.reserve(line.len() + 8);
        let mut len = index.len();
        let chunks = line.len() / 8;
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        for chunk in 0..chunks {
            // SAFETY: `8 * chunk + 8 <= line.len()` (whole chunks only); the stores write
            // eight lanes from `len`, and `len <= 8 * chunk` with `line.len() + 8` reserved
            // above, so every lane lands in the reserved capacity.
            unsafe {
                let v = _mm256_loadu_ps(line.as_ptr().add(8 * chunk));
                let bits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
                if bits == 0 {
                    // Nothing to keep (runs of zeros are long in images).
                    continue;
                }
                let positions = _mm256_add_epi32(lanes, _mm256_set1_epi32(8 * chunk as i32));
                let order = _mm256_loadu_si256(COMPRESS[bits].as_ptr().cast::<__m256i>());
                _mm256_storeu_si256(
                    index.as_mut_ptr().add(len).cast::<__m256i>(),
                    _mm256_permutevar8x32_epi32(positions, order),
                );
                _mm256_storeu_ps(value.as_mut_ptr().add(len), _mm256_permutevar8x32_ps(v, order));
                len += bits.count_ones() as usize;
            }
        }
        for (t, &x) in line.iter().enumerate().skip(8 * chunks) {
            if x != 0.0 {
                // SAFETY: `len < line.len() + 8`, inside the capacity reserved above.
                unsafe {
                    index.as_mut_ptr().add(len).write(t as u32);
                    value.as_mut_ptr().add(len).write(x);
                }
                len += 1;
            }
        }
        // SAFETY: the first `len` values of both vectors were written above (a permuted
        // chunk's leading `count_ones` lanes, then the tail's non-zeros).
        unsafe {
            index.set_len(len);
            value.set_len(len);
        }
    }

    /// See [`super::accumulate`].
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and every `t` of `index` must name a row of `b`
    /// with `c_row.len()` contiguous values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn accumulate(index: &[u32], value: &[f32], b: &Mat<'_>, c_row: &mut [f32]) {
        let n = c_row.len();
        let mut p = 0;
        while p < n {
            let width = (n - p).min(64);
            let lanes = width.div_ceil(8);
            // Rows whose whole panel of `8 * lanes` values lies inside `b.data` are read
            // with plain loads (the lanes past `width` are never stored); masked loads,
            // slow on AMD cores, only for the last rows of `b`. `index` ascends.
            let s = b.row_stride;
            let fits = |t: &u32| *t as usize * s + p + 8 * lanes <= b.data.len();
            let whole = match index.last() {
                Some(t) if !fits(t) => index.partition_point(fits),
                _ => index.len(),
            };
            // SAFETY: the caller guarantees AVX2 and FMA; `p < n = c_row.len()` and every
            // row `t` of `index` has `n` values from `b.data[t * row_stride]`, so the panel
            // reads columns `p..p + width` of those rows (and, for the first `whole` rows,
            // up to `8 * lanes` values, inside `b.data` by the check above) and writes
            // `c_row[p..p + width]`.
            unsafe {
                let tail = mask(width - (lanes - 1) * 8);
                let base = b.data.as_ptr().add(p);
                let out = &mut c_row[p..p + width];
                let (i, v) = (index.split_at(whole), value.split_at(whole));
                match lanes {
                    1 => panel::<1>(i, v, base, s, tail, out),
                    2 => panel::<2>(i, v, base, s, tail, out),
                    3 => panel::<3>(i, v, base, s, tail, out),
                    4 => panel::<4>(i, v, base, s, tail, out),
                    5 => panel::<5>(i, v, base, s, tail, out),
                    6 => panel::<6>(i, v, base, s, tail, out),
                    7 => panel::<7>(i, v, base, s, tail, out),
                    _ => panel::<8>(i, v, base, s, tail, out),
                }
            }
            p += width;
        }
    }

    /// A mask selecting the first `lanes` (1 to 8) of eight.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn mask(lanes: usize) -> __m256i {
        let l = lanes as i32;
        // SAFETY: the caller guarantees AVX2. (Rust 1.87 made this intrinsic safe inside an
        // AVX2 function; the block keeps the crate building with its minimum, 1.85.)
        #[allow(unused_unsafe)]
        unsafe {
            _mm256_setr_epi32(
                -((l > 0) as i32),
                -((l > 1) as i32),
                -((l > 2) as i32),
                -((l > 3) as i32),
                -((l > 4) as i32),
                -((l > 5) as i32),
                -((l > 6) as i32),
                -((l > 7) as i32),
            )
        }
    }

    /// `R` registers of outputs (`out.len()` of them stored), summed over the pairs of
    /// `index` (`t`) and `value` (`x`): the first halves' with plain loads, then the second
    /// halves' with the last register's load masked by `tail`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; for every `t` of `index.0`, the `8 * R` values from
    /// `base + t * stride` must be readable; for every `t` of `index.1`, the `8 * (R - 1)`
    /// values from there and the `tail` lanes after them; `out.len()` must be at most
    /// `8 * R`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn panel<const R: usize>(
        index: (&[u32], &[u32]),
        value: (&[f32], &[f32]),
        base: *const f32,
        stride: usize,
        tail: __m256i,
        out: &mut [f32],
    ) {
        let ((whole, masked), (whole_x, masked_x)) = (index, value);
        // SAFETY: the caller guarantees the CPU features and that each row's panel is
        // readable as described.
        unsafe {
            let mut acc: [__m256; R] = [_mm256_setzero_ps(); R];
            for (&t, &x) in whole.iter().zip(whole_x) {
                let x = _mm256_set1_ps(x);
                let row = base.add(t as usize * stride);
                for (r, slot) in acc.iter_mut().enumerate() {
                    *slot = _mm256_fmadd_ps(x, _mm256_loadu_ps(row.add(8 * r)), *slot);
                }
            }
            for (&t, &x) in masked.iter().zip(masked_x) {
                let x = _mm256_set1_ps(x);
                let row = base.add(t as usize * stride);
                for (r, slot) in acc.iter_mut().enumerate() {
                    let w = if r + 1 == R {
                        _mm256_maskload_ps(row.add(8 * r), tail)
                    } else {
                        _mm256_loadu_ps(row.add(8 * r))
                    };
                    *slot = _mm256_fmadd_ps(x, w, *slot);
                }
            }
            let last = 8 * (R - 1);
            for (r, v) in acc[..R - 1].iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * r), *v);
            }
            if out.len() == 8 * R {
                _mm256_storeu_ps(out.as_mut_ptr().add(last), acc[R - 1]);
            } else {
                let mut lanes = [0.0f32; 8];
                _mm256_storeu_ps(lanes.as_mut_ptr(), acc[R - 1]);
                for (y, x) in out[last..].iter_mut().zip(lanes) {
                    *y = x;
                }
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
                    HostKernel { parallel: m > 50 }
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
    }

    #[test]
    fn a_parallel_product_gives_the_bits_of_its_rows_computed_alone_and_of_its_transposed_view() {
        let mut rng = Rng::new(5);
        let (m, k, n) = (64, 300, 200);
        assert!(m * k * n >= PARALLEL_WORK && k * n < PARALLEL_WORK);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for zeros in [0.0, 0.8] {
            let a = matrix(&mut rng, m, k, zeros);
            let at: Vec<f32> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect(); // a's transpose, row-major
            let b = matrix(&mut rng, k, n, 0.0);
            let mut whole = vec![f32::NAN; m * n];
            let parallel = HostKernel { parallel: true };
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
            assert_eq!(bits(&transposed), bits(&whole), "zeros {zeros}");
            for (i, (x, y)) in a.chunks_exact(k).zip(whole.chunks_exact(n)).enumerate() {
                let mut alone = vec![f32::NAN; n];
                HostKernel::default()
                    .matmul(1, k, n, Mat::row_major(x, k), Mat::row_major(&b, n), &mut alone)
                    .unwrap();
                assert_eq!(bits(&alone), bits(y), "row {i}, zeros {zeros}");
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
        for every in [1, 4] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| if i % every == 0 { tiny } else { 0.0 })
                .collect();
            let product = |flush: bool| {
                let mut c = vec![f32::NAN; m * n];
                pool.install(|| {
                    let _flush = flush.then(FlushDenormals::new);
                    HostKernel { parallel: true }
                        .matmul(m, k, n, Mat::row_major(&a, k), Mat::row_major(&b, n), &mut c)
                        .unwrap();
                });
                c
            };
            assert!(product(false).iter().all(|x| x.is_subnormal()), "1 in {every}");
            assert!(product(true).iter().all(|&x| x == 0.0), "1 in {every}");
        }
    }

    #[test]
    fn host_kernel_conforms() {
        for parallel in [false, true] {
            let kernel = HostKernel { parallel };
            if let Err(f) = microdense_core::kernel::conformance::conformance(&kernel) {
                panic!("parallel {parallel}: {f}");
            }
        }
    }
}
