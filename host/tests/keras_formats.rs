//! Our own files read back exactly (every format, compile settings, optimizer state),
//! loading by order and by name, and bad files giving clear errors — no Keras needed.

mod keras_common;

use keras_common::{predict, test_models, trained_models};
use microdense::model::Model;
use microdense::model_io::{KerasError, LoadWeights};
use microdense_tests::TempDir;

/// The tutorial's model as tf_keras's `to_json()` writes it, with `layer` (an entry of
/// the layer list) put after the first Dense.
fn tutorial_json_with(layer: &str) -> String {
    let model = Model::from_spec(microdense::model::TUTORIAL_SPEC, 1).unwrap();
    let json = model.to_json();
    let marker = r#"{"module": "keras.layers", "class_name": "Activation""#;
    let at = json.find(marker).unwrap();
    format!("{}{layer}, {}", &json[..at], &json[at..])
}

#[test]
fn every_format_round_trips_exactly() {
    let dir = TempDir::new("keras-formats");
    let x: Vec<f32> = keras_common::mnist_train(50).0;
    for (name, model) in trained_models(96) {
        for file in [format!("{name}.h5"), format!("{name}.keras")] {
            let path = dir.join(&file);
            model.save(&path).unwrap();
            let back = Model::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(back, model, "{file}");
        }
        for file in [format!("{name}.json"), format!("{name}.yaml")] {
            model.save(dir.join(&file)).unwrap();
            let mut back = Model::load(dir.join(&file)).unwrap();
            assert_eq!(back.layers, model.layers, "{file}");
            assert_eq!(
                (back.kind, &back.name, &back.input_name, &back.input_shape),
                (model.kind, &model.name, &model.input_name, &model.input_shape)
            );
            assert_ne!(back.params, model.params, "{file}: weights are fresh");
            for weights in [format!("{name}.weights.h5"), format!("{name}_w.h5")] {
                model.save_weights(dir.join(&weights)).unwrap();
                back.load_weights(dir.join(&weights), LoadWeights::default())
                    .unwrap();
                assert_eq!(back.params, model.params, "{weights}");
                assert_eq!(predict(&back, &x), predict(&model, &x));
                back.initialize(3).unwrap();
            }
        }
        assert_eq!(Model::from_json(&model.to_json()).unwrap().layers, model.layers);
        assert_eq!(
            Model::from_yaml(&model.to_yaml().unwrap()).unwrap().layers,
            model.layers
        );
    }
}

#[test]
fn json_has_tf_keras_shape() {
    let model = Model::from_spec(microdense::model::TUTORIAL_SPEC, 1).unwrap();
    let json: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
    assert_eq!(json["class_name"], "Sequential");
    assert_eq!(json["keras_version"], "2.21.0");
    let layers = json["config"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 7);
    assert_eq!(layers[0]["class_name"], "InputLayer");
    assert_eq!(
        layers[0]["config"]["batch_input_shape"],
        serde_json::json!([null, 784])
    );
    assert_eq!(layers[1]["config"]["activation"], "linear");
    assert_eq!(
        layers[1]["config"]["kernel_initializer"]["class_name"],
        "GlorotUniform"
    );
    assert_eq!(
        layers[2]["build_config"]["input_shape"],
        serde_json::json!([null, 50])
    );
    assert!(model
        .to_json()
        .starts_with(r#"{"class_name": "Sequential", "config": {"name": "sequential", "layers": ["#));
}

#[test]
fn by_name_loads_matching_layers_and_skips_mismatches() {
    let dir = TempDir::new("keras-by-name");
    let source = Model::from_spec("784,32:relu,16:relu,10:softmax", 1).unwrap();
    for file in ["src.h5", "src.weights.h5"] {
        source.save_weights(dir.join(file)).unwrap();
        // Same first two layers, a new 5-class head named like the old one.
        let mut target = Model::from_spec("784,32:relu,16:relu,5:softmax", 2).unwrap();
        let before = target.params.clone();
        let err = target
            .load_weights(
                dir.join(file),
                LoadWeights {
                    by_name: true,
                    skip_mismatch: false,
                },
            )
            .unwrap_err();
        assert!(matches!(err, KerasError::WeightShape { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("\"dense_2\"") && msg.contains("(16, 10)") && msg.contains("(16, 5)"),
            "{msg}"
        );
        assert_eq!(target.params, before, "unchanged on error");
        let report = target
            .load_weights(
                dir.join(file),
                LoadWeights {
                    by_name: true,
                    skip_mismatch: true,
                },
            )
            .unwrap();
        assert_eq!(report.loaded, ["dense", "dense_1"], "{file}");
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].0, "dense_2");
        let n = 784 * 32 + 32 + 32 * 16 + 16;
        assert_eq!(target.params[..n], source.params[..n]);
        assert_eq!(target.params[n..], before[n..]);
    }
}

#[test]
fn wrong_weight_shapes_name_layer_and_both_shapes() {
    let dir = TempDir::new("keras-shapes");
    let source = Model::from_spec("784,50,sigmoid,10,softmax", 1).unwrap();
    let mut target = Model::from_spec("784,40,sigmoid,10,softmax", 1).unwrap();
    for file in ["w.h5", "w.weights.h5"] {
        source.save_weights(dir.join(file)).unwrap();
        let err = target
            .load_weights(dir.join(file), LoadWeights::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"dense\"") && err.contains("(784, 50)") && err.contains("(784, 40)"),
            "{err}"
        );
        assert!(err.contains(file), "{err}");
    }
    let mut fewer = Model::from_spec("784,10,softmax", 1).unwrap();
    let err = fewer
        .load_weights(dir.join("w.h5"), LoadWeights::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 layers") && err.contains("1 layers"), "{err}");
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = TempDir::new("keras-bad");
    let mut model = test_models().remove(0).1;
    model.optimizer = Some(Default::default());
    model.save(dir.join("m.h5")).unwrap();
    let bytes = std::fs::read(dir.join("m.h5")).unwrap();
    for cut in [0, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(dir.join("cut.h5"), &bytes[..cut]).unwrap();
        let err = Model::load(dir.join("cut.h5")).unwrap_err();
        assert!(matches!(err, KerasError::H5(_)), "cut at {cut}: {err}");
        assert!(err.to_string().contains("cut.h5"), "{err}");
    }
    // A weights-only file has no model_config.
    model.save_weights(dir.join("w.h5")).unwrap();
    let err = Model::load(dir.join("w.h5")).unwrap_err().to_string();
    assert!(err.contains("w.h5") && err.contains("model_config"), "{err}");
    // A .keras archive that is not a zip, and one without its weights.
    std::fs::write(dir.join("bad.keras"), b"not a zip").unwrap();
    let err = Model::load(dir.join("bad.keras")).unwrap_err().to_string();
    assert!(err.contains("bad.keras") && err.contains("zip"), "{err}");
    // Unknown extensions.
    let err = Model::load(dir.join("m.txt")).unwrap_err();
    assert!(matches!(err, KerasError::Extension { .. }), "{err}");
    assert!(model.save(dir.join("m.txt")).is_err());
    // The device format: a file that is not one is named; a saved one reads back.
    std::fs::write(dir.join("junk.mdl"), b"not a model").unwrap();
    let err = Model::load(dir.join("junk.mdl")).unwrap_err();
    assert!(
        matches!(err, KerasError::DeviceFormat { .. }) && err.to_string().contains("junk.mdl"),
        "{err}"
    );
    model.save(dir.join("m.mdl")).unwrap();
    assert_eq!(Model::load(dir.join("m.mdl")).unwrap().params, model.params);
    let err = Model::load(dir.join("m.weights.h5")).unwrap_err().to_string();
    assert!(err.contains("load_weights"), "{err}");
    assert!(matches!(
        Model::load(dir.join("missing.h5")).unwrap_err(),
        KerasError::H5(_)
    ));
}

#[test]
fn unsupported_layers_are_refused_by_class_name_and_alternative() {
    for (class, name, alternative) in [
        ("Conv2D", "conv", "Flatten followed by Dense"),
        ("LSTM", "lstm", "Flatten followed by Dense"),
        (
            "Lambda",
            "my_lambda",
            "an Activation, Rescaling or Normalization layer",
        ),
        ("Dot", "dot", "Multiply followed by Dense"),
        (
            "MyCustomLayer",
            "custom",
            "Dense with one of the supported activations",
        ),
    ] {
        let layer = format!(
            r#"{{"class_name": "{class}", "config": {{"name": "{name}", "function": "lambda x: x"}}}}"#
        );
        let err = Model::from_json(&tutorial_json_with(&layer)).unwrap_err();
        assert!(matches!(err, KerasError::UnsupportedLayer { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(class) && msg.contains(&format!("\"{name}\"")),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("nearest supported: {alternative}")),
            "{msg}"
        );
        if class == "Lambda" {
            assert!(msg.contains("never runs"), "{msg}");
        }
    }
}

#[test]
fn new_layer_settings_out_of_reach_are_named() {
    for (layer, what) in [
        (
            r#"{"class_name": "BatchNormalization", "config": {"name": "bn", "axis": 0}}"#,
            "axis 0",
        ),
        (
            r#"{"class_name": "BatchNormalization", "config": {"name": "bn", "renorm": true}}"#,
            "renorm",
        ),
        (
            r#"{"class_name": "LayerNormalization", "config": {"name": "ln", "rms_scaling": true}}"#,
            "rms_scaling",
        ),
        (
            r#"{"class_name": "PReLU", "config": {"name": "p", "shared_axes": [1]}}"#,
            "shared_axes",
        ),
        (
            r#"{"class_name": "Normalization", "config": {"name": "n", "mean": 0.5, "variance": 2.0}}"#,
            "adapt",
        ),
        (
            r#"{"class_name": "Reshape", "config": {"name": "r", "target_shape": [5, 10]}}"#,
            "only to one dimension",
        ),
        (
            r#"{"class_name": "GaussianDropout", "config": {"name": "g", "rate": 1.5}}"#,
            "dropout rate",
        ),
        (r#"{"class_name": "Rescaling", "config": {"name": "s"}}"#, "scale"),
    ] {
        let err = Model::from_json(&tutorial_json_with(layer))
            .unwrap_err()
            .to_string();
        assert!(err.contains(what), "{layer}: {err}");
    }
}

#[test]
fn arch_specs_name_the_new_layers() {
    let model = Model::from_spec(
        "784,rescale:0.00392,64,bn,relu,leaky_relu:0.2,prelu,elu:0.5,relu:6,ln,normalize,\
         gaussian_noise:0.1,gaussian_dropout:0.2,alpha_dropout:0.1,identity,reshape,\
         activity_reg:0.01,10,softmax_layer",
        1,
    )
    .unwrap();
    let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rescaling",
            "dense",
            "batch_normalization",
            "activation",
            "leaky_re_lu",
            "p_re_lu",
            "elu",
            "re_lu",
            "layer_normalization",
            "normalization",
            "gaussian_noise",
            "gaussian_dropout",
            "alpha_dropout",
            "identity",
            "reshape",
            "activity_regularization",
            "dense_1",
            "softmax"
        ]
    );
    for bad in [
        "784,bn:x",
        "784,rescale",
        "784,prelu:2",
        "784,leaky_relu:1:2",
        "784,frobnicate",
    ] {
        assert!(Model::from_spec(bad, 1).is_err(), "{bad}");
    }
}

#[test]
fn bad_configs_are_named() {
    let nan = tutorial_json_with(r#"{"class_name": "Dropout", "config": {"name": "d", "rate": NaN}}"#);
    let err = Model::from_json(&nan).unwrap_err();
    assert!(
        matches!(err, KerasError::Json { .. }) && err.to_string().contains("NaN"),
        "{err}"
    );
    let init = Model::from_json(
        &Model::from_spec("784,10,softmax", 1)
            .unwrap()
            .to_json()
            .replace("GlorotUniform", "STFTInitializer"),
    );
    let msg = init.unwrap_err().to_string();
    assert!(
        msg.contains("STFTInitializer") && msg.contains("\"dense\"") && msg.contains("kernel_initializer"),
        "{msg}"
    );
    let setting = Model::from_json(&Model::from_spec("784,10,softmax", 1).unwrap().to_json().replace(
        r#""GlorotUniform", "config": {"seed": null}"#,
        r#""RandomNormal", "config": {"stddev": "wide"}"#,
    ));
    let msg = setting.unwrap_err().to_string();
    assert!(
        msg.contains("RandomNormal") && msg.contains("stddev") && msg.contains("\"dense\""),
        "{msg}"
    );
    let act = Model::from_json(
        &Model::from_spec("784,10:softmax", 1)
            .unwrap()
            .to_json()
            .replace("\"softmax\"", "\"mish\""),
    );
    assert!(act.unwrap_err().to_string().contains("\"mish\""));
    for (key, value) in [
        ("kernel_regularizer", r#"{"class_name": "OrthogonalRegularizer"}"#),
        (
            "activity_regularizer",
            r#"{"class_name": "OrthogonalRegularizer"}"#,
        ),
    ] {
        let reg = Model::from_json(&Model::from_spec("784,10", 1).unwrap().to_json().replacen(
            &format!(r#""{key}": null"#),
            &format!(r#""{key}": {value}"#),
            1,
        ));
        let message = reg.unwrap_err().to_string();
        assert!(message.contains(key), "{message}");
    }
    assert!(matches!(
        Model::from_json("[1, 2]").unwrap_err(),
        KerasError::Config { .. }
    ));
    assert!(matches!(
        Model::from_yaml("a: [unclosed").unwrap_err(),
        KerasError::Yaml { .. }
    ));
}

#[test]
fn bad_functional_graphs_are_refused_naming_the_layer() {
    let mut model = test_models().remove(3).1;
    model.compile = None;
    let json = model.to_json();
    let rewired = |from: &str, to: &str| {
        let out = json.replace(from, to);
        assert_ne!(out, json);
        Model::from_json(&out).unwrap_err().to_string()
    };
    // "probs" takes its input from "dense": nothing takes "dropout"'s output.
    let err = rewired(r#"[[["dropout", 0, 0, {}]]]"#, r#"[[["dense", 0, 0, {}]]]"#);
    assert!(
        err.contains("\"dropout\"") && err.contains("used by no layer"),
        "{err}"
    );
    // A Dense layer given two inputs.
    let err = rewired(
        r#"[[["dropout", 0, 0, {}]]]"#,
        r#"[[["dropout", 0, 0, {}], ["dense", 0, 0, {}]]]"#,
    );
    assert!(
        err.contains("\"probs\"") && err.contains("wrong input count"),
        "{err}"
    );
    // A cycle, and an input that is no layer.
    let err = rewired(r#"[[["pixels", 0, 0, {}]]]"#, r#"[[["probs", 0, 0, {}]]]"#);
    assert!(err.contains("\"flatten\"") && err.contains("cycle"), "{err}");
    let err = rewired(r#"[[["pixels", 0, 0, {}]]]"#, r#"[[["nowhere", 0, 0, {}]]]"#);
    assert!(err.contains("\"nowhere\", which is not a layer"), "{err}");
}
