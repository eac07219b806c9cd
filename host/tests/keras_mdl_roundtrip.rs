//! Issue 4: Keras `.h5` → `.mdl` → `.h5` keeps every weight, and real Keras (tf_keras and
//! Keras 3) predicts from the round-tripped file exactly what it predicted from the original.

use microdense::model::Model;
use microdense_tests::{keras_fixtures, keras_python, run_keras_script, TempDir};
use std::path::PathBuf;

#[test]
fn keras_h5_through_the_device_format_predicts_identically_in_keras() {
    let Some(fixtures) = keras_fixtures() else { return };
    let Some(python) = keras_python() else { return };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("manifest.json")).unwrap()).unwrap();
    let dir = TempDir::new("mdl-roundtrip");
    let mut args: Vec<PathBuf> = vec![fixtures.join("x_test.npy")];
    for (name, model) in manifest["models"].as_object().unwrap() {
        for flavour in ["tf_keras", "keras3"] {
            let original = fixtures.join(model[flavour]["h5"].as_str().unwrap());
            let loaded = Model::load(&original).unwrap();
            let mdl = dir.join(format!("{flavour}-{name}.mdl"));
            let back = dir.join(format!("{flavour}-{name}-back.h5"));
            loaded.save(&mdl).unwrap();
            let from_mdl = Model::load(&mdl).unwrap();
            assert_eq!(
                loaded.params.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
                from_mdl.params.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
                "{flavour}/{name}: weights through .mdl"
            );
            assert_eq!(loaded.input_shape, from_mdl.input_shape);
            from_mdl.save(&back).unwrap();
            args.push(back);
            args.push(fixtures.join(model[flavour]["pred"].as_str().unwrap()));
            args.push(PathBuf::from(flavour));
        }
    }
    let refs: Vec<&std::path::Path> = args.iter().map(PathBuf::as_path).collect();
    let report = run_keras_script(&python, "predict_same.py", &refs);
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        (args.len() - 1) / 3 * 2,
        "{report}"
    );
}
