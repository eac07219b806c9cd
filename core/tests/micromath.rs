//! With the `micromath` feature: the fast approximations stay close to libm, and a
//! network still learns.
#![cfg(feature = "micromath")]

use microdense_core::{
    math, Activation, Layer, Loss, Network, Optimizer, OptimizerScalars, Portable, Rng, Sgd, Targets, Trainer,
};

#[test]
fn approximations_stay_close_to_libm() {
    let mut worst = [0.0f32; 4];
    for i in 0..2000 {
        let x = -8.0 + 16.0 * i as f32 / 2000.0;
        let pos = 1e-3 + 20.0 * i as f32 / 2000.0;
        let errs = [
            (math::exp(x) - libm::expf(x)).abs() / libm::expf(x),
            (math::ln(pos) - libm::logf(pos)).abs(),
            (math::tanh(x) - libm::tanhf(x)).abs(),
            (math::sqrt(pos) - libm::sqrtf(pos)).abs() / libm::sqrtf(pos),
        ];
        for (w, e) in worst.iter_mut().zip(errs) {
            *w = w.max(e);
        }
    }
    println!(
        "worst errors: exp {:.2e} (rel), ln {:.2e}, tanh {:.2e}, sqrt {:.2e} (rel)",
        worst[0], worst[1], worst[2], worst[3]
    );
    // micromath's own documented accuracy: exp and tanh within 1%, ln within 0.15 absolute
    // (it only feeds reported loss values, never gradients), sqrt within 10%.
    assert!(
        worst[0] < 0.01 && worst[1] < 0.15 && worst[2] < 0.01 && worst[3] < 0.1,
        "{worst:?}"
    );
}

#[test]
fn a_network_still_learns() {
    // Two Gaussian blobs in 4-D; a 4 → 8 tanh → 2 softmax network separates them.
    let layers = [
        Layer::Dense {
            units: 8,
            activation: Activation::Tanh,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Dense {
            units: 2,
            activation: Activation::Softmax,
            use_bias: true,
            activity_regularizer: None,
        },
    ];
    let net = Network::new(4, &layers).unwrap();
    let trainer = Trainer::new(net, 0).unwrap();
    let mut rng = Rng::new(2);
    let mut params: Vec<f32> = (0..net.param_count()).map(|_| rng.next_f32() - 0.5).collect();
    let n = 200;
    let labels: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
    let x: Vec<f32> = labels
        .iter()
        .flat_map(|&l| {
            let centre = if l == 0 { -1.0 } else { 1.0 };
            (0..4)
                .map(|_| centre + 0.5 * rng.next_normal())
                .collect::<Vec<_>>()
        })
        .collect();
    let sgd = Sgd {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: false,
    };
    let optimizer = Optimizer::from(sgd);
    let mut scalars = OptimizerScalars::default();
    let mut state = vec![0.0; optimizer.state_len(params.len())];
    let mut grads = vec![0.0; params.len()];
    let mut scratch = vec![0.0; trainer.scratch_len(20)];
    for _ in 0..20 {
        for b in 0..n / 20 {
            let targets = Targets::Classes(&labels[b * 20..(b + 1) * 20]);
            let inputs = &x[b * 80..(b + 1) * 80];
            trainer
                .step(
                    &Portable,
                    &optimizer,
                    &mut scalars,
                    &mut state,
                    &[],
                    &mut params,
                    inputs,
                    &targets,
                    Loss::CategoricalCrossentropy,
                    &mut rng,
                    &mut grads,
                    &mut scratch,
                )
                .unwrap();
        }
    }
    let mut eval_scratch = vec![0.0; net.inference_scratch_len(n)];
    let stats = net
        .evaluate(
            &Portable,
            &params,
            &x,
            &Targets::Classes(&labels),
            Loss::CategoricalCrossentropy,
            &mut eval_scratch,
        )
        .unwrap();
    assert!(
        stats.correct as usize >= n * 95 / 100,
        "accuracy {}/{n}",
        stats.correct
    );
}
