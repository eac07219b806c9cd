//! Keras-style `mnist.npz` archives: what is accepted, and a named error for every kind of
//! damage (archive, entry, `.npy` header, dtype, shape, counts, labels).

mod mnist_common;

use std::fs;
use std::io::Write;
use std::path::Path;

use microdense::mnist::{Mnist, MnistError, Problem};
use mnist_common::{synthetic, TempDir};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// A version-1 `.npy` file with the given header fields and data.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes a zip archive with the given entries.
fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let mut zip = ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The four entries of a valid archive of `n` training and `n` test images.
fn valid_entries(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let m = synthetic(n, n);
    let shape = format!("({n}, 28, 28)");
    let labels_shape = format!("({n},)");
    vec![
        ("x_train.npy", npy("|u1", false, &shape, &m.train.images)),
        ("y_train.npy", npy("|u1", false, &labels_shape, &m.train.labels)),
        ("x_test.npy", npy("|u1", false, &shape, &m.test.images)),
        ("y_test.npy", npy("|u1", false, &labels_shape, &m.test.labels)),
    ]
}

/// Loads an archive made of the valid entries with entry `name` replaced (or removed when
/// `bytes` is `None`).
fn load_with(name: &str, bytes: Option<Vec<u8>>) -> Result<Mnist, MnistError> {
    let dir = TempDir::new("npz");
    let mut entries = valid_entries(4);
    entries.retain(|(n, _)| *n != name);
    if let Some(b) = bytes {
        entries.push((static_name(name), b));
    }
    let path = dir.join("mnist.npz");
    write_zip(&path, &entries);
    Mnist::load(&path)
}

fn static_name(name: &str) -> &'static str {
    ["x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"]
        .into_iter()
        .find(|n| *n == name)
        .unwrap()
}

/// Asserts the error is about entry `entry` of an `mnist.npz`, and its message names both.
fn names_entry(err: &MnistError, entry: &str) {
    let MnistError::File {
        path, entry: Some(e), ..
    } = err
    else {
        panic!("not an entry error: {err}")
    };
    assert_eq!(
        (path.file_name().unwrap().to_str().unwrap(), e.as_str()),
        ("mnist.npz", entry),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("mnist.npz") && msg.contains(entry), "{msg}");
}

#[test]
fn valid_archive_and_accepted_variants_load() {
    let m = synthetic(4, 4);
    assert_eq!(load_with("none", None).unwrap(), m);
    // Images flattened to (n, 784), labels as little- or big-endian integers of any width.
    let flat = npy("|u1", false, "(4, 784)", &m.train.images);
    assert_eq!(load_with("x_train.npy", Some(flat)).unwrap(), m);
    let wide: Vec<u8> = m
        .test
        .labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect();
    assert_eq!(
        load_with("y_test.npy", Some(npy("<i8", false, "(4,)", &wide))).unwrap(),
        m
    );
    let be: Vec<u8> = m
        .test
        .labels
        .iter()
        .flat_map(|&l| u16::from(l).to_be_bytes())
        .collect();
    assert_eq!(
        load_with("y_test.npy", Some(npy(">u2", false, "(4,)", &be))).unwrap(),
        m
    );
}

#[test]
fn damaged_archives_give_named_errors() {
    let imgs =
        |descr: &str, fortran: bool, shape: &str, len: usize| npy(descr, fortran, shape, &vec![0; len]);

    let err = load_with("y_test.npy", None).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::MissingEntry)), "{err}");
    names_entry(&err, "y_test.npy");

    let err = load_with("x_train.npy", Some(b"PK not numpy at all".to_vec())).unwrap_err();
    assert!(
        matches!(err.problem(), Some(Problem::BadNpyHeader(m)) if m.contains("NUMPY")),
        "{err}"
    );
    names_entry(&err, "x_train.npy");

    let mut garbled = npy("|u1", false, "(4, 28, 28)", &[0; 4 * 784]);
    garbled[12] = b'[';
    let err = load_with("x_train.npy", Some(garbled)).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadNpyHeader(_))), "{err}");
    names_entry(&err, "x_train.npy");

    let err = load_with("x_test.npy", Some(imgs("<f4", false, "(4, 28, 28)", 4 * 784 * 4))).unwrap_err();
    assert!(
        matches!(err.problem(), Some(Problem::BadDtype { found, .. }) if found == "<f4"),
        "{err}"
    );
    names_entry(&err, "x_test.npy");

    let err = load_with("y_train.npy", Some(npy("<f8", false, "(4,)", &[0; 32]))).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadDtype { .. })), "{err}");
    names_entry(&err, "y_train.npy");

    let err = load_with("x_test.npy", Some(imgs("|u1", false, "(4, 28)", 4 * 28))).unwrap_err();
    assert!(
        matches!(err.problem(), Some(Problem::BadShape { found, .. }) if found == &[4, 28]),
        "{err}"
    );
    names_entry(&err, "x_test.npy");

    let err = load_with("x_test.npy", Some(imgs("|u1", false, "(4, 32, 32)", 4 * 1024))).unwrap_err();
    assert!(
        matches!(
            err.problem(),
            Some(Problem::WrongImageSize { rows: 32, cols: 32 })
        ),
        "{err}"
    );

    let err = load_with("y_test.npy", Some(npy("|u1", false, "(2, 2)", &[0; 4]))).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadShape { .. })), "{err}");
    names_entry(&err, "y_test.npy");

    let err = load_with("x_train.npy", Some(imgs("|u1", true, "(4, 28, 28)", 4 * 784))).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::FortranOrder)), "{err}");
    names_entry(&err, "x_train.npy");

    let err = load_with(
        "x_train.npy",
        Some(imgs("|u1", false, "(4, 28, 28)", 4 * 784 - 5)),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.problem(),
            Some(Problem::Truncated {
                expected: 3136,
                actual: 3131
            })
        ),
        "{err}"
    );
    names_entry(&err, "x_train.npy");

    let err = load_with("y_train.npy", Some(npy("|u1", false, "(3,)", &[1, 2, 3]))).unwrap_err();
    assert!(
        matches!(
            err.problem(),
            Some(Problem::CountMismatch {
                images: 4,
                labels: 3,
                ..
            })
        ),
        "{err}"
    );
    names_entry(&err, "y_train.npy");
    assert!(err.to_string().contains("x_train.npy"), "{err}");

    let err = load_with("y_test.npy", Some(npy("|u1", false, "(4,)", &[1, 2, 11, 3]))).unwrap_err();
    assert!(
        matches!(err.problem(), Some(Problem::BadLabel { index: 2, value: 11 })),
        "{err}"
    );
    names_entry(&err, "y_test.npy");

    let neg: Vec<u8> = [1i16, -1, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let err = load_with("y_test.npy", Some(npy("<i2", false, "(4,)", &neg))).unwrap_err();
    assert!(
        matches!(err.problem(), Some(Problem::BadLabel { index: 1, value: -1 })),
        "{err}"
    );
}

#[test]
fn broken_zip_files_are_named() {
    let dir = TempDir::new("bad-zip");
    let path = dir.join("mnist.npz");
    fs::write(&path, b"this is not a zip archive at all").unwrap();
    let err = Mnist::load(&path).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadZip(_))), "{err}");
    assert!(err.to_string().contains("mnist.npz"), "{err}");

    // A stored archive cut short loses its central directory.
    synthetic(4, 4).write_npz(&path, false).unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    let err = Mnist::load(&path).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadZip(_))), "{err}");

    // Corrupt data inside a stored entry fails its CRC check.
    let mut bytes = bytes;
    let at = bytes.windows(6).position(|w| w == b"\x93NUMPY").unwrap() + 200;
    bytes[at] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let err = Mnist::load(&path).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::BadZip(_))), "{err}");
    names_entry(&err, "x_train.npy");
}
