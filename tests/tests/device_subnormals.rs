//! The parity contract for subnormal floats: the host's `predict` and the device compute
//! with subnormals as IEEE 754 defines them (the firmware clears FPSCR's flush-to-zero
//! bit at start-up; only host training flushes), so a model whose outputs are subnormal
//! gives the same bits on both.

mod device_common;

use device_common::{boot, host_test, labels_u32, mnist, test_samples};
use microdense::device_format::{to_mdl, ExportOptions};
use microdense::model::Model;

#[test]
fn subnormal_outputs_are_bit_identical_on_host_and_device() {
    // One linear Dense layer with subnormal weights: every product of a pixel (0–255)
    // and a weight is subnormal, and so are many outputs. A device that flushed them
    // (FZ set) would answer zeros.
    let mut model = Model::from_spec("784,10,linear", 1).unwrap();
    let kernel = 784 * 10;
    for (i, w) in model.params[..kernel].iter_mut().enumerate() {
        let sign = if i % 5 == 0 { 0x8000_0000 } else { 0 };
        *w = f32::from_bits(sign | (1 + (i as u32 * 7919) % 40));
    }
    model.params[kernel..].fill(0.0);
    let file = to_mdl(
        &model,
        &ExportOptions {
            with_training_state: false,
            trainable_layers: None,
        },
    )
    .unwrap();
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let samples = 8;
    let labels = labels_u32(&mnist().test.labels);
    let host = model.predict(&host_test(&labels, samples)).unwrap();
    let subnormal = host.iter().filter(|x| x.is_subnormal()).count();
    assert!(subnormal > samples, "only {subnormal} host outputs are subnormal");
    let set = test_samples();
    for i in 0..samples {
        let (_, scores, _) = booted.device.infer(&set, i).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!(bits(&scores), bits(&host[i * 10..(i + 1) * 10]), "sample {i}");
    }
}
