//! Keras's `mnist.npz`: a zip archive of `x_train.npy`, `y_train.npy`, `x_test.npy` and
//! `y_test.npy` (uint8 images `(n, 28, 28)`, labels `(n,)`), as `np.savez` writes it.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::error::{MnistError, Problem};
use super::npy::{self, IntType};
use super::read::read_payload;
use super::{digit, Mnist, Split, COLS, ROWS};
use crate::atomic::write_with;

/// The archive's entries: (images, labels) for the training and the test split.
const ENTRIES: [(&str, &str); 2] = [("x_train.npy", "y_train.npy"), ("x_test.npy", "y_test.npy")];

/// What image arrays must look like.
const IMAGES_DTYPE: &str = "uint8 ('|u1')";
const IMAGES_SHAPE: &str = "(n, 28, 28) or (n, 784)";
/// What label arrays must look like.
const LABELS_DTYPE: &str = "an integer type such as uint8 ('|u1')";
const LABELS_SHAPE: &str = "(n,)";

/// Loads both splits from an `.npz` archive.
pub(crate) fn load(path: &Path) -> Result<Mnist, MnistError> {
    let file = File::open(path).map_err(|e| MnistError::file(path, Problem::Io(e)))?;
    let mut zip =
        ZipArchive::new(BufReader::new(file)).map_err(|e| MnistError::file(path, Problem::BadZip(e)))?;
    let [(train_x, train_y), (test_x, test_y)] = ENTRIES;
    Ok(Mnist {
        train: load_split(&mut zip, path, train_x, train_y)?,
        test: load_split(&mut zip, path, test_x, test_y)?,
    })
}

/// Loads one split from its two entries, checking that they agree.
fn load_split<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    path: &Path,
    images_entry: &str,
    labels_entry: &str,
) -> Result<Split, MnistError> {
    let images = read_entry(zip, path, images_entry, read_images)?;
    let labels = read_entry(zip, path, labels_entry, read_labels)?;
    let count = images.len() / (ROWS * COLS);
    if labels.len() != count {
        let images_file = format!("{} (entry {images_entry})", path.display());
        let problem = Problem::CountMismatch {
            images: count,
            labels: labels.len(),
            images_file,
        };
        return Err(MnistError::entry(path, labels_entry, problem));
    }
    Ok(Split {
        images,
        labels,
        rows: ROWS,
        cols: COLS,
    })
}

/// No deflate stream expands by more than this factor.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Opens entry `name` and parses it with `parse`, which gets the entry's stream and its
/// declared size, once that size is checked against the bytes the archive really holds
/// for the entry.
fn read_entry<R: Read + Seek, T>(
    zip: &mut ZipArchive<R>,
    path: &Path,
    name: &str,
    parse: fn(&mut dyn Read, Option<u64>) -> Result<T, Problem>,
) -> Result<T, MnistError> {
    let mut entry = zip.by_name(name).map_err(|e| {
        let problem = match e {
            ZipError::FileNotFound => Problem::MissingEntry,
            other => Problem::BadZip(other),
        };
        MnistError::entry(path, name, problem)
    })?;
    let size = entry.size();
    let stored = entry.compressed_size();
    let possible = match entry.compression() {
        CompressionMethod::Stored => stored,
        _ => stored.saturating_mul(MAX_DEFLATE_RATIO),
    };
    if size > possible {
        let problem = Problem::ImpossibleSize {
            declared: size,
            possible,
        };
        return Err(MnistError::entry(path, name, problem));
    }
    parse(&mut entry, Some(size)).map_err(|problem| MnistError::entry(path, name, problem))
}

/// An I/O error inside a zip entry (a CRC mismatch, corrupt deflate data).
fn zip_io(e: io::Error) -> Problem {
    Problem::BadZip(ZipError::Io(e))
}

/// Parses an image array: uint8, `(n, 28, 28)` or `(n, 784)`, C order.
fn read_images(r: &mut dyn Read, size: Option<u64>) -> Result<Vec<u8>, Problem> {
    let header = npy::read(r, zip_io)?;
    if IntType::parse(&header.descr) != IntType::parse("|u1") {
        return Err(Problem::BadDtype {
            found: header.descr,
            expected: IMAGES_DTYPE,
        });
    }
    let count = match header.shape[..] {
        [n, rows, cols] if (rows, cols) == (ROWS as u64, COLS as u64) => n,
        [n, pixels] if pixels == (ROWS * COLS) as u64 => n,
        [_, rows, cols] => return Err(Problem::WrongImageSize { rows, cols }),
        _ => {
            return Err(Problem::BadShape {
                found: header.shape,
                expected: IMAGES_SHAPE,
            })
        }
    };
    if header.fortran_order {
        return Err(Problem::FortranOrder);
    }
    let bytes = count
        .checked_mul((ROWS * COLS) as u64)
        .ok_or_else(|| Problem::BadShape {
            found: header.shape.clone(),
            expected: IMAGES_SHAPE,
        })?;
    read_payload(r, bytes, size, zip_io)
}

/// Parses a label array: any integer type, `(n,)`, every value a digit.
fn read_labels(r: &mut dyn Read, size: Option<u64>) -> Result<Vec<u8>, Problem> {
    let header = npy::read(r, zip_io)?;
    let Some(ty) = IntType::parse(&header.descr) else {
        return Err(Problem::BadDtype {
            found: header.descr,
            expected: LABELS_DTYPE,
        });
    };
    let [count] = header.shape[..] else {
        return Err(Problem::BadShape {
            found: header.shape,
            expected: LABELS_SHAPE,
        });
    };
    let bytes = count
        .checked_mul(ty.size as u64)
        .ok_or_else(|| Problem::BadShape {
            found: header.shape.clone(),
            expected: LABELS_SHAPE,
        })?;
    let raw = read_payload(r, bytes, size, zip_io)?;
    if ty.size == 1 && !ty.signed {
        for (index, &label) in raw.iter().enumerate() {
            digit(index, label.into())?;
        }
        return Ok(raw);
    }
    raw.chunks_exact(ty.size)
        .enumerate()
        .map(|(index, item)| digit(index, ty.decode(item)))
        .collect()
}

/// Writes `mnist` as an `.npz` archive like `np.savez` (or `np.savez_compressed` when
/// `compress`), via a temporary file renamed into place.
pub(crate) fn write(mnist: &Mnist, path: &Path, compress: bool) -> Result<(), MnistError> {
    let method = if compress {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    write_with(
        path,
        |file| {
            let io_err = |source| MnistError::Write {
                path: path.to_path_buf(),
                source,
            };
            let zip_err = |e: ZipError| io_err(io::Error::other(e));
            let mut zip = ZipWriter::new(file);
            for ((x, y), split) in ENTRIES.iter().zip([&mnist.train, &mnist.test]) {
                let n = split.len() as u64;
                zip.start_file(*x, options).map_err(zip_err)?;
                npy::write(&mut zip, "|u1", &[n, split.rows as u64, split.cols as u64]).map_err(io_err)?;
                zip.write_all(&split.images).map_err(io_err)?;
                zip.start_file(*y, options).map_err(zip_err)?;
                npy::write(&mut zip, "|u1", &[n]).map_err(io_err)?;
                zip.write_all(&split.labels).map_err(io_err)?;
            }
            zip.finish().map_err(zip_err)?;
            Ok(())
        },
        |source| MnistError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}
