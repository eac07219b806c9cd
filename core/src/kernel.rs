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
///
/// The kernel also computes the exponentials of exponential activations (sigmoid,
/// softmax), the other bulk work of a forward pass, in [`exp_in_place`](Self::exp_in_place).
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

    /// `x = exp(x)` for every value, each bit-identical to core's `math::exp` (several
    /// may be computed at once). The default is `math::exp` one value at a time; on
    /// x86-64 with AVX2 and FMA (and with libm), eight at a time.
    fn exp_in_place(&self, values: &mut [f32]) {
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

    fn exp_in_place(&self, values: &mut [f32]) {
        (**self).exp_in_place(values)
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
    let cells = m.saturating_mul(n);
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
/// Several outputs are computed at a time, their accumulators in registers (eight in an
/// AVX register on x86-64, blocks of up to twelve on a Cortex-M4F, else eight, four, two);
/// the per-output order of operations never changes, so every target gets the same bits.
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
            #[cfg(target_arch = "x86_64")]
            if b.col_stride == 1 && x86::has_avx2_fma() {
                while j < n {
                    let width = (n - j).min(8);
                    // SAFETY: the CPU has AVX and FMA, and check_dims proved every (i, p) of
                    // `a` and (p, j..j+width) of `b` in bounds.
                    let acc = unsafe { x86::fma_block(&a, &b, a_row, j, k, width) };
                    c_row[j..j + width].copy_from_slice(&acc[..width]);
                    j += width;
                }
            }
            #[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
            if b.col_stride == 1 {
                // SAFETY: check_dims proved every (i, p) of `a`, (p, 0..n) of `b` and the
                // row of `c` in bounds.
                unsafe { arm::row(&a, &b, a_row, k, n, c_row) };
                j = n;
            }
            #[cfg(not(all(target_arch = "arm", target_feature = "vfp2")))]
            if b.col_stride == 1 {
                // Contiguous weights: eight outputs at a time.
                while j + 8 <= n {
                    // SAFETY: check_dims proved every (i, p) of `a` and (p, j..j+8) of `b` in bounds.
                    let acc = unsafe { block8(&a, &b, a_row, j, k) };
                    c_row[j..j + 8].copy_from_slice(&acc);
                    j += 8;
                }
            }
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
                // The last one or two outputs, together.
                let width = (n - j).min(2);
                let mut acc = [0.0f32; 2];
                let (mut ai, mut bi) = (a_row, j * b.col_stride);
                for _ in 0..k {
                    // SAFETY: check_dims proved every (i, p) of `a` and (p, j..j+width) of `b` in bounds.
                    let x = unsafe { *a.data.get_unchecked(ai) };
                    for (q, slot) in acc[..width].iter_mut().enumerate() {
                        let w = unsafe { *b.data.get_unchecked(bi + q * b.col_stride) };
                        *slot = math::mul_add(x, w, *slot);
                    }
                    ai += a.col_stride;
                    bi += b.row_stride;
                }
                c_row[j..j + width].copy_from_slice(&acc[..width]);
                j += width;
            }
        }
        Ok(())
    }
}

/// `c[i, j..j+8]` of `a · b` for contiguous `b` columns: per output the same ascending
/// sequence of fused multiply-adds as the scalar path.
///
/// # Safety
/// `a` must hold row `a_row` over `k` columns and `b` rows `0..k` over columns `j..j+8`.
#[cfg(not(all(target_arch = "arm", target_feature = "vfp2")))]
unsafe fn block8(a: &Mat<'_>, b: &Mat<'_>, a_row: usize, j: usize, k: usize) -> [f32; 8] {
    let mut acc = [0.0f32; 8];
    let (mut ai, mut bi) = (a_row, j);
    for _ in 0..k {
        let x = *a.data.get_unchecked(ai);
        for (q, slot) in acc.iter_mut().enumerate() {
            *slot = math::mul_add(x, *b.data.get_unchecked(bi + q), *slot);
        }
        ai += a.col_stride;
        bi += b.row_stride;
    }
    acc
}

/// The Cortex-M4F's kernel for contiguous weights: a row of `n` outputs is cut into
/// `⌈n / 12⌉` blocks of nearly equal width (50 → 5 × 10), and each block runs over `k`
/// with its accumulators in `s0`–`s11`: per row of `b`, one `vldr` of the input, one `vldm`
/// of the block's weights and one `vfma.f32` per output, so a block of width `w` costs
/// `w + 6` instructions per `w` multiply-accumulates. Every output sees the same ascending
/// sequence of fused multiply-adds as the portable path.
#[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
mod arm {
    use super::Mat;

    /// The widest block: twelve accumulators and twelve weights in registers.
    const MAX_BLOCK: usize = 12;

    /// Writes `c_row[0..n]` = row `a_row` of `a` times `b`.
    ///
    /// # Safety
    /// `b.col_stride` must be 1; `a` must hold row `a_row` over `k` columns, `b` rows
    /// `0..k` over columns `0..n`, and `c_row` at least `n` values.
    pub unsafe fn row(a: &Mat<'_>, b: &Mat<'_>, a_row: usize, k: usize, n: usize, c_row: &mut [f32]) {
        let blocks = n.div_ceil(MAX_BLOCK);
        let mut j = 0;
        for block in 0..blocks {
            // The first `n % blocks` blocks are one wider.
            let width = n / blocks + usize::from(block < n % blocks);
            let x = a.data.as_ptr().add(a_row);
            let w = b.data.as_ptr().add(j);
            let (x_step, w_step) = (a.col_stride * 4, b.row_stride * 4);
            let out = c_row.as_mut_ptr().add(j);
            match width {
                1 => block1(x, x_step, w, w_step, k, out),
                2 => block2(x, x_step, w, w_step, k, out),
                3 => block3(x, x_step, w, w_step, k, out),
                4 => block4(x, x_step, w, w_step, k, out),
                5 => block5(x, x_step, w, w_step, k, out),
                6 => block6(x, x_step, w, w_step, k, out),
                7 => block7(x, x_step, w, w_step, k, out),
                8 => block8(x, x_step, w, w_step, k, out),
                9 => block9(x, x_step, w, w_step, k, out),
                10 => block10(x, x_step, w, w_step, k, out),
                11 => block11(x, x_step, w, w_step, k, out),
                _ => block12(x, x_step, w, w_step, k, out),
            }
            j += width;
        }
    }

    /// One block function per width: accumulators `s0..`, weights `s16..`, input `s31`.
    macro_rules! block {
        ($name:ident, $width:literal, $weights:literal, [$(($i:literal, $acc:tt, $w:tt)),+]) => {
            /// Accumulates one block of outputs over `k` rows and stores it at `out`.
            ///
            /// # Safety
            /// `x` (stepping `x_step` bytes) must hold `k` values, `w` (stepping `w_step`
            /// bytes) `k` rows of this block's width, and `out` the block's outputs.
            #[inline(never)]
            unsafe fn $name(x: *const f32, x_step: usize, w: *const f32, w_step: usize, k: usize, out: *mut f32) {
                let mut acc = [0.0f32; $width];
                if k > 0 {
                    core::arch::asm!(
                        "2:",
                        "vldr s31, [{x}]",
                        "add {x}, {x_step}",
                        concat!("vldm {w}, {{", $weights, "}}"),
                        "add {w}, {w_step}",
                        $(concat!("vfma.f32 ", $acc, ", s31, ", $w),)+
                        "subs {k}, #1",
                        "bne 2b",
                        x = inout(reg) x => _,
                        w = inout(reg) w => _,
                        k = inout(reg) k => _,
                        x_step = in(reg) x_step,
                        w_step = in(reg) w_step,
                        $(inout($acc) acc[$i],)+
                        $(out($w) _,)+
                        out("s31") _,
                        options(nostack, readonly),
                    );
                }
                core::ptr::copy_nonoverlapping(acc.as_ptr(), out, $width);
            }
        };
    }

    block!(block1, 1, "s16", [(0, "s0", "s16")]);
    block!(block2, 2, "s16-s17", [(0, "s0", "s16"), (1, "s1", "s17")]);
    block!(
        block3,
        3,
        "s16-s18",
        [(0, "s0", "s16"), (1, "s1", "s17"), (2, "s2", "s18")]
    );
    block!(
        block4,
        4,
        "s16-s19",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19")
        ]
    );
    block!(
        block5,
        5,
        "s16-s20",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20")
        ]
    );
    block!(
        block6,
        6,
        "s16-s21",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21")
        ]
    );
    block!(
        block7,
        7,
        "s16-s22",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22")
        ]
    );
    block!(
        block8,
        8,
        "s16-s23",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22"),
            (7, "s7", "s23")
        ]
    );
    block!(
        block9,
        9,
        "s16-s24",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22"),
            (7, "s7", "s23"),
            (8, "s8", "s24")
        ]
    );
    block!(
        block10,
        10,
        "s16-s25",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22"),
            (7, "s7", "s23"),
            (8, "s8", "s24"),
            (9, "s9", "s25")
        ]
    );
    block!(
        block11,
        11,
        "s16-s26",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22"),
            (7, "s7", "s23"),
            (8, "s8", "s24"),
            (9, "s9", "s25"),
            (10, "s10", "s26")
        ]
    );
    block!(
        block12,
        12,
        "s16-s27",
        [
            (0, "s0", "s16"),
            (1, "s1", "s17"),
            (2, "s2", "s18"),
            (3, "s3", "s19"),
            (4, "s4", "s20"),
            (5, "s5", "s21"),
            (6, "s6", "s22"),
            (7, "s7", "s23"),
            (8, "s8", "s24"),
            (9, "s9", "s25"),
            (10, "s10", "s26"),
            (11, "s11", "s27")
        ]
    );
}

/// x86-64 with AVX2 and FMA: up to eight outputs at a time in one AVX register, and libm's
/// `expf` eight values at a time. Each lane performs the same sequence of correctly rounded
/// operations as the scalar path, so the results are bit-identical to it (and to a
/// Cortex-M4F's `vfma.f32` and libm), only faster.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Mat;
    use core::arch::x86_64::*;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// Whether AVX2 and FMA are usable: 0 not yet known, 1 absent, 2 present.
    static AVX2_FMA: AtomicU8 = AtomicU8::new(0);

    /// Whether the CPU and OS support AVX2 with FMA (CPUID leaves 1 and 7, XCR0's YMM state).
    pub fn has_avx2_fma() -> bool {
        match AVX2_FMA.load(Ordering::Relaxed) {
            0 => {
                let present = detect();
                AVX2_FMA.store(if present { 2 } else { 1 }, Ordering::Relaxed);
                present
            }
            v => v == 2,
        }
    }

    fn detect() -> bool {
        // CPUID is always present on x86-64.
        let leaf1 = __cpuid(1);
        let (fma, osxsave, avx) = (leaf1.ecx >> 12 & 1, leaf1.ecx >> 27 & 1, leaf1.ecx >> 28 & 1);
        if fma == 0 || osxsave == 0 || avx == 0 || __cpuid(0).eax < 7 {
            return false;
        }
        let avx2 = __cpuid_count(7, 0).ebx >> 5 & 1;
        if avx2 == 0 {
            return false;
        }
        // SAFETY: OSXSAVE is set, so XGETBV is available.
        let xcr0 = unsafe { xgetbv0() };
        xcr0 & 0b110 == 0b110
    }

    #[target_feature(enable = "xsave")]
    unsafe fn xgetbv0() -> u64 {
        _xgetbv(0)
    }

    /// `c[i, j..j+width]` (`width` ≤ 8, the rest of the result zero) of `a · b` with
    /// `b`'s columns contiguous.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `a` must hold row `a_row` over `k` columns and `b`
    /// rows `0..k` over columns `j..j+width`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_block(
        a: &Mat<'_>,
        b: &Mat<'_>,
        a_row: usize,
        j: usize,
        k: usize,
        width: usize,
    ) -> [f32; 8] {
        let mut acc = _mm256_setzero_ps();
        let (mut ai, mut bi) = (a_row, j);
        if width == 8 {
            for _ in 0..k {
                let x = _mm256_set1_ps(*a.data.get_unchecked(ai));
                acc = _mm256_fmadd_ps(x, _mm256_loadu_ps(b.data.as_ptr().add(bi)), acc);
                ai += a.col_stride;
                bi += b.row_stride;
            }
        } else {
            let lanes = _mm256_cmpgt_epi32(
                _mm256_set1_epi32(width as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            for _ in 0..k {
                let x = _mm256_set1_ps(*a.data.get_unchecked(ai));
                acc = _mm256_fmadd_ps(x, _mm256_maskload_ps(b.data.as_ptr().add(bi), lanes), acc);
                ai += a.col_stride;
                bi += b.row_stride;
            }
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), acc);
        out
    }

    /// [`exp8`] over `values`, eight at a time (the last few padded); values outside its
    /// range go through `math::exp`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[cfg(not(feature = "micromath"))]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_in_place(values: &mut [f32]) {
        let mut chunks = values.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let x = _mm256_loadu_ps(chunk.as_ptr());
            let (y, outside) = exp8(x);
            _mm256_storeu_ps(chunk.as_mut_ptr(), y);
            if outside != 0 {
                let mut x8 = [0.0f32; 8];
                _mm256_storeu_ps(x8.as_mut_ptr(), x);
                exp_outside(&x8, outside, chunk);
            }
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut x8 = [0.0f32; 8];
            x8[..rest.len()].copy_from_slice(rest);
            let (y, outside) = exp8(_mm256_loadu_ps(x8.as_ptr()));
            let mut y8 = [0.0f32; 8];
            _mm256_storeu_ps(y8.as_mut_ptr(), y);
            exp_outside(&x8, outside, &mut y8);
            rest.copy_from_slice(&y8[..rest.len()]);
        }
    }

    /// `out[lane] = math::exp(x[lane])` for each `lane` set in `outside` (and in `out`).
    #[cfg(not(feature = "micromath"))]
    fn exp_outside(x: &[f32; 8], mut outside: u32, out: &mut [f32]) {
        while outside != 0 {
            let lane = outside.trailing_zeros() as usize;
            if let Some(o) = out.get_mut(lane) {
                *o = crate::math::exp(x[lane]);
            }
            outside &= outside - 1;
        }
    }

    /// Eight `libm::expf` at once, bit for bit: the same FreeBSD algorithm (reduction by
    /// `k·ln 2` split in two, the same rational approximation, scaling by `2^k`) with
    /// the same operations in the same order, none fused, with libm's two-step scaling
    /// into subnormals and its `+0` for `x ≤ -103.97`. Also returns a bit mask of the
    /// lanes whose value is NaN or `x ≥ 87.33`, where libm takes its overflow branches
    /// and this result is meaningless.
    #[cfg(not(feature = "micromath"))]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn exp8(x: __m256) -> (__m256, u32) {
        // libm's constants, by their bits.
        const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
        const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
        const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
        const P1: f32 = f32::from_bits(0x3e2a_aa8f);
        const P2: f32 = f32::from_bits(0xbb35_5215);
        let bits = _mm256_castps_si256(x);
        let hx = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fff_ffff));
        // |x| ≥ 87.33 (0x42aeac50) or NaN: libm's special cases.
        let negative = _mm256_srai_epi32::<31>(bits); // all ones where x < 0
                                                      // libm returns +0 for -inf ≤ x ≤ -103.97 (0x42cff1b5).
        let nan = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x7f80_0000));
        let zero = _mm256_andnot_si256(
            nan,
            _mm256_and_si256(negative, _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x42cf_f1b4))),
        );
        // NaN and x ≥ 87.33: libm's overflow branches, left to it.
        let special = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x42ae_ac4f));
        let positive = _mm256_xor_si256(negative, _mm256_set1_epi32(-1));
        let outside = _mm256_and_si256(special, _mm256_or_si256(nan, positive));
        let outside = _mm256_movemask_ps(_mm256_castsi256_ps(outside)) as u32;
        // k: 0 for |x| ≤ ln2/2, ±1 up to 1.5·ln2, else trunc(x/ln2 ± 1/2).
        let half = _mm256_blendv_ps(
            _mm256_set1_ps(0.5),
            _mm256_set1_ps(-0.5),
            _mm256_castsi256_ps(negative),
        );
        let k_far = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(INV_LN2), x), half));
        let k_near = _mm256_or_si256(negative, _mm256_set1_epi32(1)); // -1 or 1
        let beyond_half = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x3eb1_7218));
        let beyond_1_5 = _mm256_cmpgt_epi32(hx, _mm256_set1_epi32(0x3f85_1592));
        let k = _mm256_and_si256(beyond_half, _mm256_blendv_epi8(k_near, k_far, beyond_1_5));
        let kf = _mm256_cvtepi32_ps(k);
        let hi = _mm256_sub_ps(x, _mm256_mul_ps(kf, _mm256_set1_ps(LN2_HI)));
        let lo = _mm256_mul_ps(kf, _mm256_set1_ps(LN2_LO));
        let r = _mm256_sub_ps(hi, lo);
        let rr = _mm256_mul_ps(r, r);
        let poly = _mm256_add_ps(_mm256_set1_ps(P1), _mm256_mul_ps(rr, _mm256_set1_ps(P2)));
        let c = _mm256_sub_ps(r, _mm256_mul_ps(rr, poly));
        let ratio = _mm256_div_ps(_mm256_mul_ps(r, c), _mm256_sub_ps(_mm256_set1_ps(2.0), c));
        let y = _mm256_add_ps(_mm256_set1_ps(1.0), _mm256_add_ps(_mm256_sub_ps(ratio, lo), hi));
        // scalbnf(y, k): for -126 ≤ k ≤ 127 one multiplication by 2^k; below, libm first
        // multiplies by 2^-102 (exactly), then by 2^(k + 102).
        let below = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(-126), k));
        let pre = _mm256_blendv_ps(
            _mm256_set1_ps(1.0),
            _mm256_set1_ps(f32::from_bits(0x0c80_0000)),
            below,
        );
        let k = _mm256_add_epi32(
            k,
            _mm256_and_si256(_mm256_castps_si256(below), _mm256_set1_epi32(102)),
        );
        let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
            k,
            _mm256_set1_epi32(127),
        )));
        let scaled = _mm256_mul_ps(_mm256_mul_ps(y, pre), scale);
        // |x| ≤ 2^-14 (0x39000000): libm returns 1 + x.
        let tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x3900_0001), hx);
        let y = _mm256_blendv_ps(
            scaled,
            _mm256_add_ps(_mm256_set1_ps(1.0), x),
            _mm256_castsi256_ps(tiny),
        );
        (_mm256_andnot_ps(_mm256_castsi256_ps(zero), y), outside)
    }
}
