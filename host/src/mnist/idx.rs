//! LeCun's IDX files (`train-images-idx3-ubyte` and friends), plain or gzipped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use super::error::{MnistError, Problem};
use super::read::{read_header, read_payload, WrapIo};
use super::{digit, Mnist, Split, COLS, ROWS};
pub use super::{IDX_FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
const LABELS_MAGIC: u32 = 0x0000_0801;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The path of IDX file `name` in `dir`: the plain file if present, else `name.gz`.
pub(crate) fn find(dir: &Path, name: &str) -> Result<PathBuf, MnistError> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(MnistError::file(
        plain.clone(),
        Problem::Missing {
            tried: vec![plain, gz],
        },
    ))
}

/// Whether `dir` holds at least one of the four IDX files (plain or gzipped).
pub(crate) fn any_present(dir: &Path) -> bool {
    IDX_FILES.iter().any(|name| find(dir, name).is_ok())
}

/// Loads both splits from the four IDX files in `dir`.
pub(crate) fn load_dir(dir: &Path) -> Result<Mnist, MnistError> {
    Ok(Mnist {
        train: load_split(&find(dir, TRAIN_IMAGES)?, &find(dir, TRAIN_LABELS)?)?,
        test: load_split(&find(dir, TEST_IMAGES)?, &find(dir, TEST_LABELS)?)?,
    })
}

/// Loads one split from its images file and labels file, checking that they agree.
pub(crate) fn load_split(images_path: &Path, labels_path: &Path) -> Result<Split, MnistError> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    let count = images.len() / (ROWS * COLS);
    if labels.len() != count {
        return Err(MnistError::file(
            labels_path,
            Problem::CountMismatch {
                images: count,
                labels: labels.len(),
                images_file: images_path.display().to_string(),
            },
        ));
    }
    Ok(Split {
        images,
        labels,
        rows: ROWS,
        cols: COLS,
    })
}

/// Reads an images file: `count × 28 × 28` bytes, row-major.
pub fn read_images(path: &Path) -> Result<Vec<u8>, MnistError> {
    with_stream(path, |r, wrap, available| {
        let mut header = [0u8; 16];
        read_header(r, &mut header, wrap)?;
        let [magic, count, rows, cols] = be_words(&header);
        if magic != IMAGES_MAGIC {
            return Err(Problem::BadMagic {
                expected: IMAGES_MAGIC,
                found: magic,
            });
        }
        if (rows as usize, cols as usize) != (ROWS, COLS) {
            return Err(Problem::WrongImageSize {
                rows: rows.into(),
                cols: cols.into(),
            });
        }
        let payload = u64::from(count) * (ROWS * COLS) as u64;
        read_payload(r, payload, available.map(|n| n.saturating_sub(16)), wrap)
    })
}

/// Reads a labels file: one byte per item, each a digit 0–9.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, MnistError> {
    with_stream(path, |r, wrap, available| {
        let mut header = [0u8; 8];
        read_header(r, &mut header, wrap)?;
        let [magic, count] = be_words(&header);
        if magic != LABELS_MAGIC {
            return Err(Problem::BadMagic {
                expected: LABELS_MAGIC,
                found: magic,
            });
        }
        let labels = read_payload(r, count.into(), available.map(|n| n.saturating_sub(8)), wrap)?;
        for (index, &label) in labels.iter().enumerate() {
            digit(index, label.into())?;
        }
        Ok(labels)
    })
}

/// Splits a header into big-endian 32-bit words.
fn be_words<const N: usize>(header: &[u8]) -> [u32; N] {
    let mut words = [0u32; N];
    for (word, bytes) in words.iter_mut().zip(header.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    words
}

/// Opens `path` and hands `parse` a stream over its contents (gunzipped if the file is
/// gzip, whatever its name; several concatenated gzip members read as one, as `gzip -dc`
/// reads them), the matching I/O-error wrapper and the stream's size when it is known
/// (plain files).
fn with_stream<T>(
    path: &Path,
    parse: impl FnOnce(&mut dyn Read, WrapIo, Option<u64>) -> Result<T, Problem>,
) -> Result<T, MnistError> {
    let io = |e| MnistError::file(path, Problem::Io(e));
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    let gzip = reader.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
    let result = if gzip {
        parse(&mut MultiGzDecoder::new(reader), Problem::CorruptGzip, None)
    } else {
        parse(&mut reader, Problem::Io, Some(len))
    };
    result.map_err(|problem| MnistError::file(path, problem))
}
