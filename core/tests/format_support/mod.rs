//! Models and helpers shared by the device-format tests.
#![allow(dead_code)]

use microdense_core::format::{crc32, ModelRef, TrainingState, CRC_LEN};
use microdense_core::optimizer::AdamSettings;
use microdense_core::quant::{
    Int8Activation, Int8Body, Int8Dense, Int8Layer, Int8LayerData, Int8LayerLayout, QuantParams, Requantizer,
};
use microdense_core::{Activation, Algorithm, Layer, Loss, Network, Optimizer, OptimizerScalars, Rng, Sgd};

/// Bytes in 4-byte-aligned storage (a `Vec<u32>` underneath), as a device's flash is.
pub struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    /// Copies `bytes` into aligned storage.
    pub fn new(bytes: &[u8]) -> Self {
        let mut me = AlignedBytes {
            words: vec![0u32; bytes.len().div_ceil(4)],
            len: bytes.len(),
        };
        me.bytes_mut().copy_from_slice(bytes);
        me
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }

    /// The bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u32, u8>(&mut self.words)[..self.len]
    }

    /// The bytes starting one past an aligned address (for the misalignment test).
    pub fn misaligned_copy(bytes: &[u8]) -> (Self, usize) {
        let mut padded = vec![0u8];
        padded.extend_from_slice(bytes);
        (AlignedBytes::new(&padded), 1)
    }
}

/// An owned model: layers, flat weights and optional training state.
#[derive(Clone, Debug)]
pub struct OwnedModel {
    pub input: usize,
    /// `None` for the flat `[input]`.
    pub input_shape: Option<Vec<u32>>,
    pub layers: Vec<Layer>,
    pub weights: Vec<f32>,
    pub training: Option<OwnedTraining>,
}

/// An owned training state.
#[derive(Clone, Debug)]
pub struct OwnedTraining {
    pub optimizer: Optimizer,
    pub loss: Loss,
    pub scalars: OptimizerScalars,
    pub trainable_layers: usize,
    pub state: Vec<f32>,
}

impl OwnedModel {
    /// The borrowed form the encoder takes.
    pub fn as_ref(&self) -> ModelRef<'_> {
        ModelRef {
            int8: None,
            network: Network::new(self.input, &self.layers).unwrap(),
            input_shape: self.input_shape.as_deref(),
            weights: &self.weights,
            training: self.training.as_ref().map(|t| TrainingState {
                optimizer: t.optimizer.clone(),
                loss: t.loss,
                scalars: t.scalars,
                trainable_layers: t.trainable_layers,
                state: &t.state,
            }),
        }
    }

    /// The encoded file.
    pub fn encode(&self) -> Vec<u8> {
        let model = self.as_ref();
        let mut out = vec![0u8; model.encoded_len().unwrap()];
        let len = model.encode(&mut out).unwrap();
        assert_eq!(len, out.len());
        out
    }

    /// Adds a training state for the last `k` weighted layers after 5 iterations,
    /// optimizer state values from `f`.
    pub fn with_training(
        mut self,
        optimizer: impl Into<Optimizer>,
        k: usize,
        f: impl Fn(usize) -> f32,
    ) -> Self {
        let optimizer = optimizer.into();
        let net = Network::new(self.input, &self.layers).unwrap();
        let first = net.first_trainable_layer(k);
        let trainable = net.param_count() - net.param_offset(first);
        self.training = Some(OwnedTraining {
            state: (0..optimizer.state_len(trainable)).map(f).collect(),
            optimizer,
            loss: Loss::CategoricalCrossentropy,
            scalars: OptimizerScalars {
                iterations: 5,
                ..OptimizerScalars::default()
            },
            trainable_layers: k,
        });
        self
    }
}

/// The golden model: 4 → Dense(3, relu) → Dense(2, softmax), weights `(i - 11) / 8`.
pub fn golden_model() -> OwnedModel {
    let layers = vec![
        Layer::Dense {
            units: 3,
            activation: Activation::Relu,
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
    let params = Network::new(4, &layers).unwrap().param_count();
    OwnedModel {
        input: 4,
        input_shape: None,
        layers,
        weights: (0..params).map(|i| (i as f32 - 11.0) / 8.0).collect(),
        training: None,
    }
}

/// The golden model with SGD(0.01, momentum 0.9) state for its last Dense layer, after 5
/// iterations, momentum values `-(i + 1) / 64`.
pub fn golden_trainable_model() -> OwnedModel {
    let sgd = Sgd {
        learning_rate: 0.01,
        momentum: 0.9,
        nesterov: false,
    };
    golden_model().with_training(sgd, 1, |i| -((i + 1) as f32) / 64.0)
}

/// The golden model with Adam(learning_rate 0.01) state for its last Dense layer
/// (`K = 1`, 8 parameters, 16 state values: momentum and velocity interleaved), after 5
/// iterations, state values `(i + 1) / 64`.
pub fn golden_adam_model() -> OwnedModel {
    let adam = Optimizer {
        learning_rate: microdense_core::Schedule::Constant(0.01),
        ..Optimizer::new(Algorithm::Adam(AdamSettings::default()))
    };
    golden_model().with_training(adam, 1, |i| (i + 1) as f32 / 64.0)
}

/// The golden model with SGD (momentum 0.9) at an exponentially decaying rate, state for
/// its last Dense layer: a training record that needs the `schedules` group.
pub fn golden_schedule_model() -> OwnedModel {
    let sgd = Optimizer {
        learning_rate: microdense_core::Schedule::ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 100.0,
            decay_rate: 0.5,
            staircase: false,
        },
        ..golden_trainable_model().training.unwrap().optimizer
    };
    golden_model().with_training(sgd, 1, |i| -((i + 1) as f32) / 64.0)
}

/// The golden model with plain SGD clipping each gradient's norm to 1: a training record
/// that needs the `clipping` group.
pub fn golden_clipping_model() -> OwnedModel {
    let sgd = Optimizer {
        clipping: microdense_core::optimizer::Clipping::Norm(1.0),
        ..Optimizer::from(Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        })
    };
    golden_model().with_training(sgd, 1, |_| 0.0)
}

/// The tutorial's model (784 → Dense 50 → sigmoid → Dense 20 → sigmoid → Dense 10 →
/// softmax, activations as layers of their own) with random weights.
pub fn tutorial_model(seed: u64) -> OwnedModel {
    let layers = vec![
        Layer::Dense {
            units: 50,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Sigmoid),
        Layer::Dense {
            units: 20,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Sigmoid),
        Layer::Dense {
            units: 10,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Softmax),
    ];
    let params = Network::new(784, &layers).unwrap().param_count();
    let mut rng = Rng::new(seed);
    OwnedModel {
        input: 784,
        input_shape: None,
        layers,
        weights: (0..params).map(|_| rng.next_normal() * 0.1).collect(),
        training: None,
    }
}

/// Rewrites the length field and the CRC of a file whose bytes were edited, so the
/// edit reaches the parser instead of the integrity check.
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() < 16 {
        return;
    }
    let n = bytes.len() as u32;
    bytes[8..12].copy_from_slice(&n.to_le_bytes());
    let at = bytes.len() - CRC_LEN;
    let crc = crc32(&bytes[..at]);
    bytes[at..].copy_from_slice(&crc.to_le_bytes());
}

/// An int8 model: a body of one int8 Dense layer (4 → 3, ReLU) and the float head
/// Dense 3 → 2 softmax.
pub struct OwnedInt8 {
    /// The float head.
    pub head: OwnedModel,
    /// The input's quantisation.
    pub input: QuantParams,
    /// The body's layers.
    pub layers: Vec<Int8Layer>,
    /// The body's data region.
    pub data: Vec<u32>,
}

impl OwnedInt8 {
    /// The body.
    pub fn body(&self) -> Int8Body<'_> {
        Int8Body::new(4, self.input, &self.layers, bytemuck::cast_slice(&self.data)).unwrap()
    }

    /// The encoded file.
    pub fn encode(&self) -> Vec<u8> {
        let model = ModelRef {
            int8: Some(self.body()),
            input_shape: Some(&[4]),
            ..self.head.as_ref()
        };
        let mut out = vec![0u8; model.encoded_len().unwrap()];
        assert_eq!(model.encode(&mut out).unwrap(), out.len());
        out
    }
}

/// The golden int8 model: weights `(i − 6)`, biases `10·j`, requantisation by 1/16.
pub fn golden_int8_model() -> OwnedInt8 {
    let layer = Int8Layer {
        units: 3,
        use_bias: true,
        output: QuantParams {
            scale: 0.25,
            zero_point: -128,
        },
        activation: Int8Activation::Relu,
    };
    let weights: Vec<i8> = (0..12).map(|i| i - 6).collect();
    let r = Requantizer::from_scale(1.0 / 16.0).unwrap();
    let data = Int8LayerData {
        dense: Int8Dense {
            inputs: 4,
            units: 3,
            weights: &weights,
            bias: &[0, 10, 20],
            multipliers: &[r.multiplier; 3],
            shifts: &[r.shift; 3],
            input_offset: 0,
            output_zero_point: 0,
            min: -128,
            max: 127,
        },
        weight_scales: &[0.5, 0.25, 0.125],
        table: None,
    };
    let mut bytes = vec![0u8; Int8LayerLayout::new(4, &layer).unwrap().len()];
    assert!(data.write(&mut bytes));
    let head_layers = vec![Layer::Dense {
        units: 2,
        activation: Activation::Softmax,
        use_bias: true,
        activity_regularizer: None,
    }];
    OwnedInt8 {
        head: OwnedModel {
            input: 3,
            input_shape: None,
            layers: head_layers,
            weights: (0..8).map(|i| (i as f32 - 4.0) / 8.0).collect(),
            training: None,
        },
        input: QuantParams {
            scale: 1.0,
            zero_point: -128,
        },
        layers: vec![layer],
        data: bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    }
}
