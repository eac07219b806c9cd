//! The zero-skipping product: each output summed over the non-zeros of `a` only, in
//! ascending position, one fused multiply-add per non-zero and output. Every [`Simd`]
//! path performs that same sequence, so all give the same bits.

use super::Simd;
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use microdense_core::Mat;
use std::ops::Range;

/// Rows `rows` of `c = a · b` skipping zeros of `a` (`c` holds those rows); `b`'s rows are
/// contiguous (`col_stride == 1`). `known`, when given, holds the non-zeros of every row
/// of a row-major `a` or of every column of a transposed one (a chunk's input read as
/// itself or as its transpose), so they are not looked for again.
///
/// Each row of `c` is accumulated in registers over the non-zeros of the matching row of
/// `a`, in ascending `t`, and stored once. When `a`'s rows are contiguous (a forward
/// pass: `a` holds samples) their non-zeros are read off directly; when its columns are
/// (a weight gradient: `a` is the transposed input), the columns' non-zeros are found
/// and then read across, row by row ([`Transposed`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn sparse_rows(
    simd: Simd,
    rows: Range<usize>,
    k: usize,
    n: usize,
    a: &Mat<'_>,
    b: &Mat<'_>,
    c: &mut [f32],
    known: Option<&Sparse>,
) {
    let c = &mut c[..rows.len() * n];
    if a.col_stride != 1 && a.row_stride == 1 {
        let add = |lines: &Sparse, offset: usize, c: &mut [f32]| {
            TRANSPOSED.with_borrow_mut(|transposed| {
                transposed.start(lines, k, offset..offset + rows.len());
                for c_row in c.chunks_exact_mut(n) {
                    let (index, value) = transposed.next_line(lines);
                    accumulate(simd, index, value, b, c_row);
                }
            })
        };
        match known {
            Some(lines) => add(lines, rows.start, c),
            None => SPARSE.with_borrow_mut(|lines| {
                lines.clear();
                for t in 0..k {
                    let at = t * a.col_stride + rows.start;
                    lines.push_line(simd, &a.data[at..at + rows.len()]);
                }
                add(lines, 0, c);
            }),
        }
        return;
    }
    let accumulate_rows = |lines: &Sparse, first: usize, c: &mut [f32]| {
        for (i, c_row) in c.chunks_exact_mut(n).enumerate() {
            let (index, value) = lines.line(first + i);
            accumulate(simd, index, value, b, c_row);
        }
    };
    match known {
        Some(lines) => accumulate_rows(lines, rows.start, c),
        None => SPARSE.with_borrow_mut(|lines| {
            lines.clear();
            for i in rows {
                if a.col_stride == 1 {
                    lines.push_line(simd, &a.data[i * a.row_stride..i * a.row_stride + k]);
                } else {
                    lines.push_strided(&a.data[i * a.row_stride..], a.col_stride, k);
                }
            }
            accumulate_rows(lines, 0, c);
        }),
    }
}

/// The non-zeros of a matrix line by line (rows or columns): line `l` holds positions
/// `index[starts[l]..starts[l + 1]]` with values `value[..]` alike.
#[derive(Default)]
pub struct Sparse {
    starts: Vec<usize>,
    index: Vec<u32>,
    value: Vec<f32>,
}

thread_local! {
    /// Per-thread buffers kept between calls: the non-zeros of `a`'s lines.
    static SPARSE: std::cell::RefCell<Sparse> = std::cell::RefCell::default();
    /// Per-thread buffers kept between calls: the transposing of `a`'s columns.
    static TRANSPOSED: std::cell::RefCell<Transposed> = std::cell::RefCell::default();
}

impl Sparse {
    /// Makes this the non-zeros of the rows of the row-major `values`, `width` per row.
    pub(super) fn set_rows(&mut self, simd: Simd, values: &[f32], width: usize) {
        self.clear();
        for row in values.chunks_exact(width) {
            self.push_line(simd, row);
        }
    }

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

    /// Where line `l`'s non-zeros at positions inside `within` are (in `index` and
    /// `value`), and how many.
    fn span_within(&self, l: usize, within: Range<usize>) -> (usize, usize) {
        let (index, _) = self.line(l);
        let from = index.partition_point(|&t| (t as usize) < within.start);
        let len = index[from..].partition_point(|&t| (t as usize) < within.end);
        (self.starts[l] + from, len)
    }

    /// Appends a line: the position and value of every non-zero (NaN included) of `line`.
    fn push_line(&mut self, simd: Simd, line: &[f32]) {
        let (index, value) = (&mut self.index, &mut self.value);
        match simd {
            // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { avx512::push_nonzeros(line, index, value) },
            // SAFETY: `Simd::Avx2` exists only where the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { avx2::push_nonzeros(line, index, value) },
            _ => {
                for (t, &x) in line.iter().enumerate() {
                    if x != 0.0 {
                        index.push(t as u32);
                        value.push(x);
                    }
                }
            }
        }
        self.starts.push(self.index.len());
    }

    /// Appends the line of `len` values `stride` apart from the start of `values`.
    fn push_strided(&mut self, values: &[f32], stride: usize, len: usize) {
        for t in 0..len {
            let x = values[t * stride];
            if x != 0.0 {
                self.index.push(t as u32);
                self.value.push(x);
            }
        }
        self.starts.push(self.index.len());
    }
}

/// `c_row = Σ x · b[t, :]` over the pairs of `index` (`t`) and `value` (`x`), in order,
/// each term one fused multiply-add.
fn accumulate(simd: Simd, index: &[u32], value: &[f32], b: &Mat<'_>, c_row: &mut [f32]) {
    match simd {
        // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F; `index` names rows
        // of `b` that the Product proves hold `c_row.len()` contiguous values.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512::accumulate(index, value, b, c_row) },
        // SAFETY: as above, with AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2::accumulate(index, value, b, c_row) },
        _ => {
            c_row.fill(0.0);
            for (&t, &x) in index.iter().zip(value) {
                let from = &b.data[t as usize * b.row_stride..][..c_row.len()];
                for (y, w) in c_row.iter_mut().zip(from) {
                    *y = x.mul_add(*w, *y);
                }
            }
        }
    }
}

/// The lines of a [`Sparse`] read across, position by position: the `r`-th line across
/// holds, for each line (ascending) with a non-zero at position `r` of a range, its number
/// and that value. Which lines have one is kept as a bit per line, `words` 64-bit words
/// per position, and each line's values are read in order.
#[derive(Default)]
struct Transposed {
    words: usize,
    bits: Vec<u64>,
    /// Position in the range of the next line across, and where each line's next value is.
    at: usize,
    next: Vec<usize>,
    /// The current line across.
    index: Vec<u32>,
    value: Vec<f32>,
}

impl Transposed {
    /// Starts reading across the first `k` lines of `lines` over the positions `within`.
    fn start(&mut self, lines: &Sparse, k: usize, within: Range<usize>) {
        self.words = k.div_ceil(64).max(1);
        self.bits.clear();
        self.bits.resize(within.len() * self.words, 0);
        self.next.clear();
        for l in 0..k {
            let (first, len) = lines.span_within(l, within.clone());
            self.next.push(first);
            let (word, bit) = (l / 64, 1u64 << (l % 64));
            for &t in &lines.index[first..first + len] {
                self.bits[(t as usize - within.start) * self.words + word] |= bit;
            }
        }
        self.at = 0;
        self.index.resize(k, 0);
        self.value.resize(k, 0.0);
    }

    /// The next line across: the lines with a non-zero at the next position, ascending,
    /// and their values there.
    fn next_line(&mut self, lines: &Sparse) -> (&[u32], &[f32]) {
        let words = &self.bits[self.at * self.words..(self.at + 1) * self.words];
        self.at += 1;
        let mut len = 0;
        for (w, &word) in words.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let l = 64 * w + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                self.index[len] = l as u32;
                self.value[len] = lines.value[self.next[l]];
                self.next[l] += 1;
                len += 1;
            }
        }
        (&self.index[..len], &self.value[..len])
    }
}
