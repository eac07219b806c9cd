//! The same training steps run on the host (core's Trainer with the Portable kernel) and
//! on the device give bit-identical weights, momentum and batch losses.

mod device_common;

use device_common::{boot, mdl, train_samples, tutorial_model};
use microdense::device_format::from_mdl;
use microdense_core::protocol::Tally;
use microdense_core::{Loss, Network, Portable, Rng, Sgd, SgdState, Targets, Trainer};

#[test]
fn training_steps_on_host_and_device_give_identical_weights() {
    let model = tutorial_model();
    let file = mdl(&model);
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let device = &mut booted.device;
    let sgd = Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
    };
    let loss = Loss::CategoricalCrossentropy;
    let set = train_samples();
    let batches: [Vec<usize>; 3] = [(0..1).collect(), (1..9).collect(), (100..116).collect()];

    // Host: core's Trainer over the whole network, the last 2 Dense layers trainable.
    let layers = model.core_layers();
    let net = Network::new(784, &layers).unwrap();
    let trainer = Trainer::last_weighted(net, 2);
    let frozen = trainer.frozen_param_count();
    let mut trainable = model.params[frozen..].to_vec();
    let mut momentum = vec![0.0; sgd.state_len(trainable.len())];
    let mut state = SgdState {
        iterations: model.optimizer.as_ref().unwrap().iterations,
        momentum: &mut momentum,
    };
    let mut grads = vec![0.0; trainable.len()];
    let mut host_stats = Vec::new();
    for batch in &batches {
        let inputs: Vec<f32> = batch
            .iter()
            .flat_map(|&i| set.values(i).iter().map(|&b| b as f32))
            .collect();
        let labels: Vec<u32> = batch.iter().map(|&i| u32::from(set.labels[i])).collect();
        let mut scratch = vec![0.0; trainer.scratch_len(batch.len())];
        let stats = trainer
            .step(
                &Portable,
                &sgd,
                &mut state,
                &model.params[..frozen],
                &mut trainable,
                &inputs,
                &Targets::Classes(&labels),
                loss,
                &mut Rng::new(0),
                &mut grads,
                &mut scratch,
            )
            .unwrap();
        host_stats.push(Tally::from(stats));
    }
    let host_iterations = state.iterations;

    // Device: the same steps, then the model pulled back.
    let mut device_stats = Vec::new();
    for batch in &batches {
        let step = device.train_step(2, Some(sgd), Some(loss), &set, batch).unwrap();
        device_stats.push(step.batch);
        assert!(step.iterations <= host_iterations);
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for (h, d) in host_stats.iter().zip(&device_stats) {
        assert_eq!((h.samples, h.correct), (d.samples, d.correct));
        assert_eq!(h.loss_sum.to_bits(), d.loss_sum.to_bits(), "{h:?} vs {d:?}");
    }
    let pulled = from_mdl(&device.pull(&mut |_, _| {}).unwrap()).unwrap();
    assert_eq!(
        bits(&pulled.params[..frozen]),
        bits(&model.params[..frozen]),
        "frozen layers changed"
    );
    let differing = pulled.params[frozen..]
        .iter()
        .zip(&trainable)
        .filter(|(d, h)| d.to_bits() != h.to_bits())
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} trained weights differ",
        trainable.len()
    );
    assert_ne!(
        bits(&trainable),
        bits(&model.params[frozen..]),
        "the steps changed nothing"
    );
    let optimizer = pulled.optimizer.unwrap();
    assert_eq!(optimizer.iterations, host_iterations);
    assert_eq!(bits(&optimizer.momentum[frozen..]), bits(&momentum));
    let compile = pulled.compile.unwrap();
    assert_eq!(compile.sgd, sgd);
    assert!(!pulled.layers[0].trainable && pulled.layers[2].trainable);
}
