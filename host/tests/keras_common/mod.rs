//! Shared by the `keras_*` tests: `.npy` files, the test models (chains and graphs) trained briefly on
//! MNIST, and prediction helpers.
#![allow(dead_code)]

use microdense::budget::ParamBudget;
use microdense::dataset::{Dataset, Features};
use microdense::fit::FitOptions;
use microdense::mnist::Mnist;
use microdense::model::{Compile, Model, ModelKind};
use microdense_core::{Activation, Layer, Loss, Merge, Optimizer, Sgd, Source};
use std::path::Path;
use std::sync::OnceLock;

/// How far (relative) our resumed epoch's mean loss may land from Keras's continuing
/// the same file.
pub const LOSS_TOLERANCE: f64 = 0.01;

/// One epoch as the Keras scripts run it to measure a `continued_loss`: batches of 32
/// in order; the mean loss.
pub fn epoch_in_order(model: &mut Model, x: &[f32], labels: &[u32]) -> f64 {
    let data = Dataset::new(Features::F32(x), 784, labels).unwrap();
    let options = FitOptions {
        epochs: 1,
        batch_size: 32,
        seed: 1,
        shuffle: false,
        threads: 2,
    };
    model.fit(&data, None, &options, &mut |_| {}).unwrap()[0].loss
}

/// Our resumed loss within [`LOSS_TOLERANCE`] of Keras's.
#[track_caller]
pub fn assert_close_loss(ours: f64, keras: f64, what: &str) {
    let off = (ours - keras).abs() / keras;
    assert!(
        off <= LOSS_TOLERANCE,
        "{what}: resumed loss {ours:.5}, Keras {keras:.5} ({:.2}% apart)",
        off * 100.0
    );
}

/// One more epoch of a Keras-made model (batch 50, shuffled with `seed`), then saved
/// under `out` in the format of `file` as `<flavour>_<file name>`, its predictions on
/// `test` (500 × 10) beside it: (the saved model, its predictions), for a Keras script
/// to check.
pub fn train_and_save_for_keras(
    model: &mut Model,
    (train, test): (&Dataset<'_>, &Dataset<'_>),
    out: &Path,
    (flavour, file): (&str, &Path),
    seed: u64,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let options = FitOptions {
        epochs: 1,
        batch_size: 50,
        seed,
        ..FitOptions::default()
    };
    model.fit(train, None, &options, &mut |_| {}).unwrap();
    let name = format!("{flavour}_{}", file.file_name().unwrap().to_str().unwrap());
    let saved = out.join(&name);
    model.save(&saved).unwrap();
    let pred = out.join(format!("{name}_pred.npy"));
    write_npy(&pred, &[500, 10], &model.predict(test).unwrap());
    (saved, pred)
}

/// Reads a little-endian float32 `.npy` file: (shape, values).
pub fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not .npy", path.display());
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{}: {header}", path.display());
    assert!(header.contains("'fortran_order': False"), "{header}");
    let dims = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[start + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>(), "{}", path.display());
    (shape, data)
}

/// Writes a float32 `.npy` file (version 1.0).
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dims = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// The model's outputs for `x` (rows of the model's input width).
pub fn predict(model: &Model, x: &[f32]) -> Vec<f32> {
    let width = model.input_width();
    let labels = vec![0u32; x.len() / width];
    let data = Dataset::new(Features::F32(x), width, &labels).unwrap();
    model.predict(&data).unwrap()
}

/// Largest absolute difference.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// MNIST's first `n` training images (scaled to [0, 1]) and labels.
pub fn mnist_train(n: usize) -> (Vec<f32>, Vec<u32>) {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    let mnist = MNIST.get_or_init(|| {
        Mnist::load_idx_dir(&microdense_tests::mnist_dir())
            .expect("MNIST where microdense_tests::mnist_dir() looks (MNIST_DIR, data/mnist, the cache)")
    });
    let x = mnist.train.images[..n * 784]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let y = mnist.train.labels[..n].iter().map(|&l| l as u32).collect();
    (x, y)
}

/// The test models of the interop suite, untrained, compiled:
/// `tutorial` (plain SGD), `fused` (momentum), `nobias_dropout` (Nesterov),
/// `functional` (a Functional chain from 28×28 inputs, momentum), `bn_relu` (Dense →
/// BatchNormalization → relu), `preprocessing` (Rescaling, LeakyReLU, a Softmax layer) and
/// `zoo` (every other layer: Normalization, LayerNormalization, PReLU, the noise layers,
/// ReLU, ELU, Identity, Reshape, ActivityRegularization).
pub fn test_models() -> Vec<(&'static str, Model)> {
    let sgd = |learning_rate, momentum, nesterov| Compile {
        loss: Loss::CategoricalCrossentropy.into(),
        optimizer: Optimizer::from(Sgd {
            learning_rate,
            momentum,
            nesterov,
        }),
        metrics: vec!["accuracy".into()],
    };
    let mut tutorial = Model::from_spec(microdense::model::TUTORIAL_SPEC, 11).unwrap();
    tutorial.compile(sgd(0.01, 0.0, false));
    let mut fused = Model::from_spec("784,32:relu,16:tanh,10:softmax", 12).unwrap();
    fused.compile(sgd(0.05, 0.9, false));
    let mut nobias =
        Model::from_spec("784,40:sigmoid:nobias,dropout:0.2,10:linear:nobias,softmax", 13).unwrap();
    nobias.compile(sgd(0.1, 0.8, true));
    let mut functional = Model::from_spec("28x28,flatten,24:relu,dropout:0.1,10:softmax", 14).unwrap();
    functional.kind = ModelKind::Functional;
    functional.name = "chain".into();
    functional.input_name = "pixels".into();
    functional.layers.last_mut().unwrap().name = "probs".into();
    functional.compile(sgd(0.02, 0.5, false));
    // Issue 12's two motivating models, then every other layer of core's.
    let mut bn = Model::from_spec("784,48,bn,relu,10:softmax", 15).unwrap();
    bn.compile(sgd(0.05, 0.9, false));
    let mut preprocessing =
        Model::from_spec("784,rescale:2:-1,32,leaky_relu:0.2,10,softmax_layer", 16).unwrap();
    preprocessing.compile(sgd(0.05, 0.0, false));
    let mut zoo = Model::from_spec(
        "784,normalize,ln,32,prelu,gaussian_noise:0.1,24,elu:0.5,alpha_dropout:0.1,\
         gaussian_dropout:0.1,relu:6:0.1:0.05,identity,reshape,activity_reg:0.0001:0.001,\
         bn:0.9:0.01,10:softmax",
        17,
    )
    .unwrap();
    zoo.compile(sgd(0.02, 0.5, true));
    let [residual, wide_deep, merges] = graph_models(sgd);
    vec![
        ("tutorial", tutorial),
        ("fused", fused),
        ("nobias_dropout", nobias),
        ("functional", functional),
        ("bn_relu", bn),
        ("preprocessing", preprocessing),
        ("zoo", zoo),
        ("residual", residual),
        ("wide_deep", wide_deep),
        ("merges", merges),
    ]
}

/// A Functional graph on 784 inputs named `name`: each layer with its inputs.
pub fn graph_model(name: &str, layers: &[(Layer, &[Source])], seed: u64) -> Model {
    let mut model = Model::from_graph(vec![784], layers, seed, ParamBudget::default()).unwrap();
    model.name = name.into();
    model
}

/// The graphs of issue 12: a residual MLP, wide and deep, and every other merge.
fn graph_models(sgd: impl Fn(f32, f32, bool) -> Compile) -> [Model; 3] {
    let dense = |units, activation| Layer::Dense {
        units,
        activation,
        use_bias: true,
        activity_regularizer: None,
    };
    let mut residual = graph_model(
        "residual",
        &[
            (dense(32, Activation::Relu), &[Source::Input]),
            (dense(32, Activation::Relu), &[Source::Layer(0)]),
            (Layer::Merge(Merge::Add), &[Source::Layer(1), Source::Layer(0)]),
            (dense(10, Activation::Softmax), &[Source::Layer(2)]),
        ],
        18,
    );
    residual.compile(sgd(0.05, 0.9, false));
    let mut wide_deep = graph_model(
        "wide_deep",
        &[
            (dense(10, Activation::Linear), &[Source::Input]),
            (dense(32, Activation::Relu), &[Source::Input]),
            (dense(16, Activation::Relu), &[Source::Layer(1)]),
            (
                Layer::Merge(Merge::Concatenate),
                &[Source::Layer(0), Source::Layer(2)],
            ),
            (dense(10, Activation::Softmax), &[Source::Layer(3)]),
        ],
        19,
    );
    wide_deep.compile(sgd(0.05, 0.0, false));
    let mut merges = graph_model(
        "merges",
        &[
            (dense(16, Activation::Tanh), &[Source::Input]),
            (dense(16, Activation::Sigmoid), &[Source::Input]),
            (dense(16, Activation::Relu), &[Source::Input]),
            (
                Layer::Merge(Merge::Subtract),
                &[Source::Layer(0), Source::Layer(1)],
            ),
            (
                Layer::Merge(Merge::Multiply),
                &[Source::Layer(0), Source::Layer(2)],
            ),
            (
                Layer::Merge(Merge::Average),
                &[Source::Layer(3), Source::Layer(4), Source::Layer(1)],
            ),
            (
                Layer::Merge(Merge::Maximum),
                &[Source::Layer(5), Source::Layer(0)],
            ),
            (
                Layer::Merge(Merge::Minimum),
                &[Source::Layer(6), Source::Layer(2)],
            ),
            (dense(10, Activation::Softmax), &[Source::Layer(7)]),
        ],
        20,
    );
    merges.compile(sgd(0.05, 0.5, false));
    [residual, wide_deep, merges]
}

/// The test models, each trained for one epoch on `n` MNIST images (batch 32).
pub fn trained_models(n: usize) -> Vec<(&'static str, Model)> {
    let (x, y) = mnist_train(n);
    let data = Dataset::new(Features::F32(&x), 784, &y).unwrap();
    let options = FitOptions {
        epochs: 1,
        batch_size: 32,
        seed: 5,
        shuffle: true,
        threads: 1,
    };
    test_models()
        .into_iter()
        .map(|(name, mut m)| {
            m.fit(&data, None, &options, &mut |_| {}).unwrap();
            (name, m)
        })
        .collect()
}

/// Runs one SGD step (batch of all `x`, no shuffling) on a copy of `model`.
pub fn one_step(model: &Model, x: &[f32], labels: &[u32]) -> Model {
    let mut m = model.clone();
    let data = Dataset::new(Features::F32(x), m.input_width(), labels).unwrap();
    let options = FitOptions {
        epochs: 1,
        batch_size: labels.len(),
        seed: 9,
        shuffle: false,
        threads: 1,
    };
    m.fit(&data, None, &options, &mut |_| {}).unwrap();
    m
}

/// Checks that training continues from `model`'s optimizer state: one step advances the
/// iteration count by one, and the saved momentum buffers enter the update exactly as
/// Keras's SGD uses them (the step differs from a step with zeroed buffers by
/// `momentum × m`, or `momentum² × m` with Nesterov).
pub fn assert_resumes(model: &Model, x: &[f32], labels: &[u32], what: &str) {
    let compile = model
        .compile
        .clone()
        .unwrap_or_else(|| panic!("{what}: not compiled"));
    let state = model
        .optimizer
        .clone()
        .unwrap_or_else(|| panic!("{what}: no optimizer state"));
    let after = one_step(model, x, labels);
    assert_eq!(
        after.optimizer.as_ref().unwrap().scalars.iterations,
        state.scalars.iterations + 1,
        "{what}: the iteration count does not continue"
    );
    let Some(sgd) = compile.optimizer.as_sgd() else {
        // Any other optimizer: its saved state must enter the step.
        let mut fresh = model.clone();
        fresh.optimizer.as_mut().unwrap().slots.clear();
        assert_ne!(
            one_step(&fresh, x, labels).params,
            after.params,
            "{what}: the saved optimizer state does not enter the step"
        );
        return;
    };
    if sgd.momentum == 0.0 {
        assert!(
            state.slots.is_empty(),
            "{what}: momentum buffers without momentum"
        );
        return;
    }
    assert_eq!(state.slots.len(), model.params.len(), "{what}");
    let mut zeroed = model.clone();
    zeroed.optimizer.as_mut().unwrap().slots.fill(0.0);
    let without = one_step(&zeroed, x, labels);
    let factor = if sgd.nesterov {
        sgd.momentum * sgd.momentum
    } else {
        sgd.momentum
    };
    let mut biggest = 0.0f32;
    for i in 0..model.params.len() {
        let expected = factor * state.slots[i];
        let got = after.params[i] - without.params[i];
        biggest = biggest.max(expected.abs());
        assert!(
            (got - expected).abs() <= 1e-6 + 1e-3 * expected.abs(),
            "{what}: param {i}: the saved momentum moved it by {got}, expected {expected}"
        );
    }
    assert!(biggest > 1e-6, "{what}: the saved momentum buffers are all zero");
}

/// MNIST's first `n` test images, scaled to [0, 1].
pub fn mnist_test(n: usize) -> Vec<f32> {
    let mnist = Mnist::load_idx_dir(&microdense_tests::mnist_dir()).expect("MNIST in MNIST_DIR");
    mnist.test.images[..n * 784]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect()
}
