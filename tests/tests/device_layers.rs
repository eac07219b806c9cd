//! Every layer beyond Dense and Activation on the device, beside the host (after a first
//! Dense: the firmware's layers are at most 512 wide, the input 784). A model holding the
//! preprocessing, normalization and activation layers (Rescaling, Normalization,
//! LayerNormalization, PReLU, LeakyReLU, ELU, ReLU, Identity, Reshape, BatchNormalization,
//! ActivityRegularization, a Softmax layer) gives the host's outputs bit for bit, and the
//! host's fine-tuning steps bit for bit with BatchNormalization, ActivityRegularization and
//! the Softmax layer in the trainable suffix. (An activity penalty in the frozen prefix is
//! left out of the loss the device reports: not yet the host's.) The noise layers
//! (GaussianNoise, GaussianDropout, AlphaDropout, Dropout), identities at inference, give the
//! host's outputs bit for bit.

mod device_common;

use device_common::{
    assert_training_matches_host, boot, host_test, labels_u32, mdl, mnist, model_trained, test_samples,
};
use microdense::model::{Compile, Model};
use microdense_core::Sgd;

/// Test images compared bit for bit.
const IMAGES: usize = 8;

/// The host's outputs for the first test images, and the device's, as bits.
fn assert_inference_matches_host(device: &mut microdense::device::Device, model: &Model) {
    let labels = labels_u32(&mnist().test.labels);
    let host = model.predict(&host_test(&labels, IMAGES)).unwrap();
    let set = test_samples();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for i in 0..IMAGES {
        let (class, scores, _) = device.infer(&set, i).unwrap();
        let host = &host[i * 10..(i + 1) * 10];
        assert_eq!(bits(&scores), bits(host), "image {i}: {scores:?} vs {host:?}");
        assert_eq!(usize::from(class), microdense_core::argmax(host));
    }
}

#[test]
fn every_deterministic_layer_infers_and_fine_tunes_on_the_device_as_on_the_host() {
    let model = model_trained(
        "784,32,rescale:0.1:0.5,normalize,ln,prelu,leaky_relu:0.2,24,elu:0.5,relu:6:0.1:0.05,\
         identity,reshape,16,bn:0.9:0.01,activity_reg:0.0001:0.001,10,softmax_layer",
        1.0,
        Compile::default(),
        1,
    );
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    assert_inference_matches_host(&mut booted.device, &model);
    let sgd = Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: false,
    };
    assert_training_matches_host(&mut booted.device, &model, Some(sgd));
}

#[test]
fn noise_layers_infer_on_the_device_as_on_the_host() {
    let model = model_trained(
        "784,32:relu,gaussian_noise:0.1,alpha_dropout:0.1,gaussian_dropout:0.1,dropout:0.2,10:softmax",
        1.0,
        Compile::default(),
        1,
    );
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    assert_inference_matches_host(&mut booted.device, &model);
}
