//! A dataset's elements: in memory, or still in the file the tree was read from
//! ([`Stored`], loaded on demand within the file's byte budget).

use super::error::{H5Error, H5ErrorKind};
use hdf5_pure::Dataset;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The elements of a dataset, in row-major (C) order.
#[derive(Clone, Debug, PartialEq)]
pub enum H5Data {
    /// 32-bit floats (every Keras weight).
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit signed integers (optimizer `iteration` counters).
    I64(Vec<i64>),
    /// Elements still in the file the tree was read from (see [`H5Dataset::load`](super::H5Dataset::load)).
    Stored(Stored),
}

impl H5Data {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            H5Data::F32(v) => v.len(),
            H5Data::F64(v) => v.len(),
            H5Data::I64(v) => v.len(),
            H5Data::Stored(s) => s.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name as NumPy spells it (`float32`, `float64`, `int64`).
    pub fn dtype_name(&self) -> &'static str {
        match self {
            H5Data::F32(_) => "float32",
            H5Data::F64(_) => "float64",
            H5Data::I64(_) => "int64",
            H5Data::Stored(s) => s.dtype_name(),
        }
    }
}

/// The bytes the datasets of one file may still take.
#[derive(Debug)]
pub(super) struct ReadBudget {
    pub(super) label: String,
    pub(super) left: AtomicU64,
    pub(super) max: u64,
}

/// The element type of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Element {
    F32,
    F64,
    I64,
}

impl Element {
    pub(super) fn size(self) -> u64 {
        match self {
            Element::F32 => 4,
            Element::F64 | Element::I64 => 8,
        }
    }
}

/// A dataset's elements still in the file, read by [`Stored::load`].
#[derive(Clone)]
pub struct Stored {
    pub(super) dataset: Dataset,
    pub(super) element: Element,
    pub(super) path: String,
    pub(super) count: u64,
    pub(super) budget: Arc<ReadBudget>,
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stored({} {:?} elements at {})",
            self.count, self.element, self.path
        )
    }
}

impl PartialEq for Stored {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.budget, &other.budget) && self.path == other.path
    }
}

impl Stored {
    /// The number of elements the shape calls for.
    pub fn len(&self) -> usize {
        usize::try_from(self.count).unwrap_or(usize::MAX)
    }

    /// Whether the shape calls for no element.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The element type's name as NumPy spells it.
    pub fn dtype_name(&self) -> &'static str {
        match self.element {
            Element::F32 => "float32",
            Element::F64 => "float64",
            Element::I64 => "int64",
        }
    }

    /// Reads the elements, once their size is taken from the file's byte budget.
    pub fn load(&self) -> Result<H5Data, H5Error> {
        let label = self.budget.label.as_str();
        let bytes = self.count.saturating_mul(self.element.size());
        let taken = self
            .budget
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            });
        if taken.is_err() {
            return Err(H5Error::new(
                label,
                &self.path,
                H5ErrorKind::Unsupported,
                format!(
                    "reading this dataset's {bytes} bytes would take the file past the {} bytes a model's weights may take",
                    self.budget.max
                ),
            ));
        }
        let err = |e: hdf5_pure::Error| corrupt(label, &self.path, &e);
        let data = guarded(label, &self.path, || {
            Ok(match self.element {
                Element::F32 => H5Data::F32(self.dataset.read_f32().map_err(err)?),
                Element::F64 => H5Data::F64(self.dataset.read_f64().map_err(err)?),
                Element::I64 => H5Data::I64(self.dataset.read_i64().map_err(err)?),
            })
        })?;
        if data.len() as u64 != self.count {
            return Err(H5Error::new(
                label,
                &self.path,
                H5ErrorKind::Corrupt,
                format!(
                    "dataset holds {} elements instead of the {} its shape calls for",
                    data.len(),
                    self.count
                ),
            ));
        }
        Ok(data)
    }
}

/// Runs `f`, turning a panic of `hdf5-pure` (it may panic on some malformed
/// inputs) into an [`H5ErrorKind::Corrupt`] error (the default panic hook still
/// prints its message to stderr).
pub(super) fn guarded<T>(
    label: &str,
    object: &str,
    f: impl FnOnce() -> Result<T, H5Error>,
) -> Result<T, H5Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown reason".to_string());
            Err(H5Error::new(
                label,
                object,
                H5ErrorKind::Corrupt,
                format!("damaged HDF5 file (the reader gave up: {why})"),
            ))
        }
    }
}

/// An error of kind `Corrupt` carrying hdf5-pure's own message.
pub(super) fn corrupt(label: &str, object: &str, err: &hdf5_pure::Error) -> H5Error {
    H5Error::new(
        label,
        object,
        H5ErrorKind::Corrupt,
        format!("damaged or unreadable HDF5: {err}"),
    )
}
