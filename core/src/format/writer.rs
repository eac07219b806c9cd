//! The header and the metadata written in postcard's encoding by hand: the bytes serde's
//! derived serializers give for the wire records (tests compare the two), from one small
//! writer that either measures or writes, so a device re-encoding its model (Pull) links
//! neither serde's per-variant code nor a second copy of it for measuring. The protocol's
//! replies are written with it too ([`crate::protocol::encode_response`]), into a [`Sink`].

use super::wire::{
    ActivationTag, Header, InputShape, Int8Record, LayerRecord, OptimizerRecord, TrainingRecord,
};
use crate::kinds::Kind;
use crate::optimizer::{AdamSettings, Algorithm, Clipping, Schedule};
use crate::quant::{Int8Activation, Int8Layer, QuantParams};
use crate::{Inbound, Network, Optimizer, Source};

/// Where a [`Writer`] puts bytes other than into a slice (a frame being built).
pub(crate) trait Sink {
    /// Takes the next byte; `false` when it does not fit.
    fn put(&mut self, b: u8) -> bool;
}

/// Where a [`Writer`]'s bytes go.
enum Out<'b> {
    /// Nowhere: they are only counted.
    Count,
    /// Into a slice, from its start.
    Slice(&'b mut [u8]),
    /// Into a sink.
    Sink(&'b mut dyn Sink),
}

/// Writes postcard's encoding into a buffer or a sink, or only counts its bytes.
pub(crate) struct Writer<'b> {
    out: Out<'b>,
    len: usize,
    overflow: bool,
}

impl<'b> Writer<'b> {
    /// A writer that only counts.
    pub fn measure() -> Self {
        Writer {
            out: Out::Count,
            len: 0,
            overflow: false,
        }
    }

    /// A writer into the start of `buf`.
    pub fn into(buf: &'b mut [u8]) -> Self {
        Writer {
            out: Out::Slice(buf),
            len: 0,
            overflow: false,
        }
    }

    /// A writer into `sink`.
    pub fn to_sink(sink: &'b mut dyn Sink) -> Self {
        Writer {
            out: Out::Sink(sink),
            len: 0,
            overflow: false,
        }
    }

    /// The bytes written (or counted); `None` when they did not fit the buffer, or a value
    /// had kinds this build leaves out ([`left_out`](Self::left_out)).
    pub fn finish(self) -> Option<usize> {
        (!self.overflow).then_some(self.len)
    }

    /// Fails the write at a value of kinds this build leaves out ([`crate::kinds`]): the
    /// decoder and [`TrainingState::check`](super::TrainingState::check) refuse such values
    /// before they reach a writer, so this links no code for them.
    fn left_out(&mut self) {
        self.overflow = true;
    }

    /// One byte (a `u8`, a `bool`, an option's or a fixed-width integer's byte).
    // A call per byte: the writes below stay a few instructions each.
    #[inline(never)]
    pub fn byte(&mut self, b: u8) {
        // Nothing more goes out once a byte did not fit (a sink may not take more).
        if !self.overflow {
            self.overflow = !match &mut self.out {
                Out::Count => true,
                Out::Slice(buf) => buf.get_mut(self.len).map(|slot| *slot = b).is_some(),
                Out::Sink(sink) => sink.put(b),
            };
        }
        self.len += 1;
    }

    /// Bytes as they are.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// An unsigned integer (`u16`, `u32`, `u64`, `usize`, an enum's variant index) as a
    /// varint: 7 bits a byte, least significant first, the high bit on all but the last.
    #[inline(never)]
    pub fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    /// An `f32` (four bytes, little-endian).
    pub fn f32(&mut self, x: f32) {
        self.bytes(&x.to_le_bytes());
    }

    /// An `Option<f32>`.
    fn option_f32(&mut self, x: Option<f32>) {
        match x {
            None => self.byte(0),
            Some(x) => {
                self.byte(1);
                self.f32(x);
            }
        }
    }

    /// A sequence's length.
    pub fn seq_len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    /// The fixed header (fixed-width little-endian fields).
    pub(super) fn header(&mut self, h: &Header) {
        self.bytes(&h.magic);
        self.bytes(&h.version.to_le_bytes());
        self.bytes(&h.min_reader.to_le_bytes());
        self.bytes(&h.len.to_le_bytes());
        self.bytes(&h.meta_len.to_le_bytes());
    }

    /// The metadata of `net`: the [`Meta`](super::wire::Meta) record (input shape, layers,
    /// parameter count, training record), then a graph's wiring.
    pub(super) fn metadata(
        &mut self,
        shape: &InputShape,
        net: &Network<'_>,
        params: u32,
        training: Option<&TrainingRecord>,
    ) {
        self.seq_len(shape.len());
        for &d in shape {
            self.varint(d.into());
        }
        self.seq_len(net.layers().len());
        for layer in net.layers() {
            self.layer(&LayerRecord::from(layer));
        }
        self.varint(params.into());
        match training {
            None => self.byte(0),
            Some(t) => {
                self.byte(1);
                self.training(t);
            }
        }
        if net.is_graph() {
            self.seq_len(net.layers().len());
            for i in 0..net.layers().len() {
                self.inbound(net.inbound(i));
            }
        }
    }

    /// One layer's inputs in the wiring record: `0` for the network input, `j + 1` for
    /// layer `j`.
    fn inbound(&mut self, inbound: Inbound) {
        self.seq_len(inbound.sources().len());
        for s in inbound.sources() {
            self.byte(match *s {
                Source::Input => 0,
                Source::Layer(j) => j + 1,
            });
        }
    }

    /// A [`LayerRecord`]: its tag (the variant's discriminant), then its fields in order.
    pub(super) fn layer(&mut self, record: &LayerRecord) {
        self.varint(record.tag().into());
        match *record {
            LayerRecord::Dense {
                units,
                activation,
                use_bias,
            } => {
                self.varint(units.into());
                self.activation(activation);
                self.byte(use_bias.into());
            }
            LayerRecord::Activation(a) => self.activation(a),
            LayerRecord::Dropout { rate: x }
            | LayerRecord::LeakyRelu { negative_slope: x }
            | LayerRecord::Elu { alpha: x }
            | LayerRecord::GaussianNoise { stddev: x }
            | LayerRecord::GaussianDropout { rate: x }
            | LayerRecord::AlphaDropout { rate: x } => self.f32(x),
            LayerRecord::Flatten
            | LayerRecord::Prelu
            | LayerRecord::Softmax
            | LayerRecord::Identity
            | LayerRecord::Reshape => {}
            LayerRecord::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            } => {
                self.f32(momentum);
                self.f32(epsilon);
                self.byte(center.into());
                self.byte(scale.into());
            }
            LayerRecord::LayerNormalization {
                epsilon,
                center,
                scale,
            } => {
                self.f32(epsilon);
                self.byte(center.into());
                self.byte(scale.into());
            }
            LayerRecord::Rescaling { scale: a, offset: b }
            | LayerRecord::ActivityRegularization { l1: a, l2: b } => {
                self.f32(a);
                self.f32(b);
            }
            LayerRecord::Normalization { invert } => self.byte(invert.into()),
            LayerRecord::Relu {
                max_value,
                negative_slope,
                threshold,
            } => {
                self.option_f32(max_value);
                self.f32(negative_slope);
                self.f32(threshold);
            }
            LayerRecord::Merge(m) => self.varint(m as u64),
            LayerRecord::RegularizedDense {
                units,
                activation,
                use_bias,
                l1,
                l2,
            } => {
                self.varint(units.into());
                self.activation(activation);
                self.byte(use_bias.into());
                self.f32(l1);
                self.f32(l2);
            }
        }
    }

    /// An activation's tag.
    fn activation(&mut self, tag: ActivationTag) {
        self.varint(tag as u64);
    }

    /// A [`TrainingRecord`].
    pub(super) fn training(&mut self, t: &TrainingRecord) {
        match &t.optimizer {
            OptimizerRecord::Sgd {
                learning_rate,
                momentum,
                nesterov,
            } => {
                self.byte(0);
                self.f32(*learning_rate);
                self.f32(*momentum);
                self.byte((*nesterov).into());
            }
            OptimizerRecord::Optimizer {
                algorithm,
                learning_rate,
                weight_decay,
                clipping,
                u_product,
            } => {
                self.byte(1);
                self.algorithm(algorithm);
                self.schedule(learning_rate);
                self.f32(*weight_decay);
                self.clipping(*clipping);
                self.f32(*u_product);
            }
        }
        self.varint(t.loss as u64);
        self.varint(t.iterations);
        self.varint(t.trainable_layers.into());
        self.varint(t.state_len.into());
    }

    /// An [`Optimizer`] in its serde form.
    pub fn optimizer(&mut self, o: &Optimizer) {
        self.algorithm(&o.algorithm);
        self.schedule(&o.learning_rate);
        self.f32(o.weight_decay);
        self.clipping(o.clipping);
    }

    /// An [`Algorithm`] in its serde form (variants in declaration order).
    fn algorithm(&mut self, a: &Algorithm) {
        match *a {
            Algorithm::Sgd { momentum, nesterov } => {
                self.byte(0);
                self.f32(momentum);
                self.byte(nesterov.into());
            }
            _ if !Kind::Optimizers.built() => self.left_out(),
            Algorithm::Adam(s) => {
                self.byte(1);
                self.adam(s);
            }
            Algorithm::AdamW(s) => {
                self.byte(2);
                self.adam(s);
            }
            Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                self.byte(3);
                self.f32(beta_1);
                self.f32(beta_2);
                self.f32(epsilon);
            }
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                self.byte(4);
                self.f32(rho);
                self.f32(momentum);
                self.f32(epsilon);
                self.byte(centered.into());
            }
            Algorithm::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                self.byte(5);
                self.f32(initial_accumulator_value);
                self.f32(epsilon);
            }
        }
    }

    /// [`AdamSettings`].
    fn adam(&mut self, s: AdamSettings) {
        self.f32(s.beta_1);
        self.f32(s.beta_2);
        self.f32(s.epsilon);
        self.byte(s.amsgrad.into());
    }

    /// A [`Schedule`] in its serde form (variants in declaration order).
    fn schedule(&mut self, s: &Schedule) {
        match s {
            Schedule::Constant(rate) => {
                self.byte(0);
                self.f32(*rate);
            }
            _ if !Kind::Schedules.built() => self.left_out(),
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            }
            | Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                self.byte(if matches!(s, Schedule::ExponentialDecay { .. }) {
                    1
                } else {
                    3
                });
                self.f32(*initial_learning_rate);
                self.f32(*decay_steps);
                self.f32(*decay_rate);
                self.byte((*staircase).into());
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                self.byte(2);
                for list in [&boundaries[..], &values[..]] {
                    self.seq_len(list.len());
                    for &x in list {
                        self.f32(x);
                    }
                }
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                self.byte(4);
                self.f32(*initial_learning_rate);
                self.f32(*decay_steps);
                self.f32(*alpha);
                self.option_f32(*warmup_target);
                self.f32(*warmup_steps);
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                self.byte(5);
                self.f32(*initial_learning_rate);
                self.f32(*decay_steps);
                self.f32(*end_learning_rate);
                self.f32(*power);
                self.byte((*cycle).into());
            }
        }
    }

    /// A [`Clipping`] in its serde form (variants in declaration order).
    fn clipping(&mut self, c: Clipping) {
        let (tag, value) = match c {
            Clipping::None => (0, None),
            _ if !Kind::Clipping.built() => return self.left_out(),
            Clipping::Norm(v) => (1, Some(v)),
            Clipping::GlobalNorm(v) => (2, Some(v)),
            Clipping::Value(v) => (3, Some(v)),
        };
        self.byte(tag);
        if let Some(v) = value {
            self.f32(v);
        }
    }

    /// The int8 record, `Some` (an int8 file's, after the metadata).
    pub(super) fn int8(&mut self, record: &Int8Record<&[Int8Layer]>) {
        self.byte(1);
        self.quant(record.input);
        self.seq_len(record.layers.len());
        for layer in record.layers {
            self.varint(layer.units.into());
            self.byte(layer.use_bias.into());
            self.quant(layer.output);
            match layer.activation {
                Int8Activation::Linear => self.byte(0),
                Int8Activation::Relu => self.byte(1),
                Int8Activation::Table { function, output } => {
                    self.byte(2);
                    self.varint(function as u64);
                    self.quant(output);
                }
            }
        }
    }

    /// [`QuantParams`]: the scale, the zero point as a zigzag varint.
    fn quant(&mut self, q: QuantParams) {
        self.f32(q.scale);
        let z = q.zero_point;
        self.varint(((z << 1) ^ (z >> 31)) as u32 as u64);
    }
}
