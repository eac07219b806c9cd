//! int8 models on the emulated device: the firmware runs the int8 body with core's
//! integer kernels and the float head as the host does, so classes and scores agree bit
//! for bit with the host's on the 10,000 MNIST test images.

mod device_common;

use device_common::{boot, classes, labels_u32, mnist, model_trained, test_samples};
use microdense::dataset::{Dataset, Features};
use microdense::device_format::{int8_to_mdl, ExportOptions};
use microdense::int8::Int8Model;
use microdense::model::{Compile, TUTORIAL_SPEC};

/// The tutorial model (1 epoch) quantised with the last `k` Dense layers float.
fn int8_tutorial(k: usize) -> Int8Model {
    let model = model_trained(TUTORIAL_SPEC, 1.0, Compile::default(), 1);
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
    Int8Model::quantize(&model, &calibration, k).unwrap()
}

/// Runs the first `n` test images on the device and on the host: same classes, same
/// correct count, and bit-identical scores for the first 50.
fn check_parity(int8: &Int8Model, n: usize) {
    let file = int8_to_mdl(int8, &ExportOptions::default()).unwrap();
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let labels = labels_u32(&mnist().test.labels);
    let host_data = Dataset::new(
        Features::U8 {
            data: &mnist().test.images[..n * 784],
            scale: 1.0,
        },
        784,
        &labels[..n],
    )
    .unwrap();
    let host_scores = int8.predict(&host_data).unwrap();
    let host_classes = classes(&host_scores);
    let indices: Vec<usize> = (0..n).collect();
    let device = booted
        .device
        .evaluate(&test_samples(), &indices, None, &mut |_, _| {})
        .unwrap();
    let differing = (0..n)
        .filter(|&i| device.predictions[i] != host_classes[i])
        .count();
    let host_correct = (0..n)
        .filter(|&i| u32::from(host_classes[i]) == labels[i])
        .count();
    println!(
        "int8 ({} int8 layers) device vs host, {n} test images: {differing} classified differently; \
         device accuracy {:.4}, host {:.4}",
        int8.layers.len(),
        f64::from(device.total.correct) / n as f64,
        host_correct as f64 / n as f64
    );
    assert_eq!(differing, 0);
    assert_eq!(device.total.correct as usize, host_correct);
    for i in 0..50 {
        let (class, scores, _) = booted.device.infer(&test_samples(), i).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&scores), bits(&host_scores[i * 10..][..10]), "image {i}");
        assert_eq!(class, host_classes[i]);
    }
}

#[test]
fn every_layer_int8_classifies_all_test_images_as_the_host() {
    check_parity(&int8_tutorial(0), 10_000);
}

#[test]
fn int8_body_with_a_float_head_classifies_as_the_host() {
    check_parity(&int8_tutorial(2), 1_000);
}
