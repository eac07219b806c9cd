//! Models whose Dense layers use every initializer microdense reads (RandomNormal,
//! RandomUniform, TruncatedNormal, Constant, Orthogonal, Identity, VarianceScaling,
//! LecunNormal, as objects with settings and as strings), trained and saved by real Keras
//! (tests/keras/make_initializer_models.py): we load them, predict what Keras predicted,
//! train one more epoch and save; Keras loads what we wrote, predicts what we did and finds
//! the initializers the original had (tests/keras/check_initializer_models.py). Then the
//! same architectures are initialized here from scratch, and each kernel has its
//! initializer's defining property.

mod keras_common;

use keras_common::{max_diff, mnist_train, read_npy, train_and_save_for_keras};
use microdense::dataset::{Dataset, Features};
use microdense::model::Model;
use microdense_core::{FanMode, Initializer, Layer, VarianceDistribution};
use microdense_tests::{keras_made, keras_python, run_keras_script, TempDir};
use serde_json::{json, Value};

#[test]
fn keras_initializers_load_train_save_and_initialize() {
    let Some(dir) = keras_made("make_initializer_models.py") else {
        return;
    };
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (_, x) = read_npy(&dir.join("x_test.npy"));
    let labels = vec![0u32; x.len() / 784];
    let test = Dataset::new(Features::F32(&x), 784, &labels).unwrap();
    let (x_train, y_train) = mnist_train(1000);
    let train = Dataset::new(Features::F32(&x_train), 784, &y_train).unwrap();
    let out = TempDir::new("initializer-models");
    let models = manifest["models"].as_array().unwrap();
    assert_eq!(models.len(), 4, "2 cases in each Keras");
    let mut jobs = Vec::new();
    for (n, m) in models.iter().enumerate() {
        let file = dir.join(m["file"].as_str().unwrap());
        let what = file.display().to_string();
        let mut model = Model::load(&file).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (_, expected) = read_npy(&dir.join(m["pred"].as_str().unwrap()));
        let diff = max_diff(&model.predict(&test).unwrap(), &expected);
        assert!(diff <= 1e-5, "{what}: outputs differ from Keras's by {diff}");

        let (saved, pred) = train_and_save_for_keras(
            &mut model,
            (&train, &test),
            out.path(),
            (m["flavour"].as_str().unwrap(), &file),
            n as u64,
        );
        jobs.push(json!({"file": saved, "pred": pred, "initializers": m["initializers"]}));

        model.initialize(7).unwrap();
        check_fresh_kernels(&model, &what);
    }
    let job_file = out.join("jobs.json");
    let jobs = json!({"x": dir.join("x_test.npy"), "models": jobs});
    std::fs::write(&job_file, jobs.to_string()).unwrap();
    let python = keras_python().expect("Keras made the fixtures");
    let report = run_keras_script(&python, "check_initializer_models.py", &[&job_file]);
    println!("{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        4,
        "{report}"
    );
}

/// Mean and standard deviation.
fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Each freshly initialized kernel (and constant bias) has its initializer's property.
fn check_fresh_kernels(model: &Model, what: &str) {
    model
        .with_network(|net| {
            for (i, named) in model.layers.iter().enumerate() {
                let Layer::Dense { units, .. } = named.layer else {
                    continue;
                };
                let (rows, cols) = (net.layer_input_width(i), units as usize);
                let params = &model.params[net.param_range(i)];
                let (kernel, bias) = params.split_at(rows * cols);
                let at = format!("{what}, {}: {:?}", named.name, named.kernel_initializer);
                let (mean, std) = moments(kernel);
                // Within 4 standard errors (the draws are seeded: the outcome is fixed).
                let n = kernel.len() as f64;
                let stat = |want_mean: f64, want_std: f64| {
                    assert!(
                        (mean - want_mean).abs() < 4.0 * want_std / n.sqrt(),
                        "{at}: mean {mean}"
                    );
                    assert!(
                        (std / want_std - 1.0).abs() < 4.0 * (2.0 / n).sqrt(),
                        "{at}: std {std}, want {want_std}"
                    );
                };
                match named.kernel_initializer {
                    Initializer::RandomNormal { mean, stddev } => stat(mean.into(), stddev.into()),
                    Initializer::RandomUniform { minval, maxval } => {
                        assert!(kernel.iter().all(|&v| (minval..maxval).contains(&v)), "{at}");
                        stat(
                            f64::from(minval + maxval) / 2.0,
                            f64::from(maxval - minval) / 12f64.sqrt(),
                        );
                    }
                    Initializer::TruncatedNormal { mean: m, stddev } => {
                        assert!(
                            kernel.iter().all(|&v| (v - m).abs() <= 2.0 * stddev * 1.0001),
                            "{at}"
                        );
                        stat(m.into(), 0.8796 * f64::from(stddev));
                    }
                    Initializer::LecunNormal => stat(0.0, (1.0 / rows as f64).sqrt()),
                    Initializer::VarianceScaling {
                        scale,
                        mode,
                        distribution,
                    } => {
                        let fan = match mode {
                            FanMode::FanIn => rows as f64,
                            FanMode::FanOut => cols as f64,
                            FanMode::FanAvg => (rows + cols) as f64 / 2.0,
                        };
                        let std = (f64::from(scale) / fan).sqrt();
                        if distribution == VarianceDistribution::Uniform {
                            let limit = (3.0f64).sqrt() * std;
                            assert!(
                                kernel.iter().all(|&v| f64::from(v).abs() <= limit * 1.0001),
                                "{at}"
                            );
                        }
                        stat(0.0, std);
                    }
                    Initializer::Orthogonal { gain } => {
                        // rows > cols here: the columns are orthogonal, each of norm `gain`.
                        for a in 0..cols {
                            for b in 0..cols {
                                let dot: f32 = (0..rows)
                                    .map(|r| kernel[r * cols + a] * kernel[r * cols + b])
                                    .sum();
                                let want = if a == b { gain * gain } else { 0.0 };
                                assert!((dot - want).abs() < 1e-4, "{at}: column {a}·{b} = {dot}");
                            }
                        }
                    }
                    Initializer::Identity { gain } => {
                        for (k, &v) in kernel.iter().enumerate() {
                            let want = if k / cols == k % cols { gain } else { 0.0 };
                            assert_eq!(v, want, "{at}: element {k}");
                        }
                    }
                    other => panic!("{at}: the fixture has no {other:?} kernel"),
                }
                match named.bias_initializer {
                    Initializer::Constant { value } => {
                        assert!(bias.iter().all(|&b| b == value), "{at}: bias")
                    }
                    Initializer::Ones => assert!(bias.iter().all(|&b| b == 1.0), "{at}: bias"),
                    Initializer::Zeros => assert!(bias.iter().all(|&b| b == 0.0), "{at}: bias"),
                    Initializer::RandomUniform { minval, maxval } => {
                        assert!(bias.iter().all(|&b| (minval..maxval).contains(&b)), "{at}: bias")
                    }
                    other => panic!("{at}: the fixture has no {other:?} bias"),
                }
            }
            Ok(())
        })
        .unwrap();
}
