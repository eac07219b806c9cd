//! Fuzzes the device-format decoder: arbitrary bytes as they come, then with a valid
//! magic, length field and CRC so the input reaches the parser and the validation.
//! Whatever decodes must be a model that passes validation and re-encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense_core::format::{crc32, decode, decode_prefix, ModelView, MAGIC};
use microdense_core::Portable;

/// Bytes in 4-byte-aligned storage, as a device's flash holds a model.
fn aligned(bytes: &[u8]) -> Vec<u32> {
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    for (i, b) in bytes.iter().enumerate() {
        words[i / 4] |= (*b as u32) << (8 * (i % 4));
    }
    words
}

fn as_bytes(words: &[u32], len: usize) -> &[u8] {
    // SAFETY: `words` holds `4 * words.len() >= len` initialised bytes; u8 has no
    // alignment or validity requirements.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), len) }
}

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
    let words = aligned(&out);
    let back = decode(as_bytes(&words, out.len())).expect("re-encoded file decodes");
    assert_eq!(back.layers(), view.layers());
}

fn run(bytes: &[u8]) {
    let words = aligned(bytes);
    let bytes = as_bytes(&words, bytes.len());
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
