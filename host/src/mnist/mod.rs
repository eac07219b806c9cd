//! The MNIST data set: loading it from LeCun's four IDX files (plain or gzipped) or from
//! Keras's `mnist.npz`, finding it (`--data`, `MNIST_DIR`, `data/mnist`, the download cache),
//! and downloading Keras's `mnist.npz` with its SHA-256 checked.
//!
//! ```no_run
//! use microdense::mnist::{Lookup, Mnist};
//! let source = Lookup::from_env(None).find()?;
//! let mnist = Mnist::load(&source.path)?;
//! assert_eq!(mnist.train.image(0).len(), 784);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod download;
mod error;
pub mod idx;
mod npy;
mod npz;
mod read;
mod source;

use std::path::Path;

pub use download::{Download, KERAS_BASE_URL, KERAS_SHA256, URL_ENV};
pub use error::{MnistError, NotFound, Origin, Place, Problem};
pub use read::MAX_ARRAY_BYTES;
pub use source::{cache_file, DataSource, Lookup, CACHE_ENV, DEFAULT_DIR};

/// File name of the training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// File name of the training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// File name of the test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// File name of the test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// The four IDX file names, each of which may also be present gzipped with a `.gz` suffix.
pub const IDX_FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The file name Keras gives the archive.
pub const NPZ_FILE: &str = "mnist.npz";
/// Environment variable naming a directory with the IDX files (or an `.npz` file).
pub const DIR_ENV: &str = "MNIST_DIR";

/// Rows of every MNIST image.
pub const ROWS: usize = 28;
/// Columns of every MNIST image.
pub const COLS: usize = 28;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// One part of the data set: images and their labels, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Pixels 0–255, `len() × rows × cols`, image after image, each row-major.
    pub images: Vec<u8>,
    /// One digit 0–9 per image.
    pub labels: Vec<u8>,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (`rows × cols`).
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`, row-major. Like slice indexing, panics if `i >= len()`;
    /// [`Split::get`] is the checked form.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels();
        &self.images[i * n..(i + 1) * n]
    }

    /// Image `i` and its label, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<(&[u8], u8)> {
        let n = self.pixels();
        let image = self
            .images
            .get(i.checked_mul(n)?..i.checked_add(1)?.checked_mul(n)?)?;
        Some((image, *self.labels.get(i)?))
    }
}

/// The whole data set: 60 000 training and 10 000 test images in the real thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
}

impl Mnist {
    /// Loads from `path`: an `.npz` file, or a directory holding the four IDX files (each
    /// plain or gzipped) or else an `mnist.npz`.
    pub fn load(path: &Path) -> Result<Mnist, MnistError> {
        if path.is_dir() {
            if !idx::any_present(path) && path.join(NPZ_FILE).is_file() {
                return npz::load(&path.join(NPZ_FILE));
            }
            return idx::load_dir(path);
        }
        if path.is_file() {
            return npz::load(path);
        }
        let tried = vec![path.to_path_buf()];
        Err(MnistError::file(path, Problem::Missing { tried }))
    }

    /// Loads the four IDX files (each plain or gzipped) from `dir`.
    pub fn load_idx_dir(dir: &Path) -> Result<Mnist, MnistError> {
        idx::load_dir(dir)
    }

    /// Loads a Keras-style `.npz` archive.
    pub fn load_npz(path: &Path) -> Result<Mnist, MnistError> {
        npz::load(path)
    }

    /// Writes the data set as an `.npz` archive that `keras.datasets.mnist.load_data(path)`
    /// and `np.load` read; `compress` chooses deflate (`np.savez_compressed`) over stored
    /// entries (`np.savez`). The file appears only when completely written.
    pub fn write_npz(&self, path: &Path, compress: bool) -> Result<(), MnistError> {
        npz::write(self, path, compress)
    }
}

/// Checks that label `value` at `index` is a digit and returns it as a byte.
fn digit(index: usize, value: i128) -> Result<u8, Problem> {
    match u8::try_from(value) {
        Ok(d) if usize::from(d) < CLASSES => Ok(d),
        _ => Err(Problem::BadLabel { index, value }),
    }
}
