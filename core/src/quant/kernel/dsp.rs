//! The int8 kernel for Cortex-M cores with the DSP extension (Cortex-M4, M7).
//!
//! The `.mdl` layout is kept (unit-major int8 weights); the input is expanded instead, once
//! per layer: `x[i] + input_offset` as int16, four inputs `x0 x1 x2 x3` as the two words
//! `(x0, x2)`, `(x1, x3)`. A word of four weights `w0 w1 w2 w3` then needs no shuffle:
//! `SXTB16 w` is `(w0, w2)`, `SXTB16 w, ROR #8` is `(w1, w3)`, and two `SMLAD`s add
//! `w0·x0 + w2·x2` and `w1·x1 + w3·x3` to the row's sum. Eight inputs cost one `LDM` of
//! the expanded input, one `LDM` (two `LDR`s where the row is not word-aligned) of the
//! weights, four `SXTB16` and four `SMLAD`: 10 instructions per 8 multiply-accumulates,
//! plus the loop's 2 per 16. The last `n mod 8` inputs of a row take the portable path.
//!
//! Every product and sum is exact in int32 (wrapping like the portable kernel's), so the
//! result is the portable kernel's bit for bit. Stack: [`CHUNK`] int16 (1 KiB).

use super::{Int8Kernel, PortableInt8};
use core::arch::asm;
use core::mem::MaybeUninit;

/// Inputs expanded at a time (a multiple of 8): longer rows are summed chunk by chunk.
const CHUNK: usize = 512;

/// The largest `|input_offset|` for which every `x + input_offset` fits an int16.
const MAX_OFFSET: i32 = i16::MAX as i32 - 127;

/// The DSP extension's int8 kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dsp;

impl Int8Kernel for Dsp {
    fn accumulate(&self, weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) -> bool {
        let n = x.len();
        if n == 0 || weights.len() != acc.len() * n || !(-MAX_OFFSET..=MAX_OFFSET).contains(&input_offset) {
            return PortableInt8.accumulate(weights, x, input_offset, acc);
        }
        let blocked = n / 8 * 8;
        let mut storage = MaybeUninit::<[u32; CHUNK / 2]>::uninit();
        let expanded = storage.as_mut_ptr().cast::<u32>();
        let mut start = 0;
        while start < blocked {
            let len = (blocked - start).min(CHUNK);
            // SAFETY: `x[start..start + len]` is in bounds (len ≤ blocked - start, blocked ≤ n)
            // and `expanded` holds CHUNK / 2 ≥ len / 2 words; len is a multiple of 8.
            unsafe { expand(x.as_ptr().add(start), len, input_offset, expanded) };
            for (j, sum) in acc.iter_mut().enumerate() {
                let row = &weights[j * n + start..j * n + start + len];
                // SAFETY: `row` holds `len` weights, `expanded` the len / 2 words `expand`
                // just wrote, len a nonzero multiple of 8.
                *sum = unsafe { dot(expanded, row.as_ptr(), len / 8, *sum) };
            }
            start += len;
        }
        if blocked < n {
            for (row, sum) in weights.chunks_exact(n).zip(acc.iter_mut()) {
                let mut tail = [*sum];
                PortableInt8.accumulate(&row[blocked..], &x[blocked..], input_offset, &mut tail);
                *sum = tail[0];
            }
        }
        true
    }
}

/// Writes `len` inputs from `x` (any alignment), each plus `offset`, as int16 pairs to
/// `out`: inputs `4k..4k+4` become words `2k` = `(x0, x2)` and `2k + 1` = `(x1, x3)`.
///
/// # Safety
/// `x` must hold `len` bytes, `out` `len / 2` words; `len` must be a nonzero multiple
/// of 8, and `|offset|` at most [`MAX_OFFSET`].
unsafe fn expand(x: *const i8, len: usize, offset: i32, out: *mut u32) {
    let pair = (offset as u32 & 0xffff) | (offset as u32) << 16;
    // SAFETY: reads `len` bytes from `x` (plain `LDR`s, which the Cortex-M4/M7 allow
    // unaligned) and writes `len / 2` words to `out`, in bounds by the contract; touches
    // only the registers named.
    unsafe {
        asm!(
            "2:",
            "ldr {v}, [{x}], #4",
            "sxtab16 r2, {pair}, {v}",
            "sxtab16 r3, {pair}, {v}, ror #8",
            "ldr {v}, [{x}], #4",
            "sxtab16 r4, {pair}, {v}",
            "sxtab16 r5, {pair}, {v}, ror #8",
            "stm {out}!, {{r2-r5}}",
            "cmp {out}, {end}",
            "bne 2b",
            x = inout(reg) x => _,
            out = inout(reg) out => _,
            end = in(reg) out.add(len / 2),
            pair = in(reg) pair,
            v = out(reg) _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            options(nostack),
        );
    }
}

/// One step of eight inputs: the expanded input in `r2`–`r5`, the weights in `r8`, `r9`.
macro_rules! eight {
    ($load:literal $(, $more:literal)?) => {
        concat!(
            "ldm {x}!, {{r2-r5}}\n",
            $load, "\n",
            $($more, "\n",)?
            "sxtb16 r12, r8\n",
            "sxtb16 r8, r8, ror #8\n",
            "smlad {acc}, r12, r2, {acc}\n",
            "smlad {acc}, r8, r3, {acc}\n",
            "sxtb16 r12, r9\n",
            "sxtb16 r9, r9, ror #8\n",
            "smlad {acc}, r12, r4, {acc}\n",
            "smlad {acc}, r9, r5, {acc}\n",
        )
    };
}

/// The loop over `blocks` steps of eight inputs, two steps per iteration (an odd count
/// enters at the second).
macro_rules! dot_loop {
    ($step:expr, $x:ident, $w:ident, $end:ident, $odd:ident, $acc:ident) => {
        asm!(
            "cmp {odd}, #0",
            "bne 3f",
            "2:",
            $step,
            "3:",
            $step,
            "cmp {x}, {end}",
            "bne 2b",
            x = inout(reg) $x => _,
            w = inout(reg) $w => _,
            end = in(reg) $end,
            odd = in(reg) $odd,
            acc = inout(reg) $acc,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r12") _,
            options(nostack, readonly),
        )
    };
}

/// `acc + Σ` over `8 · blocks` inputs of the expanded input at `x` times the weights at `w`.
///
/// # Safety
/// `blocks` must be at least 1, `x` must hold `4 · blocks` words (word-aligned) and `w`
/// `8 · blocks` bytes (any alignment).
unsafe fn dot(x: *const u32, w: *const i8, blocks: usize, mut acc: i32) -> i32 {
    // SAFETY: by the contract, `x` is word-aligned and holds 4 · blocks words.
    let end = unsafe { x.add(4 * blocks) };
    let odd = blocks % 2;
    if w as usize % 4 == 0 {
        // SAFETY: reads 4 · blocks words from `x` and 8 · blocks bytes from `w` (both
        // word-aligned, as `LDM` needs), in bounds by the contract; the loop ends when `x`
        // reaches `end` (an odd count enters at the second step); touches only the
        // registers named.
        unsafe { dot_loop!(eight!("ldm {w}!, {{r8, r9}}"), x, w, end, odd, acc) };
    } else {
        // SAFETY: as above, with the weights read by plain `LDR`s, which the Cortex-M4/M7
        // allow unaligned.
        unsafe {
            dot_loop!(
                eight!("ldr r8, [{w}], #4", "ldr r9, [{w}], #4"),
                x,
                w,
                end,
                odd,
                acc
            )
        };
    }
    acc
}
