//! The metadata's postcard encoding read by hand: the input shape, the layer records, the
//! parameter count, the training record, a graph's wiring and the int8 record.
//!
//! serde's derived visitors for the 21 layer records (one per variant, each with its own
//! sequence access) were most of the firmware's largest function; this reads the same
//! bytes with the same outcome: the values postcard's derived code gives, and for
//! malformed bytes the same [`postcard::Error`] at the same byte, which `decode` turns into
//! the same [`Malformation`](super::Malformation). The training record's optimizer types
//! are read in their serde form too (variants in declaration order, which the format
//! pins), and so are the int8 record's.
//!
//! A build that leaves a group of kinds out ([`crate::kinds`]) links no code for them here:
//! a read that meets one stops, and [`Reader::left_out`] names the group. A reader that does
//! not fine-tune skips the training record's optimizer by its fields' shapes instead of
//! building it ([`Reader::meta`]), so it takes any optimizer whatever the build has.

use super::training::TrainingUse;
use super::wire::{
    ActivationTag, InputShape, Int8Record, LossTag, Meta, OptimizerRecord, TrainingRecord, WiringRecord,
};
use crate::kinds::{self, Kind};
use crate::optimizer::{AdamSettings, Algorithm, Clipping, Schedule, MAX_BOUNDARIES};
use crate::quant::{Int8Activation, Int8Layer, QuantParams, MAX_INT8_LAYERS};
use crate::{Activation, Layer, Merge, Regularizer, MAX_LAYERS};
use postcard::Error;

/// A cursor over postcard-encoded bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    left_out: Option<Kind>,
}

/// The fields of an optimizer record's variants, for skipping one: per variant (in
/// declaration order) a letter per field, `f` an `f32`, `b` a `bool`, `o` an
/// `Option<f32>`, `s` and `S` a sequence of at most [`MAX_BOUNDARIES`] and one more `f32`s.
type Shapes = [&'static [u8]];

/// [`Algorithm`]'s variants.
const ALGORITHM_SHAPES: &Shapes = &[b"fb", b"fffb", b"fffb", b"fff", b"fffb", b"ff"];
/// [`Schedule`]'s variants.
const SCHEDULE_SHAPES: &Shapes = &[b"f", b"fffb", b"sS", b"fffb", b"fffof", b"ffffb"];
/// [`Clipping`]'s variants.
const CLIPPING_SHAPES: &Shapes = &[b"", b"f", b"f", b"f"];

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            left_out: None,
        }
    }

    /// The group of kinds a failed read met that this build leaves out, if that is why it
    /// failed.
    pub fn left_out(&self) -> Option<Kind> {
        self.left_out
    }

    /// Stops the read at a kind of group `kind`, which this build leaves out.
    fn refuse<T>(&mut self, kind: Kind) -> Result<T, Error> {
        self.left_out = Some(kind);
        Err(Error::SerdeDeCustom)
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// One byte (a `u8`).
    fn byte(&mut self) -> Result<u8, Error> {
        let (&b, rest) = self.bytes.split_first().ok_or(Error::DeserializeUnexpectedEnd)?;
        self.bytes = rest;
        Ok(b)
    }

    /// A varint of a `bits`-bit unsigned integer: 7 bits a byte, least significant first,
    /// at most `⌈bits / 7⌉` bytes, the last holding no more than the bits left.
    fn varint(&mut self, bits: u32) -> Result<u64, Error> {
        let max_len = bits.div_ceil(7);
        let mut value = 0u64;
        for i in 0..max_len {
            let b = self.byte()?;
            value |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                let last_max = (1u8 << (bits % 7)) - 1;
                if i == max_len - 1 && b > last_max {
                    return Err(Error::DeserializeBadVarint);
                }
                return Ok(value);
            }
        }
        Err(Error::DeserializeBadVarint)
    }

    /// A `u32` (varint).
    fn u32(&mut self) -> Result<u32, Error> {
        self.varint(u32::BITS).map(|v| v as u32)
    }

    /// A sequence's length (a `usize` varint, as wide as the reader's `usize`).
    fn len(&mut self) -> Result<usize, Error> {
        self.varint(usize::BITS).map(|v| v as usize)
    }

    /// An `f32` (four bytes, little-endian).
    fn f32(&mut self) -> Result<f32, Error> {
        let (le, rest) = self
            .bytes
            .split_first_chunk::<4>()
            .ok_or(Error::DeserializeUnexpectedEnd)?;
        self.bytes = rest;
        Ok(f32::from_le_bytes(*le))
    }

    /// A `bool` (byte 0 or 1).
    fn bool(&mut self) -> Result<bool, Error> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::DeserializeBadBool),
        }
    }

    /// An `Option<f32>` (byte 0, or byte 1 and the value).
    fn option_f32(&mut self) -> Result<Option<f32>, Error> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.f32().map(Some),
            _ => Err(Error::DeserializeBadOption),
        }
    }

    /// A unit enum's variant: its position in `variants` (a `u32` varint).
    fn variant<T: Copy>(&mut self, variants: &[T]) -> Result<T, Error> {
        let tag = self.u32()?;
        variants.get(tag as usize).copied().ok_or(Error::SerdeDeCustom)
    }

    /// A sequence (its length, then its items) into a vector of capacity `N`; more than
    /// `N` items fail once the first extra one is read, as heapless's `Vec` does.
    fn seq<T, const N: usize>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<heapless::Vec<T, N>, Error> {
        let len = self.len()?;
        let mut items = heapless::Vec::new();
        for _ in 0..len {
            let value = item(self)?;
            items.push(value).map_err(|_| Error::SerdeDeCustom)?;
        }
        Ok(items)
    }

    /// The [`Meta`] record: the input shape, the layers, the parameter count (`u32`), and
    /// the optional training record, read whole for [`TrainingUse::Read`] and skipped but
    /// for its state's length for [`TrainingUse::Skip`]. Stops at the first layer, then
    /// the first part of the optimizer, this build leaves out ([`left_out`](Self::left_out)).
    pub fn meta(
        &mut self,
        use_training: TrainingUse,
    ) -> Result<Meta<heapless::Vec<Layer, MAX_LAYERS>>, Error> {
        let input_shape = self.input_shape()?;
        let layers = self.layers()?;
        if let Some(kind) = layers.iter().find_map(|l| kinds::left_out(l.needs())) {
            return self.refuse(kind);
        }
        let params = self.u32()?;
        let (training, state_len) = match (self.byte()?, use_training) {
            (0, _) => (None, 0),
            (1, TrainingUse::Read) => {
                let record = self.training()?;
                let state_len = record.state_len;
                (Some(record), state_len)
            }
            (1, TrainingUse::Skip) => (None, self.skip_training()?),
            _ => return Err(Error::DeserializeBadOption),
        };
        Ok(Meta {
            input_shape,
            layers,
            params,
            training,
            state_len,
        })
    }

    /// Skips a [`TrainingRecord`], giving its state's length.
    fn skip_training(&mut self) -> Result<u32, Error> {
        match self.u32()? {
            0 => self.skip_fields(b"ffb")?,
            1 => {
                self.skip_variant(ALGORITHM_SHAPES)?;
                self.skip_variant(SCHEDULE_SHAPES)?;
                self.f32()?;
                self.skip_variant(CLIPPING_SHAPES)?;
                self.f32()?;
            }
            _ => return Err(Error::SerdeDeCustom),
        }
        self.variant(&LossTag::ALL)?;
        self.varint(u64::BITS)?;
        self.u32()?;
        self.u32()
    }

    /// Skips a value of an enum whose variants have `shapes`: its tag, then its fields.
    fn skip_variant(&mut self, shapes: &Shapes) -> Result<(), Error> {
        let tag = self.u32()?;
        let fields = shapes.get(tag as usize).ok_or(Error::SerdeDeCustom)?;
        self.skip_fields(fields)
    }

    /// Skips fields of the shapes `fields` (see [`Shapes`]), failing where reading them
    /// would.
    fn skip_fields(&mut self, fields: &[u8]) -> Result<(), Error> {
        for field in fields {
            match field {
                b'f' => {
                    self.f32()?;
                }
                b'b' => {
                    self.bool()?;
                }
                b'o' => {
                    self.option_f32()?;
                }
                b's' => {
                    self.seq::<f32, MAX_BOUNDARIES>(Self::f32)?;
                }
                _ => {
                    self.seq::<f32, { MAX_BOUNDARIES + 1 }>(Self::f32)?;
                }
            }
        }
        Ok(())
    }

    /// A [`TrainingRecord`]: the optimizer, the loss's tag, the iterations (`u64`), the
    /// trainable layers and the state's length (`u32` each).
    fn training(&mut self) -> Result<TrainingRecord, Error> {
        Ok(TrainingRecord {
            optimizer: self.optimizer()?,
            loss: self.variant(&LossTag::ALL)?,
            iterations: self.varint(u64::BITS)?,
            trainable_layers: self.u32()?,
            state_len: self.u32()?,
        })
    }

    /// An [`OptimizerRecord`].
    fn optimizer(&mut self) -> Result<OptimizerRecord, Error> {
        Ok(match self.u32()? {
            0 => OptimizerRecord::Sgd {
                learning_rate: self.f32()?,
                momentum: self.f32()?,
                nesterov: self.bool()?,
            },
            // Weight decay (with SGD) is refused once the record is read (`TrainingState::check`).
            1 => OptimizerRecord::Optimizer {
                algorithm: self.algorithm()?,
                learning_rate: self.schedule()?,
                weight_decay: self.f32()?,
                clipping: self.clipping()?,
                u_product: self.f32()?,
            },
            _ => return Err(Error::SerdeDeCustom),
        })
    }

    /// An [`Algorithm`] in its serde form (variants in declaration order).
    fn algorithm(&mut self) -> Result<Algorithm, Error> {
        Ok(match self.u32()? {
            0 => Algorithm::Sgd {
                momentum: self.f32()?,
                nesterov: self.bool()?,
            },
            1..=5 if !Kind::Optimizers.built() => return self.refuse(Kind::Optimizers),
            1 => Algorithm::Adam(self.adam()?),
            2 => Algorithm::AdamW(self.adam()?),
            3 => Algorithm::Nadam {
                beta_1: self.f32()?,
                beta_2: self.f32()?,
                epsilon: self.f32()?,
            },
            4 => Algorithm::RmsProp {
                rho: self.f32()?,
                momentum: self.f32()?,
                epsilon: self.f32()?,
                centered: self.bool()?,
            },
            5 => Algorithm::Adagrad {
                initial_accumulator_value: self.f32()?,
                epsilon: self.f32()?,
            },
            _ => return Err(Error::SerdeDeCustom),
        })
    }

    /// [`AdamSettings`].
    fn adam(&mut self) -> Result<AdamSettings, Error> {
        Ok(AdamSettings {
            beta_1: self.f32()?,
            beta_2: self.f32()?,
            epsilon: self.f32()?,
            amsgrad: self.bool()?,
        })
    }

    /// A [`Schedule`] in its serde form (variants in declaration order).
    fn schedule(&mut self) -> Result<Schedule, Error> {
        Ok(match self.u32()? {
            0 => Schedule::Constant(self.f32()?),
            1..=5 if !Kind::Schedules.built() => return self.refuse(Kind::Schedules),
            1 => Schedule::ExponentialDecay {
                initial_learning_rate: self.f32()?,
                decay_steps: self.f32()?,
                decay_rate: self.f32()?,
                staircase: self.bool()?,
            },
            2 => Schedule::PiecewiseConstantDecay {
                boundaries: self.seq(Self::f32)?,
                values: self.seq(Self::f32)?,
            },
            3 => Schedule::InverseTimeDecay {
                initial_learning_rate: self.f32()?,
                decay_steps: self.f32()?,
                decay_rate: self.f32()?,
                staircase: self.bool()?,
            },
            4 => Schedule::CosineDecay {
                initial_learning_rate: self.f32()?,
                decay_steps: self.f32()?,
                alpha: self.f32()?,
                warmup_target: self.option_f32()?,
                warmup_steps: self.f32()?,
            },
            5 => Schedule::PolynomialDecay {
                initial_learning_rate: self.f32()?,
                decay_steps: self.f32()?,
                end_learning_rate: self.f32()?,
                power: self.f32()?,
                cycle: self.bool()?,
            },
            _ => return Err(Error::SerdeDeCustom),
        })
    }

    /// A [`Clipping`] in its serde form (variants in declaration order).
    fn clipping(&mut self) -> Result<Clipping, Error> {
        Ok(match self.u32()? {
            0 => Clipping::None,
            1..=3 if !Kind::Clipping.built() => return self.refuse(Kind::Clipping),
            1 => Clipping::Norm(self.f32()?),
            2 => Clipping::GlobalNorm(self.f32()?),
            3 => Clipping::Value(self.f32()?),
            _ => return Err(Error::SerdeDeCustom),
        })
    }

    /// The optional [`Int8Record`] (format 4): the input's quantisation, then the int8
    /// layers.
    pub fn int8(&mut self) -> Result<Option<Int8Record<heapless::Vec<Int8Layer, MAX_INT8_LAYERS>>>, Error> {
        Ok(match self.byte()? {
            0 => None,
            // Without int8 bodies (crate::kinds) the decoder refuses one before reading it.
            1 if Kind::Int8.built() => Some(Int8Record {
                input: self.quant()?,
                layers: self.seq(Self::int8_layer)?,
            }),
            _ => return Err(Error::DeserializeBadOption),
        })
    }

    /// An [`Int8Layer`]: units, use_bias, the output's quantisation, the activation.
    fn int8_layer(&mut self) -> Result<Int8Layer, Error> {
        Ok(Int8Layer {
            units: self.u32()?,
            use_bias: self.bool()?,
            output: self.quant()?,
            activation: match self.u32()? {
                0 => Int8Activation::Linear,
                1 => Int8Activation::Relu,
                2 => Int8Activation::Table {
                    function: self.variant(&Activation::ALL)?,
                    output: self.quant()?,
                },
                _ => return Err(Error::SerdeDeCustom),
            },
        })
    }

    /// [`QuantParams`]: the scale (`f32`), the zero point (`i32`, a zigzag varint).
    fn quant(&mut self) -> Result<QuantParams, Error> {
        let scale = self.f32()?;
        let n = self.u32()?;
        Ok(QuantParams {
            scale,
            zero_point: (n >> 1) as i32 ^ -((n & 1) as i32),
        })
    }

    /// The input shape: a sequence of `u32`.
    fn input_shape(&mut self) -> Result<InputShape, Error> {
        self.seq(Self::u32)
    }

    /// The layer records: a sequence of [`LayerRecord`](super::wire::LayerRecord), read as [`Layer`]s.
    fn layers(&mut self) -> Result<heapless::Vec<Layer, MAX_LAYERS>, Error> {
        self.seq(Self::layer)
    }

    /// A graph's [`WiringRecord`]: a sequence of byte sequences.
    pub fn wiring(&mut self) -> Result<WiringRecord, Error> {
        self.seq(|r| r.seq(Self::byte))
    }

    /// An activation, by its tag.
    fn activation(&mut self) -> Result<Activation, Error> {
        self.variant(&ActivationTag::ALL).map(Activation::from)
    }

    /// One [`LayerRecord`](super::wire::LayerRecord), read straight into the [`Layer`] it stands for: its tag (the
    /// variant's discriminant), then its fields in order.
    fn layer(&mut self) -> Result<Layer, Error> {
        Ok(match self.u32()? {
            0 => Layer::Dense {
                units: self.u32()?,
                activation: self.activation()?,
                use_bias: self.bool()?,
                activity_regularizer: None,
            },
            1 => Layer::Activation(self.activation()?),
            2 => Layer::Dropout { rate: self.f32()? },
            3 => Layer::Flatten,
            4 => Layer::BatchNormalization {
                momentum: self.f32()?,
                epsilon: self.f32()?,
                center: self.bool()?,
                scale: self.bool()?,
            },
            5 => Layer::LayerNormalization {
                epsilon: self.f32()?,
                center: self.bool()?,
                scale: self.bool()?,
            },
            6 => Layer::Rescaling {
                scale: self.f32()?,
                offset: self.f32()?,
            },
            7 => Layer::Normalization { invert: self.bool()? },
            8 => Layer::Relu {
                max_value: self.option_f32()?,
                negative_slope: self.f32()?,
                threshold: self.f32()?,
            },
            9 => Layer::LeakyRelu {
                negative_slope: self.f32()?,
            },
            10 => Layer::Prelu,
            11 => Layer::Elu { alpha: self.f32()? },
            12 => Layer::Softmax,
            13 => Layer::Identity,
            14 => Layer::GaussianNoise { stddev: self.f32()? },
            15 => Layer::GaussianDropout { rate: self.f32()? },
            16 => Layer::AlphaDropout { rate: self.f32()? },
            17 => Layer::Reshape,
            18 => Layer::ActivityRegularization {
                l1: self.f32()?,
                l2: self.f32()?,
            },
            19 => Layer::Merge(self.variant(&Merge::ALL)?),
            20 => Layer::Dense {
                units: self.u32()?,
                activation: self.activation()?,
                use_bias: self.bool()?,
                activity_regularizer: Some(Regularizer {
                    l1: self.f32()?,
                    l2: self.f32()?,
                }),
            },
            _ => return Err(Error::SerdeDeCustom),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::LayerRecord;
    use super::super::writer::Writer;
    use super::*;

    /// Every record postcard's derived serializer writes reads back as itself, with
    /// nothing left over.
    #[test]
    fn every_layer_record_reads_back() {
        let records = [
            LayerRecord::Dense {
                units: 300,
                activation: ActivationTag::Gelu,
                use_bias: true,
            },
            LayerRecord::Activation(ActivationTag::Swish),
            LayerRecord::Dropout { rate: 0.25 },
            LayerRecord::Flatten,
            LayerRecord::BatchNormalization {
                momentum: 0.5,
                epsilon: 1e-3,
                center: false,
                scale: true,
            },
            LayerRecord::LayerNormalization {
                epsilon: 1e-5,
                center: true,
                scale: false,
            },
            LayerRecord::Rescaling {
                scale: 0.5,
                offset: -1.0,
            },
            LayerRecord::Normalization { invert: true },
            LayerRecord::Relu {
                max_value: Some(6.0),
                negative_slope: 0.1,
                threshold: 0.5,
            },
            LayerRecord::Relu {
                max_value: None,
                negative_slope: 0.0,
                threshold: 0.0,
            },
            LayerRecord::LeakyRelu { negative_slope: 0.3 },
            LayerRecord::Prelu,
            LayerRecord::Elu { alpha: 1.5 },
            LayerRecord::Softmax,
            LayerRecord::Identity,
            LayerRecord::GaussianNoise { stddev: 0.1 },
            LayerRecord::GaussianDropout { rate: 0.2 },
            LayerRecord::AlphaDropout { rate: 0.3 },
            LayerRecord::Reshape,
            LayerRecord::ActivityRegularization { l1: 0.01, l2: 0.02 },
            LayerRecord::Merge(Merge::Concatenate),
            LayerRecord::RegularizedDense {
                units: 1 << 20,
                activation: ActivationTag::Sigmoid,
                use_bias: false,
                l1: 0.5,
                l2: 0.25,
            },
        ];
        let mut buf = [0u8; 32];
        for record in records {
            let bytes = postcard::to_slice(&record, &mut buf).unwrap();
            let mut reader = Reader::new(bytes);
            assert_eq!(reader.layer(), Ok(Layer::from(record)), "{record:?}");
            assert!(reader.rest().is_empty(), "{record:?}");
        }
        for merge in Merge::ALL {
            let bytes = postcard::to_slice(&LayerRecord::Merge(merge), &mut buf).unwrap();
            assert_eq!(Reader::new(bytes).layer(), Ok(Layer::Merge(merge)));
        }
        for a in Activation::ALL {
            let record = LayerRecord::from(&Layer::Activation(a));
            let bytes = postcard::to_slice(&record, &mut buf).unwrap();
            assert_eq!(Reader::new(bytes).layer(), Ok(Layer::Activation(a)));
        }
    }

    /// Malformed bytes give postcard's errors: an unknown tag, a bad bool or option byte,
    /// an overlong or overflowing varint, a short read, too many items.
    #[test]
    fn malformed_bytes_give_postcards_errors() {
        let layer = |bytes: &[u8]| Reader::new(bytes).layer();
        assert_eq!(layer(&[21]), Err(Error::SerdeDeCustom));
        assert_eq!(layer(&[1, 12]), Err(Error::SerdeDeCustom));
        assert_eq!(layer(&[19, 7]), Err(Error::SerdeDeCustom));
        assert_eq!(layer(&[0, 1, 0, 2]), Err(Error::DeserializeBadBool));
        assert_eq!(layer(&[8, 2]), Err(Error::DeserializeBadOption));
        assert_eq!(layer(&[2, 0, 0, 0]), Err(Error::DeserializeUnexpectedEnd));
        assert_eq!(layer(&[0x80]), Err(Error::DeserializeUnexpectedEnd));
        // A u32 in five bytes whose last holds more than its 4 remaining bits, or a sixth.
        assert_eq!(
            layer(&[0, 0xFF, 0xFF, 0xFF, 0xFF, 0x10]),
            Err(Error::DeserializeBadVarint)
        );
        assert_eq!(
            layer(&[0, 0x80, 0x80, 0x80, 0x80, 0x80, 0]),
            Err(Error::DeserializeBadVarint)
        );
        assert_eq!(
            Reader::new(&[0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0]).layer(),
            Ok(Layer::Dense {
                units: u32::MAX,
                activation: Activation::Linear,
                use_bias: false,
                activity_regularizer: None,
            })
        );
        let mut shape = [1u8; 10];
        shape[0] = 9;
        assert_eq!(Reader::new(&shape).input_shape(), Err(Error::SerdeDeCustom));
        shape[0] = 8;
        assert_eq!(Reader::new(&shape).input_shape().unwrap().len(), 8);
    }

    /// `record`'s bytes, from postcard's derived serializer, which the hand-written
    /// writer must match.
    fn encoded(record: &LayerRecord) -> heapless::Vec<u8, 32> {
        let mut buf = [0u8; 32];
        let bytes = postcard::to_slice(record, &mut buf).unwrap();
        let mut mine = [0u8; 32];
        let mut w = Writer::into(&mut mine);
        w.layer(record);
        assert_eq!(w.finish().map(|n| &mine[..n]), Some(&*bytes), "{record:?}");
        heapless::Vec::from_slice(bytes).unwrap()
    }

    /// On byte strings of every shape, the reader and postcard's derived deserializer
    /// agree on the int8 record, the error and the bytes left.
    #[test]
    fn int8_records_agree_with_postcards_derived_reader() {
        type Record = Option<Int8Record<heapless::Vec<Int8Layer, MAX_INT8_LAYERS>>>;
        let mut state = 0x853C_49E6_748F_EA9Bu64;
        let mut bytes = [0u8; 48];
        let mut buf = [0u8; 256];
        for round in 0..400_000u32 {
            for b in bytes.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = match state % 5 {
                    0 => (state >> 8) as u8 % 13,
                    1 | 2 => (state >> 8) as u8 % 3,
                    _ => (state >> 8) as u8,
                };
            }
            let input = &bytes[..(round % 49) as usize];
            let mut reader = Reader::new(input);
            // Ours re-encoded by the hand-written writer, which must give postcard's bytes.
            let ours = reader.int8().map(|r| {
                let n = postcard::to_slice(&r, &mut buf).unwrap().len();
                let mut mine = [0u8; 256];
                let mut w = Writer::into(&mut mine);
                match &r {
                    Some(r) => w.int8(&Int8Record {
                        input: r.input,
                        layers: &r.layers[..],
                    }),
                    None => w.byte(0),
                }
                assert_eq!(w.finish().map(|m| &mine[..m]), Some(&buf[..n]), "{input:?}");
                (
                    heapless::Vec::<u8, 256>::from_slice(&buf[..n]).unwrap(),
                    reader.rest().len(),
                )
            });
            let theirs = postcard::take_from_bytes::<Record>(input).map(|(r, rest)| {
                let n = postcard::to_slice(&r, &mut buf).unwrap().len();
                (
                    heapless::Vec::<u8, 256>::from_slice(&buf[..n]).unwrap(),
                    rest.len(),
                )
            });
            assert_eq!(ours, theirs, "{input:?}");
        }
    }

    /// On byte strings of every shape (an option byte, then the record's tags and fields),
    /// the reader and postcard's derived deserializer agree on the training record, the
    /// error and the bytes left.
    #[test]
    fn training_records_agree_with_postcards_derived_reader() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = [0u8; 64];
        let mut buf = [0u8; 128];
        for round in 0..400_000u32 {
            for b in bytes.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = match state % 5 {
                    0 => (state >> 8) as u8 % 7,
                    1 | 2 => (state >> 8) as u8 % 2,
                    _ => (state >> 8) as u8,
                };
            }
            bytes[0] = 1;
            let len = 8 + (round % 57) as usize;
            let input = &bytes[..len];
            let mut reader = Reader::new(input);
            let ours = reader.byte().and_then(|_| reader.training()).map(|t| {
                let n = postcard::to_slice(&t, &mut buf).unwrap().len();
                let mut mine = [0u8; 128];
                let mut w = Writer::into(&mut mine);
                w.training(&t);
                assert_eq!(w.finish().map(|m| &mine[..m]), Some(&buf[..n]), "{input:?}");
                (
                    heapless::Vec::<u8, 128>::from_slice(&buf[..n]).unwrap(),
                    reader.rest().len(),
                )
            });
            let theirs = postcard::take_from_bytes::<Option<TrainingRecord>>(input).map(|(t, rest)| {
                let n = postcard::to_slice(&t.unwrap(), &mut buf).unwrap().len();
                (
                    heapless::Vec::<u8, 128>::from_slice(&buf[..n]).unwrap(),
                    rest.len(),
                )
            });
            assert_eq!(ours, theirs, "{input:?}");
            // Skipping the record fails where reading it does, or ends where it ends.
            let mut read = Reader::new(input);
            let read = read
                .byte()
                .and_then(|_| read.training())
                .map(|t| (t.state_len, read.rest().len()));
            let mut skip = Reader::new(input);
            let skipped = skip
                .byte()
                .and_then(|_| skip.skip_training())
                .map(|n| (n, skip.rest().len()));
            assert_eq!(skipped, read, "{input:?}");
        }
    }

    /// On byte strings of every shape (tags and field bytes drawn small and large), the
    /// reader and postcard's derived deserializer agree on the record, the error and the
    /// bytes left.
    #[test]
    fn agrees_with_postcards_derived_reader() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut bytes = [0u8; 24];
        for _ in 0..200_000 {
            let len = (next() % 25) as usize;
            for b in bytes.iter_mut() {
                let r = next();
                *b = match r % 4 {
                    0 => (r >> 8) as u8 % 24,
                    1 => (r >> 8) as u8 % 3,
                    _ => (r >> 8) as u8,
                };
            }
            let input = &bytes[..len];
            let mut reader = Reader::new(input);
            // Compared re-encoded: a NaN field equals itself bit for bit.
            let ours = reader
                .layer()
                .map(|l| (encoded(&LayerRecord::from(&l)), reader.rest().len()));
            let theirs =
                postcard::take_from_bytes::<LayerRecord>(input).map(|(r, rest)| (encoded(&r), rest.len()));
            assert_eq!(ours, theirs, "{input:?}");
            let mut reader = Reader::new(input);
            let ours = reader.input_shape().map(|s| (s, reader.rest().len()));
            let theirs = postcard::take_from_bytes::<InputShape>(input).map(|(s, rest)| (s, rest.len()));
            assert_eq!(ours, theirs, "{input:?}");
            let mut reader = Reader::new(input);
            let ours = reader.wiring().map(|w| (w, reader.rest().len()));
            let theirs = postcard::take_from_bytes::<WiringRecord>(input).map(|(w, rest)| (w, rest.len()));
            assert_eq!(ours, theirs, "{input:?}");
        }
    }
}
