//! The int8 kernel for Cortex-M cores with the DSP extension (Cortex-M4, M7).
//!
//! Two paths, chosen per call by counting the groups of four inputs that hold an input not
//! equal to the input zero point (such an input, `x[i] + input_offset == 0`, adds nothing to
//! any sum):
//!
//! - **sparse** (at most one such group in five, and at most [`MAX_WINDOWS`]): the inputs
//!   that are not the zero point are covered by 4-input windows (greedily, each starting at
//!   the first input not yet covered; a window's start need not be aligned, `LDR` reads
//!   unaligned words), and each window's four offset inputs are packed once as `(x0, x2)`,
//!   `(x1, x3)`. Every row then sums only its windows: per window and row one `LDR` of the
//!   four weights, two `SXTB16` and two `SMLAD` (5 instructions per 4 inputs, three rows per
//!   pass). Skipping a zero term changes no bit of an integer sum, so the result is the
//!   dense path's and the portable kernel's. MNIST's background pixels are the zero point:
//!   the tutorial's first layer sums 33 windows instead of 784 inputs for test image 0.
//! - **dense** (every other input): the `.mdl` layout is kept (unit-major int8 weights); the
//!   input is expanded instead, once per call: `x[i] + input_offset` as int16, four inputs
//!   `x0 x1 x2 x3` as the two words `(x0, x2)`, `(x1, x3)`. A word of four weights
//!   `w0 w1 w2 w3` then needs no shuffle: `SXTB16 w` is `(w0, w2)`, `SXTB16 w, ROR #8` is
//!   `(w1, w3)`, and two `SMLAD`s add `w0·x0 + w2·x2` and `w1·x1 + w3·x3` to the row's sum.
//!
//! Dense rows go two at a time (one alone where a row is not word-aligned, and the last of an
//! odd count): per eight inputs of two rows, one `LDM` of the expanded input, one `LDM` of
//! each row's weights, eight `SXTB16` and eight `SMLAD`; the loop's test costs 2 per 16
//! inputs. That is 40 instructions per 32 multiply-accumulates (1.25); a row alone takes
//! 22 per 16 (1.375), with two `LDR`s instead of an `LDM` where it is not aligned. The
//! loop ends at a sentinel word after the expanded input (a value no input takes), which
//! saves the register an end pointer would need. The last `n mod 16` inputs of a row take
//! the portable path.
//!
//! Every product and sum is exact in int32 (wrapping like the portable kernel's), so the
//! result is the portable kernel's bit for bit. Stack: the larger of the dense path's
//! [`CHUNK`] int16 and 16 bytes (2 KiB) and the sparse path's [`MAX_WINDOWS`] windows of 12
//! bytes (1.5 KiB).

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
        if !sparse(weights, x, input_offset, acc) {
            dense(weights, x, input_offset, acc);
        }
        true
    }
}

/// Most windows the sparse path takes (a pass over them is followed by an end marker).
const MAX_WINDOWS: usize = 128;

/// Four consecutive inputs from `offset`, plus the input offset, as int16 pairs: `x02` =
/// `(x0, x2)`, `x13` = `(x1, x3)` (an input already covered by an earlier window is 0).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Window {
    offset: u32,
    x02: u32,
    x13: u32,
}

/// The window [`sum_windows`] stops at.
const LAST: Window = Window {
    offset: u32::MAX,
    x02: 0,
    x13: 0,
};

/// The sparse path: covers the inputs that are not the zero point by windows and sums
/// every row over them. `false` (nothing done) when the input is too dense for it to pay:
/// more than one group of four inputs in 5 (or more than [`MAX_WINDOWS`] groups) holds an
/// input that is not the zero point; or fewer than 4 inputs.
#[inline(never)]
fn sparse(weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) -> bool {
    let n = x.len();
    let Ok(zero) = i8::try_from(-input_offset) else {
        // No input is the zero point: nothing to skip.
        return false;
    };
    if n < 4 {
        return false;
    }
    let zeros = u32::from_ne_bytes([zero as u8; 4]);
    // Four inputs as one word (one unaligned `LDR`).
    let word = |c: &[i8]| bytemuck::pod_read_unaligned::<u32>(bytemuck::cast_slice(c));
    // Too dense to pay, found cheaply first (one compare per four inputs): more groups of
    // four inputs with one not the zero point than `limit`. A window starts in such a group
    // (or in the last `n mod 4` inputs, once at most), never two in one: so at most
    // `limit + 1` windows follow.
    let limit = (n / 5).min(MAX_WINDOWS);
    let mut busy = 0;
    for four in x.chunks_exact(4) {
        if word(four) != zeros {
            busy += 1;
            if busy > limit {
                return false;
            }
        }
    }
    let mut storage = MaybeUninit::<[Window; MAX_WINDOWS + 3]>::uninit();
    let windows = storage.as_mut_ptr().cast::<Window>();
    let value = |p: usize| (i32::from(x[p]) + input_offset) as u32 & 0xffff;
    let mut count = 0;
    let mut i = 0;
    while i < n {
        if x.get(i..i + 4).is_some_and(|four| word(four) == zeros) {
            i += 4;
            continue;
        }
        if x[i] == zero {
            i += 1;
            continue;
        }
        if count > MAX_WINDOWS {
            // Never (see above): `storage` holds MAX_WINDOWS + 3 windows.
            return false;
        }
        // The window starts at the first input not yet covered, or ends at the last input;
        // inputs before `i` are covered (or the zero point) and count 0 here.
        let start = i.min(n - 4);
        let v = |p: usize| if p < i { 0 } else { value(p) };
        let window = Window {
            offset: start as u32,
            x02: v(start) | v(start + 2) << 16,
            x13: v(start + 1) | v(start + 3) << 16,
        };
        // SAFETY: count ≤ MAX_WINDOWS: within `storage`.
        unsafe { windows.add(count).write(window) };
        count += 1;
        i = start + 4;
    }
    if count == 0 {
        // Every input is the zero point: the sums stay as they are.
        return true;
    }
    // A window of zeros evens the count (its weights, the row's first four, count 0), then
    // LAST.
    let pad = [Window::default(), LAST];
    // SAFETY: count ≤ MAX_WINDOWS + 1, so `count % 2 + 1` more windows fit in `storage`.
    unsafe {
        core::ptr::copy_nonoverlapping(pad[1 - count % 2..].as_ptr(), windows.add(count), 1 + count % 2)
    };
    for (three, sums) in weights.chunks(3 * n).zip(acc.chunks_mut(3)) {
        // A pass of fewer than three rows repeats its last row and drops that sum.
        let last = sums.len() - 1;
        let row = |k: usize| three[k.min(last) * n..].as_ptr();
        let sum = |k: usize| sums[k.min(last)];
        // SAFETY: every window starts at most n − 4 into a row of n weights; `storage`
        // holds an even number (≥ 2) of windows, written above, and then LAST.
        let out = unsafe { sum_windows(windows, [row(0), row(1), row(2)], [sum(0), sum(1), sum(2)]) };
        sums.iter_mut().zip(out).for_each(|(s, o)| *s = o);
    }
    true
}

/// One window of one row: its four weights at `$row` plus the window's offset (`r1`),
/// summed against the window's `r2` = `(x0, x2)`, `r3` = `(x1, x3)` into `$acc`.
macro_rules! window_row {
    ($row:literal, $acc:literal) => {
        concat!(
            "ldr lr, [",
            $row,
            ", r1]\n",
            "sxtb16 r12, lr\n",
            "sxtb16 lr, lr, ror #8\n",
            "smlad ",
            $acc,
            ", r12, r2, ",
            $acc,
            "\n",
            "smlad ",
            $acc,
            ", lr, r3, ",
            $acc,
            "\n",
        )
    };
}

/// Three rows' sums over `windows` (two windows per turn, until [`LAST`]).
///
/// # Safety
/// `windows` must hold an even, nonzero number of windows followed by [`LAST`], and each
/// row four readable weights at every window's offset.
unsafe fn sum_windows(windows: *const Window, rows: [*const i8; 3], sums: [i32; 3]) -> [i32; 3] {
    let [mut a, mut b, mut c] = sums;
    // SAFETY: reads the windows up to and including LAST and four weights of each row per
    // window (LDR takes them unaligned), in bounds by the contract; touches only the
    // registers named.
    unsafe {
        asm!(
            "ldm r0!, {{r1-r3}}",
            "2:",
            window_row!("{row0}", "{a}"),
            window_row!("{row1}", "{b}"),
            window_row!("{row2}", "{c}"),
            "ldm r0!, {{r1-r3}}",
            window_row!("{row0}", "{a}"),
            window_row!("{row1}", "{b}"),
            window_row!("{row2}", "{c}"),
            "ldm r0!, {{r1-r3}}",
            "cmn r1, #1",
            "bne 2b",
            inout("r0") windows => _,
            row0 = in(reg) rows[0],
            row1 = in(reg) rows[1],
            row2 = in(reg) rows[2],
            a = inout(reg) a,
            b = inout(reg) b,
            c = inout(reg) c,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
            out("lr") _,
            options(nostack, readonly),
        );
    }
    [a, b, c]
}

/// The dense path: the input expanded chunk by chunk, every row summed over it.
#[inline(never)]
fn dense(weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) {
    let n = x.len();
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
