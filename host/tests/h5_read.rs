//! Reading HDF5: every file real Keras writes reads exactly as h5py sees it,
//! and damaged files are errors, never panics.
//!
//! Tests marked "(Keras)" use the fixtures `tests/keras/make_fixtures.py` makes
//! with real Keras; they skip with a printed reason when the Keras venv is
//! unavailable, unless `MICRODENSE_REQUIRE_KERAS` is set (then they fail).

mod h5_common;

use h5_common::{assert_same_dump, h5py_dump, keras_like_tree, tree_json};
use microdense::h5::{self, H5Attr, H5ErrorKind, H5Group, StrType};
use microdense_tests::{files_with_suffix, keras_fixtures, keras_python, TempDir};
use std::path::Path;

fn read(path: &Path) -> H5Group {
    h5::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// (Keras) Every .h5 fixture — tf_keras and Keras 3 whole models, both kinds
/// of weights files, the Keras 2.1-era file — reads to exactly the attributes
/// (values, string storage, shapes), groups and datasets (dtype, shape, bytes)
/// that h5py reports.
#[test]
fn keras_fixtures_read_exactly_as_h5py_sees_them() {
    let (Some(python), Some(dir)) = (keras_python(), keras_fixtures()) else {
        return;
    };
    let files = files_with_suffix(&dir, ".h5");
    assert!(
        files.len() >= 13,
        "expected at least 13 .h5 fixtures, found {files:?}"
    );
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let dumps = h5py_dump(&python, &refs);
    for file in &files {
        let theirs = &dumps[&file.display().to_string()];
        assert_same_dump(&file.display().to_string(), &tree_json(&read(file)), theirs);
    }
}

/// (Keras) The tf_keras whole-model file has the layout and string storage
/// Keras 2 writes, and the helpers see Keras's empty-list convention.
#[test]
fn tf_keras_whole_model_layout() {
    let Some(dir) = keras_fixtures() else { return };
    let root = read(&dir.join("tf_keras/tutorial.h5"));
    assert!(matches!(
        root.attr("model_config"),
        Some(H5Attr::Str(_, StrType::VarAscii))
    ));
    assert!(matches!(
        root.attr("backend"),
        Some(H5Attr::Str(_, StrType::VarUtf8))
    ));
    let config: serde_json::Value = serde_json::from_str(root.attr_str("model_config").unwrap()).unwrap();
    assert_eq!(config["class_name"], "Sequential");
    assert_eq!(root.attr_str("keras_version"), Some("2.21.0"));
    let mw = root.group("model_weights").unwrap();
    assert_eq!(
        mw.attr_str_list("layer_names").unwrap(),
        [
            "dense",
            "activation",
            "dense_1",
            "activation_1",
            "dense_2",
            "activation_2"
        ]
    );
    assert_eq!(
        mw.group("activation")
            .unwrap()
            .attr_str_list("weight_names")
            .unwrap(),
        Vec::<&str>::new()
    );
    assert_eq!(
        mw.group("dense").unwrap().attr_str_list("weight_names").unwrap(),
        ["dense/kernel:0", "dense/bias:0"]
    );
    let kernel = root.dataset("/model_weights/dense/dense/kernel:0").unwrap();
    assert_eq!(kernel.shape, [784, 50]);
    assert_eq!(kernel.as_f32().unwrap().len(), 784 * 50);
    let iteration = root.dataset("optimizer_weights/iteration:0").unwrap();
    assert!(iteration.shape.is_empty());
    // 3000 images, batch 32, 2 epochs.
    assert_eq!(iteration.as_i64(), Some(&[2 * 94][..]));
    assert_eq!(
        root.dataset("optimizer_weights/SGD/m/dense_2/bias:0")
            .unwrap()
            .shape,
        [10]
    );
}

/// (Keras) Keras 3's legacy .h5 nests weights one level deeper and keeps a
/// scalar float32 learning rate; its .weights.h5 names layers' variables 0, 1.
#[test]
fn keras3_layouts() {
    let Some(dir) = keras_fixtures() else { return };
    let root = read(&dir.join("keras3/tutorial.h5"));
    assert!(root.attr_str("keras_version").unwrap().starts_with("3."));
    let kernel = root
        .dataset("model_weights/dense/sequential/dense/kernel")
        .unwrap();
    assert_eq!(kernel.shape, [784, 50]);
    let lr = root.dataset("optimizer_weights/sgd/learning_rate").unwrap();
    assert!(lr.shape.is_empty());
    assert!((lr.as_f32().unwrap()[0] - 0.01).abs() < 1e-9);
    assert_eq!(
        root.dataset("optimizer_weights/sgd/iteration").unwrap().as_i64(),
        Some(&[188][..])
    );

    let weights = read(&dir.join("keras3/tutorial.weights.h5"));
    let vars = weights.group("layers/dense/vars").unwrap();
    assert_eq!(vars.attr_str("name"), Some("dense"));
    assert_eq!(vars.dataset("0").unwrap().as_f32(), kernel.as_f32());
    assert_eq!(
        weights.group("vars").unwrap().attr_str("name"),
        Some("sequential")
    );

    // The same bytes read from memory give the same tree.
    let bytes = std::fs::read(dir.join("keras3/tutorial.weights.h5")).unwrap();
    assert_eq!(h5::read_bytes(bytes, "in memory").unwrap(), weights);
}

/// (Keras) The Keras 2.0–2.2-era file stores every string as fixed-length
/// bytes; the same helpers read it.
#[test]
fn keras2_legacy_strings_are_fixed_length() {
    let Some(dir) = keras_fixtures() else { return };
    let root = read(&dir.join("keras2_legacy/tutorial.h5"));
    assert!(matches!(
        root.attr("model_config"),
        Some(H5Attr::Str(_, StrType::FixedAscii))
    ));
    let config: serde_json::Value = serde_json::from_str(root.attr_str("model_config").unwrap()).unwrap();
    assert!(config["config"].is_array());
    let mw = root.group("model_weights").unwrap();
    assert!(matches!(
        mw.attr("layer_names"),
        Some(H5Attr::StrArray(_, StrType::FixedAscii))
    ));
    assert_eq!(mw.attr_str_list("layer_names").unwrap()[0], "dense_1");
    assert_eq!(
        mw.group("activation_1")
            .unwrap()
            .attr_str_list("weight_names")
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        root.dataset("model_weights/dense_1/dense_1/kernel:0")
            .unwrap()
            .shape,
        [784, 50]
    );
}

/// A missing file is an I/O error naming the file.
#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("h5-missing");
    let path = dir.join("nope.h5");
    let err = h5::read(&path).unwrap_err();
    assert_eq!(err.kind, H5ErrorKind::Io);
    assert!(err.to_string().contains("nope.h5"), "{err}");
}

/// Bytes of a small Keras-shaped file, and (Keras) of a real Keras file.
fn sample_files() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![(
        "keras-like tree".to_string(),
        h5::to_bytes(&keras_like_tree(), "sample").unwrap(),
    )];
    if let Some(dir) = keras_fixtures() {
        for name in [
            "tf_keras/tutorial.h5",
            "keras2_legacy/tutorial.h5",
            "keras3/fused.weights.h5",
        ] {
            out.push((name.to_string(), std::fs::read(dir.join(name)).unwrap()));
        }
    }
    out
}

/// Every truncation of a valid file is an error of kind Corrupt, naming the file.
#[test]
fn truncated_files_are_errors() {
    for (name, bytes) in sample_files() {
        let n = bytes.len();
        let mut cuts: Vec<usize> = vec![
            0,
            1,
            7,
            8,
            9,
            48,
            96,
            200,
            512,
            1024,
            n / 3,
            n / 2,
            n - 100,
            n - 8,
            n - 1,
        ];
        cuts.extend((1..40).map(|i| n * i / 40));
        for cut in cuts {
            let err = h5::read_bytes(bytes[..cut].to_vec(), "cut.h5").expect_err(&format!(
                "{name} truncated to {cut} of {n} bytes read without error"
            ));
            assert_eq!(err.kind, H5ErrorKind::Corrupt, "{name} cut at {cut}: {err}");
            assert!(err.to_string().starts_with("cut.h5: "), "{err}");
        }
    }
}

/// A tiny deterministic generator for garbage bytes.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// Garbage — empty, text, random bytes, random bytes behind a valid HDF5
/// signature — is an error of kind Corrupt.
#[test]
fn garbage_is_an_error() {
    let signature = b"\x89HDF\r\n\x1a\n";
    let mut inputs = vec![Vec::new(), b"{\"class_name\": \"Sequential\"}".to_vec()];
    for seed in 0..20 {
        inputs.push(noise(seed, 64 + 97 * seed as usize));
        let mut with_sig = signature.to_vec();
        with_sig.extend(noise(seed + 100, 4096));
        inputs.push(with_sig);
    }
    for (i, bytes) in inputs.into_iter().enumerate() {
        let err =
            h5::read_bytes(bytes, "garbage.h5").expect_err(&format!("garbage input {i} read without error"));
        assert_eq!(err.kind, H5ErrorKind::Corrupt, "input {i}: {err}");
    }
}

/// Flipping bytes anywhere in a valid file never panics or hangs: the read
/// either fails with an error or succeeds (a flip inside raw data is
/// undetectable without checksums).
#[test]
fn damaged_bytes_never_panic() {
    for (name, bytes) in sample_files() {
        // Densely through the metadata at the front, then across the rest.
        let step = (bytes.len() / 400).max(1);
        let front = (0..bytes.len().min(3072)).step_by(3);
        let (mut errors, mut oks) = (0, 0);
        for pos in front.chain((0..bytes.len()).step_by(step)) {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 0xa5;
            match h5::read_bytes(damaged, "flipped.h5") {
                Ok(_) => oks += 1,
                Err(e) => {
                    assert!(e.to_string().starts_with("flipped.h5"), "{e}");
                    errors += 1;
                }
            }
        }
        eprintln!("{name}: {errors} damaged copies refused, {oks} read");
        assert!(errors > 0, "{name}: no damaged copy was refused");
    }
}
