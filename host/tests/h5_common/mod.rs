//! Shared by the `h5_*` integration tests: our tree in the JSON shape that
//! `tests/keras/h5dump.py` prints for what h5py sees, and a Keras-shaped tree.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use microdense::h5::{H5Attr, H5Data, H5Dataset, H5Group, StrType};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Runs `h5dump.py` on `files`; returns the map from file name to its dump.
pub fn h5py_dump(python: &Path, files: &[&Path]) -> Map<String, Value> {
    let out = microdense_tests::run_keras_script(python, "h5dump.py", files);
    match serde_json::from_str(&out).expect("h5dump.py prints JSON") {
        Value::Object(map) => map,
        other => panic!("h5dump.py printed {other}"),
    }
}

/// Lower-case hex of bytes.
fn hex(bytes: impl IntoIterator<Item = u8>) -> String {
    bytes.into_iter().map(|b| format!("{b:02x}")).collect()
}

/// One attribute as h5dump.py describes it.
fn attr_json(attr: &H5Attr) -> Value {
    let string = |t: &StrType, shape: Value, value: Value, size: usize| {
        let vlen = matches!(t, StrType::VarAscii | StrType::VarUtf8);
        let cset = match t {
            StrType::VarAscii | StrType::FixedAscii => "ascii",
            _ => "utf8",
        };
        let mut e = json!({
            "class": "string", "vlen": vlen, "cset": cset,
            "pad": if vlen { "nullterm" } else { "nullpad" },
            "shape": shape, "value": value,
        });
        if !vlen {
            e["size"] = json!(size.max(1));
        }
        e
    };
    match attr {
        H5Attr::Str(s, t) => string(t, json!([]), json!(s), s.len()),
        H5Attr::StrArray(v, t) => string(
            t,
            json!([v.len()]),
            json!(v),
            v.iter().map(String::len).max().unwrap_or(0),
        ),
        H5Attr::F64Array(v) => {
            json!({"class": "float", "dtype": "<f8", "shape": [v.len()], "value": v})
        }
        H5Attr::Unsupported(d) => panic!("unexpected unsupported attribute {d}"),
    }
}

/// One dataset as h5dump.py describes it (we read no dataset attributes).
fn dataset_json(d: &H5Dataset) -> Value {
    let (dtype, bytes) = match &d.data {
        H5Data::F32(v) => ("<f4", hex(v.iter().flat_map(|x| x.to_le_bytes()))),
        H5Data::F64(v) => ("<f8", hex(v.iter().flat_map(|x| x.to_le_bytes()))),
        H5Data::I64(v) => ("<i8", hex(v.iter().flat_map(|x| x.to_le_bytes()))),
        H5Data::Stored(s) => panic!("dataset not read: {s:?}"),
    };
    json!({"dtype": dtype, "shape": d.shape, "hex": bytes, "attrs": []})
}

/// Our tree in h5dump.py's shape: `{"groups": {path: {"attrs"}}, "datasets": {path: ...}}`.
pub fn tree_json(root: &H5Group) -> Value {
    fn walk(g: &H5Group, path: &str, groups: &mut Map<String, Value>, datasets: &mut Map<String, Value>) {
        let attrs: Map<String, Value> = g.attrs.iter().map(|(n, a)| (n.clone(), attr_json(a))).collect();
        groups.insert(path.to_string(), json!({ "attrs": attrs }));
        let child = |name: &str| {
            if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            }
        };
        for (n, d) in &g.datasets {
            datasets.insert(child(n), dataset_json(d));
        }
        for (n, c) in &g.groups {
            walk(c, &child(n), groups, datasets);
        }
    }
    let (mut groups, mut datasets) = (Map::new(), Map::new());
    walk(root, "/", &mut groups, &mut datasets);
    json!({"groups": groups, "datasets": datasets})
}

/// Asserts two dumps are equal, naming the first differing object.
pub fn assert_same_dump(what: &str, ours: &Value, theirs: &Value) {
    for kind in ["groups", "datasets"] {
        let (a, b) = (&ours[kind], &theirs[kind]);
        let a = a.as_object().expect("object");
        let b = b.as_object().expect("object");
        for key in a.keys().chain(b.keys()) {
            assert_eq!(
                a.get(key),
                b.get(key),
                "{what}: {kind} {key} differs (left: ours, right: h5py)"
            );
        }
    }
}

/// Sorts attributes, groups and datasets by name, recursively (our reader lists
/// children in the file's link order, which need not be insertion order).
pub fn sorted(mut g: H5Group) -> H5Group {
    g.attrs.sort_by(|a, b| a.0.cmp(&b.0));
    g.datasets.sort_by(|a, b| a.0.cmp(&b.0));
    g.groups.sort_by(|a, b| a.0.cmp(&b.0));
    g.groups = g.groups.into_iter().map(|(n, c)| (n, sorted(c))).collect();
    g
}

/// A tree shaped like tf_keras's `model.save("x.h5")` of a 3 → 2 Dense model,
/// plus one of every other kind of value the module supports.
pub fn keras_like_tree() -> H5Group {
    let kernel: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 0.5).collect();
    let mut root = H5Group::new();
    root.set_attr("backend", H5Attr::var_utf8("tensorflow"));
    root.set_attr("keras_version", H5Attr::var_utf8("2.21.0"));
    root.set_attr(
        "model_config",
        H5Attr::var_ascii(r#"{"class_name": "Sequential"}"#),
    );
    root.set_attr(
        "training_config",
        H5Attr::var_ascii(r#"{"loss": "categorical_crossentropy"}"#),
    );
    root.set_attr(
        "note_fixed",
        H5Attr::Str("fixed bytes".into(), StrType::FixedAscii),
    );
    root.set_attr("note_utf8", H5Attr::Str("héllo ✓".into(), StrType::FixedUtf8));
    root.set_attr("zz_vlen_utf8", H5Attr::var_utf8("naïve — ünïcode"));
    let mw = root.ensure_group("model_weights");
    mw.set_attr("backend", H5Attr::var_ascii("tensorflow"));
    mw.set_attr("keras_version", H5Attr::var_ascii("2.21.0"));
    mw.set_attr("layer_names", H5Attr::name_list(["dense", "activation"]));
    mw.ensure_group("dense").set_attr(
        "weight_names",
        H5Attr::name_list(["dense/kernel:0", "dense/bias:0"]),
    );
    mw.insert_dataset("dense/dense/kernel:0", H5Dataset::f32(vec![3, 2], kernel.clone()));
    mw.insert_dataset("dense/dense/bias:0", H5Dataset::f32(vec![2], vec![0.125, -1.5]));
    mw.ensure_group("activation")
        .set_attr("weight_names", H5Attr::name_list(Vec::<String>::new()));
    let ow = root.ensure_group("optimizer_weights");
    ow.set_attr(
        "weight_names",
        H5Attr::name_list(["iteration:0", "SGD/m/dense/kernel:0"]),
    );
    ow.insert_dataset("iteration:0", H5Dataset::scalar_i64(188));
    ow.insert_dataset("SGD/m/dense/kernel:0", H5Dataset::f32(vec![3, 2], kernel));
    ow.insert_dataset("sgd/learning_rate", H5Dataset::scalar_f32(0.01));
    let misc = root.ensure_group("misc");
    misc.set_attr(
        "fixed_list",
        H5Attr::StrArray(vec!["a".into(), "bcd".into()], StrType::FixedAscii),
    );
    misc.set_attr("floats", H5Attr::F64Array(vec![1.5, -2.0, 1e-7]));
    misc.set_attr(
        "utf8_list",
        H5Attr::StrArray(vec!["α".into(), "βγ".into()], StrType::VarUtf8),
    );
    misc.insert_dataset(
        "cube",
        H5Dataset::f32(vec![2, 2, 2], (0..8).map(|i| i as f32).collect()),
    );
    misc.insert_dataset("doubles", H5Dataset::f64(vec![3], vec![0.1, f64::MAX, -0.0]));
    misc.insert_dataset("empty", H5Dataset::f32(vec![0], Vec::new()));
    misc.insert_dataset("scalar_f64", H5Dataset::f64(Vec::new(), vec![2.5]));
    root
}
