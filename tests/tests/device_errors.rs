//! A blank or corrupted model region, garbage on the serial line, frames cut in half or too
//! long, and bad requests each get a clear error from the firmware, which keeps serving.

mod device_common;

use device_common::{boot, device_error, mdl, test_samples, train_samples, TIMEOUT};
use microdense::device::{Device, ModelState};
use microdense::model::{Model, TUTORIAL_SPEC};
use microdense_core::protocol::{
    encode_frame, ErrorCode, FrameError, Request, Response, MAX_FRAME, UNKNOWN_ID,
};
use std::time::Duration;

/// A small untrained tutorial model as a `.mdl` file (no MNIST needed).
fn small_model_file() -> Vec<u8> {
    let mut model = Model::from_spec(TUTORIAL_SPEC, 3).unwrap();
    model.compile(microdense::model::Compile::default());
    mdl(&model)
}

/// The next reply, which must be an error: its id, its fault's code and the host's wording
/// of it.
fn error_reply(device: &mut Device, timeout: Duration) -> (u16, ErrorCode, String) {
    device
        .next_reply(timeout, |id, r| match r {
            Response::Error(fault) => (id, fault.code(), fault.to_string()),
            other => panic!("expected an error reply, got {other:?}"),
        })
        .unwrap()
}

/// Info answers and reports a loaded model: the firmware still serves.
fn still_serving(device: &mut Device) {
    let info = device.info().unwrap();
    assert!(matches!(info.model, ModelState::Ok(_)), "{info}");
}

#[test]
fn blank_region_reports_no_model() {
    let Some(mut booted) = boot(None) else { return };
    let device = &mut booted.device;
    let info = device.info().unwrap();
    assert_eq!(info.model, ModelState::None, "{info}");
    assert!(info.to_string().contains("model:          none"), "{info}");
    let (code, message) = device_error(device.infer(&test_samples(), 0));
    assert_eq!(code, ErrorCode::NoModel);
    assert_eq!(
        message,
        "no model in the model region at 0x00040000; write a .mdl there"
    );
    assert_eq!(device.info().unwrap().model, ModelState::None);
}

#[test]
fn corrupted_region_is_reported_with_its_crc() {
    let mut file = small_model_file();
    let at = file.len() / 2;
    file[at] ^= 0x40;
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let device = &mut booted.device;
    let info = device.info().unwrap();
    let ModelState::Corrupted(why) = &info.model else {
        panic!("a damaged model was accepted: {info}")
    };
    assert!(
        why.starts_with("model region: model file is corrupted: stored CRC-32 0x"),
        "{why}"
    );
    let (code, message) = device_error(device.pull(&mut |_, _| {}));
    assert_eq!(code, ErrorCode::BadModel);
    assert_eq!(&message, why);
    let again = device.info().unwrap();
    assert_eq!(again.model, info.model);
}

#[test]
fn damaged_frames_and_bad_requests_get_errors_and_the_firmware_keeps_serving() {
    let file = small_model_file();
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let device = &mut booted.device;
    still_serving(device);

    // Garbage bytes, then a zero: one frame that is neither COBS nor CRC-clean.
    let garbage: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 1)
        .collect();
    device.send_raw(&garbage).unwrap();
    device.send_raw(&[0]).unwrap();
    let (id, code, message) = error_reply(device, TIMEOUT);
    assert_eq!(id, UNKNOWN_ID);
    assert!(
        matches!(code, ErrorCode::Frame(FrameError::Cobs | FrameError::Crc { .. })),
        "{code:?}: {message}"
    );
    still_serving(device);

    // A frame cut in half: dropped after the firmware's frame timeout.
    let mut frame = vec![0u8; MAX_FRAME];
    let request = Request::Pull { offset: 0, len: 100 };
    let len = encode_frame(7, &request, &mut frame).unwrap();
    device.send_raw(&frame[..len / 2]).unwrap();
    let (id, code, message) = error_reply(device, TIMEOUT);
    assert_eq!((id, code), (UNKNOWN_ID, ErrorCode::Truncated), "{message}");
    assert_eq!(
        message,
        "frame cut off: no byte for 200000000 clock ticks; its bytes were dropped"
    );
    still_serving(device);

    // A frame longer than the firmware's buffer.
    let long = vec![0x55u8; MAX_FRAME + 100];
    device.send_raw(&long).unwrap();
    device.send_raw(&[0]).unwrap();
    let (_, code, message) = error_reply(device, TIMEOUT);
    assert!(
        matches!(code, ErrorCode::Frame(FrameError::Oversized { .. })),
        "{code:?}: {message}"
    );
    assert_eq!(
        message,
        format!("frame exceeds the {MAX_FRAME}-byte limit; its bytes were dropped")
    );
    still_serving(device);

    // A frame that passes its CRC but holds no known request.
    let len = encode_frame(9, &(200u8, 1u8), &mut frame).unwrap();
    device.send_raw(&frame[..len]).unwrap();
    let (id, code, message) = error_reply(device, TIMEOUT);
    assert_eq!(id, 9);
    assert!(
        matches!(code, ErrorCode::Frame(FrameError::Message { .. })),
        "{code:?}"
    );
    assert!(
        message.starts_with("frame passes its CRC but its message cannot be decoded"),
        "{message}"
    );

    // Requests the model cannot serve.
    let train = train_samples();
    let (code, message) = device_error(device.train_step(4, None, None, &train, &[0]));
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(
        message,
        "cannot train the last 4 weighted layers: the model has 3 float32 weighted layers (an int8 \
         body stays frozen)"
    );
    let (code, message) = device_error(device.train_step(3, None, None, &train, &[0]));
    assert_eq!(code, ErrorCode::TooLarge, "{message}");
    assert!(
        message.starts_with("training the last 3 layers needs ")
            && message
                .ends_with("f32 for weights, optimizer state and gradients; the firmware reserves 8192"),
        "{message}"
    );
    let mut labels = train.labels.to_vec();
    labels[0] = 12;
    let bad = microdense::device::SampleSet {
        labels: &labels,
        ..train
    };
    let (code, message) = device_error(device.evaluate(&bad, &[0], None, &mut |_, _| {}));
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(
        message,
        "sample 0: label 12 is not a class of a model with 10 outputs"
    );
    device.infer(&train, 0).unwrap();
    let past_end = Request::Pull {
        offset: 10_000_000,
        len: 10,
    };
    let (code, message) = device_error(device.call(&past_end, |_| Ok(())));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        message.starts_with("offset 10000000 is past the model file's end ("),
        "{message}"
    );
    still_serving(device);
}
