//! Shared by the `device_*` tests: MNIST, a quickly trained tutorial model, and the
//! firmware booted under QEMU with a model in its model region.
#![allow(dead_code)]

use microdense::dataset::{Dataset, Features};
use microdense::device::{Device, Qemu, QemuConfig, SampleSet};
use microdense::device_format::{to_mdl, ExportOptions};
use microdense::fit::FitOptions;
use microdense::mnist::{Lookup, Mnist};
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::qemu::test_firmware;
use microdense_tests::{mnist_dir, TempDir};
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
    let train = &mnist().train;
    let labels = labels_u32(&train.labels);
    let data = Dataset::new(
        Features::U8 {
            data: &train.images,
            scale: 1.0,
        },
        784,
        &labels,
    )
    .unwrap();
    let mut model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
    model.compile(Compile::default());
    let options = FitOptions {
        epochs,
        ..FitOptions::default()
    };
    model.fit(&data, None, &options, &mut |_| {}).unwrap();
    model
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
    let elf = test_firmware(args)?;
    let dir = TempDir::new("device");
    let model = region.map(|bytes| {
        let path = dir.join("model.mdl");
        std::fs::write(&path, bytes).unwrap();
        path
    });
    let qemu = Qemu::boot(&QemuConfig { elf, model }).unwrap_or_else(|e| panic!("{e}"));
    let transport = qemu.connect().unwrap_or_else(|e| panic!("{e}"));
    Some(Booted {
        device: Device::new(Box::new(transport), TIMEOUT),
        qemu,
        _dir: dir,
    })
}

/// The test split as the device receives it (raw pixels, scale 1).
pub fn test_samples() -> SampleSet<'static> {
    let test = &mnist().test;
    SampleSet::new(&test.images, 784, &test.labels, 1.0).unwrap()
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
