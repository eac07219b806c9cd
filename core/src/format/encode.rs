//! Writing a device-format file into a caller's buffer, without allocating.

use super::crc32::crc32;
use super::wire::{
    shape_width, Header, InputShape, Int8Record, LayerRecord, Layout, OptimizerRecord, TrainingRecord,
    HEADER_LEN, INT8_MIN_READER, MAGIC,
};
use super::writer::Writer;
use super::{
    FormatError, Inconsistency, Malformation, Quantity, StoredCount, TrainingState, MIN_READER_VERSION,
    VERSION,
};
use crate::quant::{Int8Body, Int8Layer};
use crate::Network;

/// A model to encode: a validated network, its flat parameters (the [`Network`] layout)
/// and, optionally, its training state.
#[derive(Clone, Debug)]
pub struct ModelRef<'a> {
    /// The architecture.
    pub network: Network<'a>,
    /// Shape of one input sample (e.g. `[28, 28]` before a Flatten), whose product must
    /// be the network's input width; `None` stores the flat `[input width]`.
    pub input_shape: Option<&'a [u32]>,
    /// The parameters, [`Network::param_count`] of them.
    pub weights: &'a [f32],
    /// The state for fine-tuning, if the file should carry it.
    pub training: Option<TrainingState<'a>>,
    /// An int8 body before the network (format 4): the input shape is the body's input,
    /// the network (the float head) takes the body's dequantised output.
    pub int8: Option<Int8Body<'a>>,
}

/// The metadata and layout of a model about to be written.
struct Plan<'a> {
    meta: Metadata<'a>,
    layout: Layout,
}

/// The records of a metadata block, besides the network's layers and wiring.
struct Metadata<'a> {
    input_shape: InputShape,
    params: u32,
    training: Option<TrainingRecord>,
    int8: Option<Int8Record<&'a [Int8Layer]>>,
}

impl Metadata<'_> {
    /// Writes (or measures) the metadata block of `net`: the metadata, then the int8
    /// record of an int8 file.
    fn write(&self, net: &Network<'_>, w: &mut Writer<'_>) {
        w.metadata(&self.input_shape, net, self.params, self.training.as_ref());
        if let Some(int8) = &self.int8 {
            w.int8(int8);
        }
    }
}

impl<'a> ModelRef<'a> {
    /// Validates the model and works out its metadata and layout.
    fn plan(&self) -> Result<Plan<'a>, FormatError> {
        let net = self.network;
        let params = net.param_count();
        if self.weights.len() != params {
            return Err(Inconsistency::Count {
                what: StoredCount::Weights,
                expected: params,
                found: self.weights.len(),
            }
            .into());
        }
        let training = match &self.training {
            Some(state) => {
                state.check(&net)?;
                Some(TrainingRecord {
                    optimizer: OptimizerRecord::new(&state.optimizer, state.scalars.u_product),
                    loss: state.loss.into(),
                    iterations: state.scalars.iterations,
                    trainable_layers: to_u32(state.trainable_layers, Quantity::TrainableLayers)?,
                    state_len: to_u32(state.state.len(), Quantity::StateLength)?,
                })
            }
            None => None,
        };
        let input_shape = self.stored_input_shape()?;
        let params_u32 = to_u32(params, Quantity::Parameters)?;
        if let Some(body) = &self.int8 {
            if body.output_width() != net.input_width() {
                return Err(Inconsistency::Count {
                    what: StoredCount::InputWidth,
                    expected: net.input_width(),
                    found: body.output_width(),
                }
                .into());
            }
        }
        let int8 = self.int8.map(|body| Int8Record {
            input: body.input_params(),
            layers: body.layers(),
        });
        let meta = Metadata {
            input_shape,
            params: params_u32,
            training,
            int8,
        };
        let mut measure = Writer::measure();
        meta.write(&net, &mut measure);
        let meta_len = measure.finish().ok_or(FormatError::TooLarge {
            what: Quantity::Metadata,
        })?;
        let state = self.training.as_ref().map_or(0, |t| t.state.len());
        let data = self.int8.map_or(0, |body| body.data().len());
        let layout = Layout::new(meta_len, params, state)
            .and_then(|l| l.with_int8(data))
            .filter(|l| l.file_len() <= u32::MAX as usize)
            .ok_or(FormatError::TooLarge {
                what: Quantity::ModelFile,
            })?;
        Ok(Plan { meta, layout })
    }

    /// The input shape as stored, checked against the network's input width.
    fn stored_input_shape(&self) -> Result<InputShape, FormatError> {
        let width = self.int8.map_or(self.network.input_width(), |b| b.input_width());
        let flat = [to_u32(width, Quantity::InputWidth)?];
        let mut shape = InputShape::new();
        for &d in self.input_shape.unwrap_or(&flat) {
            shape.push(d).map_err(|_| FormatError::TooLarge {
                what: Quantity::InputDims,
            })?;
        }
        let product = shape_width(&shape)?;
        if product != width {
            return Err(Inconsistency::Count {
                what: StoredCount::InputWidth,
                expected: width,
                found: product,
            }
            .into());
        }
        Ok(shape)
    }

    /// Exact length in bytes of the encoded file; errors as [`encode`](Self::encode) does
    /// for an invalid model.
    pub fn encoded_len(&self) -> Result<usize, FormatError> {
        Ok(self.plan()?.layout.file_len())
    }

    /// Writes the file to the start of `out` and returns its length.
    ///
    /// Errors: [`FormatError::InconsistentShapes`] when the weights or the training state
    /// do not fit the network, [`FormatError::TooLarge`] past the format's 4 GiB limit,
    /// [`FormatError::BufferTooSmall`] when `out` is shorter than
    /// [`encoded_len`](Self::encoded_len).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        let len = self.encoded_len()?;
        if out.len() < len {
            return Err(FormatError::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        }
        let out = &mut out[..len];
        let layout = self.encode_head(out)?;
        write_f32s(&mut out[layout.weights..layout.state], self.weights);
        let state = self.training.as_ref().map_or(&[][..], |t| t.state);
        write_f32s(&mut out[layout.state..layout.int8], state);
        if let Some(body) = &self.int8 {
            out[layout.int8..layout.crc].copy_from_slice(body.data());
        }
        let crc = crc32(&out[..layout.crc]);
        out[layout.crc..].copy_from_slice(&crc.to_le_bytes());
        Ok(len)
    }

    /// The oldest reader version that can use the file: [`MIN_READER_VERSION`], raised
    /// to 2 when a layer needs a format-2 record, to 3 when the training state's
    /// optimizer is more than plain SGD (a format-3 optimizer record) and to 4 with an
    /// int8 body or for a graph (merge records and the wiring record).
    pub fn min_reader(&self) -> u16 {
        let optimizer = self.training.as_ref().map_or(MIN_READER_VERSION, |t| {
            OptimizerRecord::new(&t.optimizer, t.scalars.u_product).min_reader()
        });
        let optimizer = if self.int8.is_some() {
            optimizer.max(INT8_MIN_READER)
        } else {
            optimizer
        };
        self.network
            .layers()
            .iter()
            .map(|l| LayerRecord::from(l).min_reader())
            .fold(optimizer, u16::max)
    }

    /// Writes the file's head — header, metadata and the zero padding before the weights —
    /// to the start of `out` and returns where every part of the file lies, for writers
    /// that produce the weights, optimizer state and CRC themselves (a device streaming its model
    /// in chunks). `out` needs [`FileLayout::weights`] bytes.
    pub fn encode_head(&self, out: &mut [u8]) -> Result<FileLayout, FormatError> {
        let Plan { meta, layout } = self.plan()?;
        let len = layout.file_len();
        let Some(out) = out.get_mut(..layout.weights) else {
            return Err(FormatError::BufferTooSmall {
                needed: layout.weights,
                available: out.len(),
            });
        };
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            min_reader: self.min_reader(),
            // Both fit: `plan` checked the file length against u32::MAX.
            len: len as u32,
            meta_len: (layout.meta_end - HEADER_LEN) as u32,
        };
        // Both fill their slices exactly: `plan` measured the metadata with the same writer.
        let mut w = Writer::into(&mut out[..HEADER_LEN]);
        w.header(&header);
        let header_len = w.finish();
        let mut w = Writer::into(&mut out[HEADER_LEN..layout.meta_end]);
        meta.write(&self.network, &mut w);
        if header_len != Some(HEADER_LEN) || w.finish() != Some(layout.meta_end - HEADER_LEN) {
            return Err(FormatError::Malformed {
                offset: 0,
                what: Malformation::PlannedSize,
            });
        }
        out[layout.meta_end..].fill(0);
        Ok(FileLayout {
            weights: layout.weights,
            state: layout.state,
            int8: layout.int8,
            crc: layout.crc,
            len,
        })
    }
}

/// Where the parts of an encoded file lie, as byte offsets from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLayout {
    /// The weights (after the head; a multiple of 4).
    pub weights: usize,
    /// The optimizer state values (the end of the weights).
    pub state: usize,
    /// The int8 body's data region (the end of the optimizer state; format 4).
    pub int8: usize,
    /// The CRC-32 (the end of the data it covers).
    pub crc: usize,
    /// The whole file's length.
    pub len: usize,
}

/// Writes `values` as little-endian f32 into `out` (exactly `4 * values.len()` bytes).
fn write_f32s(out: &mut [u8], values: &[f32]) {
    for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
}

fn to_u32(value: usize, what: Quantity) -> Result<u32, FormatError> {
    u32::try_from(value).map_err(|_| FormatError::TooLarge { what })
}
