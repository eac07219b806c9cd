//! The int8 kernel for Cortex-M cores with the DSP extension (Cortex-M4, M7).
//!
//! The `.mdl` layout is kept (unit-major int8 weights); the input is expanded instead, once
//! per layer: `x[i] + input_offset` as int16, four inputs `x0 x1 x2 x3` as the two words
//! `(x0, x2)`, `(x1, x3)`. A word of four weights `w0 w1 w2 w3` then needs no shuffle:
//! `SXTB16 w` is `(w0, w2)`, `SXTB16 w, ROR #8` is `(w1, w3)`, and two `SMLAD`s add
//! `w0·x0 + w2·x2` and `w1·x1 + w3·x3` to the row's sum.
//!
//! Rows go two at a time (one alone where a row is not word-aligned, and the last of an odd
//! count): per eight inputs of two rows, one `LDM` of the expanded input, one `LDM` of
//! each row's weights, eight `SXTB16` and eight `SMLAD`; the loop's test costs 2 per 16
//! inputs. That is 40 instructions per 32 multiply-accumulates (1.25); a row alone takes
//! 22 per 16 (1.375), with two `LDR`s instead of an `LDM` where it is not aligned. The
//! loop ends at a sentinel word after the expanded input (a value no input takes), which
//! saves the register an end pointer would need. The last `n mod 16` inputs of a row take
//! the portable path.
//!
//! Every product and sum is exact in int32 (wrapping like the portable kernel's), so the
//! result is the portable kernel's bit for bit. Stack: [`CHUNK`] int16 and 16 bytes (2 KiB).

use super::{Int8Kernel, PortableInt8};
use core::arch::asm;
use core::mem::MaybeUninit;

/// Inputs expanded at a time (a multiple of 16): longer rows are summed chunk by chunk.
const CHUNK: usize = 1024;

/// The largest `|input_offset|` the expansion takes: every `x + input_offset` then lies in
/// `−32640..=32639`, so the halfword `0x8000` of [`END`] never occurs.
const MAX_OFFSET: i32 = 32_512;

/// The word after the expanded input (both halves −32768), four times.
const END: u32 = 0x8000_8000;

/// The DSP extension's int8 kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dsp;

impl Int8Kernel for Dsp {
    fn accumulate(&self, weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) -> bool {
        let n = x.len();
        let fits = (-MAX_OFFSET..=MAX_OFFSET).contains(&input_offset);
        if n == 0 || weights.len() != acc.len() * n || !fits {
            return PortableInt8.accumulate(weights, x, input_offset, acc);
        }
        let blocked = n / 16 * 16;
        let mut storage = MaybeUninit::<[u32; CHUNK / 2 + 4]>::uninit();
        let expanded = storage.as_mut_ptr().cast::<u32>();
        let mut start = 0;
        while start < blocked {
            let len = (blocked - start).min(CHUNK);
            // SAFETY: `x[start..start + len]` is in bounds (len ≤ blocked - start, blocked ≤ n)
            // and `expanded` holds CHUNK / 2 + 4 ≥ len / 2 + 4 words; len is a nonzero
            // multiple of 16, |input_offset| ≤ MAX_OFFSET.
            unsafe { expand(x.as_ptr().add(start), len, input_offset, expanded) };
            let row = |j: usize| weights[j * n + start..j * n + start + len].as_ptr();
            let mut j = 0;
            while j < acc.len() {
                let a = row(j);
                if j + 1 < acc.len() {
                    let b = row(j + 1);
                    if a as usize % 4 == 0 && b as usize % 4 == 0 {
                        // SAFETY: rows `j` and `j + 1` hold `len` weights from word-aligned
                        // `a` and `b`; `expand` wrote len / 2 words and the sentinel at
                        // `expanded`.
                        (acc[j], acc[j + 1]) = unsafe { dot_pair(expanded, a, b, (acc[j], acc[j + 1])) };
                        j += 2;
                        continue;
                    }
                }
                // SAFETY: row `j` holds `len` weights from `a`; `expand` wrote len / 2 words
                // and the sentinel at `expanded`.
                acc[j] = unsafe { dot(expanded, a, acc[j]) };
                j += 1;
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
/// `out` (inputs `4k..4k+4` become words `2k` = `(x0, x2)` and `2k + 1` = `(x1, x3)`), then
/// four [`END`] words.
///
/// # Safety
/// `x` must hold `len` bytes, `out` `len / 2 + 4` words (word-aligned); `len` must be a
/// nonzero multiple of 8, and `|offset|` at most [`MAX_OFFSET`].
unsafe fn expand(x: *const i8, len: usize, offset: i32, out: *mut u32) {
    let pair = (offset as u32 & 0xffff) | (offset as u32) << 16;
    // SAFETY: `out` holds len / 2 + 4 words by the contract.
    let end = unsafe { out.add(len / 2) };
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
            end = in(reg) end,
            pair = in(reg) pair,
            v = out(reg) _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            options(nostack),
        );
    }
    // SAFETY: the four words after the input are in bounds by the contract.
    unsafe { core::ptr::copy_nonoverlapping([END; 4].as_ptr(), end, 4) };
}

/// Eight inputs of one row: the expanded input in `r2`–`r5`, its weights loaded by `$load`
/// into `r8`, `r9`, summed into `$acc`.
macro_rules! eight {
    ($acc:literal, $($load:literal),+) => {
        concat!(
            $($load, "\n",)+
            "sxtb16 r12, r8\n",
            "sxtb16 r8, r8, ror #8\n",
            "smlad ", $acc, ", r12, r2, ", $acc, "\n",
            "smlad ", $acc, ", r8, r3, ", $acc, "\n",
            "sxtb16 r12, r9\n",
            "sxtb16 r9, r9, ror #8\n",
            "smlad ", $acc, ", r12, r4, ", $acc, "\n",
            "smlad ", $acc, ", r9, r5, ", $acc, "\n",
        )
    };
}

/// The loop over the expanded input at `{x}`: `$eight` (the steps of eight inputs for each
/// row) twice per iteration, until the next word is [`END`]; `$operands` names the rows'
/// pointers and sums.
macro_rules! sum_loop {
    ([$($eight:expr),+], $($operands:tt)*) => {
        asm!(
            "ldm {x}!, {{r2-r5}}",
            "2:",
            $($eight,)+
            "ldm {x}!, {{r2-r5}}",
            $($eight,)+
            "ldm {x}!, {{r2-r5}}",
            "cmp r2, #0x80008000",
            "bne 2b",
            $($operands)*
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

/// Sums rows `a` and `b` over the expanded input `x`, adding to `sums`.
///
/// # Safety
/// `x` must hold a word-aligned expanded input of a nonzero multiple of 16 values followed
/// by [`END`] words, as [`expand`] writes, and `a` and `b` that many weights each,
/// word-aligned.
unsafe fn dot_pair(x: *const u32, a: *const i8, b: *const i8, sums: (i32, i32)) -> (i32, i32) {
    let (mut sa, mut sb) = sums;
    // SAFETY: reads the expanded input (16 values per iteration) up to and including the
    // first END word, and as many weights from `a` and `b`, all in bounds and aligned by
    // the contract; touches only the registers named.
    unsafe {
        sum_loop!(
            [
                eight!("{sa}", "ldm {a}!, {{r8, r9}}"),
                eight!("{sb}", "ldm {b}!, {{r8, r9}}")
            ],
            x = inout(reg) x => _,
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            sa = inout(reg) sa,
            sb = inout(reg) sb,
        )
    };
    (sa, sb)
}

/// `sum` plus row `w` over the expanded input `x`.
///
/// # Safety
/// `x` must hold a word-aligned expanded input of a nonzero multiple of 16 values followed
/// by [`END`] words, as [`expand`] writes, and `w` that many weights (any alignment).
unsafe fn dot(x: *const u32, w: *const i8, mut sum: i32) -> i32 {
    if w as usize % 4 == 0 {
        // SAFETY: reads the expanded input up to and including the first END word, and as
        // many weights from `w` (word-aligned, as `LDM` needs), in bounds by the contract;
        // touches only the registers named.
        unsafe {
            sum_loop!(
                [eight!("{sum}", "ldm {w}!, {{r8, r9}}")],
                x = inout(reg) x => _,
                w = inout(reg) w => _,
                sum = inout(reg) sum,
            )
        };
    } else {
        // SAFETY: as above, with the weights read by plain `LDR`s, which the Cortex-M4/M7
        // allow unaligned.
        unsafe {
            sum_loop!(
                [eight!("{sum}", "ldr r8, [{w}], #4", "ldr r9, [{w}], #4")],
                x = inout(reg) x => _,
                w = inout(reg) w => _,
                sum = inout(reg) sum,
            )
        };
    }
    sum
}
