//! The Cortex-M4F's kernel for contiguous weights: a row of `n` outputs is cut into
//! `⌈n / 12⌉` blocks of nearly equal width (50 → 5 × 10), and each block runs over `k`
//! with its accumulators in `s0`–`s11`: per row of `b`, one `vldr` of the input, one `vldm`
//! of the block's weights and one `vfma.f32` per output, so a block of width `w` costs
//! `w + 6` instructions per `w` multiply-accumulates. Every output sees the same ascending
//! sequence of fused multiply-adds as the portable path.

use super::Mat;

/// The widest block: twelve accumulators and twelve weights in registers.
const MAX_BLOCK: usize = 12;

/// Writes `c_row[0..n]` = row `a_row` of `a` times `b`.
///
/// # Safety
/// `k` must be at least 1 and `b.col_stride` 1; `a` must hold row `a_row` over `k`
/// columns, `b` rows `0..k` over columns `0..n`, and `c_row` at least `n` values.
pub unsafe fn row(a: &Mat<'_>, b: &Mat<'_>, a_row: usize, k: usize, n: usize, c_row: &mut [f32]) {
    let blocks = n.div_ceil(MAX_BLOCK);
    let mut j = 0;
    for block in 0..blocks {
        // The first `n % blocks` blocks are one wider.
        let width = n / blocks + usize::from(block < n % blocks);
        // SAFETY: element (a_row, 0) of `a` is in bounds by the contract (k ≥ 1).
        let x = unsafe { a.data.as_ptr().add(a_row) };
        // SAFETY: element (0, j) of `b` is in bounds by the contract (k ≥ 1, j < n).
        let w = unsafe { b.data.as_ptr().add(j) };
        let (x_step, w_step) = (a.col_stride * 4, b.row_stride * 4);
        // SAFETY: j < n ≤ c_row.len().
        let out = unsafe { c_row.as_mut_ptr().add(j) };
        // SAFETY: from (row a_row, columns 0..k) of `a` and rows 0..k of columns j..j+width
        // of `b`, all in bounds by the contract, into `width` values of `c_row`.
        unsafe {
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
                // SAFETY: reads `k` values from `x` and `k` rows of `$width` values from
                // `w`, all in bounds by the contract; writes only the registers named.
                unsafe { core::arch::asm!(
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
                ) };
            }
            // SAFETY: `out` holds the block's `$width` outputs by the contract.
            unsafe { core::ptr::copy_nonoverlapping(acc.as_ptr(), out, $width) };
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
