//! Reading a device-format file in place: checks first, then a view that borrows the
//! weights from the file's bytes.

use super::crc32::{crc32, Crc32};
use super::reader::Reader;
use super::wire::{
    self as wire, shape_width, Header, InputShape, Layout, CRC_LEN, HEADER_LEN, INT8_MIN_READER, MAGIC,
    MIN_FILE_LEN,
};
use super::{
    FormatError, Inconsistency, Malformation, ModelRef, Quantity, StoredCount, TrainingState, TrainingUse,
    VERSION,
};
use crate::kinds::{self, Kind};
use crate::quant::{Int8Body, Int8Layer, QuantParams, MAX_INT8_LAYERS};
use crate::{Inbound, Layer, Network, OptimizerScalars, MAX_LAYERS};

/// The fixed header of a file, read without checking the CRC (for tools that report on
/// damaged files; [`decode`] checks everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Format version of the writer.
    pub version: u16,
    /// Oldest reader version that can use the file.
    pub min_reader: u16,
    /// Length of the file, CRC included.
    pub len: usize,
    /// Length of the metadata block.
    pub meta_len: usize,
}

/// A decoded, validated model whose weights (and optimizer state) are borrowed from the file.
#[derive(Clone, Debug)]
pub struct ModelView<'a> {
    header: FileHeader,
    crc: u32,
    input_shape: InputShape,
    input: usize,
    layers: heapless::Vec<Layer, MAX_LAYERS>,
    /// Each layer's inputs, for a graph.
    wiring: Option<heapless::Vec<Inbound, MAX_LAYERS>>,
    weights: &'a [f32],
    training: Option<TrainingState<'a>>,
    int8: Option<Int8Part<'a>>,
    ignored: usize,
}

/// A decoded int8 body's parts (validated by [`Int8Body::new`]).
#[derive(Clone, Debug)]
struct Int8Part<'a> {
    input: QuantParams,
    layers: heapless::Vec<Int8Layer, MAX_INT8_LAYERS>,
    data: &'a [u8],
}

impl<'a> ModelView<'a> {
    /// The file's header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// The file's CRC-32 (verified).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// Shape of one input sample, as the writer gave it (`[784]`, or `[28, 28]` before a
    /// Flatten).
    pub fn input_shape(&self) -> &[u32] {
        &self.input_shape
    }

    /// Values per input sample (the product of the input shape).
    pub fn input_width(&self) -> usize {
        self.input
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The flat parameters, borrowed from the file.
    pub fn weights(&self) -> &'a [f32] {
        self.weights
    }

    /// The training state, if the file carries one (its optimizer state borrowed from
    /// the file).
    pub fn training(&self) -> Option<&TrainingState<'a>> {
        self.training.as_ref()
    }

    /// The int8 body that runs before [`network`](Self::network) (format 4), if any: the
    /// input shape is its input, the network takes its dequantised output.
    pub fn int8_body(&self) -> Option<Int8Body<'_>> {
        let part = self.int8.as_ref().filter(|_| Kind::Int8.built())?;
        Int8Body::new(self.input, part.input, &part.layers, part.data).ok()
    }

    /// Bytes written by a newer format version that this reader skipped (0 for files of
    /// this reader's version).
    pub fn ignored_bytes(&self) -> usize {
        self.ignored
    }

    /// The groups of kinds a firmware needs for the model beyond the base ([`kinds`]):
    /// its layers', its training state's optimizer's, its int8 body's, each once, in tag
    /// order (as `scripts/firmware-build.sh --kinds` takes their features).
    pub fn needs(&self) -> impl Iterator<Item = Kind> {
        let needed = self
            .layers
            .iter()
            .flat_map(Layer::needs)
            .chain(self.training.iter().flat_map(|t| t.optimizer.needs()))
            .chain([self.int8.as_ref().map(|_| Kind::Int8)])
            .flatten()
            .fold(0u32, |set, kind| set | 1 << kind as u8);
        Kind::ALL
            .iter()
            .copied()
            .filter(move |&k| needed & 1 << k as u8 != 0)
    }

    /// The network (the float head of an int8 model). Decoding validated it; this re-runs
    /// [`Network::new`]'s cheap checks, which therefore succeed.
    pub fn network(&self) -> Result<Network<'_>, crate::Error> {
        network(self.head_input(), &self.layers, self.wiring.as_deref())
    }

    /// The network's input width: the int8 body's output width, or the input's.
    fn head_input(&self) -> usize {
        self.int8
            .as_ref()
            .and_then(|p| p.layers.last())
            .map_or(self.input, |l| l.units as usize)
    }

    /// The model as [`ModelRef`], e.g. to encode it again.
    pub fn model(&self) -> Result<ModelRef<'_>, crate::Error> {
        Ok(ModelRef {
            network: self.network()?,
            input_shape: Some(&self.input_shape),
            weights: self.weights,
            training: self.training.clone(),
            int8: self.int8_body(),
        })
    }
}

/// Reads the fixed header: checks the magic and that the 16 header bytes are there, and
/// nothing else (no CRC).
pub fn read_header(bytes: &[u8]) -> Result<FileHeader, FormatError> {
    let n = bytes.len();
    let magic_len = n.min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(FormatError::NotAModel);
    }
    if n < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: MIN_FILE_LEN,
            available: n,
        });
    }
    let header: Header = postcard::from_bytes(&bytes[..HEADER_LEN]).map_err(|_| FormatError::Malformed {
        offset: 0,
        what: Malformation::Header,
    })?;
    Ok(FileHeader {
        version: header.version,
        min_reader: header.min_reader,
        len: header.len as usize,
        meta_len: header.meta_len as usize,
    })
}

/// Decodes a file that fills `bytes` exactly, checking, in order: the magic, the length,
/// the CRC, the version, the metadata, the shapes and lengths, the training state, and
/// that the weights' address is 4-byte aligned.
///
/// A damaged magic or length field is told from another kind of file, or from a
/// truncated one, by the CRC: when the file checks out with the expected magic (or with
/// its actual length in the length field), the error is [`FormatError::Corrupted`], so any
/// single damaged byte is reported as corruption.
pub fn decode(bytes: &[u8]) -> Result<ModelView<'_>, FormatError> {
    decode_file(bytes, TrainingUse::Read)
}

/// [`decode`], taking the training state as `training` says.
fn decode_file(bytes: &[u8], training: TrainingUse) -> Result<ModelView<'_>, FormatError> {
    if cfg!(target_endian = "big") {
        return Err(FormatError::BigEndianTarget);
    }
    let header = verify(bytes, VERSION)?;
    parse(bytes, header, training)
}

/// Decodes a file at the start of `bytes` (e.g. a flash partition larger than the file)
/// and returns it with the bytes after it. The file's length comes from its header, so a
/// damaged length field is reported as [`FormatError::Truncated`] or
/// [`FormatError::Corrupted`].
pub fn decode_prefix(bytes: &[u8]) -> Result<(ModelView<'_>, &[u8]), FormatError> {
    decode_prefix_with(bytes, TrainingUse::Read)
}

/// [`decode_prefix`], taking the training state as `training` says.
pub fn decode_prefix_with(
    bytes: &[u8],
    training: TrainingUse,
) -> Result<(ModelView<'_>, &[u8]), FormatError> {
    let header = read_header(bytes)?;
    if header.len > bytes.len() {
        return Err(FormatError::Truncated {
            needed: header.len,
            available: bytes.len(),
        });
    }
    let (file, rest) = bytes.split_at(header.len);
    Ok((decode_file(file, training)?, rest))
}

/// The CRC stored in the last four bytes of `bytes` (at least four long).
fn stored_crc(bytes: &[u8]) -> u32 {
    let mut le = [0u8; CRC_LEN];
    le.copy_from_slice(&bytes[bytes.len() - CRC_LEN..]);
    u32::from_le_bytes(le)
}

/// CRC-32 of `parts` concatenated.
fn crc_of(parts: &[&[u8]]) -> u32 {
    let mut crc = Crc32::new();
    for part in parts {
        crc.update(part);
    }
    crc.finish()
}

/// Checks magic, length, CRC and version (as a reader of version `supported`: these
/// checks are the same in every version), and returns the header.
fn verify(bytes: &[u8], supported: u16) -> Result<FileHeader, FormatError> {
    let n = bytes.len();
    let magic_len = n.min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        // A model file whose magic alone was damaged still checks out with the magic.
        if n >= MAGIC.len() + CRC_LEN {
            let stored = stored_crc(bytes);
            if crc_of(&[&MAGIC, &bytes[MAGIC.len()..n - CRC_LEN]]) == stored {
                let computed = crc32(&bytes[..n - CRC_LEN]);
                return Err(FormatError::Corrupted { stored, computed });
            }
        }
        return Err(FormatError::NotAModel);
    }
    if n < MIN_FILE_LEN {
        return Err(FormatError::Truncated {
            needed: MIN_FILE_LEN,
            available: n,
        });
    }
    let header = read_header(bytes)?;
    let stored = stored_crc(bytes);
    let computed = crc32(&bytes[..n - CRC_LEN]);
    if header.len != n {
        // A damaged length field: the file checks out with its actual length there.
        const LEN_AT: usize = 8;
        let actual = (n as u32).to_le_bytes();
        let patched = crc_of(&[&bytes[..LEN_AT], &actual, &bytes[LEN_AT + 4..n - CRC_LEN]]);
        if n <= u32::MAX as usize && patched == stored {
            return Err(FormatError::Corrupted { stored, computed });
        }
        return Err(if header.len > n {
            FormatError::Truncated {
                needed: header.len,
                available: n,
            }
        } else {
            FormatError::TrailingBytes {
                len: header.len,
                available: n,
            }
        });
    }
    if stored != computed {
        return Err(FormatError::Corrupted { stored, computed });
    }
    if header.min_reader > supported {
        return Err(FormatError::NewerVersion {
            version: header.version,
            min_reader: header.min_reader,
            supported,
        });
    }
    if header.min_reader == 0 || header.min_reader > header.version {
        return Err(FormatError::Malformed {
            offset: 4,
            what: Malformation::VersionFields,
        });
    }
    Ok(header)
}

/// Parses and validates the metadata and slices the weights of a verified file.
fn parse(bytes: &[u8], header: FileHeader, training: TrainingUse) -> Result<ModelView<'_>, FormatError> {
    let n = bytes.len();
    let data_end = n - CRC_LEN;
    let meta_end = HEADER_LEN
        .checked_add(header.meta_len)
        .filter(|&end| end <= data_end)
        .ok_or(FormatError::Malformed {
            offset: 12,
            what: Malformation::MetadataLength,
        })?;
    let mut reader = Reader::new(&bytes[HEADER_LEN..meta_end]);
    let meta = reader.meta(training).map_err(|e| match reader.left_out() {
        Some(kind) => FormatError::NotBuiltIn { kind },
        None => FormatError::Malformed {
            offset: HEADER_LEN,
            what: describe(&e),
        },
    })?;
    // A graph's wiring follows (its merge records need a version-4 reader, which this is).
    let graph = kinds::Kind::Merge.built() && meta.layers.iter().any(|l| matches!(l, Layer::Merge(_)));
    let wiring = if graph {
        let at = meta_end - reader.rest().len();
        let record = reader.wiring().map_err(|e| FormatError::Malformed {
            offset: at,
            what: describe(&e),
        })?;
        let mut wiring = heapless::Vec::<Inbound, MAX_LAYERS>::new();
        for (i, codes) in record.iter().enumerate() {
            let inbound = wire::inbound(codes).ok_or(Inconsistency::Layers(crate::Error::InvalidLayer {
                layer: i,
                reason: crate::LayerDefect::MergeInputs,
            }))?;
            // Same capacity as `record`, so this cannot fail.
            let _ = wiring.push(inbound);
        }
        Some(wiring)
    } else {
        None
    };
    // Then an int8 body, in a file that has one.
    let int8 = if header.version >= INT8_MIN_READER && !reader.rest().is_empty() {
        let at = meta_end - reader.rest().len();
        if !Kind::Int8.built() && reader.rest().first() == Some(&1) {
            return Err(FormatError::NotBuiltIn { kind: Kind::Int8 });
        }
        reader.int8().map_err(|e| FormatError::Malformed {
            offset: at,
            what: describe(&e),
        })?
    } else {
        None
    };
    let rest = reader.rest();
    if int8.is_some() && header.min_reader < INT8_MIN_READER {
        return Err(FormatError::Malformed {
            offset: 6,
            what: Malformation::VersionFields,
        });
    }
    let same_version = header.version == VERSION;
    if same_version && !rest.is_empty() {
        return Err(FormatError::Malformed {
            offset: meta_end - rest.len(),
            what: Malformation::MetadataTrailingBytes,
        });
    }
    let mut ignored = rest.len();

    let layers = meta.layers;
    let input = shape_width(&meta.input_shape)?;
    let int8_data_len = match &int8 {
        Some(record) => Some(
            Int8Body::data_len(input, &record.layers).ok_or(FormatError::TooLarge {
                what: Quantity::ModelFile,
            })?,
        ),
        None => None,
    };
    let head_input = int8
        .as_ref()
        .and_then(|r| r.layers.last())
        .map_or(input, |l| l.units as usize);
    let net = network(head_input, &layers, wiring.as_deref()).map_err(Inconsistency::Layers)?;
    let params = net.param_count();
    if meta.params as usize != params {
        return Err(Inconsistency::Count {
            what: StoredCount::Weights,
            expected: params,
            found: meta.params as usize,
        }
        .into());
    }
    let state_len = meta.state_len as usize;
    let layout = Layout::new(header.meta_len, params, state_len)
        .and_then(|l| l.with_int8(int8_data_len.unwrap_or(0)))
        .ok_or(FormatError::TooLarge {
            what: Quantity::ModelFile,
        })?;
    if layout.crc > data_end || (same_version && layout.crc < data_end) {
        return Err(Inconsistency::Count {
            what: StoredCount::FileLength,
            expected: layout.file_len(),
            found: n,
        }
        .into());
    }
    ignored += data_end - layout.crc;
    if let Some(at) = bytes[meta_end..layout.weights].iter().position(|&b| b != 0) {
        return Err(FormatError::Malformed {
            offset: meta_end + at,
            what: Malformation::WeightsPadding,
        });
    }

    let weights = f32s(bytes, layout.weights, params)?;
    let training = match meta.training {
        Some(record) => {
            let (optimizer, u_product) = record.optimizer.optimizer();
            let state = TrainingState {
                optimizer,
                loss: record.loss.into(),
                scalars: OptimizerScalars {
                    iterations: record.iterations,
                    u_product,
                },
                trainable_layers: record.trainable_layers as usize,
                state: f32s(bytes, layout.state, state_len)?,
            };
            state.check(&net)?;
            Some(state)
        }
        None => None,
    };
    let int8 = match int8 {
        Some(record) => {
            let data = &bytes[layout.int8..layout.crc];
            Int8Body::new(input, record.input, &record.layers, data).map_err(Inconsistency::Int8)?;
            Some(Int8Part {
                input: record.input,
                layers: record.layers,
                data,
            })
        }
        None => None,
    };
    Ok(ModelView {
        header,
        crc: stored_crc(bytes),
        input_shape: meta.input_shape,
        input,
        layers,
        wiring,
        weights,
        training,
        int8,
        ignored,
    })
}

/// The network of a file's layers: a chain, or the graph `wiring` describes.
fn network<'n>(
    input: usize,
    layers: &'n [Layer],
    wiring: Option<&'n [Inbound]>,
) -> Result<Network<'n>, crate::Error> {
    match wiring {
        Some(wiring) => Network::graph(input, layers, wiring),
        None => Network::new(input, layers),
    }
}

/// Views `count` little-endian f32 at `offset` in `bytes` in place.
fn f32s(bytes: &[u8], offset: usize, count: usize) -> Result<&[f32], FormatError> {
    if count == 0 {
        return Ok(&[]);
    }
    let end = count
        .checked_mul(4)
        .and_then(|len| offset.checked_add(len))
        .filter(|&end| end <= bytes.len())
        .ok_or(FormatError::Truncated {
            needed: offset.saturating_add(count.saturating_mul(4)),
            available: bytes.len(),
        })?;
    let region = &bytes[offset..end];
    // `region` is `4 * count` bytes, so only its address can keep it from being f32s.
    let floats = bytemuck::try_cast_slice::<u8, f32>(region).map_err(|_| FormatError::Misaligned {
        offset,
        address_mod_4: region.as_ptr() as usize % core::mem::align_of::<f32>(),
    })?;
    // The in-memory f32 is the little-endian encoding the format stores only on a
    // little-endian target.
    if cfg!(target_endian = "big") {
        return Err(FormatError::BigEndianTarget);
    }
    Ok(floats)
}

/// What a postcard decoding error says about the metadata.
fn describe(e: &postcard::Error) -> Malformation {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => Malformation::MetadataEnd,
        postcard::Error::DeserializeBadVarint => Malformation::MetadataVarint,
        postcard::Error::DeserializeBadBool => Malformation::MetadataBool,
        postcard::Error::DeserializeBadOption => Malformation::MetadataOption,
        postcard::Error::DeserializeBadEnum | postcard::Error::SerdeDeCustom => Malformation::MetadataTag,
        _ => Malformation::Metadata,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Aligned;

    static ADAM: Aligned<[u8; 224]> = Aligned(*include_bytes!("../../../tests/golden/v3/small-adam.mdl"));
    static INT8: Aligned<[u8; 140]> = Aligned(*include_bytes!("../../../tests/golden/v4/small-int8.mdl"));
    static ACTIVITY: Aligned<[u8; 136]> =
        Aligned(*include_bytes!("../../../tests/golden/small-activity.mdl"));
    static SGD: Aligned<[u8; 172]> = Aligned(*include_bytes!("../../../tests/golden/v3/small-trainable.mdl"));

    /// Readers of versions 1 and 2 ran this same version check with their own number: they
    /// refuse a file with Adam by name and go on reading plain SGD files.
    #[test]
    fn older_readers_refuse_adam_files_by_version_and_read_sgd_ones() {
        for old in [1, 2] {
            assert_eq!(
                verify(&ADAM.0, old),
                Err(FormatError::NewerVersion {
                    version: 3,
                    min_reader: 3,
                    supported: old
                })
            );
            assert!(verify(&SGD.0, old).is_ok());
        }
        assert!(decode(&ADAM.0).is_ok());
    }

    /// Readers of versions 1 to 3 refuse a file with an int8 body by version, naming both.
    #[test]
    fn older_readers_refuse_int8_files_by_version() {
        for old in [1, 2, 3] {
            assert_eq!(
                verify(&INT8.0, old),
                Err(FormatError::NewerVersion {
                    version: 4,
                    min_reader: 4,
                    supported: old
                })
            );
        }
        assert!(decode(&INT8.0).unwrap().int8_body().is_some());
    }

    /// Readers of versions 1 to 4 refuse a Dense layer with an activity regularizer by
    /// version, naming both.
    #[test]
    fn older_readers_refuse_activity_regularizers_by_version() {
        for old in 1..=4 {
            assert_eq!(
                verify(&ACTIVITY.0, old),
                Err(FormatError::NewerVersion {
                    version: 5,
                    min_reader: 5,
                    supported: old
                })
            );
        }
        let view = decode(&ACTIVITY.0).unwrap();
        assert!(matches!(
            view.layers()[0],
            Layer::Dense {
                activity_regularizer: Some(_),
                ..
            }
        ));
    }

    /// An inference-only reader gets the same model without its training state.
    #[test]
    fn skipping_the_training_state_keeps_the_model() {
        let (read, _) = decode_prefix_with(&ADAM.0, TrainingUse::Read).unwrap();
        let (skipped, rest) = decode_prefix_with(&ADAM.0, TrainingUse::Skip).unwrap();
        assert!(read.training().is_some());
        assert!(skipped.training().is_none() && rest.is_empty());
        assert_eq!(skipped.layers(), read.layers());
        assert_eq!(skipped.weights(), read.weights());
        assert_eq!(skipped.crc(), read.crc());
    }

    /// Readers of versions 1 to 3 refuse a graph (merge and wiring records) by version.
    #[test]
    fn older_readers_refuse_graphs_by_version() {
        use crate::{Activation, Merge, Source};
        let dense = Layer::Dense {
            units: 2,
            activation: Activation::Linear,
            use_bias: false,
            activity_regularizer: None,
        };
        let layers = [dense, dense, Layer::Merge(Merge::Concatenate)];
        let wiring = [
            Inbound::new(&[Source::Input]),
            Inbound::new(&[Source::Input]),
            Inbound::new(&[Source::Layer(0), Source::Layer(1)]),
        ]
        .map(Option::unwrap);
        let network = Network::graph(2, &layers, &wiring).unwrap();
        let weights = [0.5f32; 8];
        let model = ModelRef {
            network,
            input_shape: None,
            weights: &weights,
            training: None,
            int8: None,
        };
        let mut buf = Aligned([0u8; 128]);
        let len = model.encode(&mut buf.0).unwrap();
        for old in [1, 2, 3] {
            assert_eq!(
                verify(&buf.0[..len], old),
                Err(FormatError::NewerVersion {
                    version: VERSION,
                    min_reader: 4,
                    supported: old
                })
            );
        }
        assert!(decode(&buf.0[..len]).unwrap().network().unwrap().is_graph());
    }
}
