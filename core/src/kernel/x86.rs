//! x86-64 with AVX2 and FMA: up to eight outputs at a time in one AVX register, and libm's
//! `expf` eight values at a time; with AVX-512F, up to sixteen outputs in one register.
//! Each lane performs the same sequence of correctly rounded operations as the scalar
//! path, so the results are bit-identical to it (and to a Cortex-M4F's `vfma.f32` and
//! libm), only faster.

use super::Mat;
use core::arch::x86_64::*;
use core::sync::atomic::{AtomicU8, Ordering};

/// What the CPU and OS support, once known: 0 not yet known, else one of the levels below.
static LEVEL: AtomicU8 = AtomicU8::new(0);
/// Neither AVX2 with FMA nor AVX-512F.
const NONE: u8 = 1;
/// AVX2 with FMA.
const AVX2_FMA: u8 = 2;
/// AVX2 with FMA, and AVX-512F.
const AVX512F: u8 = 3;

fn level() -> u8 {
    match LEVEL.load(Ordering::Relaxed) {
        0 => {
            let level = detect();
            LEVEL.store(level, Ordering::Relaxed);
            level
        }
        v => v,
    }
}

/// Whether the CPU and OS support AVX2 with FMA (CPUID leaves 1 and 7, XCR0's YMM state).
pub fn has_avx2_fma() -> bool {
    level() >= AVX2_FMA
}

/// Whether they also support AVX-512F (CPUID leaf 7, XCR0's opmask and ZMM states).
pub fn has_avx512f() -> bool {
    level() >= AVX512F
}

fn detect() -> u8 {
    // CPUID is always present on x86-64.
    let leaf1 = __cpuid(1);
    let (fma, osxsave, avx) = (leaf1.ecx >> 12 & 1, leaf1.ecx >> 27 & 1, leaf1.ecx >> 28 & 1);
    if fma == 0 || osxsave == 0 || avx == 0 || __cpuid(0).eax < 7 {
        return NONE;
    }
    let leaf7 = __cpuid_count(7, 0).ebx;
    let (avx2, avx512f) = (leaf7 >> 5 & 1, leaf7 >> 16 & 1);
    // SAFETY: OSXSAVE is set, so XGETBV is available.
    let xcr0 = unsafe { xgetbv0() };
    // XMM and YMM state; then opmask, upper ZMM halves and ZMM16-31.
    match (
        avx2 == 1 && xcr0 & 0b110 == 0b110,
        avx512f == 1 && xcr0 & 0b1110_0000 == 0b1110_0000,
    ) {
        (true, true) => AVX512F,
        (true, false) => AVX2_FMA,
        _ => NONE,
    }
}

#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    // SAFETY: the caller checked OSXSAVE.
    unsafe { _xgetbv(0) }
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
            // SAFETY: element (row, p) of `a` and (p, j..j+8) of `b`, in bounds by the contract.
            let (x, w) = unsafe {
                (
                    *a.data.get_unchecked(ai),
                    _mm256_loadu_ps(b.data.as_ptr().add(bi)),
                )
            };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(x), w, acc);
            ai += a.col_stride;
            bi += b.row_stride;
        }
    } else {
        let lanes = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(width as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        for _ in 0..k {
            // SAFETY: element (row, p) of `a` and (p, j..j+width) of `b` (the lanes loaded),
            // in bounds by the contract.
            let (x, w) = unsafe {
                (
                    *a.data.get_unchecked(ai),
                    _mm256_maskload_ps(b.data.as_ptr().add(bi), lanes),
                )
            };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(x), w, acc);
            ai += a.col_stride;
            bi += b.row_stride;
        }
    }
    let mut out = [0.0f32; 8];
    // SAFETY: `out` holds eight values.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// `c[i, j..j+width]` (`width` ≤ 16, the rest of the result zero) of `a · b` with
/// `b`'s columns contiguous: [`fma_block`] sixteen lanes wide, `b`'s rows read with
/// masked loads (which never touch the lanes left out).
///
/// # Safety
/// The CPU must have AVX-512F; `a` must hold row `a_row` over `k` columns and `b`
/// rows `0..k` over columns `j..j+width`.
#[target_feature(enable = "avx512f")]
pub unsafe fn fma_block16(
    a: &Mat<'_>,
    b: &Mat<'_>,
    a_row: usize,
    j: usize,
    k: usize,
    width: usize,
) -> [f32; 16] {
    let lanes = ((1u32 << width.min(16)) - 1) as __mmask16;
    let mut acc = _mm512_setzero_ps();
    let (mut ai, mut bi) = (a_row, j);
    for _ in 0..k {
        // SAFETY: element (row, p) of `a` and (p, j..j+width) of `b` (the lanes loaded), in
        // bounds by the contract.
        let (x, w) = unsafe {
            (
                *a.data.get_unchecked(ai),
                _mm512_maskz_loadu_ps(lanes, b.data.as_ptr().add(bi)),
            )
        };
        acc = _mm512_fmadd_ps(_mm512_set1_ps(x), w, acc);
        ai += a.col_stride;
        bi += b.row_stride;
    }
    let mut out = [0.0f32; 16];
    // SAFETY: `out` holds sixteen values.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// Rows a tile of [`fma_tile16`] or [`fma_tile8`] computes together.
pub const TILE_ROWS: usize = 4;

/// Four rows of `c = a · b` over the [`Tile`]'s columns (`width` ≤ 64), `b`'s columns
/// contiguous: four sixteen-lane registers per row, so each of `b`'s values loaded serves
/// four rows and sixteen chains run at once. Each output is [`fma_block16`]'s ascending
/// chain of fused multiply-adds, so the bits are the same.
///
/// # Safety
/// The CPU must have AVX-512F; `a` must hold four rows over `at.k` columns (row `q` from
/// `at.a_row + q * a.row_stride`), `b` rows `0..at.k` over columns `at.j..at.j +
/// at.width`, and `c` four rows of `at.n` values with `at.j + at.width <= at.n`.
#[target_feature(enable = "avx512f")]
pub unsafe fn fma_tile16(a: &Mat<'_>, b: &Mat<'_>, at: Tile, c: &mut [f32]) {
    // SAFETY: as the caller guarantees.
    unsafe {
        match at.width.div_ceil(16) {
            1 => tile16::<1>(a, b, at, c),
            2 => tile16::<2>(a, b, at, c),
            3 => tile16::<3>(a, b, at, c),
            _ => tile16::<4>(a, b, at, c),
        }
    }
}

/// [`fma_tile16`] with AVX2 and FMA: two eight-lane registers per row (`width` ≤ 16),
/// [`fma_block`]'s chains.
///
/// # Safety
/// The CPU must have AVX2 and FMA; otherwise as [`fma_tile16`], with `width` ≤ 16.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn fma_tile8(a: &Mat<'_>, b: &Mat<'_>, at: Tile, c: &mut [f32]) {
    // SAFETY: as the caller guarantees.
    unsafe {
        match at.width.div_ceil(8) {
            1 => tile8::<1>(a, b, at, c),
            _ => tile8::<2>(a, b, at, c),
        }
    }
}

/// The leading whole tiles of [`TILE_ROWS`] rows of `c = a · b` (`c` holds `n` outputs
/// per row), with AVX-512F or else AVX2 and FMA when `b`'s columns are contiguous; returns
/// how many rows it computed (0 when neither applies).
///
/// # Safety
/// `a` must hold every (row, p) with `p < k` for the rows of `c`, and `b` every (p, j)
/// with `p < k` and `j < n`.
pub unsafe fn tiles(a: &Mat<'_>, b: &Mat<'_>, k: usize, n: usize, c: &mut [f32]) -> usize {
    let wide = has_avx512f();
    if b.col_stride != 1 || !(wide || has_avx2_fma()) {
        return 0;
    }
    let tiled = c.len() / n / TILE_ROWS * TILE_ROWS;
    for (t, c) in c[..tiled * n].chunks_exact_mut(TILE_ROWS * n).enumerate() {
        let a_row = t * TILE_ROWS * a.row_stride;
        let mut j = 0;
        while j < n {
            let width = (n - j).min(if wide { 64 } else { 16 });
            let at = Tile {
                a_row,
                j,
                k,
                width,
                n,
            };
            // SAFETY: the CPU has the instruction set; the caller guarantees every (i, p)
            // of `a` and (p, j..j+width) of `b` for the tile's four rows, and `c` holds
            // their `n` outputs each.
            unsafe {
                if wide {
                    fma_tile16(a, b, at, c);
                } else {
                    fma_tile8(a, b, at, c);
                }
            }
            j += width;
        }
    }
    tiled
}

/// Where a tile of [`fma_tile16`] or [`fma_tile8`] lies.
#[derive(Clone, Copy, Debug)]
pub struct Tile {
    /// Where `a`'s first row starts (the others follow `a.row_stride` apart).
    pub a_row: usize,
    /// The first column of `b` and `c`.
    pub j: usize,
    /// Terms per sum: `a`'s columns, `b`'s rows.
    pub k: usize,
    /// Columns of `b` and `c`.
    pub width: usize,
    /// Distance between `c`'s rows.
    pub n: usize,
}

/// [`fma_tile16`] with `R` registers per row.
///
/// # Safety
/// As [`fma_tile16`], with `16 * (R - 1) < width <= 16 * R`.
#[target_feature(enable = "avx512f")]
unsafe fn tile16<const R: usize>(a: &Mat<'_>, b: &Mat<'_>, at: Tile, c: &mut [f32]) {
    let tail = ((1u32 << (at.width - 16 * (R - 1))) - 1) as __mmask16;
    let mut acc = [[_mm512_setzero_ps(); R]; TILE_ROWS];
    let (mut ai, mut bi) = (at.a_row, at.j);
    for _ in 0..at.k {
        // SAFETY: element (p, j..j+width) of `b` (the lanes loaded) and (q, p) of `a` for
        // the four rows, in bounds by the contract.
        unsafe {
            let w: [__m512; R] = core::array::from_fn(|r| {
                if r + 1 == R {
                    _mm512_maskz_loadu_ps(tail, b.data.as_ptr().add(bi + 16 * r))
                } else {
                    _mm512_loadu_ps(b.data.as_ptr().add(bi + 16 * r))
                }
            });
            for (q, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a.data.get_unchecked(ai + q * a.row_stride));
                for (slot, &w) in acc.iter_mut().zip(&w) {
                    *slot = _mm512_fmadd_ps(x, w, *slot);
                }
            }
        }
        ai += a.col_stride;
        bi += b.row_stride;
    }
    for (q, acc) in acc.iter().enumerate() {
        let row = &mut c[q * at.n + at.j..][..at.width];
        // SAFETY: `row` holds `width` values: the first `R - 1` registers whole, the last
        // its `tail` lanes.
        unsafe {
            for (r, v) in acc[..R - 1].iter().enumerate() {
                _mm512_storeu_ps(row.as_mut_ptr().add(16 * r), *v);
            }
            _mm512_mask_storeu_ps(row.as_mut_ptr().add(16 * (R - 1)), tail, acc[R - 1]);
        }
    }
}

/// [`fma_tile8`] with `R` registers per row.
///
/// # Safety
/// As [`fma_tile8`], with `8 * (R - 1) < width <= 8 * R`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile8<const R: usize>(a: &Mat<'_>, b: &Mat<'_>, at: Tile, c: &mut [f32]) {
    let last = (at.width - 8 * (R - 1)) as i32;
    let tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    let mut acc = [[_mm256_setzero_ps(); R]; TILE_ROWS];
    let (mut ai, mut bi) = (at.a_row, at.j);
    for _ in 0..at.k {
        // SAFETY: element (p, j..j+width) of `b` (the lanes loaded) and (q, p) of `a` for
        // the four rows, in bounds by the contract.
        unsafe {
            let w: [__m256; R] = core::array::from_fn(|r| {
                if r + 1 == R && last < 8 {
                    _mm256_maskload_ps(b.data.as_ptr().add(bi + 8 * r), tail)
                } else {
                    _mm256_loadu_ps(b.data.as_ptr().add(bi + 8 * r))
                }
            });
            for (q, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*a.data.get_unchecked(ai + q * a.row_stride));
                for (slot, &w) in acc.iter_mut().zip(&w) {
                    *slot = _mm256_fmadd_ps(x, w, *slot);
                }
            }
        }
        ai += a.col_stride;
        bi += b.row_stride;
    }
    for (q, acc) in acc.iter().enumerate() {
        let row = &mut c[q * at.n + at.j..][..at.width];
        for (out, v) in row.chunks_mut(8).zip(acc) {
            if out.len() == 8 {
                // SAFETY: `out` holds eight values.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), *v) };
            } else {
                let mut lanes = [0.0f32; 8];
                // SAFETY: `lanes` holds eight values.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *v) };
                out.copy_from_slice(&lanes[..out.len()]);
            }
        }
    }
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
        // SAFETY: `chunk` holds eight values; the CPU has AVX2 and FMA (the contract).
        let (x8, outside) = unsafe {
            let x = _mm256_loadu_ps(chunk.as_ptr());
            let (y, outside) = exp8(x);
            _mm256_storeu_ps(chunk.as_mut_ptr(), y);
            let mut x8 = [0.0f32; 8];
            _mm256_storeu_ps(x8.as_mut_ptr(), x);
            (x8, outside)
        };
        exp_outside(&x8, outside, chunk);
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut x8 = [0.0f32; 8];
        x8[..rest.len()].copy_from_slice(rest);
        let mut y8 = [0.0f32; 8];
        // SAFETY: `x8` and `y8` hold eight values; the CPU has AVX2 and FMA (the contract).
        let outside = unsafe {
            let (y, outside) = exp8(_mm256_loadu_ps(x8.as_ptr()));
            _mm256_storeu_ps(y8.as_mut_ptr(), y);
            outside
        };
        exp_outside(&x8, outside, &mut y8);
        rest.copy_from_slice(&y8[..rest.len()]);
    }
}

/// `out[lane] = math::exp(x[lane])` for each `lane` set in `outside` (and in `out`).
#[cfg(not(feature = "micromath"))]
fn exp_outside(x: &[f32], mut outside: u32, out: &mut [f32]) {
    while outside != 0 {
        let lane = outside.trailing_zeros() as usize;
        if let Some(o) = out.get_mut(lane) {
            *o = crate::math::exp(x[lane]);
        }
        outside &= outside - 1;
    }
}

/// libm's `expf` constants, by their bits.
#[cfg(not(feature = "micromath"))]
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
#[cfg(not(feature = "micromath"))]
const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
#[cfg(not(feature = "micromath"))]
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
#[cfg(not(feature = "micromath"))]
const P1: f32 = f32::from_bits(0x3e2a_aa8f);
#[cfg(not(feature = "micromath"))]
const P2: f32 = f32::from_bits(0xbb35_5215);

/// libm's `expf` between reduction and scaling, for any vector width: with `kf` the
/// lanes' `k` as floats, `r = (x - kf·ln2_hi) - kf·ln2_lo`, the rational approximation
/// `c` and `1 + ((r·c / (2 - c) - lo) + hi)`, none fused, in libm's order. `$add`, `$sub`,
/// `$mul`, `$div` and `$splat` are the width's intrinsics; it expands inside the
/// function that has their target feature.
#[cfg(not(feature = "micromath"))]
macro_rules! reduced_exp {
    ($x:expr, $kf:expr, $add:ident, $sub:ident, $mul:ident, $div:ident, $splat:ident) => {{
        let kf = $kf;
        let hi = $sub($x, $mul(kf, $splat(LN2_HI)));
        let lo = $mul(kf, $splat(LN2_LO));
        let r = $sub(hi, lo);
        let rr = $mul(r, r);
        let poly = $add($splat(P1), $mul(rr, $splat(P2)));
        let c = $sub(r, $mul(rr, poly));
        let ratio = $div($mul(r, c), $sub($splat(2.0), c));
        $add($splat(1.0), $add($sub(ratio, lo), hi))
    }};
}

/// [`exp16`] over `values`, sixteen at a time (the last few masked); values outside its
/// range go through `math::exp`.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(not(feature = "micromath"))]
#[target_feature(enable = "avx512f")]
pub unsafe fn exp_in_place16(values: &mut [f32]) {
    for chunk in values.chunks_mut(16) {
        let lanes = ((1u32 << chunk.len()) - 1) as __mmask16;
        let mut x16 = [0.0f32; 16];
        // SAFETY: the masked load and store touch the chunk's `lanes` only; `x16` holds
        // sixteen values; the CPU has AVX-512F (the contract).
        let outside = unsafe {
            let x = _mm512_maskz_loadu_ps(lanes, chunk.as_ptr());
            let (y, outside) = exp16(x);
            _mm512_mask_storeu_ps(chunk.as_mut_ptr(), lanes, y);
            _mm512_storeu_ps(x16.as_mut_ptr(), x);
            outside
        };
        exp_outside(&x16, outside, chunk);
    }
}

/// [`exp8`] sixteen lanes wide: the same operations in the same order, its vector masks
/// AVX-512 mask registers.
#[cfg(not(feature = "micromath"))]
#[target_feature(enable = "avx512f")]
fn exp16(x: __m512) -> (__m512, u32) {
    let int = _mm512_set1_epi32;
    let float = _mm512_set1_ps;
    let bits = _mm512_castps_si512(x);
    let hx = _mm512_and_si512(bits, int(0x7fff_ffff));
    let negative = _mm512_cmplt_epi32_mask(bits, _mm512_setzero_si512());
    let nan = _mm512_cmpgt_epi32_mask(hx, int(0x7f80_0000));
    // libm returns +0 for -inf ≤ x ≤ -103.97 (0x42cff1b5).
    let zero = !nan & negative & _mm512_cmpgt_epi32_mask(hx, int(0x42cf_f1b4));
    // NaN and x ≥ 87.33: libm's overflow branches, left to it.
    let special = _mm512_cmpgt_epi32_mask(hx, int(0x42ae_ac4f));
    let outside = special & (nan | !negative);
    // k: 0 for |x| ≤ ln2/2, ±1 up to 1.5·ln2, else trunc(x/ln2 ± 1/2).
    let half = _mm512_mask_blend_ps(negative, float(0.5), float(-0.5));
    let k_far = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(float(INV_LN2), x), half));
    let k_near = _mm512_mask_blend_epi32(negative, int(1), int(-1));
    let beyond_half = _mm512_cmpgt_epi32_mask(hx, int(0x3eb1_7218));
    let beyond_1_5 = _mm512_cmpgt_epi32_mask(hx, int(0x3f85_1592));
    let k = _mm512_maskz_mov_epi32(beyond_half, _mm512_mask_blend_epi32(beyond_1_5, k_near, k_far));
    let y = reduced_exp!(
        x,
        _mm512_cvtepi32_ps(k),
        _mm512_add_ps,
        _mm512_sub_ps,
        _mm512_mul_ps,
        _mm512_div_ps,
        float
    );
    // scalbnf(y, k), as in exp8.
    let below = _mm512_cmplt_epi32_mask(k, int(-126));
    let pre = _mm512_mask_blend_ps(below, float(1.0), float(f32::from_bits(0x0c80_0000)));
    let k = _mm512_mask_add_epi32(k, below, k, int(102));
    let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k, int(127))));
    let scaled = _mm512_mul_ps(_mm512_mul_ps(y, pre), scale);
    // |x| ≤ 2^-14 (0x39000000): libm returns 1 + x.
    let tiny = _mm512_cmplt_epi32_mask(hx, int(0x3900_0001));
    let y = _mm512_mask_blend_ps(tiny, scaled, _mm512_add_ps(float(1.0), x));
    (_mm512_maskz_mov_ps(!zero, y), u32::from(outside))
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
    let y = reduced_exp!(
        x,
        _mm256_cvtepi32_ps(k),
        _mm256_add_ps,
        _mm256_sub_ps,
        _mm256_mul_ps,
        _mm256_div_ps,
        _mm256_set1_ps
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{math, Rng};

    /// Output `(i, j)` as the portable kernel defines it: fused multiply-adds over
    /// ascending `p`, from zero.
    fn reference(a: &Mat<'_>, b: &Mat<'_>, i: usize, j: usize, k: usize) -> f32 {
        (0..k).fold(0.0, |acc, p| {
            math::mul_add(
                a.data[i * a.row_stride + p * a.col_stride],
                b.data[p * b.row_stride + j * b.col_stride],
                acc,
            )
        })
    }

    #[test]
    fn wide_blocks_give_the_portable_bits_for_every_width_and_layout() {
        let mut rng = Rng::new(3);
        let (m, k, n) = (3, 41, 16);
        // Subnormals among the values: the result must keep them as IEEE 754 does.
        let mut value = |()| match rng.next_f32() {
            u if u < 0.1 => f32::MIN_POSITIVE * (u - 0.05),
            u => u * 4.0 - 2.0,
        };
        let (mut a, mut b) = ([0.0f32; 3 * 41], [0.0f32; 41 * 16]);
        a.iter_mut().chain(b.iter_mut()).for_each(|x| *x = value(()));
        let bv = Mat::row_major(&b, n);
        for av in [Mat::row_major(&a, k), Mat::transposed(&a, m)] {
            for (i, width) in (0..m).flat_map(|i| (1..=16).map(move |w| (i, w))) {
                let row = i * av.row_stride;
                let check = |got: &[f32]| {
                    for (j, x) in got.iter().enumerate() {
                        let want = if j < width {
                            reference(&av, &bv, i, j, k)
                        } else {
                            0.0
                        };
                        assert_eq!(x.to_bits(), want.to_bits(), "row {i}, width {width}, column {j}");
                    }
                };
                if has_avx2_fma() && width <= 8 {
                    // SAFETY: the CPU has AVX2 and FMA; row `i` and columns `0..width` exist.
                    check(&unsafe { fma_block(&av, &bv, row, 0, k, width) });
                }
                if has_avx512f() {
                    // SAFETY: the CPU has AVX-512F; row `i` and columns `0..width` exist.
                    check(&unsafe { fma_block16(&av, &bv, row, 0, k, width) });
                }
            }
        }
    }

    #[test]
    fn tiles_give_the_portable_bits_for_every_width_and_layout() {
        let mut rng = Rng::new(4);
        let (m, k, n) = (TILE_ROWS, 37, 70);
        // Subnormals among the values: the result must keep them as IEEE 754 does.
        let mut value = |()| match rng.next_f32() {
            u if u < 0.1 => f32::MIN_POSITIVE * (u - 0.05),
            u => u * 4.0 - 2.0,
        };
        let (mut a, mut b) = ([0.0f32; TILE_ROWS * 37], [0.0f32; 37 * 70]);
        a.iter_mut().chain(b.iter_mut()).for_each(|x| *x = value(()));
        let bv = Mat::row_major(&b, n);
        for av in [Mat::row_major(&a, k), Mat::transposed(&a, m)] {
            // Every width of each kernel, from two starting columns.
            for (j, width) in [0, 3].into_iter().flat_map(|j| (1..=64).map(move |w| (j, w))) {
                let check = |c: &[f32]| {
                    for (i, row) in c.chunks_exact(n).enumerate() {
                        for (col, x) in row.iter().enumerate() {
                            let want = if (j..j + width).contains(&col) {
                                reference(&av, &bv, i, col, k).to_bits()
                            } else {
                                f32::NAN.to_bits()
                            };
                            assert_eq!(x.to_bits(), want, "row {i}, columns {j}+{width}, column {col}");
                        }
                    }
                };
                let at = Tile {
                    a_row: 0,
                    j,
                    k,
                    width,
                    n,
                };
                type Kernel = unsafe fn(&Mat<'_>, &Mat<'_>, Tile, &mut [f32]);
                let kernels: [(bool, Kernel); 2] = [
                    (has_avx2_fma() && width <= 16, fma_tile8),
                    (has_avx512f(), fma_tile16),
                ];
                for (_, kernel) in kernels.into_iter().filter(|(has, _)| *has) {
                    let mut c = [f32::NAN; TILE_ROWS * 70];
                    // SAFETY: the CPU has the kernel's instruction set; the four rows and
                    // the columns exist.
                    unsafe { kernel(&av, &bv, at, &mut c) };
                    check(&c);
                }
            }
        }
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn both_vector_exponentials_give_libms_bits() {
        // Every 61st bit pattern of both signs up to |x| = 120 (all of libm's branches),
        // the special values, in groups of 4,093 (every tail length turns up).
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            88.72,
            -103.97,
            0.0,
            -0.0,
        ];
        let limit = 120f32.to_bits();
        let mut values = [0.0f32; 4093];
        let mut bits = 0u32;
        while bits <= limit {
            for (i, v) in values.iter_mut().enumerate() {
                let b = bits.saturating_add(61 * (i as u32 / 2)).min(limit);
                *v = specials
                    .get(i % 601)
                    .copied()
                    .unwrap_or(f32::from_bits(b | (i as u32 & 1) << 31));
            }
            bits = bits.saturating_add(61 * 4093 / 2);
            for len in [values.len(), (bits as usize) % 40] {
                let mut avx2 = values;
                let mut avx512 = values;
                if has_avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA.
                    unsafe { exp_in_place(&mut avx2[..len]) };
                }
                if has_avx512f() {
                    // SAFETY: the CPU has AVX-512F.
                    unsafe { exp_in_place16(&mut avx512[..len]) };
                }
                for (i, x) in values[..len].iter().enumerate() {
                    let want = math::exp(*x);
                    for (path, y, run) in [
                        ("AVX2", avx2[i], has_avx2_fma()),
                        ("AVX-512", avx512[i], has_avx512f()),
                    ] {
                        assert!(
                            !run || y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                            "{path}: exp({x:e}) = {y:e}, libm gives {want:e}"
                        );
                    }
                }
            }
        }
    }
}
