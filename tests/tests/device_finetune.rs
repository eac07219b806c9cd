//! Fine-tuning the last 2 Dense layers on the device raises its test accuracy; the pulled
//! model is a valid `.mdl` whose host evaluation gives the device's predictions, and real
//! Keras, loading it saved as `.h5`, reproduces the device's accuracy.

mod device_common;

use device_common::{
    boot, classes, finetune_last_two, host_test, keras_accuracies, labels_u32, mdl, mnist, pull_finetuned,
    trained_tutorial_model,
};
use microdense::device_format::from_mdl;
use microdense_tests::{keras_python, TempDir};

/// Test images the accuracies are measured on.
const TEST_IMAGES: usize = 2_000;
/// Training images the device fine-tunes on.
const TRAIN_IMAGES: usize = 3_000;

#[test]
fn finetuning_on_the_device_raises_accuracy_and_the_pulled_model_reproduces_it() {
    let model = trained_tutorial_model(3);
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    let device = &mut booted.device;
    let test_labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&test_labels, TEST_IMAGES);
    // The device classifies exactly as the host (device_evaluate.rs shows it on all images).
    let before = model.evaluate(&host_data).unwrap().accuracy;

    let (after, device_accuracy) = finetune_last_two(device, TRAIN_IMAGES, TEST_IMAGES);
    assert!(
        device_accuracy > before + 0.005,
        "fine-tuning did not raise the accuracy: {before} -> {device_accuracy}"
    );
    let info = device.info().unwrap();
    assert!(info.measured.train_ticks_per_sample > 0, "{info}");
    assert!(
        info.measured.train_ram > 0 && info.measured.train_ram <= 32 * 1024,
        "{info}"
    );

    let file = pull_finetuned(device, TRAIN_IMAGES);
    let tuned = from_mdl(&file).unwrap();
    assert_eq!(
        tuned.params[..39_250],
        model.params[..39_250],
        "the frozen layer changed"
    );
    let tuned_score = tuned.evaluate(&host_data).unwrap();
    assert_eq!(classes(&tuned.predict(&host_data).unwrap()), after.predictions);
    assert!((tuned_score.accuracy - device_accuracy).abs() < 1e-9);

    let Some(python) = keras_python() else { return };
    let dir = TempDir::new("device-tuned");
    let h5 = dir.join("tuned.h5");
    tuned.save(&h5).unwrap();
    let (tf_keras, keras3) = keras_accuracies(&python, &h5, TEST_IMAGES);
    // TensorFlow sums without fused multiply-adds: a borderline image may tip.
    for (name, accuracy) in [("tf_keras", tf_keras), ("Keras 3", keras3)] {
        assert!(
            (accuracy - device_accuracy).abs() <= 2.0 / TEST_IMAGES as f64,
            "{name} gives {accuracy} for the tuned model, the device {device_accuracy}"
        );
    }
}
