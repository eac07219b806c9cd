//! The tutorial's model, trained on the host and converted to the device format, gives on
//! the device (under QEMU) exactly the host's predictions for all 10,000 test images; a
//! firmware built with micromath's approximations instead of libm nearly does.

mod device_common;

use device_common::{
    boot, boot_firmware, classes, host_test, labels_u32, mdl, mnist, test_samples, tutorial_model,
};
use microdense::device::ModelState;

#[test]
fn device_evaluates_all_test_images_exactly_as_the_host() {
    let model = tutorial_model();
    let file = mdl(&model);
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let device = &mut booted.device;

    let info = device.info().unwrap();
    let ModelState::Ok(summary) = info.model else {
        panic!("model not loaded: {info}")
    };
    assert_eq!(summary.file_len as usize, file.len());
    assert_eq!(summary.params, 40_480);
    assert_eq!(summary.training.unwrap().trainable_layers, 2);

    let n = mnist().test.labels.len();
    assert_eq!(n, 10_000);
    let labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&labels, n);
    let host_score = model.evaluate(&host_data).unwrap();
    let host_classes = classes(&model.predict(&host_data).unwrap());

    let indices: Vec<usize> = (0..n).collect();
    let result = device
        .evaluate(&test_samples(), &indices, None, &mut |_, _| {})
        .unwrap();
    assert_eq!(result.total.samples as usize, n);
    let differing: Vec<usize> = (0..n)
        .filter(|&i| result.predictions[i] != host_classes[i])
        .collect();
    assert!(
        differing.is_empty(),
        "images classified differently: {differing:?}"
    );
    let device_accuracy = f64::from(result.total.correct) / n as f64;
    assert!(
        (device_accuracy - host_score.accuracy).abs() < 1e-9,
        "{device_accuracy} vs {}",
        host_score.accuracy
    );
    assert!(
        (f64::from(result.total.loss()) - host_score.loss).abs() < 1e-4,
        "device loss {} vs host {}",
        result.total.loss(),
        host_score.loss
    );

    // Info now reports the instructions of one inference.
    let info = device.info().unwrap();
    assert!(info.measured.infer_ticks > 40_400, "{info}");
}

#[test]
fn micromath_firmware_classifies_nearly_every_image_as_the_libm_host() {
    const N: usize = 2_000;
    let model = tutorial_model();
    let file = mdl(&model);
    let Some(mut booted) = boot_firmware(&["--release", "--features", "micromath"], Some(&file)) else {
        return;
    };
    let labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&labels, N);
    let host_score = model.evaluate(&host_data).unwrap();
    let host_classes = classes(&model.predict(&host_data).unwrap());
    let indices: Vec<usize> = (0..N).collect();
    let result = booted
        .device
        .evaluate(&test_samples(), &indices, None, &mut |_, _| {})
        .unwrap();
    let differing = (0..N)
        .filter(|&i| result.predictions[i] != host_classes[i])
        .count();
    let device_accuracy = f64::from(result.total.correct) / N as f64;
    println!(
        "micromath device vs libm host, first {N} test images: {differing} classified differently; \
         accuracy {device_accuracy:.4} vs {:.4}; loss {:.4} vs {:.4}",
        host_score.accuracy,
        result.total.loss(),
        host_score.loss
    );
    assert!(differing <= N / 100, "{differing} of {N} images differ");
    assert!((device_accuracy - host_score.accuracy).abs() <= 0.01);
}
