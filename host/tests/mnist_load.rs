//! Loading MNIST: the real files (gzipped, gunzipped, as an .npz from our writer and from
//! NumPy) agree with each other and with checksums computed by NumPy, and every kind of
//! damaged file gives an error naming the file and the problem.

mod mnist_common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use flate2::read::GzDecoder;
use microdense::mnist::{Mnist, MnistError, Problem, Split};
use mnist_common::{gzip, idx_images, idx_labels, real_dir, synthetic, write_idx_dir, TempDir};

/// The real data set, loaded once from the gzipped IDX files.
fn real() -> &'static Mnist {
    static REAL: OnceLock<Mnist> = OnceLock::new();
    REAL.get_or_init(|| {
        let start = Instant::now();
        let mnist = Mnist::load(&real_dir()).unwrap();
        eprintln!(
            "loaded the gzipped IDX files in {:.3} s",
            start.elapsed().as_secs_f64()
        );
        mnist
    })
}

fn pixel_sum(split: &Split) -> u64 {
    split.images.iter().map(|&p| u64::from(p)).sum()
}

fn label_sum(split: &Split) -> u64 {
    split.labels.iter().map(|&l| u64::from(l)).sum()
}

#[test]
fn real_files_match_numpy_checksums() {
    let m = real();
    assert_eq!((m.train.len(), m.test.len()), (60000, 10000));
    assert_eq!(
        (m.train.rows, m.train.cols, m.test.rows, m.test.cols),
        (28, 28, 28, 28)
    );
    assert_eq!(m.train.images.len(), 60000 * 784);
    assert_eq!(m.test.images.len(), 10000 * 784);
    assert_eq!(m.train.labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(m.test.labels[..5], [7, 2, 1, 0, 4]);
    // Computed with NumPy from the same files (see the module's report).
    assert_eq!(pixel_sum(&m.train), 1_567_298_545);
    assert_eq!(pixel_sum(&m.test), 264_923_200);
    assert_eq!(label_sum(&m.train), 267_236);
    assert_eq!(label_sum(&m.test), 44_434);
    let image_sum = |img: &[u8]| img.iter().map(|&p| u64::from(p)).sum::<u64>();
    assert_eq!(image_sum(m.train.image(0)), 27_525);
    assert_eq!(image_sum(m.test.image(9999)), 41_833);
    let (img, label) = m.test.get(9999).unwrap();
    assert_eq!((img, label), (m.test.image(9999), m.test.labels[9999]));
    assert!(m.test.get(10000).is_none());
    let mut counts = [0usize; 10];
    m.test.labels.iter().for_each(|&l| counts[usize::from(l)] += 1);
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
}

/// Gunzips the four real files into `dir`.
fn gunzip_real_into(dir: &Path) {
    for name in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        let mut raw = Vec::new();
        GzDecoder::new(fs::File::open(real_dir().join(format!("{name}.gz"))).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        fs::write(dir.join(name), raw).unwrap();
    }
}

#[test]
fn gunzipped_copies_load_identically() {
    let dir = TempDir::new("gunzipped");
    gunzip_real_into(dir.path());
    assert_eq!(&Mnist::load(dir.path()).unwrap(), real());
    // Mixed: a plain file is preferred and a gzipped one found when the plain one is absent.
    fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    fs::copy(
        real_dir().join("t10k-labels-idx1-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(&Mnist::load_idx_dir(dir.path()).unwrap(), real());
}

#[test]
fn npz_from_our_writer_loads_identically() {
    let dir = TempDir::new("npz-writer");
    for compress in [false, true] {
        let path = dir.join(if compress { "compressed.npz" } else { "stored.npz" });
        real().write_npz(&path, compress).unwrap();
        assert_eq!(&Mnist::load(&path).unwrap(), real(), "compress = {compress}");
    }
    // A directory holding only mnist.npz is read through it.
    fs::rename(dir.join("compressed.npz"), dir.join("mnist.npz")).unwrap();
    fs::remove_file(dir.join("stored.npz")).unwrap();
    assert_eq!(&Mnist::load(dir.path()).unwrap(), real());
    assert_eq!(dir.names(), ["mnist.npz"], "no temporary file is left behind");
}

/// The Keras venv's Python, if installed here.
fn venv_python() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let python = Path::new(&home).join(".cache/microdense/keras-venv/bin/python");
    python.is_file().then_some(python)
}

#[test]
fn npz_agrees_with_numpy_both_ways() {
    let Some(python) = venv_python() else {
        eprintln!("skipped: no Keras venv at ~/.cache/microdense/keras-venv (NumPy cross-check)");
        return;
    };
    let dir = TempDir::new("npz-numpy");
    let ours = dir.join("ours.npz");
    let theirs = dir.join("theirs.npz");
    real().write_npz(&ours, false).unwrap();
    // NumPy writes an npz from the gzipped IDX files the way keras.datasets.mnist's file is laid
    // out (labels as int64 to exercise the conversion), and reads ours back.
    let script = r#"
import gzip, sys, numpy as np
src, ours, theirs = sys.argv[1:4]
def arr(name, offset):
    return np.frombuffer(gzip.open(f"{src}/{name}.gz").read(), np.uint8, offset=offset)
x_train = arr("train-images-idx3-ubyte", 16).reshape(-1, 28, 28)
y_train = arr("train-labels-idx1-ubyte", 8).astype(np.int64)
x_test = arr("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28)
y_test = arr("t10k-labels-idx1-ubyte", 8)
np.savez_compressed(theirs, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
with np.load(ours) as f:
    assert f["x_train"].dtype == np.uint8 and f["x_train"].shape == (60000, 28, 28)
    assert f["y_test"].dtype == np.uint8 and f["y_test"].shape == (10000,)
    assert (f["x_train"] == x_train).all() and (f["y_train"] == y_train).all()
    assert (f["x_test"] == x_test).all() and (f["y_test"] == y_test).all()
print("numpy ok")
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(real_dir())
        .arg(&ours)
        .arg(&theirs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "numpy ok");
    assert_eq!(&Mnist::load(&theirs).unwrap(), real());
}

#[test]
fn real_file_damage_is_reported_with_the_file() {
    let dir = TempDir::new("real-damage");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        fs::copy(real_dir().join(name), dir.join(name)).unwrap();
    }
    // The training labels put beside the test images: counts disagree.
    fs::copy(
        real_dir().join("train-labels-idx1-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err.problem(),
            Some(Problem::CountMismatch {
                images: 10000,
                labels: 60000,
                ..
            })
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("t10k-labels-idx1-ubyte.gz") && msg.contains("t10k-images-idx3-ubyte.gz"),
        "{msg}"
    );
    // The training images cut short.
    let gz = fs::read(real_dir().join("train-images-idx3-ubyte.gz")).unwrap();
    fs::write(dir.join("train-images-idx3-ubyte.gz"), &gz[..gz.len() / 2]).unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::CorruptGzip(_))), "{err}");
    assert!(err.to_string().contains("train-images-idx3-ubyte.gz"), "{err}");
}

/// Writes a small valid IDX directory, applies `damage` and returns the loading error.
fn damaged_idx(damage: impl FnOnce(&Path)) -> MnistError {
    let dir = TempDir::new("idx-damage");
    write_idx_dir(dir.path(), &synthetic(30, 20), false);
    damage(dir.path());
    Mnist::load(dir.path()).unwrap_err()
}

/// Asserts the error is about `file` and its message names it.
fn names_file(err: &MnistError, file: &str) {
    let MnistError::File { path, .. } = err else {
        panic!("not a file error: {err}")
    };
    assert_eq!(path.file_name().unwrap(), file, "{err}");
    assert!(err.to_string().contains(file), "{err}");
}

#[test]
fn damaged_idx_files_give_named_errors() {
    let test_images = "t10k-images-idx3-ubyte";
    let test_labels = "t10k-labels-idx1-ubyte";
    let rewrite = |dir: &Path, name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = fs::read(dir.join(name)).unwrap();
        f(&mut bytes);
        fs::write(dir.join(name), bytes).unwrap();
    };

    let err = damaged_idx(|d| fs::remove_file(d.join(test_labels)).unwrap());
    assert!(
        matches!(err.problem(), Some(Problem::Missing { tried }) if tried.len() == 2),
        "{err}"
    );
    names_file(&err, test_labels);
    assert!(err.to_string().contains("t10k-labels-idx1-ubyte.gz"), "{err}");

    let err = damaged_idx(|d| rewrite(d, test_images, &|b| b.truncate(b.len() - 100)));
    assert!(
        matches!(
            err.problem(),
            Some(Problem::Truncated {
                expected: 15680,
                actual: 15580
            })
        ),
        "{err}"
    );
    names_file(&err, test_images);

    let err = damaged_idx(|d| rewrite(d, test_images, &|b| b.truncate(10)));
    assert!(
        matches!(
            err.problem(),
            Some(Problem::ShortHeader {
                expected: 16,
                actual: 10
            })
        ),
        "{err}"
    );
    names_file(&err, test_images);

    let err = damaged_idx(|d| rewrite(d, test_labels, &|b| b.extend_from_slice(&[1, 2, 3])));
    assert!(
        matches!(
            err.problem(),
            Some(Problem::TrailingBytes {
                expected: 20,
                actual: 23
            })
        ),
        "{err}"
    );
    names_file(&err, test_labels);

    // Images and labels swapped.
    let err = damaged_idx(|d| {
        fs::rename(d.join(test_images), d.join("tmp")).unwrap();
        fs::rename(d.join(test_labels), d.join(test_images)).unwrap();
        fs::rename(d.join("tmp"), d.join(test_labels)).unwrap();
    });
    assert!(
        matches!(
            err.problem(),
            Some(Problem::BadMagic {
                expected: 0x803,
                found: 0x801
            })
        ),
        "{err}"
    );
    names_file(&err, test_images);
    assert!(err.to_string().contains("0x00000801"), "{err}");

    let err = damaged_idx(|d| fs::write(d.join(test_images), idx_images(1, 32, 32, &[0; 1024])).unwrap());
    assert!(
        matches!(
            err.problem(),
            Some(Problem::WrongImageSize { rows: 32, cols: 32 })
        ),
        "{err}"
    );
    names_file(&err, test_images);

    let err = damaged_idx(|d| fs::write(d.join(test_labels), idx_labels(19, &[1; 19])).unwrap());
    assert!(
        matches!(
            err.problem(),
            Some(Problem::CountMismatch {
                images: 20,
                labels: 19,
                ..
            })
        ),
        "{err}"
    );
    names_file(&err, test_labels);

    let err = damaged_idx(|d| rewrite(d, test_labels, &|b| b[8 + 7] = 10));
    assert!(
        matches!(err.problem(), Some(Problem::BadLabel { index: 7, value: 10 })),
        "{err}"
    );
    names_file(&err, test_labels);
}

#[test]
fn damaged_gzip_gives_named_errors() {
    let name = "train-labels-idx1-ubyte.gz";
    for (what, cut) in [("truncated", true), ("bit-flipped", false)] {
        let dir = TempDir::new("gz-damage");
        write_idx_dir(dir.path(), &synthetic(200, 10), true);
        let mut bytes = fs::read(dir.join(name)).unwrap();
        if cut {
            bytes.truncate(bytes.len() - 6);
        } else {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x55;
            let crc = bytes.len() - 8;
            bytes[crc] ^= 0xff;
        }
        fs::write(dir.join(name), bytes).unwrap();
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(
            matches!(err.problem(), Some(Problem::CorruptGzip(_))),
            "{what}: {err}"
        );
        names_file(&err, name);
    }
    // Gzip is recognised by content, not by name.
    let dir = TempDir::new("gz-unnamed");
    let m = synthetic(5, 5);
    write_idx_dir(dir.path(), &m, false);
    let raw = fs::read(dir.join("train-images-idx3-ubyte")).unwrap();
    fs::write(dir.join("train-images-idx3-ubyte"), gzip(&raw)).unwrap();
    assert_eq!(Mnist::load(dir.path()).unwrap(), m);
}

#[test]
fn a_path_that_does_not_exist_is_named() {
    let dir = TempDir::new("nothing");
    let err = Mnist::load(&dir.join("mnist.npz")).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::Missing { .. })), "{err}");
    names_file(&err, "mnist.npz");
    let err = Mnist::load(dir.path()).unwrap_err();
    names_file(&err, "train-images-idx3-ubyte");
}
