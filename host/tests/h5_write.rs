//! Writing HDF5: trees round-trip, h5py sees exactly what Keras writes, real
//! Keras loads rewritten files, and a failed write leaves the old file alone.
//!
//! Tests marked "(Keras)" skip with a printed reason when the Keras venv is
//! unavailable, unless `MICRODENSE_REQUIRE_KERAS` is set (then they fail).

mod h5_common;

use h5_common::{assert_same_dump, h5py_dump, keras_like_tree, sorted, tree_json};
use microdense::h5::{self, H5Attr, H5Dataset, H5ErrorKind, H5Group};
use microdense_tests::{files_with_suffix, keras_fixtures, keras_python, run_keras_script, TempDir};
use serde_json::json;
use std::path::Path;

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A tree written to bytes reads back identical (up to child order).
#[test]
fn in_memory_round_trip() {
    let tree = keras_like_tree();
    let bytes = h5::to_bytes(&tree, "mem").unwrap();
    let back = h5::read_bytes(bytes, "mem").unwrap();
    assert_eq!(sorted(back), sorted(tree));
}

/// Writing goes through a temporary file: the result replaces the old file
/// and nothing else is left in the directory.
#[test]
fn write_replaces_the_file_and_leaves_no_temporary() {
    let dir = TempDir::new("h5-replace");
    let path = dir.join("model.h5");
    h5::write(&path, &keras_like_tree()).unwrap();
    let mut second = H5Group::new();
    second.set_attr("only", H5Attr::var_ascii("this"));
    h5::write(&path, &second).unwrap();
    assert_eq!(h5::read(&path).unwrap(), second);
    assert_eq!(listing(dir.path()), ["model.h5"]);
}

/// Trees that cannot be written are refused with an error naming the object,
/// and the file already there stays as it was.
#[test]
fn invalid_trees_are_refused_and_the_old_file_survives() {
    let dir = TempDir::new("h5-invalid");
    let path = dir.join("keep.h5");
    h5::write(&path, &keras_like_tree()).unwrap();
    let before = std::fs::read(&path).unwrap();

    let mut bad_shape = H5Group::new();
    bad_shape.insert_dataset("w/kernel", H5Dataset::f32(vec![2, 3], vec![1.0; 5]));
    let mut slash = H5Group::new();
    slash.datasets.push(("a/b".into(), H5Dataset::scalar_i64(1)));
    let mut dot = H5Group::new();
    dot.groups.push((".".into(), H5Group::new()));
    let mut duplicate = H5Group::new();
    duplicate.ensure_group("x");
    duplicate.insert_dataset("x", H5Dataset::scalar_f32(1.0));
    let mut unsupported = H5Group::new();
    unsupported
        .ensure_group("g")
        .set_attr("odd", H5Attr::Unsupported("attribute of type i32".into()));
    let mut twin_attrs = H5Group::new();
    twin_attrs.attrs.push(("a".into(), H5Attr::var_ascii("1")));
    twin_attrs.attrs.push(("a".into(), H5Attr::var_ascii("2")));

    let cases = [
        (bad_shape, "/w/kernel"),
        (slash, "/"),
        (dot, "/"),
        (duplicate, "/"),
        (unsupported, "/g@odd"),
        (twin_attrs, "/"),
    ];
    for (i, (tree, object)) in cases.into_iter().enumerate() {
        let err = h5::write(&path, &tree).expect_err(&format!("invalid tree {i} was written"));
        assert_eq!(err.kind, H5ErrorKind::Invalid, "case {i}: {err}");
        assert_eq!(err.object, object, "case {i}: {err}");
        assert!(err.to_string().contains("keep.h5"), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(listing(dir.path()), ["keep.h5"]);
}

/// A destination in a missing directory is an I/O error naming the file.
#[test]
fn unwritable_destination_is_an_io_error() {
    let dir = TempDir::new("h5-unwritable");
    let path = dir.join("no/such/dir/model.h5");
    let err = h5::write(&path, &keras_like_tree()).unwrap_err();
    assert_eq!(err.kind, H5ErrorKind::Io);
    assert!(err.to_string().contains("model.h5"), "{err}");
}

/// (Keras) h5py sees in our file exactly the datatypes Keras writes: variable-
/// length ASCII `model_config`, UTF-8 `backend`, variable-length ASCII name
/// arrays, float64 shape-(0,) empty `weight_names`, scalar int64 iteration,
/// scalar float32 learning rate, fixed-length null-padded byte strings — and
/// the whole dump equals our tree's.
#[test]
fn h5py_reads_what_keras_writes() {
    let Some(python) = keras_python() else { return };
    let dir = TempDir::new("h5-h5py");
    let path = dir.join("written.h5");
    let tree = keras_like_tree();
    h5::write(&path, &tree).unwrap();
    let dumps = h5py_dump(&python, &[&path]);
    let dump = &dumps[&path.display().to_string()];
    let root = &dump["groups"]["/"]["attrs"];
    assert_eq!(root["model_config"]["vlen"], true);
    assert_eq!(root["model_config"]["cset"], "ascii");
    assert_eq!(root["model_config"]["shape"], json!([]));
    assert_eq!(root["backend"]["cset"], "utf8");
    assert_eq!(root["note_fixed"]["vlen"], false);
    assert_eq!(root["note_fixed"]["pad"], "nullpad");
    assert_eq!(root["note_utf8"]["value"], "héllo ✓");
    let names = &dump["groups"]["/model_weights"]["attrs"]["layer_names"];
    assert_eq!(names["vlen"], true);
    assert_eq!(names["shape"], json!([2]));
    let empty = &dump["groups"]["/model_weights/activation"]["attrs"]["weight_names"];
    assert_eq!(
        empty,
        &json!({"class": "float", "dtype": "<f8", "shape": [0], "value": []})
    );
    let datasets = &dump["datasets"];
    assert_eq!(datasets["/optimizer_weights/iteration:0"]["dtype"], "<i8");
    assert_eq!(datasets["/optimizer_weights/iteration:0"]["shape"], json!([]));
    assert_eq!(datasets["/optimizer_weights/sgd/learning_rate"]["dtype"], "<f4");
    assert_eq!(
        datasets["/optimizer_weights/sgd/learning_rate"]["shape"],
        json!([])
    );
    assert_eq!(
        datasets["/model_weights/dense/dense/kernel:0"]["shape"],
        json!([3, 2])
    );
    assert_eq!(datasets["/misc/empty"]["shape"], json!([0]));
    assert_same_dump("keras-like tree", &tree_json(&tree), dump);
}

/// (Keras) Every .h5 fixture, read and written again, is identical to the
/// original as h5py sees it, and real Keras loads the copies: tf_keras and
/// Keras 3 `load_model` predict exactly as before and restore the optimizer
/// state; `load_weights` of the weights files restores the predictions.
#[test]
fn keras_fixtures_rewrite_identically_and_load_in_keras() {
    let (Some(python), Some(dir)) = (keras_python(), keras_fixtures()) else {
        return;
    };
    let copies = TempDir::new("h5-copies");
    let files = files_with_suffix(&dir, ".h5");
    let mut pairs = Vec::new();
    for original in &files {
        let relative = original.strip_prefix(&dir).unwrap();
        let copy = copies.join(relative);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        h5::write(&copy, &h5::read(original).unwrap()).unwrap();
        pairs.push((original.clone(), copy));
    }
    let all: Vec<&Path> = pairs
        .iter()
        .flat_map(|(a, b)| [a.as_path(), b.as_path()])
        .collect();
    let dumps = h5py_dump(&python, &all);
    for (original, copy) in &pairs {
        let what = format!("{} rewritten", original.display());
        assert_same_dump(
            &what,
            &dumps[&copy.display().to_string()],
            &dumps[&original.display().to_string()],
        );
    }
    let report = run_keras_script(&python, "load_check.py", &[&dir, copies.path()]);
    eprintln!("{report}");
    assert!(
        report.lines().filter(|l| l.starts_with("ok ")).count() >= 20,
        "{report}"
    );
}
