//! Every layer beyond Dense and Activation on the device, beside the host (after a first
//! Dense: the firmware's layers are at most 512 wide, the input 784). A model holding the
//! preprocessing, normalization and activation layers (Rescaling, Normalization,
//! LayerNormalization, PReLU, LeakyReLU, ELU, ReLU, Identity, Reshape, BatchNormalization,
//! ActivityRegularization, a Softmax layer) gives the host's outputs bit for bit, and the
//! host's fine-tuning steps bit for bit with BatchNormalization, ActivityRegularization and
//! the Softmax layer in the trainable suffix and an activity penalty in the frozen prefix
//! too. The noise layers (GaussianNoise, GaussianDropout, AlphaDropout, Dropout), identities
//! at inference, give the host's outputs bit for bit, and its fine-tuning steps with two of
//! them in the frozen prefix (drawn sample by sample, `Rows`) and two in the suffix. A
//! BatchNormalization model converted to `.mdl` (its frozen BatchNormalization folded into
//! the Dense before it) gets the host's accuracy on 2,000 test images.

mod device_common;

use device_common::{
    assert_outputs_match_host, assert_training_matches_host, boot, classes, host_test, labels_u32, mdl,
    mnist, model_trained, test_samples, MOMENTUM_SGD,
};
use microdense::device_format::AlignedBytes;
use microdense::model::Compile;
use microdense_core::format::decode;
use microdense_core::Layer;

/// Test images compared bit for bit.
const IMAGES: usize = 8;

#[test]
fn every_deterministic_layer_infers_and_fine_tunes_on_the_device_as_on_the_host() {
    let model = model_trained(
        "784,32,rescale:0.1:0.5,normalize,ln,prelu,leaky_relu:0.2,activity_reg:0.001:0.01,24,elu:0.5,\
         relu:6:0.1:0.05,identity,reshape,16,bn:0.9:0.01,activity_reg:0.0001:0.001,10,softmax_layer",
        1.0,
        Compile::default(),
        1,
    );
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    assert_outputs_match_host(&mut booted.device, &model, IMAGES);
    assert_training_matches_host(&mut booted.device, &model, Some(MOMENTUM_SGD));
}

#[test]
fn noise_layers_infer_and_fine_tune_on_the_device_as_on_the_host() {
    let model = model_trained(
        "784,32:relu,gaussian_noise:0.1,alpha_dropout:0.1,24:relu,gaussian_dropout:0.1,dropout:0.2,10:softmax",
        1.0,
        Compile::default(),
        1,
    );
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    assert_outputs_match_host(&mut booted.device, &model, IMAGES);
    assert_training_matches_host(&mut booted.device, &model, None);
}

#[test]
fn a_folded_batch_normalization_model_gets_the_hosts_accuracy_on_the_device() {
    let model = model_trained(
        "784,48:linear:nobias,bn,relu,24,bn:0.9,relu,10:softmax",
        1.0,
        Compile::default(),
        1,
    );
    let file = mdl(&model);
    let bn = |layers: &[Layer]| {
        layers
            .iter()
            .filter(|l| matches!(l, Layer::BatchNormalization { .. }))
            .count()
    };
    let aligned = AlignedBytes::new(&file);
    let view = decode(aligned.bytes()).unwrap();
    // The frozen one folded into the Dense before it; the trainable suffix's stays.
    assert_eq!(bn(view.network().unwrap().layers()), 1);
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    // 2,000 of the test images (the QEMU UART takes ~15 ms an image); the host test
    // batch_norm_fold checks all 10,000 for changed classes.
    let n = 2_000;
    let labels = labels_u32(&mnist().test.labels);
    let host = classes(&model.predict(&host_test(&labels, n)).unwrap());
    let host_correct = (0..n).filter(|&i| u32::from(host[i]) == labels[i]).count();
    let indices: Vec<usize> = (0..n).collect();
    let device = booted
        .device
        .evaluate(&test_samples(), &indices, None, &mut |_, _| {})
        .unwrap();
    println!(
        "BatchNormalization model, {n} test images: device accuracy {:.4}, host (unfolded) {:.4}",
        f64::from(device.total.correct) / n as f64,
        host_correct as f64 / n as f64
    );
    assert_eq!(device.total.correct as usize, host_correct);
    assert!(host_correct > n / 2, "the model learned: {host_correct} of {n}");
}
