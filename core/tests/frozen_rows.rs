//! A device fine-tunes by running the frozen prefix one sample at a time
//! ([`Network::predict_rows`]) and then training the suffix on its own: that must give the
//! bits of the [`Trainer`] over the whole network — its dropout and noise in the prefix,
//! its activity penalties, the loss and every gradient.

use microdense_core::{
    Activation, Layer, Loss, Network, PenaltySums, Portable, Regularizer, Rng, Rows, Targets, Trainer,
};

fn layers() -> [Layer; 10] {
    let penalty = Some(Regularizer { l1: 0.01, l2: 0.02 });
    [
        Layer::Dense {
            units: 6,
            activation: Activation::Tanh,
            use_bias: true,
            activity_regularizer: penalty,
        },
        Layer::GaussianNoise { stddev: 0.3 },
        Layer::AlphaDropout { rate: 0.2 },
        Layer::ActivityRegularization { l1: 0.03, l2: 0.0 },
        Layer::Dropout { rate: 0.25 },
        Layer::Dense {
            units: 5,
            activation: Activation::Relu,
            use_bias: true,
            activity_regularizer: penalty,
        },
        Layer::GaussianDropout { rate: 0.2 },
        Layer::Dense {
            units: 3,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::ActivityRegularization { l1: 0.0, l2: 0.05 },
        Layer::Activation(Activation::Softmax),
    ]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn a_frozen_prefix_run_sample_by_sample_gives_the_trainers_bits() {
    let layers = layers();
    let net = Network::new(4, &layers).unwrap();
    let mut rng = Rng::new(11);
    let params: Vec<f32> = (0..net.param_count())
        .map(|_| rng.next_f32() * 2.0 - 1.0)
        .collect();
    const BATCH: usize = 5;
    let x: Vec<f32> = (0..BATCH * 4).map(|_| rng.next_f32() * 4.0 - 2.0).collect();
    let labels = [0u32, 2, 1, 1, 0];
    let targets = Targets::Classes(&labels);
    let scale = 1.0 / BATCH as f32;

    // The host: one trainer over the network, the last two Dense layers trainable.
    let trainer = Trainer::last_weighted(net, 2);
    let first = trainer.first_trainable();
    assert_eq!(first, 5);
    let split = net.param_offset(first);
    let mut grads = vec![0.0; trainer.trainable_param_count()];
    let mut scratch = vec![0.0; trainer.scratch_len(BATCH)];
    let host = trainer
        .gradients(
            &Portable,
            &params[..split],
            &params[split..],
            &x,
            &targets,
            Loss::CategoricalCrossentropy,
            scale,
            &mut Rng::new(7),
            &mut grads,
            &mut scratch,
        )
        .unwrap();

    // The device: the prefix sample by sample, then a trainer of the suffix alone.
    let mut rng = Rng::new(7);
    let prefix = net.prefix(first).unwrap();
    let noise = Rows::frozen_noise(&layers[..first], &mut rng);
    assert!(noise.is_some());
    let mut sums = [PenaltySums::default(); 5];
    let mut rows = Rows {
        noise,
        first_sample: 0,
        penalties: &mut sums,
    };
    let mut inputs = Vec::new();
    let mut prefix_scratch = vec![0.0; prefix.inference_scratch_len(1)];
    for (s, sample) in x.chunks_exact(4).enumerate() {
        rows.first_sample = s;
        let out = prefix
            .predict_rows(
                &Portable,
                &params[..split],
                sample,
                1,
                &mut rows,
                &mut prefix_scratch,
            )
            .unwrap();
        inputs.extend_from_slice(out);
    }
    let suffix = Trainer::new(net.suffix(first).unwrap(), 0).unwrap();
    let mut device_grads = vec![0.0; grads.len()];
    let mut scratch = vec![0.0; suffix.scratch_len(BATCH)];
    let mut device = suffix
        .gradients(
            &Portable,
            &[],
            &params[split..],
            &inputs,
            &targets,
            Loss::CategoricalCrossentropy,
            scale,
            &mut rng,
            &mut device_grads,
            &mut scratch,
        )
        .unwrap();
    device.add_penalties(0.0, rows.penalty(&layers[..first]));

    assert!(rows.penalty(&layers[..first]) > 0.0);
    assert_eq!(
        host.loss_sum.to_bits(),
        device.loss_sum.to_bits(),
        "{host:?} vs {device:?}"
    );
    assert_eq!((host.correct, host.samples), (device.correct, device.samples));
    assert_eq!(bits(&grads), bits(&device_grads));
}

#[test]
fn the_prefix_noise_is_drawn_and_differs_from_sample_to_sample() {
    let layers = [Layer::GaussianNoise { stddev: 1.0 }];
    let net = Network::new(3, &layers).unwrap();
    let mut scratch = [0.0; 6];
    let mut sums = [PenaltySums::default(); 1];
    let mut run = |noise, sample| {
        let mut rows = Rows {
            noise,
            first_sample: sample,
            penalties: &mut sums,
        };
        net.predict_rows(&Portable, &[], &[0.0; 3], 1, &mut rows, &mut scratch)
            .unwrap()
            .to_vec()
    };
    assert_eq!(run(None, 0), [0.0; 3], "inference: the identity");
    let (a, b) = (run(Some(1), 0), run(Some(1), 1));
    assert_ne!(a, [0.0; 3]);
    assert_ne!(a, b);
    assert_eq!(a, run(Some(1), 0), "the same (seed, sample), the same noise");
}

#[test]
fn rows_need_one_penalty_sum_per_layer() {
    let layers = [Layer::Identity, Layer::Identity];
    let net = Network::new(1, &layers).unwrap();
    let mut sums = [PenaltySums::default(); 1];
    let mut rows = Rows {
        noise: None,
        first_sample: 0,
        penalties: &mut sums,
    };
    let err = net
        .predict_rows(&Portable, &[], &[1.0], 1, &mut rows, &mut [0.0; 2])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "activity penalty sums buffer holds 1 values, the network needs 2"
    );
}
