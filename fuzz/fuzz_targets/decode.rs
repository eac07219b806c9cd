//! Fuzzes the device-format decoder: arbitrary bytes as they come, then with a valid
//! magic, length field and CRC so the input reaches the parser and the validation.
//! Whatever decodes must be a model that passes validation and re-encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense_core::format::{crc32, decode, decode_prefix, ModelView, MAGIC};
use microdense::device_format::AlignedBytes;
use microdense_core::Portable;

fn check(view: &ModelView<'_>) {
    let net = view.network().expect("a decoded network is valid");
    assert_eq!(view.weights().len(), net.param_count());
    if let Some(state) = view.training() {
        state.check(&net).expect("a decoded training state is valid");
    }
    // Keep inference cheap: the fuzzer may find wide layers.
    if net.max_output_width() <= 4096 && net.input_width() <= 4096 {
        let inputs = vec![0.25; net.input_width()];
        let mut scratch = vec![0.0; net.inference_scratch_len(1)];
        net.predict(&Portable, view.weights(), &inputs, 1, &mut scratch)
            .expect("inference runs");
    }
    let model = view.model().expect("model");
    let mut out = vec![0u8; model.encoded_len().expect("encodable")];
    model.encode(&mut out).expect("encodes");
    let aligned = AlignedBytes::new(&out);
    let back = decode(aligned.bytes()).expect("re-encoded file decodes");
    assert_eq!(back.layers(), view.layers());
}

fn run(bytes: &[u8]) {
    let aligned = AlignedBytes::new(bytes);
    let bytes = aligned.bytes();
    if let Ok(view) = decode(bytes) {
        check(&view);
    }
    if let Ok((view, _)) = decode_prefix(bytes) {
        check(&view);
    }
}

fuzz_target!(|data: &[u8]| {
    run(data);
    if data.len() >= 20 {
        let mut sealed = data.to_vec();
        sealed[..4].copy_from_slice(&MAGIC);
        let n = sealed.len();
        sealed[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        let crc = crc32(&sealed[..n - 4]);
        sealed[n - 4..].copy_from_slice(&crc.to_le_bytes());
        run(&sealed);
    }
});
