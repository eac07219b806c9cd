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
            #[cfg(target_arch = "x86_64")]
            if b.col_stride == 1 && x86::has_fma() {
                while j + 8 <= n {
                    // SAFETY: the CPU has AVX and FMA, and check_dims proved every (i, p) of
                    // `a` and (p, j..j+8) of `b` in bounds.
                    let acc = unsafe { x86::fma_block8(&a, &b, a_row, j, k) };
                    c_row[j..j + 8].copy_from_slice(&acc);
                    j += 8;
                }
            }
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

/// The Cortex-M4F's version of [`block8`]: one `vldm` loads the eight weights of a row,
/// eight `vfma.f32` accumulate in s0–s7: 14 instructions per 8 multiply-accumulates.
///
/// # Safety
/// As for the portable `block8`.
#[cfg(all(target_arch = "arm", target_feature = "vfp2"))]
unsafe fn block8(a: &Mat<'_>, b: &Mat<'_>, a_row: usize, j: usize, k: usize) -> [f32; 8] {
    let mut acc = [0.0f32; 8];
    if k == 0 {
        return acc;
    }
    let a_ptr = a.data.as_ptr().add(a_row);
    let b_ptr = b.data.as_ptr().add(j);
    core::arch::asm!(
        "2:",
        "vldr s24, [{a}]",
        "add {a}, {a_step}",
        "vldm {b}, {{s16-s23}}",
        "add {b}, {b_step}",
        "vfma.f32 s0, s24, s16",
        "vfma.f32 s1, s24, s17",
        "vfma.f32 s2, s24, s18",
        "vfma.f32 s3, s24, s19",
        "vfma.f32 s4, s24, s20",
        "vfma.f32 s5, s24, s21",
        "vfma.f32 s6, s24, s22",
        "vfma.f32 s7, s24, s23",
        "subs {k}, #1",
        "bne 2b",
        a = inout(reg) a_ptr => _,
        b = inout(reg) b_ptr => _,
        k = inout(reg) k => _,
        a_step = in(reg) a.col_stride * 4,
        b_step = in(reg) b.row_stride * 4,
        inout("s0") acc[0], inout("s1") acc[1], inout("s2") acc[2], inout("s3") acc[3],
        inout("s4") acc[4], inout("s5") acc[5], inout("s6") acc[6], inout("s7") acc[7],
        out("s16") _, out("s17") _, out("s18") _, out("s19") _,
        out("s20") _, out("s21") _, out("s22") _, out("s23") _, out("s24") _,
        options(nostack, readonly),
    );
    acc
}

/// x86-64 with FMA: eight outputs at a time in one AVX register. Each lane performs the
/// same sequence of correctly rounded fused multiply-adds as the scalar path, so the
/// results are bit-identical to it (and to a Cortex-M4F's `vfma.f32`), only faster.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Mat;
    use core::arch::x86_64::{
        __cpuid, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
        _xgetbv,
    };
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0: not yet known, 1: absent, 2: present.
    static FMA: AtomicU8 = AtomicU8::new(0);

    /// Whether the CPU and OS support AVX with FMA (CPUID leaf 1 and XCR0's YMM state).
    pub fn has_fma() -> bool {
        match FMA.load(Ordering::Relaxed) {
            0 => {
                let present = detect();
                FMA.store(if present { 2 } else { 1 }, Ordering::Relaxed);
                present
            }
            v => v == 2,
        }
    }

    fn detect() -> bool {
        // CPUID is always present on x86-64.
        let leaf1 = __cpuid(1);
        let (fma, osxsave, avx) = (leaf1.ecx >> 12 & 1, leaf1.ecx >> 27 & 1, leaf1.ecx >> 28 & 1);
        if fma == 0 || osxsave == 0 || avx == 0 {
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

    /// `c[i, j..j+8]` of `a · b` with `b`'s columns contiguous.
    ///
    /// # Safety
    /// The CPU must have AVX and FMA; `a` must hold row `a_row` over `k` columns and `b`
    /// rows `0..k` over columns `j..j+8`.
    #[target_feature(enable = "avx,fma")]
    pub unsafe fn fma_block8(a: &Mat<'_>, b: &Mat<'_>, a_row: usize, j: usize, k: usize) -> [f32; 8] {
        let mut acc = _mm256_setzero_ps();
        let (mut ai, mut bi) = (a_row, j);
        for _ in 0..k {
            let x = _mm256_set1_ps(*a.data.get_unchecked(ai));
            let w = _mm256_loadu_ps(b.data.as_ptr().add(bi));
            acc = _mm256_fmadd_ps(x, w, acc);
            ai += a.col_stride;
            bi += b.row_stride;
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), acc);
        out
    }
}
