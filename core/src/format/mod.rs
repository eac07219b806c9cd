//! The device format: one compact, versioned, checksummed `.mdl` file holding a model's
//! architecture, weights and, optionally, its training state — written without
//! allocating and read in place, straight out of flash, with the weights borrowed.
//!
//! ```text
//! offset        size        field
//! 0             4           magic 89 4D 44 4C ("\x89MDL")
//! 4             2           version      u16 LE  (writer's format version, 5)
//! 6             2           min_reader   u16 LE  (oldest reader version that can use the file)
//! 8             4           len          u32 LE  (whole file, CRC included)
//! 12            4           meta_len     u32 LE
//! 16            meta_len    metadata     postcard: input shape, layers, params, training?,
//!                                        then a graph's wiring (when a layer is a merge)
//! ...           0..3        zero padding to a multiple of 4
//! W (4-aligned) 4·params    weights      f32 LE, the Network's flat layout
//! ...           4·state     optimizer    f32 LE, the trainable parameters' optimizer state
//!                                        (training state only)
//! ...           int8 data   int8 body    format 4: the int8 layers' arrays (int8 files only)
//! len − 4       4           CRC-32 (IEEE, as zlib) of bytes [0, len − 4), u32 LE
//! ```
//!
//! Forward compatibility: a reader of version `R` refuses a file whose `min_reader > R`
//! with [`FormatError::NewerVersion`]; otherwise it reads the fields it knows and skips
//! what a newer writer appended to the metadata block or before the CRC (counted in
//! [`ModelView::ignored_bytes`]). `docs/device-format.md` is the full specification.
//!
//! ```
//! use microdense_core::format::{decode, Aligned, ModelRef};
//! use microdense_core::{Activation, Layer, Network};
//!
//! let layers = [Layer::Dense { units: 2, activation: Activation::Softmax, use_bias: true, activity_regularizer: None }];
//! let network = Network::new(3, &layers).unwrap();
//! let weights = [0.5f32; 8];
//! let model = ModelRef { network, input_shape: None, weights: &weights, training: None, int8: None };
//! let mut buf = Aligned([0u8; 128]);
//! let len = model.encode(&mut buf.0).unwrap();
//! let view = decode(&buf.0[..len]).unwrap();
//! assert_eq!(view.weights(), &weights);
//! assert_eq!(view.network().unwrap().output_width(), 2);
//! ```

mod crc32;
mod decode;
mod encode;
mod error;
mod reader;
mod training;
mod wire;
mod writer;

pub use crc32::{crc32, Crc32};
pub use decode::{decode, decode_prefix, decode_prefix_with, read_header, FileHeader, ModelView};
pub use encode::{FileLayout, ModelRef};
pub use error::{
    FormatError, Inconsistency, Malformation, Quantity, ShapeDefect, StoredCount, TrainingDefect,
};
pub use training::{TrainingState, TrainingUse};
pub use wire::{CRC_LEN, HEADER_LEN, MAGIC, MAX_INPUT_DIMS, MIN_FILE_LEN};
pub(crate) use writer::{Sink, Writer};

/// The format version this code writes and the newest it reads. Version 2 added the
/// layer records after `Flatten` (BatchNormalization, ..., ActivityRegularization);
/// version 3 the optimizer record that holds any of core's optimizers (Adam, ...,
/// schedules, clipping, weight decay), whose state follows the weights; version 4 the
/// int8 body (its record after the metadata, its data after the optimizer state), the
/// merge layer records and the wiring record of graphs; version 5 the record of a Dense
/// layer with an activity regularizer.
pub const VERSION: u16 = 5;

/// The `min_reader` this code writes for files that only use version-1 records (files
/// with a version-2 layer record get 2, with a version-3 optimizer record 3, see
/// [`ModelRef::min_reader`]), so older readers keep reading the models they can run and
/// refuse the others by version.
pub const MIN_READER_VERSION: u16 = 1;

/// Storage aligned to 4 bytes, so a file's weights can be read in place:
/// `static MODEL: Aligned<[u8; N]> = Aligned(*include_bytes!("model.mdl"));`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);
