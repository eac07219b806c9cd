//! Shared by the `device_*` tests: MNIST, a quickly trained tutorial model, and the
//! firmware booted under QEMU with a model in its model region.
#![allow(dead_code)]

use microdense::dataset::{Dataset, Features};
use microdense::device::{Device, DeviceError, Evaluation, Qemu, QemuBoard, QemuConfig, SampleSet};
use microdense::device_format::{from_mdl, AlignedBytes};
use microdense::device_format::{to_mdl, ExportOptions};
use microdense::fit::FitOptions;
use microdense::int8::Int8Model;
use microdense::mnist::{Lookup, Mnist};
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_core::format::decode;
use microdense_core::optimizer::AdamSettings;
use microdense_core::protocol::{ErrorCode, Tally, DROPOUT_SEED};
use microdense_core::{Algorithm, Loss, Network, Optimizer, Portable, Rng, Sgd, Targets, Trainer};
use microdense_tests::qemu::{board_firmware, test_firmware};
use microdense_tests::{mnist_dir, TempDir};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// How long one reply may take.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// MNIST, read once per test binary.
pub fn mnist() -> &'static Mnist {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    MNIST.get_or_init(|| {
        let dir = mnist_dir();
        Lookup::from_env(Some(dir.as_path()))
            .load()
            .unwrap_or_else(|e| panic!("MNIST at {}: {e}", dir.display()))
            .0
    })
}

/// Labels widened for the engine.
pub fn labels_u32(labels: &[u8]) -> Vec<u32> {
    labels.iter().map(|&l| u32::from(l)).collect()
}

/// The first `n` test images as a host data set (raw 0–255 pixels, as the tutorial).
pub fn host_test(labels: &[u32], n: usize) -> Dataset<'_> {
    let test = &mnist().test;
    Dataset::new(
        Features::U8 {
            data: &test.images[..n * 784],
            scale: 1.0,
        },
        784,
        &labels[..n],
    )
    .unwrap()
}

/// The tutorial's model trained on the host for one epoch (seed 1), compiled with the
/// tutorial's loss and SGD.
pub fn tutorial_model() -> Model {
    trained_tutorial_model(1)
}

/// The tutorial's model trained on the host for `epochs` epochs (seed 1), compiled with
/// the tutorial's loss and SGD.
pub fn trained_tutorial_model(epochs: usize) -> Model {
    tutorial_model_trained_with(Compile::default(), epochs)
}

/// The tutorial's model trained on the host for one epoch (seed 1) with Adam (Keras's
/// defaults): it carries Adam's moments and iteration count.
pub fn adam_tutorial_model() -> Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let compile = Compile {
                optimizer: Optimizer::new(Algorithm::Adam(AdamSettings::default())),
                ..Compile::default()
            };
            tutorial_model_trained_with(compile, 1)
        })
        .clone()
}

/// The tutorial's model trained on the host for `epochs` epochs (seed 1) with `compile`.
pub fn tutorial_model_trained_with(compile: Compile, epochs: usize) -> Model {
    model_trained(TUTORIAL_SPEC, 1.0, compile, epochs)
}

/// The model of `--arch spec` trained on the host for `epochs` epochs (seed 1) with
/// `compile`, on pixels multiplied by `scale` (1 raw, 1/255 normalised).
pub fn model_trained(spec: &str, scale: f32, compile: Compile, epochs: usize) -> Model {
    let train = &mnist().train;
    let labels = labels_u32(&train.labels);
    let data = Dataset::new(
        Features::U8 {
            data: &train.images,
            scale,
        },
        784,
        &labels,
    )
    .unwrap();
    let mut model = Model::from_spec(spec, 1).unwrap();
    model.compile(compile);
    let options = FitOptions {
        epochs,
        ..FitOptions::default()
    };
    model.fit(&data, None, &options, &mut |_| {}).unwrap();
    model
}

/// `model` quantised on 1000 training images with the last `k` Dense layers float.
pub fn quantized(model: &Model, k: usize) -> Int8Model {
    let train = &mnist().train;
    let labels = labels_u32(&train.labels[..1000]);
    let calibration = Dataset::new(
        Features::U8 {
            data: &train.images[..1000 * 784],
            scale: 1.0,
        },
        784,
        &labels,
    )
    .unwrap();
    Int8Model::quantize(model, &calibration, k).unwrap()
}

/// The model as a `.mdl` file with its training state, the last 2 Dense layers trainable.
pub fn mdl(model: &Model) -> Vec<u8> {
    let options = ExportOptions {
        with_training_state: true,
        trainable_layers: Some(2),
    };
    to_mdl(model, &options).unwrap()
}

/// A running firmware and a client talking to it.
pub struct Booted {
    /// The client.
    pub device: Device,
    /// QEMU (killed on drop).
    pub qemu: Qemu,
    _dir: TempDir,
}

/// Boots the release firmware with `region` written into its model region (`None`: a
/// blank region); `None` when the QEMU tests are skipped.
pub fn boot(region: Option<&[u8]>) -> Option<Booted> {
    boot_firmware(&["--release"], region)
}

/// As [`boot`], the firmware built with `scripts/firmware-build.sh <args>`.
pub fn boot_firmware(args: &[&str], region: Option<&[u8]>) -> Option<Booted> {
    Some(boot_elf(QemuBoard::default(), test_firmware(args)?, region))
}

/// As [`boot`], on `board` with its release firmware.
pub fn boot_board(board: QemuBoard, region: Option<&[u8]>) -> Option<Booted> {
    Some(boot_elf(board, board_firmware(&board)?, region))
}

/// Boots `elf` on `board` with `region` written into its model region.
fn boot_elf(board: QemuBoard, elf: PathBuf, region: Option<&[u8]>) -> Booted {
    let dir = TempDir::new("device");
    let model = region.map(|bytes| {
        let path = dir.join("model.mdl");
        std::fs::write(&path, bytes).unwrap();
        path
    });
    let qemu = Qemu::boot(&QemuConfig { board, elf, model }).unwrap_or_else(|e| panic!("{e}"));
    let transport = qemu.connect().unwrap_or_else(|e| panic!("{e}"));
    Booted {
        device: Device::new(Box::new(transport), TIMEOUT),
        qemu,
        _dir: dir,
    }
}

/// The device's error code and the host's wording of it, for a request it refused.
pub fn device_error(result: Result<impl std::fmt::Debug, DeviceError>) -> (ErrorCode, String) {
    match result {
        Err(DeviceError::Device { code, message }) => (code, message),
        other => panic!("expected a device error, got {other:?}"),
    }
}

/// The test split as the device receives it (raw pixels, scale 1).
pub fn test_samples() -> SampleSet<'static> {
    let test = &mnist().test;
    SampleSet::new(&test.images, 784, &test.labels, 1.0).unwrap()
}

/// The device's outputs for the first `images` test images are the host's, bit for bit,
/// its classes their arg-max, and its Evaluate loss over them in one request (activity
/// penalties included) core's `Network::evaluate` of the same batch, bit for bit.
pub fn assert_outputs_match_host(device: &mut Device, model: &Model, images: usize) {
    let labels = labels_u32(&mnist().test.labels);
    let host = model.predict(&host_test(&labels, images)).unwrap();
    let set = test_samples();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for i in 0..images {
        let (class, scores, _) = device.infer(&set, i).unwrap();
        let host = &host[i * 10..(i + 1) * 10];
        assert_eq!(bits(&scores), bits(host), "image {i}: {scores:?} vs {host:?}");
        assert_eq!(usize::from(class), microdense_core::argmax(host));
    }

    let (layers, wiring) = (model.core_layers(), model.wiring());
    let net = Network::graph(784, &layers, &wiring).unwrap();
    let inputs: Vec<f32> = (0..images)
        .flat_map(|i| set.values(i).iter().map(|&b| b as f32))
        .collect();
    let mut scratch = vec![0.0; net.inference_scratch_len(images)];
    let loss = Loss::CategoricalCrossentropy;
    let targets = Targets::Classes(&labels[..images]);
    let host = net
        .evaluate(&Portable, &model.params, &inputs, &targets, loss, &mut scratch)
        .unwrap();
    let indices: Vec<usize> = (0..images).collect();
    let device = device
        .evaluate(&set, &indices, Some(loss), &mut |_, _| {})
        .unwrap();
    assert_eq!(
        device.total.loss_sum.to_bits(),
        host.loss_sum.to_bits(),
        "{device:?} vs {host:?}"
    );
    assert_eq!(device.total.correct, host.correct);
}

/// The training split as the device receives it.
pub fn train_samples() -> SampleSet<'static> {
    let train = &mnist().train;
    SampleSet::new(&train.images, 784, &train.labels, 1.0).unwrap()
}

/// The arg-max class of each row of `outputs` (10 per row).
pub fn classes(outputs: &[f32]) -> Vec<u8> {
    outputs
        .chunks_exact(10)
        .map(|row| microdense_core::argmax(row) as u8)
        .collect()
}

/// SGD with momentum for the layer and graph tests' steps: a learning rate large enough
/// that a wrong gradient moves the weights visibly in 3 steps.
pub const MOMENTUM_SGD: Sgd = Sgd {
    learning_rate: 0.05,
    momentum: 0.9,
    nesterov: false,
};

/// Runs the same 3 training steps (batches of 1, 8 and 16 images; the last 2 Dense layers)
/// on the host (core's Trainer with the Portable kernel) and on `device`, which holds
/// `model` fresh, then pulls the device's model: asserts bit-identical batch losses,
/// trained weights, optimizer state and iterations, and an unchanged frozen layer. `sgd`
/// overrides the model's optimizer on both sides (`None`: the model's own, which the
/// device reads from its `.mdl`).
pub fn assert_training_matches_host(device: &mut Device, model: &Model, sgd: Option<Sgd>) {
    assert_steps_match_host(device, model, sgd, 16);
}

/// As [`assert_training_matches_host`], the last batch `last_batch` images (smaller for
/// optimizers whose state leaves a batch of 16 no room in the training arena).
pub fn assert_steps_match_host(device: &mut Device, model: &Model, sgd: Option<Sgd>, last_batch: usize) {
    let batches = [
        (0..1).collect(),
        (1..9).collect(),
        (100..100 + last_batch).collect(),
    ];
    assert_batches_match_host(device, model, sgd, 2, &batches);
}

/// As [`assert_training_matches_host`], one step per batch of training-image indices in
/// `batches`, on the last `trained` Dense layers.
pub fn assert_batches_match_host(
    device: &mut Device,
    model: &Model,
    sgd: Option<Sgd>,
    trained: usize,
    batches: &[Vec<usize>],
) {
    let optimizer = match sgd {
        Some(sgd) => Optimizer::from(sgd),
        None => model.compile.as_ref().unwrap().optimizer.clone(),
    };
    let loss = Loss::CategoricalCrossentropy;
    let set = train_samples();

    // Host: core's Trainer over the whole network, the last `trained` Dense layers
    // trainable, starting as the device does: from the file's optimizer state when it has
    // this optimizer's layout, else from a fresh one.
    let layers = model.core_layers();
    let wiring = model.wiring();
    let net = Network::graph(784, &layers, &wiring).unwrap();
    let trainer = Trainer::last_weighted(net, trained);
    let frozen = trainer.frozen_param_count();
    let slots = optimizer.slots();
    let mut trainable = model.params[frozen..].to_vec();
    let saved = model.optimizer.as_ref().unwrap();
    let mut state = if saved.slots.len() == optimizer.state_len(model.params.len()) {
        saved.slots[frozen * slots..].to_vec()
    } else {
        let mut fresh = vec![0.0; optimizer.state_len(trainable.len())];
        optimizer.init_state(&mut fresh);
        fresh
    };
    let mut scalars = saved.scalars;
    let mut grads = vec![0.0; trainable.len()];
    // The device's dropout and noise stream, from boot on.
    let mut rng = Rng::new(DROPOUT_SEED);
    let mut host_stats = Vec::new();
    for batch in batches {
        let inputs: Vec<f32> = batch
            .iter()
            .flat_map(|&i| set.values(i).iter().map(|&b| b as f32))
            .collect();
        let labels: Vec<u32> = batch.iter().map(|&i| u32::from(set.labels[i])).collect();
        let mut scratch = vec![0.0; trainer.scratch_len(batch.len())];
        let stats = trainer
            .step(
                &Portable,
                &optimizer,
                &mut scalars,
                &mut state,
                &model.params[..frozen],
                &mut trainable,
                &inputs,
                &Targets::Classes(&labels),
                loss,
                &mut rng,
                &mut grads,
                &mut scratch,
            )
            .unwrap();
        host_stats.push(Tally::from(stats));
    }

    // Device: the same steps, then the model pulled back.
    let mut device_stats = Vec::new();
    for batch in batches {
        let step = device
            .train_step(trained as u8, sgd, Some(loss), &set, batch)
            .unwrap();
        device_stats.push(step.batch);
        assert!(step.iterations <= scalars.iterations);
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for (h, d) in host_stats.iter().zip(&device_stats) {
        assert_eq!((h.samples, h.correct), (d.samples, d.correct));
        assert_eq!(h.loss_sum.to_bits(), d.loss_sum.to_bits(), "{h:?} vs {d:?}");
    }
    let pulled = from_mdl(&device.pull(&mut |_, _| {}).unwrap()).unwrap();
    assert_eq!(
        bits(&pulled.params[..frozen]),
        bits(&model.params[..frozen]),
        "frozen layers changed"
    );
    let differing = pulled.params[frozen..]
        .iter()
        .zip(&trainable)
        .filter(|(d, h)| d.to_bits() != h.to_bits())
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} trained weights differ",
        trainable.len()
    );
    assert_ne!(
        bits(&trainable),
        bits(&model.params[frozen..]),
        "the steps changed nothing"
    );
    let pulled_state = pulled.optimizer.unwrap();
    assert_eq!(pulled_state.scalars.iterations, scalars.iterations);
    assert_eq!(
        pulled_state.scalars.u_product.to_bits(),
        scalars.u_product.to_bits()
    );
    assert_eq!(bits(&pulled_state.slots[frozen * slots..]), bits(&state));
    assert_eq!(pulled.compile.unwrap().optimizer, optimizer);
    assert!(!pulled.layers[0].trainable && pulled.layers.last().unwrap().trainable);
}

/// The share of one core process `pid` used over `span` (user + system time from
/// /proc/PID/stat, in clock ticks of 10 ms).
pub fn cpu_share(pid: u32, span: Duration) -> f64 {
    let cpu_seconds = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Fields after the command name (which may hold spaces) in ")"; utime and stime are
        // fields 14 and 15 of the whole line, 12 and 13 after the name.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    };
    let (before, start) = (cpu_seconds(), std::time::Instant::now());
    std::thread::sleep(span);
    (cpu_seconds() - before) / start.elapsed().as_secs_f64()
}

/// Real Keras (tf_keras and Keras 3) loads `h5` and classifies the first `n` test images:
/// their accuracies.
pub fn keras_accuracies(python: &std::path::Path, h5: &std::path::Path, n: usize) -> (f64, f64) {
    let script = r#"
import json, os, sys, gzip
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
import numpy as np, keras, tf_keras
path, mnist, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def idx(name):
    with gzip.open(os.path.join(mnist, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
x = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784)[:n].astype("float32")
y = idx("t10k-labels-idx1-ubyte.gz")[:n]
acc = lambda m: float(np.mean(np.argmax(m.predict(x, batch_size=1000, verbose=0), axis=1) == y))
print(json.dumps([acc(tf_keras.models.load_model(path)), acc(keras.models.load_model(path))]))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(h5)
        .arg(microdense_tests::mnist_dir())
        .arg(n.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let [tk, k3]: [f64; 2] = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (tk, k3)
}

/// The fine-tuning tests' protocol: 2 epochs of SGD (learning rate 0.1, batch 16, in
/// order) over the first `train` training images on the last 2 layers, then the device's
/// evaluation of the first `test` test images and its accuracy.
pub fn finetune_last_two(device: &mut Device, train: usize, test: usize) -> (Evaluation, f64) {
    let sgd = Sgd {
        learning_rate: 0.1,
        ..Sgd::default()
    };
    let order: Vec<usize> = (0..train).collect();
    for _ in 0..2 {
        let seen = device
            .train_epoch(2, Some(sgd), None, &train_samples(), &order, 16, &mut |_, _| {})
            .unwrap();
        assert_eq!(seen.samples as usize, train);
    }
    let indices: Vec<usize> = (0..test).collect();
    let after = device
        .evaluate(&test_samples(), &indices, None, &mut |_, _| {})
        .unwrap();
    let accuracy = f64::from(after.total.correct) / test as f64;
    (after, accuracy)
}

/// Pulls the model [`finetune_last_two`] tuned on `train` images from the tutorial model
/// trained 3 epochs on the host: a valid `.mdl` whose training state counts its steps.
pub fn pull_finetuned(device: &mut Device, train: usize) -> Vec<u8> {
    let file = device.pull(&mut |_, _| {}).unwrap();
    let aligned = AlignedBytes::new(&file);
    let view = decode(aligned.bytes()).unwrap_or_else(|e| panic!("the pulled file is not a valid .mdl: {e}"));
    let training = view.training().unwrap();
    assert_eq!(training.trainable_layers, 2);
    assert_eq!(
        training.scalars.iterations,
        938 * 3 + 2 * (train as u64).div_ceil(16)
    );
    file
}
