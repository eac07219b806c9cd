//! A firmware built with micromath's approximations instead of libm classifies nearly every
//! test image as the (libm) host; the libm firmware of every board classifies all of them
//! exactly as the host (device_boards.rs).

mod device_common;

use device_common::{
    boot_firmware, classes, host_test, labels_u32, mdl, mnist, test_samples, tutorial_model,
};

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
