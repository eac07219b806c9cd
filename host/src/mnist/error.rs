//! Errors of the MNIST module: each names the file (and archive entry) and what is wrong.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::{DIR_ENV, IDX_FILES, NPZ_FILE};

/// What is wrong with one MNIST file (or one `.npy` entry of an `.npz` archive).
#[derive(Debug)]
pub enum Problem {
    /// The file does not exist; `tried` lists every name that was looked for.
    Missing {
        /// The paths looked for, in order.
        tried: Vec<PathBuf>,
    },
    /// The file could not be read.
    Io(io::Error),
    /// The gzip stream is corrupt or cut short.
    CorruptGzip(io::Error),
    /// The file ends inside its header.
    ShortHeader {
        /// Header bytes needed.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },
    /// The file ends before all the data its header announces.
    Truncated {
        /// Bytes the header announces after itself.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },
    /// The file holds more bytes than its header announces.
    TrailingBytes {
        /// Bytes the header announces after itself.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },
    /// The header declares more data than any array may hold ([`MAX_ARRAY_BYTES`]).
    ///
    /// [`MAX_ARRAY_BYTES`]: super::read::MAX_ARRAY_BYTES
    TooLarge {
        /// Bytes the header declares.
        declared: u64,
        /// The most accepted.
        limit: u64,
    },
    /// An archive entry declares more bytes than its stored data can expand to.
    ImpossibleSize {
        /// The uncompressed size the entry declares.
        declared: u64,
        /// The most its stored bytes can hold.
        possible: u64,
    },
    /// The memory for the data could not be had.
    OutOfMemory {
        /// Bytes the data needs.
        bytes: u64,
    },
    /// The IDX magic number is not the one for this kind of file.
    BadMagic {
        /// The magic number an IDX file of this kind starts with.
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// The images are not 28×28.
    WrongImageSize {
        /// Rows per image found in the file.
        rows: u64,
        /// Columns per image found in the file.
        cols: u64,
    },
    /// The labels file holds a different number of items than the images file.
    CountMismatch {
        /// Number of images in `images_file`.
        images: usize,
        /// Number of labels in this file.
        labels: usize,
        /// The file (or entry) holding the images.
        images_file: String,
    },
    /// A label is not a digit 0–9.
    BadLabel {
        /// Index of the offending item.
        index: usize,
        /// Its value.
        value: i128,
    },
    /// The `.npz` archive itself is unreadable (or an entry's data is corrupt).
    BadZip(zip::result::ZipError),
    /// The `.npz` archive lacks an entry.
    MissingEntry,
    /// The `.npy` header is malformed.
    BadNpyHeader(String),
    /// The `.npy` array has a data type that cannot hold this data.
    BadDtype {
        /// The `descr` found in the header.
        found: String,
        /// What is accepted here.
        expected: &'static str,
    },
    /// The `.npy` array has the wrong shape.
    BadShape {
        /// The shape found in the header.
        found: Vec<u64>,
        /// What is accepted here.
        expected: &'static str,
    },
    /// The `.npy` array is stored in Fortran (column-major) order.
    FortranOrder,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { tried } => {
                write!(f, "file not found (looked for ")?;
                for (i, p) in tried.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " and " };
                    write!(f, "{sep}{}", p.display())?;
                }
                write!(f, ")")
            }
            Problem::Io(e) => write!(f, "cannot read: {e}"),
            Problem::CorruptGzip(e) => write!(f, "corrupt or truncated gzip data: {e}"),
            Problem::ShortHeader { expected, actual } => write!(
                f,
                "truncated: the file ends after {actual} bytes, inside its {expected}-byte header"
            ),
            Problem::Truncated { expected, actual } => write!(
                f,
                "truncated: the header announces {expected} bytes of data but only {actual} are present"
            ),
            Problem::TrailingBytes { expected, actual } => write!(
                f,
                "the header announces {expected} bytes of data but {actual} are present ({} extra)",
                actual.saturating_sub(*expected)
            ),
            Problem::TooLarge { declared, limit } => write!(
                f,
                "the header declares {declared} bytes of data, more than the {limit} an array may hold"
            ),
            Problem::ImpossibleSize { declared, possible } => write!(
                f,
                "the entry declares {declared} bytes, but its stored data can hold at most {possible}"
            ),
            Problem::OutOfMemory { bytes } => {
                write!(f, "not enough memory for its {bytes} bytes of data")
            }
            Problem::BadMagic { expected, found } => write!(
                f,
                "bad magic number 0x{found:08x} (expected 0x{expected:08x}); is this the right IDX file?"
            ),
            Problem::WrongImageSize { rows, cols } => {
                write!(f, "images are {rows}×{cols} pixels, MNIST's are 28×28")
            }
            Problem::CountMismatch {
                images,
                labels,
                images_file,
            } => {
                write!(f, "holds {labels} labels but {images_file} holds {images} images")
            }
            Problem::BadLabel { index, value } => {
                write!(f, "label {index} is {value}, not a digit 0-9")
            }
            Problem::BadZip(e) => write!(f, "not a readable .npz (zip) archive: {e}"),
            Problem::MissingEntry => write!(f, "entry missing from the .npz archive"),
            Problem::BadNpyHeader(e) => write!(f, "bad .npy header: {e}"),
            Problem::BadDtype { found, expected } => {
                write!(
                    f,
                    "data type '{found}' is not accepted here (expected {expected})"
                )
            }
            Problem::BadShape { found, expected } => {
                write!(f, "shape {found:?} is not accepted here (expected {expected})")
            }
            Problem::FortranOrder => write!(f, "array is stored in Fortran order; expected C order"),
        }
    }
}

/// An error while finding, reading, writing or downloading MNIST.
#[derive(Debug)]
pub enum MnistError {
    /// A data file is missing or wrong.
    File {
        /// The file.
        path: PathBuf,
        /// The entry inside an `.npz` archive, if the problem is in one.
        entry: Option<String>,
        /// What is wrong.
        problem: Problem,
    },
    /// No data set was found anywhere it was looked for (and none could be downloaded).
    NotFound(NotFound),
    /// Downloading failed.
    Download {
        /// The address downloaded from.
        url: String,
        /// What went wrong: the HTTP client's or the connection's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The downloaded file's SHA-256 is not the expected one (nothing was kept).
    HashMismatch {
        /// The address downloaded from.
        url: String,
        /// The expected SHA-256, hex.
        expected: String,
        /// The SHA-256 of what was received, hex.
        actual: String,
    },
    /// Writing a file failed (nothing half-written is left behind).
    Write {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl MnistError {
    /// An error about a whole file.
    pub(crate) fn file(path: impl Into<PathBuf>, problem: Problem) -> MnistError {
        MnistError::File {
            path: path.into(),
            entry: None,
            problem,
        }
    }

    /// An error about one entry of an `.npz` archive.
    pub(crate) fn entry(path: impl Into<PathBuf>, entry: &str, problem: Problem) -> MnistError {
        MnistError::File {
            path: path.into(),
            entry: Some(entry.to_string()),
            problem,
        }
    }

    /// The problem with a file, if this error is about one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            MnistError::File { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

impl fmt::Display for MnistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MnistError::File {
                path,
                entry: None,
                problem,
            } => write!(f, "{}: {problem}", path.display()),
            MnistError::File {
                path,
                entry: Some(entry),
                problem,
            } => {
                write!(f, "{} (entry {entry}): {problem}", path.display())
            }
            MnistError::NotFound(nf) => write!(f, "{nf}"),
            MnistError::Download { url, source } => write!(f, "downloading {url} failed: {source}"),
            MnistError::HashMismatch {
                url,
                expected,
                actual,
            } => write!(
                f,
                "the file downloaded from {url} has SHA-256 {actual}, expected {expected}; it was discarded"
            ),
            MnistError::Write { path, source } => write!(f, "cannot write {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for MnistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MnistError::File {
                problem: Problem::Io(e) | Problem::CorruptGzip(e),
                ..
            } => Some(e),
            MnistError::File {
                problem: Problem::BadZip(e),
                ..
            } => Some(e),
            MnistError::Download { source, .. } => Some(source.as_ref()),
            MnistError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Which place a data set was looked for (or found) at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The path given explicitly (`--data`).
    Argument,
    /// `$MNIST_DIR`.
    EnvDir,
    /// `data/mnist` in the working directory.
    DefaultDir,
    /// The download cache (`mnist.npz` there, downloaded now or earlier).
    Cache,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Argument => "--data",
            Origin::EnvDir => "$MNIST_DIR",
            Origin::DefaultDir => "default directory",
            Origin::Cache => "download cache",
        })
    }
}

/// One place looked at, and what was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Which place.
    pub origin: Origin,
    /// Its path; `None` when it is not configured (variable unset, no home directory).
    pub path: Option<PathBuf>,
    /// Why it did not qualify.
    pub finding: String,
}

/// Nothing was found: every place looked at, what a download attempt gave, and where to put
/// the files. Its `Display` is the whole message for the user.
#[derive(Debug)]
pub struct NotFound {
    /// The places looked at, in order.
    pub places: Vec<Place>,
    /// The failed download attempt, if one was made.
    pub download: Option<Box<MnistError>>,
    /// The directory the user should put the IDX files in.
    pub dir_hint: PathBuf,
    /// Where `mnist.npz` would be found (the download cache), if there is one.
    pub cache_file: Option<PathBuf>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "MNIST was not found. Looked at:")?;
        for place in &self.places {
            match &place.path {
                Some(p) => writeln!(f, "  {}: {} ({})", place.origin, p.display(), place.finding)?,
                None => writeln!(f, "  {}: {}", place.origin, place.finding)?,
            }
        }
        if let Some(e) = &self.download {
            writeln!(f, "Downloading failed: {e}")?;
        }
        let files = IDX_FILES.join(", ");
        write!(
            f,
            "Put the four IDX files {files} (each may be gzipped, ending in .gz) in {}",
            self.dir_hint.display()
        )?;
        if let Some(cache) = &self.cache_file {
            write!(f, ", or Keras's {NPZ_FILE} at {}", cache.display())?;
        }
        write!(
            f,
            "; or point --data or ${DIR_ENV} at a directory holding them or at an .npz file."
        )
    }
}

impl std::error::Error for NotFound {}
