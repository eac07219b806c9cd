//! Training's numerics: the same weights whatever the number of threads, and no
//! subnormal floats (the stall of issue 18) reaching the weights.

use microdense::dataset::{Dataset, Features};
use microdense::fit::{FitOptions, WHOLE_BATCH_PARAMS};
use microdense::mnist::Mnist;
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_core::optimizer::AdamSettings;
use microdense_core::{Algorithm, Clipping, Optimizer, Schedule};
use microdense_tests::mnist_dir;

/// A model large enough to train on whole batches, with sigmoids (whose gradients reach
/// the first layer whatever its weights).
const WHOLE_BATCH_SPEC: &str = "784,200,sigmoid,10,softmax";

#[test]
fn one_two_and_three_threads_give_the_same_weights_bit_for_bit() {
    let mnist = Mnist::load(&mnist_dir()).expect("MNIST loads");
    let samples = 3000;
    let labels: Vec<u32> = mnist.train.labels[..samples].iter().map(|&l| l as u32).collect();
    let images = &mnist.train.images[..samples * 784];
    let train = Dataset::new(
        Features::U8 {
            data: images,
            scale: 1.0,
        },
        784,
        &labels,
    )
    .unwrap();
    // Plain SGD, and Adam with global-norm clipping (whose norm sums all gradients).
    let adam = Compile {
        optimizer: Optimizer {
            algorithm: Algorithm::Adam(AdamSettings::default()),
            learning_rate: Schedule::Constant(0.001),
            weight_decay: 0.0,
            clipping: Clipping::GlobalNorm(0.5),
        },
        ..Compile::default()
    };
    let run = |spec: &str, threads, compile: &Compile| {
        let mut model = Model::from_spec(spec, 7).unwrap();
        model.compile(compile.clone());
        // Batches of 100: four chunks each for the tutorial (the last of four samples),
        // whole for the larger model, whose products the threads share in blocks; and a
        // last batch of its own size; 3000 samples are 30 batches.
        let options = FitOptions {
            epochs: 2,
            batch_size: 100,
            seed: 7,
            threads,
            ..FitOptions::default()
        };
        let history = model.fit(&train, None, &options, &mut |_| {}).unwrap();
        let losses: Vec<u64> = history.iter().map(|e| e.loss.to_bits()).collect();
        let bits: Vec<u32> = model.params.iter().map(|w| w.to_bits()).collect();
        (losses, bits)
    };
    let whole = WHOLE_BATCH_SPEC;
    assert!(Model::from_spec(whole, 7).unwrap().params.len() >= WHOLE_BATCH_PARAMS);
    assert!(Model::from_spec(TUTORIAL_SPEC, 7).unwrap().params.len() < WHOLE_BATCH_PARAMS);
    for (spec, compile) in [TUTORIAL_SPEC, whole]
        .into_iter()
        .flat_map(|spec| [(spec, Compile::default()), (spec, adam.clone())])
    {
        let one = run(spec, 1, &compile);
        for threads in [2, 3] {
            let other = run(spec, threads, &compile);
            let with = format!("{spec} with 1 and {threads} threads ({:?})", compile.optimizer);
            assert_eq!(one.0, other.0, "losses {with} differ");
            let first = one.1.iter().zip(&other.1).position(|(a, b)| a != b);
            assert_eq!(first, None, "weights {with} differ");
        }
    }
}

#[test]
fn training_on_subnormal_inputs_leaves_no_subnormal_weight() {
    // Inputs just below the smallest normal float: without flushing, the first layer's
    // kernel gradients are subnormal, and a kernel that starts at zero becomes subnormal.
    let (samples, width) = (512, 784);
    let inputs: Vec<f32> = (0..samples * width)
        .map(|i| {
            if i % 3 == 0 {
                0.0
            } else {
                f32::MIN_POSITIVE * ((i % 7) as f32 / 8.0)
            }
        })
        .collect();
    assert!(inputs.iter().any(|x| x.is_subnormal()));
    let labels: Vec<u32> = (0..samples as u32).map(|i| i % 10).collect();
    let train = Dataset::new(Features::F32(&inputs), width, &labels).unwrap();
    // In chunks (the tutorial) and whole batches, whose products run on the pool's threads.
    for spec in [TUTORIAL_SPEC, WHOLE_BATCH_SPEC] {
        let mut model = Model::from_spec(spec, 3).unwrap();
        let first_layer = model.layer_param_count(0);
        model.params[..first_layer].fill(0.0);
        model.compile(Compile::default());
        let options = FitOptions {
            epochs: 1,
            threads: 2,
            seed: 3,
            ..FitOptions::default()
        };
        model.fit(&train, None, &options, &mut |_| {}).unwrap();
        let subnormal = model.params.iter().filter(|w| w.is_subnormal()).count();
        assert_eq!(
            subnormal, 0,
            "{spec}: {subnormal} weights are subnormal after training"
        );
    }
}
