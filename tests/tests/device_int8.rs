//! int8 models on the emulated device: the firmware runs the int8 body with core's
//! integer kernels and the float head as the host does, so classes and scores agree bit
//! for bit with the host's on the 10,000 MNIST test images; it fine-tunes the float head
//! on top of the frozen int8 body, and the pulled int8 file reproduces the device.

mod device_common;

use device_common::{
    boot, classes, finetune_last_two, host_test, keras_accuracies, labels_u32, mnist, model_trained,
    pull_finetuned, quantized, test_samples, train_samples, trained_tutorial_model,
};
use microdense::dataset::{Dataset, Features};
use microdense::device_format::{from_mdl, int8_from_mdl, int8_to_mdl, ExportOptions};
use microdense::int8::Int8Model;
use microdense::model::{Compile, TUTORIAL_SPEC};
use microdense_core::Sgd;
use microdense_tests::{keras_python, TempDir};

/// The tutorial model (1 epoch) quantised with the last `k` Dense layers float.
fn int8_tutorial(k: usize) -> Int8Model {
    quantized(&model_trained(TUTORIAL_SPEC, 1.0, Compile::default(), 1), k)
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

/// Test images the fine-tuning test measures accuracy on (as device_finetune.rs).
const TEST_IMAGES: usize = 2_000;
/// Training images the device fine-tunes on (as device_finetune.rs).
const TRAIN_IMAGES: usize = 3_000;

#[test]
fn finetuning_the_float_head_of_an_int8_model_raises_accuracy_and_the_pulled_file_reproduces_it() {
    // The float32 fine-tuning test's protocol, on the tutorial model quantised with its
    // last 2 Dense layers float: the int8 body (784 -> 50) stays frozen in flash.
    let int8 = quantized(&trained_tutorial_model(3), 2);
    let options = ExportOptions {
        with_training_state: true,
        trainable_layers: Some(2),
    };
    let Some(mut booted) = boot(Some(&int8_to_mdl(&int8, &options).unwrap())) else {
        return;
    };
    let device = &mut booted.device;
    let said = device
        .train_step(3, None, None, &train_samples(), &[0])
        .unwrap_err()
        .to_string();
    assert!(
        said.contains("cannot train the last 3 weighted layers: the model has 2 float32 weighted layers"),
        "{said}"
    );
    let test_labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&test_labels, TEST_IMAGES);
    let before = int8.evaluate(&host_data).unwrap().accuracy;

    let (after, device_accuracy) = finetune_last_two(device, TRAIN_IMAGES, TEST_IMAGES);
    println!("int8 body, float head fine-tuned on the device: test accuracy {before} -> {device_accuracy}");
    assert!(
        device_accuracy > before + 0.005,
        "fine-tuning did not raise the accuracy: {before} -> {device_accuracy}"
    );

    // The pulled file: the same int8 body, the tuned head and its training state.
    let file = pull_finetuned(device, TRAIN_IMAGES);
    let tuned = int8_from_mdl(&file)
        .unwrap()
        .expect("the pulled file has an int8 body");
    assert_eq!(
        (&tuned.input, &tuned.layers, &tuned.data),
        (&int8.input, &int8.layers, &int8.data),
        "the int8 body changed"
    );
    assert_ne!(tuned.head.params, int8.head.params);
    // The host runs the same integer kernels and float head: the device's predictions.
    assert_eq!(classes(&tuned.predict(&host_data).unwrap()), after.predictions);
    let host_accuracy = tuned.evaluate(&host_data).unwrap().accuracy;
    assert!((host_accuracy - device_accuracy).abs() < 1e-9);

    // Fine-tuning RAM of the last 2 layers at batch 1 (issue goal: at most 12 KiB).
    device.reset().unwrap();
    device
        .train_step(2, Some(Sgd::default()), None, &train_samples(), &[0])
        .unwrap();
    let info = device.info().unwrap();
    println!(
        "fine-tuning RAM, last 2 layers on an int8 body, SGD, batch 1: {} bytes",
        info.measured.train_ram
    );
    assert!(
        info.measured.train_ram > 0 && info.measured.train_ram <= 12 * 1024,
        "{info}"
    );

    // Converted back to Keras (dequantised), real Keras gets the device's accuracy within
    // the quantisation error (the dequantised model runs its activations in float).
    let Some(python) = keras_python() else { return };
    let dir = TempDir::new("device-int8-tuned");
    let h5 = dir.join("tuned.h5");
    from_mdl(&file).unwrap().save(&h5).unwrap();
    let (tf_keras, keras3) = keras_accuracies(&python, &h5, TEST_IMAGES);
    println!("Keras on the dequantised tuned model: tf_keras {tf_keras}, Keras 3 {keras3}");
    for (name, accuracy) in [("tf_keras", tf_keras), ("Keras 3", keras3)] {
        assert!(
            (accuracy - device_accuracy).abs() <= 0.005,
            "{name} gives {accuracy} for the dequantised tuned model, the device {device_accuracy}"
        );
    }
}
