//! Labelled samples in memory, as bytes (pixels) or floats, gathered into batches.

/// The feature values of a data set, row-major, `width` values per sample.
#[derive(Clone, Copy, Debug)]
pub enum Features<'a> {
    /// Bytes multiplied by `scale` when gathered (MNIST pixels: `scale` 1 or 1/255).
    U8 {
        /// The bytes.
        data: &'a [u8],
        /// Factor applied to each byte.
        scale: f32,
    },
    /// Float values used as they are.
    F32(&'a [f32]),
}

/// A borrowed, labelled data set: `len` samples of `width` features and a class label each.
#[derive(Clone, Copy, Debug)]
pub struct Dataset<'a> {
    features: Features<'a>,
    width: usize,
    labels: &'a [u32],
}

/// Why a data set cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{values} feature values are not {labels} samples of width {width}")]
pub struct DatasetError {
    /// Number of feature values given.
    pub values: usize,
    /// Features per sample.
    pub width: usize,
    /// Labels given.
    pub labels: usize,
}

impl<'a> Dataset<'a> {
    /// Checks that `features` holds exactly `labels.len()` rows of `width` values.
    pub fn new(features: Features<'a>, width: usize, labels: &'a [u32]) -> Result<Self, DatasetError> {
        let values = match features {
            Features::U8 { data, .. } => data.len(),
            Features::F32(data) => data.len(),
        };
        if width == 0 || values != width * labels.len() {
            return Err(DatasetError {
                values,
                width,
                labels: labels.len(),
            });
        }
        Ok(Dataset {
            features,
            width,
            labels,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per sample.
    pub fn width(&self) -> usize {
        self.width
    }

    /// All labels.
    pub fn labels(&self) -> &'a [u32] {
        self.labels
    }

    /// Writes the features of the samples at `indices` into `out` (row after row) and
    /// their labels into `labels`; indices past the end are skipped, as are rows that
    /// do not fit `out` (it should hold `indices.len() × width` values).
    pub fn gather(&self, indices: &[usize], out: &mut [f32], labels: &mut [u32]) {
        let rows = out.chunks_exact_mut(self.width).zip(labels.iter_mut());
        let valid = || indices.iter().copied().filter(|&i| i < self.len());
        let mut ahead = valid().skip(1);
        for (i, (row, label)) in valid().zip(rows) {
            if let Some(next) = ahead.next() {
                self.prefetch(next);
            }
            let span = i * self.width..(i + 1) * self.width;
            match self.features {
                Features::U8 { data, scale } => {
                    for (o, &b) in row.iter_mut().zip(&data[span]) {
                        *o = b as f32 * scale;
                    }
                }
                Features::F32(data) => row.copy_from_slice(&data[span]),
            }
            *label = self.labels[i];
        }
    }

    /// Asks the CPU to start loading sample `i`'s features into cache (samples are
    /// gathered in shuffled order, so the hardware cannot guess the next one).
    fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let (start, len): (*const i8, usize) = match self.features {
                Features::U8 { data, .. } => (data[i * self.width..].as_ptr().cast(), self.width),
                Features::F32(data) => (data[i * self.width..].as_ptr().cast(), 4 * self.width),
            };
            for offset in (0..len).step_by(64) {
                // SAFETY: prefetching is only a hint, and the address lies in the sample.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// The first `n` samples (all of them when there are fewer).
    pub fn first(&self, n: usize) -> Dataset<'a> {
        let n = n.min(self.len());
        let features = match self.features {
            Features::U8 { data, scale } => Features::U8 {
                data: &data[..n * self.width],
                scale,
            },
            Features::F32(data) => Features::F32(&data[..n * self.width]),
        };
        Dataset {
            features,
            width: self.width,
            labels: &self.labels[..n],
        }
    }

    /// The samples `range` as a contiguous feature buffer and their labels.
    pub fn slice(&self, start: usize, end: usize) -> (Vec<f32>, Vec<u32>) {
        let indices: Vec<usize> = (start..end.min(self.len())).collect();
        let mut x = vec![0.0; indices.len() * self.width];
        let mut y = vec![0; indices.len()];
        self.gather(&indices, &mut x, &mut y);
        (x, y)
    }
}
