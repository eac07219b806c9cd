//! The inference-only firmware (`scripts/firmware-build.sh --release --features
//! inference-only`: no optimizer, trainer or fine-tuned file) boots, validates a model that
//! carries a training state, gives the host's outputs bit for bit and its classes, and
//! refuses Train and Pull by name, then keeps serving.

mod device_common;

use device_common::{
    boot_firmware, classes, device_error, host_test, labels_u32, mdl, mnist, test_samples, train_samples,
    tutorial_model,
};
use microdense::device::ModelState;
use microdense_core::protocol::ErrorCode;

/// Test images compared bit for bit, and evaluated.
const IMAGES: usize = 200;

#[test]
fn inference_only_firmware_infers_like_the_host_and_refuses_training_by_name() {
    let model = tutorial_model();
    let file = mdl(&model);
    let Some(mut booted) = boot_firmware(&["--release", "--features", "inference-only"], Some(&file)) else {
        return;
    };
    let device = &mut booted.device;

    let info = device.info().unwrap();
    let ModelState::Ok(summary) = &info.model else {
        panic!("model not loaded: {info}")
    };
    assert_eq!(summary.file_len as usize, file.len());
    // The file carries a training state; this image leaves it out, and has no arena.
    assert!(summary.training.is_none(), "{info}");
    assert_eq!(info.limits.train_arena, 0, "{info}");
    assert!(
        info.to_string()
            .contains("training state: not read (inference-only firmware)"),
        "{info}"
    );

    let labels = labels_u32(&mnist().test.labels);
    let host_outputs = model.predict(&host_test(&labels, IMAGES)).unwrap();
    let set = test_samples();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for i in 0..8 {
        let (class, scores, _) = device.infer(&set, i).unwrap();
        let host = &host_outputs[i * 10..(i + 1) * 10];
        assert_eq!(bits(&scores), bits(host), "image {i}: {scores:?} vs {host:?}");
        assert_eq!(usize::from(class), microdense_core::argmax(host));
    }
    let indices: Vec<usize> = (0..IMAGES).collect();
    let result = device.evaluate(&set, &indices, None, &mut |_, _| {}).unwrap();
    assert_eq!(result.predictions, classes(&host_outputs));

    let (code, message) = device_error(device.train_step(2, None, None, &train_samples(), &[0]));
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(
        message,
        "finetune: the firmware was not built with training (it is the inference-only image); \
         flash the full firmware to fine-tune or pull"
    );
    let (code, message) = device_error(device.pull(&mut |_, _| {}));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        message.starts_with("pull: the firmware was not built with training"),
        "{message}"
    );

    // Still serving, with the same outputs.
    let (_, scores, _) = device.infer(&set, 0).unwrap();
    assert_eq!(bits(&scores), bits(&host_outputs[..10]));
}
