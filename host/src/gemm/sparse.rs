//! The zero-skipping product: each output summed over the non-zeros of `a` only, in
//! ascending position, one fused multiply-add per non-zero and output. Every [`Simd`]
//! path performs that same sequence, so all give the same bits.

#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use super::{Pairs, Simd};
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
/// and marked by position ([`Masks`]), and each row's values read from `a` where marked.
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
            MASKS.with_borrow_mut(|masks| {
                masks.set(lines, k, offset..offset + rows.len());
                for (r, c_row) in c.chunks_exact_mut(n).enumerate() {
                    // Row `rows.start + r` of `a` has its non-zeros in the columns `lines`.
                    let lines = masks.at(r);
                    if lines.is_empty() {
                        // Common at an image's border.
                        c_row.fill(0.0);
                        continue;
                    }
                    let at = rows.start + r;
                    let pairs = lines.map(|t| (t as u32, a.data[at + t * a.col_stride]));
                    accumulate(simd, pairs, b, c_row);
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
            accumulate(simd, index.iter().copied().zip(value.iter().copied()), b, c_row);
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
    /// Per-thread buffer kept between calls: where a transposed `a`'s non-zeros are.
    static MASKS: std::cell::RefCell<Masks> = std::cell::RefCell::default();
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

    /// Line `l`'s positions inside `within`.
    fn positions_within(&self, l: usize, within: Range<usize>) -> &[u32] {
        let (index, _) = self.line(l);
        let from = index.partition_point(|&t| (t as usize) < within.start);
        let len = index[from..].partition_point(|&t| (t as usize) < within.end);
        &index[from..from + len]
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

/// `c_row = Σ x · b[t, :]` over `pairs` (`t`, `x`), in order, each term one fused
/// multiply-add.
fn accumulate(simd: Simd, pairs: impl Pairs, b: &Mat<'_>, c_row: &mut [f32]) {
    match simd {
        // SAFETY: `Simd::Avx512` exists only where the CPU has AVX-512F; `pairs` name rows
        // of `b` that the Product proves hold `c_row.len()` contiguous values.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512::accumulate(pairs, b, c_row) },
        // SAFETY: as above, with AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2::accumulate(pairs, b, c_row) },
        _ => {
            c_row.fill(0.0);
            for (t, x) in pairs {
                let from = &b.data[t as usize * b.row_stride..][..c_row.len()];
                for (y, w) in c_row.iter_mut().zip(from) {
                    *y = x.mul_add(*w, *y);
                }
            }
        }
    }
}

/// Where the non-zeros of `k` lines are, position by position over a range: a bit per
/// line, `words` 64-bit words per position.
#[derive(Default)]
struct Masks {
    words: usize,
    bits: Vec<u64>,
}

impl Masks {
    /// Marks, for each position of `within`, the first `k` lines of `lines` with a
    /// non-zero there.
    fn set(&mut self, lines: &Sparse, k: usize, within: Range<usize>) {
        self.words = k.div_ceil(64).max(1);
        self.bits.clear();
        self.bits.resize(within.len() * self.words, 0);
        for l in 0..k {
            let (word, bit) = (l / 64, 1u64 << (l % 64));
            for &t in lines.positions_within(l, within.clone()) {
                self.bits[(t as usize - within.start) * self.words + word] |= bit;
            }
        }
    }

    /// The lines with a non-zero at the `r`-th position of the range, ascending.
    fn at(&self, r: usize) -> SetBits<'_> {
        SetBits::new(&self.bits[r * self.words..(r + 1) * self.words])
    }
}

/// The set bits of a run of words, lowest first: bit `b` of word `w` is `64 * w + b`.
#[derive(Clone)]
struct SetBits<'a> {
    /// The words after the current one.
    words: &'a [u64],
    /// The current word's bits not yet given, and its first bit's number.
    word: u64,
    base: usize,
}

impl<'a> SetBits<'a> {
    fn new(words: &'a [u64]) -> Self {
        let (word, words) = words.split_first().map_or((0, words), |(&w, rest)| (w, rest));
        SetBits { words, word, base: 0 }
    }

    /// Whether no bit is set.
    fn is_empty(&self) -> bool {
        self.word == 0 && self.words.iter().all(|&w| w == 0)
    }
}

impl Iterator for SetBits<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            let (&next, rest) = self.words.split_first()?;
            (self.word, self.words, self.base) = (next, rest, self.base + 64);
        }
        let bit = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.base + bit)
    }
}
