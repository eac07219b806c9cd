//! Hostile input: small files that declare huge models or data sets, run through the CLI
//! under an address-space limit, must get a clean one-line error and exit code 1; and
//! input that is wrong in other ways is refused in the user's terms. Every file is
//! forged here.

use microdense::h5::{self, H5Attr, H5Group};
use microdense::model::{Compile, Model, NamedLayer, TUTORIAL_SPEC};
use microdense_core::{Activation, Layer};
use microdense_tests::{mnist_dir, TempDir};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};

/// The address space the CLI gets: enough for its real work on small models, far less
/// than any of the forged sizes.
const ADDRESS_SPACE: &str = "--as=1073741824";

/// Runs the CLI in `dir` under [`ADDRESS_SPACE`].
fn limited(args: &[&str], dir: &Path) -> Output {
    Command::new("prlimit")
        .arg(ADDRESS_SPACE)
        .arg(env!("CARGO_BIN_EXE_microdense"))
        .args(args)
        .current_dir(dir)
        .env("MNIST_DIR", mnist_dir())
        .output()
        .expect("runs prlimit")
}

/// Asserts a clean failure: exit code 1 and one line of error naming `expected`.
fn refused(out: &Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in: {stderr}");
    stderr
}

/// A Sequential architecture of `784 → Dense(units)` as tf_keras writes it, with the
/// `units` entry written as given (so it can be repeated).
fn architecture(units: &str) -> String {
    format!(
        r#"{{"class_name": "Sequential", "config": {{"name": "s", "layers": [
        {{"class_name": "InputLayer", "config": {{"batch_input_shape": [null, 784], "name": "in"}}}},
        {{"class_name": "Dense", "config": {{"name": "big", {units}, "activation": "relu"}}}}]}}}}"#
    )
}

/// A `.keras` archive holding `config` as its `config.json` (deflated) and an empty
/// weights file.
fn keras_archive(config: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("metadata.json", deflated).unwrap();
    zip.write_all(br#"{"keras_version": "3.15.1"}"#).unwrap();
    zip.start_file("config.json", deflated).unwrap();
    zip.write_all(config).unwrap();
    zip.start_file("model.weights.h5", deflated).unwrap();
    zip.write_all(&h5::to_bytes(&H5Group::new(), "w").unwrap())
        .unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_huge_dense_layer_is_refused_before_allocation_however_it_arrives() {
    let dir = TempDir::new("hostile-arch");
    let huge = architecture(r#""units": 1000000000"#);
    std::fs::write(dir.join("big.json"), &huge).unwrap();
    std::fs::write(
        dir.join("dup.json"),
        architecture(r#""units": 50, "units": 100000000"#),
    )
    .unwrap();
    let yaml = "class_name: Sequential\nconfig:\n  name: s\n  layers:\n  - class_name: InputLayer\n    config: {batch_input_shape: [null, 784], name: in}\n  - class_name: Dense\n    config: {name: big, units: 1000000000}\n";
    std::fs::write(dir.join("big.yaml"), yaml).unwrap();
    let mut root = H5Group::new();
    root.set_attr("model_config", H5Attr::var_ascii(huge.as_str()));
    h5::write(dir.join("big.h5"), &root).unwrap();
    std::fs::write(dir.join("big.keras"), keras_archive(huge.as_bytes())).unwrap();

    for file in ["big.json", "dup.json", "big.yaml", "big.h5", "big.keras"] {
        for command in ["summary", "evaluate"] {
            refused(
                &limited(&[command, file], dir.path()),
                "more than the budget of 100000000",
            );
        }
    }
    refused(
        &limited(&["convert", "big.json", "out.h5"], dir.path()),
        "785000000000 parameters",
    );
    refused(
        &limited(&["train", "--arch", "784,1000000000,10:softmax"], dir.path()),
        "parameters, more than the budget",
    );
    refused(
        &limited(&["train", "--arch", "big.json"], dir.path()),
        "more than the budget",
    );
    // The budget is a flag; a model within it loads.
    refused(
        &limited(&["summary", "--max-params", "10", "dup.json"], dir.path()),
        "more than the budget of 10 ",
    );
    assert!(!dir.join("out.h5").exists());
}

#[test]
fn summary_plot_and_architecture_conversion_allocate_no_weights() {
    let dir = TempDir::new("hostile-noweights");
    // 784 million parameters: 3.1 GB of weights, three times the address space.
    std::fs::write(dir.join("wide.json"), architecture(r#""units": 1000000"#)).unwrap();
    let budget = ["--max-params", "1000000000"];
    let out = limited(&[&["summary", "wide.json"][..], &budget].concat(), dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Total params: 785000000"), "{stdout}");
    let out = limited(
        &[&["plot", "wide.json", "--out", "wide.svg"][..], &budget].concat(),
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for target in ["wide.yaml", "back.json"] {
        let source = if target == "back.json" {
            "wide.yaml"
        } else {
            "wide.json"
        };
        let out = limited(&[&["convert", source, target][..], &budget].concat(), dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let back = std::fs::read_to_string(dir.join("back.json")).unwrap();
    assert!(back.contains("\"units\": 1000000"), "{back}");
}

#[test]
fn a_keras_archive_whose_config_declares_gigabytes_is_capped() {
    let dir = TempDir::new("hostile-keras-config");
    // 300 MB of blanks deflate to a few hundred kilobytes.
    let blanks = vec![b' '; 300 << 20];
    std::fs::write(dir.join("blank.keras"), keras_archive(&blanks)).unwrap();
    drop(blanks);
    refused(
        &limited(&["summary", "blank.keras"], dir.path()),
        "config.json holds 314572800 bytes or more, more than the 16777216 accepted",
    );
}

/// A gzipped IDX images file whose header declares `count` images, followed by `body`.
fn gz_idx_images(count: u32, body: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    for word in [0x803u32, count, 28, 28] {
        raw.extend_from_slice(&word.to_be_bytes());
    }
    raw.extend_from_slice(body);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// Saves the tutorial's model (untrained) at `path`.
fn tutorial_model(path: &Path) {
    let mut model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
    model.compile(Compile::default());
    model.save(path).unwrap();
}

/// Bytes that do not compress.
fn noise(n: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A directory of the four IDX files (gzipped), the training images replaced by `images`.
fn idx_dir(dir: &Path, images: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    for name in [
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(mnist_dir().join(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), images).unwrap();
}

#[test]
fn forged_mnist_sizes_are_checked_against_the_file() {
    let dir = TempDir::new("hostile-mnist");
    tutorial_model(&dir.join("m.h5"));
    // 2^32-1 images declared: more than any array may hold.
    idx_dir(&dir.join("idx"), &gz_idx_images(u32::MAX, &noise(1000)));
    refused(
        &limited(&["evaluate", "--data", "idx", "m.h5"], dir.path()),
        "train-images-idx3-ubyte.gz: the header declares 3367254359280 bytes of data, more than the 4294967296 an array may hold",
    );
    // Five million images declared (3.9 GB), 2 MB present: read as they come.
    idx_dir(&dir.join("idx"), &gz_idx_images(5_000_000, &noise(2 << 20)));
    refused(
        &limited(&["evaluate", "--data", "idx", "m.h5"], dir.path()),
        "train-images-idx3-ubyte.gz: truncated: the header announces 3920000000 bytes of data but only 2097152 are present",
    );

    // An npz whose zip64 entry declares 2^40 bytes for an image array of 5·10^6 images.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (5000000, 28, 28), }";
    let header = format!("{dict:<117}\n");
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&noise(1 << 16));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("x_train.npy", options).unwrap();
    zip.write_all(&npy).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    // Every zip64 extra field (tag 1, 16+ bytes) starts with the uncompressed size.
    let real = (npy.len() as u64).to_le_bytes();
    let forged = (1u64 << 40).to_le_bytes();
    let mut patched = 0;
    for at in 0..bytes.len() - 12 {
        if bytes[at..at + 2] == [1, 0] && bytes[at + 4..at + 12] == real {
            bytes[at + 4..at + 12].copy_from_slice(&forged);
            patched += 1;
        }
    }
    assert!(patched >= 1, "no zip64 size field found");
    std::fs::write(dir.join("forged.npz"), &bytes).unwrap();
    refused(
        &limited(&["evaluate", "--data", "forged.npz", "m.h5"], dir.path()),
        "forged.npz (entry x_train.npy): the entry declares 1099511627776 bytes, but its stored data can hold at most",
    );
}

#[test]
fn a_multi_member_gzip_idx_file_reads_as_gzip_dc_reads_it() {
    let dir = TempDir::new("multi-gzip");
    let data = dir.join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(mnist_dir().join("t10k-labels-idx1-ubyte.gz")).unwrap(),
    )
    .read_to_end(&mut raw)
    .unwrap();
    let mut members = Vec::new();
    for part in raw.chunks(4000) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        members.extend(gz.finish().unwrap());
    }
    let labels = data.join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&labels, members).unwrap();
    assert_eq!(microdense::mnist::idx::read_labels(&labels).unwrap(), raw[8..]);
}

#[test]
fn non_finite_weights_warn_on_load_and_are_refused_for_the_device() {
    let dir = TempDir::new("nonfinite");
    let mut model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
    model.params[3] = f32::NAN;
    model.params[7] = f32::INFINITY;
    model.save(dir.join("nan.h5")).unwrap();
    let err = model.save(dir.join("nan.mdl")).unwrap_err().to_string();
    assert!(
        err.contains("layer \"dense\" has 2 weights that are NaN or infinite"),
        "{err}"
    );

    let out = limited(&["convert", "nan.h5", "nan.mdl"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: nan.h5: layer \"dense\" has 2 weights that are NaN or infinite"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-nonfinite"), "{stderr}");
    assert!(!dir.join("nan.mdl").exists());

    let out = limited(&["convert", "nan.h5", "nan.mdl", "--allow-nonfinite"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("nan.mdl").exists());
}

#[test]
fn empty_or_slashed_layer_names_are_refused_on_read_and_write() {
    let dir = TempDir::new("names");
    for bad in ["", "a/b"] {
        let layers = vec![NamedLayer::new(
            bad,
            Layer::Dense {
                units: 2,
                activation: Activation::Softmax,
                use_bias: true,
                activity_regularizer: None,
            },
        )];
        let model = Model::sequential(vec![3], layers, 1, Default::default()).unwrap();
        for file in ["m.h5", "m.keras", "m.json", "m.weights.h5"] {
            let err = model.save(dir.join(file)).unwrap_err().to_string();
            assert!(err.contains("is empty or holds a '/'"), "{file}: {err}");
            assert!(!dir.join(file).exists());
        }
        let json = Model::from_spec("3,2:softmax", 1)
            .unwrap()
            .to_json()
            .replace("\"name\": \"dense\"", &format!("\"name\": {bad:?}"));
        let err = Model::from_json(&json).unwrap_err().to_string();
        let named = if bad.is_empty() {
            "an empty one"
        } else {
            "holds a '/'"
        };
        assert!(err.contains(named), "{err}");
    }
}

#[test]
fn library_wording_is_said_in_the_users_terms() {
    let dir = TempDir::new("wording");
    tutorial_model(&dir.join("m.h5"));
    std::fs::write(dir.join("empty.yaml"), "").unwrap();
    let err = refused(&limited(&["summary", "empty.yaml"], dir.path()), "empty.yaml");
    assert!(err.contains("is empty"), "{err}");
    assert!(!err.contains("JSON"), "{err}");

    let two = "class_name: Sequential\n---\nclass_name: Sequential\n";
    std::fs::write(dir.join("two.yaml"), two).unwrap();
    let err = refused(&limited(&["summary", "two.yaml"], dir.path()), "two.yaml");
    assert!(err.contains("more than one YAML document"), "{err}");
    assert!(!err.contains("from_str_multiple"), "{err}");

    std::fs::write(
        dir.join("dup.yaml"),
        "class_name: Sequential\nclass_name: Functional\n",
    )
    .unwrap();
    let err = refused(&limited(&["summary", "dup.yaml"], dir.path()), "dup.yaml");
    assert!(err.contains("class_name"), "{err}");
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");

    let out = limited(&["evaluate", "--data", "/dev/zero", "m.h5"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/zero (is neither a file nor a directory)"),
        "{stderr}"
    );
}

/// Runs `script` (Python, with h5py) on the tutorial model saved at `dir/name`, through
/// the real-Keras venv. `None` when that venv is unavailable and not required.
fn h5py_edit(dir: &Path, name: &str, script: &str) -> Option<()> {
    let python = microdense_tests::keras_python()?;
    tutorial_model(&dir.join(name));
    let out = Command::new(python)
        .args(["-c", script])
        .arg(dir.join(name))
        .output()
        .expect("runs the venv's python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(())
}

/// h5py code that finds the first Dense kernel of the file `sys.argv[1]` as `kernel`
/// (its path `path`), opened for writing as `f`.
const FIND_KERNEL: &str = r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r+")
found = []
f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) and name.split("/")[-1].startswith("kernel") else None)
path = sorted(found)[0]
kernel = f[path]
"#;

#[test]
fn hdf5_datasets_the_model_does_not_use_are_never_read() {
    let dir = TempDir::new("hostile-h5-unused");
    // Three never-written chunked datasets of 2 GiB each beside the weights: the file
    // stays small, reading any of them would exceed the address space.
    let script = format!(
        "{FIND_KERNEL}
group = f[path].parent
for i in range(3):
    group.create_dataset(f'unused_{{i}}', shape=(32768, 16384), dtype='f4', chunks=(256, 256))
f.close()"
    );
    let Some(()) = h5py_edit(dir.path(), "padded.h5", &script) else {
        return;
    };
    assert!(std::fs::metadata(dir.join("padded.h5")).unwrap().len() < 1 << 20);
    for args in [
        &["summary", "padded.h5"][..],
        &["convert", "padded.h5", "padded.mdl"],
        &["evaluate", "padded.h5"],
    ] {
        let out = limited(args, dir.path());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_hdf5_kernel_of_the_wrong_shape_is_refused_before_it_is_read() {
    let dir = TempDir::new("hostile-h5-kernel");
    // The first kernel replaced by a never-written (32768, 16384) one: 2 GiB if read.
    let script = format!(
        "{FIND_KERNEL}
del f[path]
f.create_dataset(path, shape=(32768, 16384), dtype='f4', chunks=(256, 256))
f.close()"
    );
    let Some(()) = h5py_edit(dir.path(), "forged.h5", &script) else {
        return;
    };
    for args in [
        &["convert", "forged.h5", "forged.mdl"][..],
        &["evaluate", "forged.h5"],
    ] {
        let stderr = refused(&limited(args, dir.path()), "32768");
        assert!(stderr.contains("784"), "{args:?}: {stderr}");
        assert!(!dir.join("forged.mdl").exists());
    }
}
