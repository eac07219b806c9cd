//! The engine's error type.
//!
//! Errors are their own wire form: they hold numbers and small `Copy` enums naming what is
//! wrong, never text, so a device sends them as they are inside a
//! [`Fault`](crate::protocol::Fault) and the host words them (`Display`). postcard writes
//! an enum's tag as the varint of the variant's position in the declaration, so new
//! variants go at the end; `core/tests/protocol_faults.rs` pins the tags.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Declares a unit enum naming one of a few things (a buffer, what is wrong with a layer):
/// its variants with their wire tags (explicit discriminants, which the tag test checks
/// against postcard's positions), `ALL` in tag order, and `Display` as the given words.
macro_rules! names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $tag:literal => $words:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant = $tag, )*
        }

        impl $name {
            /// Every variant, in tag order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(match self {
                    $($name::$variant => $words,)*
                })
            }
        }
    };
}
pub(crate) use names;

/// Everything that can go wrong in the engine. Small, `Copy`, printable without `alloc`,
/// and its own wire form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Error {
    /// A caller-provided buffer has the wrong length.
    BufferSize {
        /// Which buffer.
        what: Buffer,
        /// The length the network needs.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The network's layers do not fit together (e.g. zero units, a bad dropout rate).
    InvalidLayer {
        /// Index of the offending layer.
        layer: usize,
        /// What is wrong with it.
        reason: LayerDefect,
    },
    /// The network has no layers or more than the engine supports.
    LayerCount {
        /// Number of layers given.
        count: usize,
    },
    /// A batch the engine cannot work on.
    Batch {
        /// What is wrong.
        reason: BatchDefect,
    },
    /// A layer index that is not in the network.
    LayerIndex {
        /// The index given.
        index: usize,
        /// Number of layers in the network.
        layers: usize,
    },
    /// A kind of layer, activation, optimizer, schedule, clipping or loss that this build
    /// leaves out ([`crate::kinds`]).
    NotBuiltIn {
        /// The group of kinds, with its cargo feature.
        kind: Kind,
    },
}

names! {
    /// A buffer the engine checks the length of ([`Error::BufferSize`]).
    pub enum Buffer {
        /// A network's parameters.
        Parameters = 0 => "parameters",
        /// A batch's inputs.
        Inputs = 1 => "inputs",
        /// Inference scratch.
        InferenceScratch = 2 => "inference scratch",
        /// A batch's target values.
        Targets = 3 => "targets",
        /// The frozen layers' parameters.
        FrozenParameters = 4 => "frozen parameters",
        /// The trained layers' parameters.
        TrainableParameters = 5 => "trainable parameters",
        /// Gradients.
        Gradients = 6 => "gradients",
        /// Training scratch.
        TrainingScratch = 7 => "training scratch",
        /// An optimizer's state (momentum, velocities, ...).
        OptimizerState = 8 => "optimizer state",
        /// A matrix product's left operand.
        MatmulLeft = 9 => "matmul left operand",
        /// A matrix product's right operand.
        MatmulRight = 10 => "matmul right operand",
        /// A matrix product's output.
        MatmulOutput = 11 => "matmul output",
        /// Per-layer activity-penalty sums ([`crate::Rows`]).
        PenaltySums = 12 => "activity penalty sums",
    }
}

names! {
    /// What is wrong with a layer ([`Error::InvalidLayer`]).
    pub enum LayerDefect {
        /// The network's input width is 0 or does not fit `u32`.
        InputWidth = 0 => "input width must be 1 to 2^32-1",
        /// A Dense layer has no units.
        ZeroUnits = 1 => "Dense layer with zero units",
        /// A dropout rate outside `[0, 1)`.
        DropoutRate = 2 => "dropout rate outside [0, 1)",
        /// The network's parameter count does not fit `usize`.
        ParameterOverflow = 3 => "parameter count overflows",
        /// A BatchNormalization momentum outside `[0, 1]` or epsilon not positive.
        BatchNormalization = 4 => "BatchNormalization needs momentum in [0, 1] and epsilon > 0",
        /// A LayerNormalization epsilon not positive.
        LayerNormalization = 5 => "LayerNormalization needs epsilon > 0",
        /// A Rescaling scale or offset that is not finite.
        Rescaling = 6 => "Rescaling with a non-finite scale or offset",
        /// A ReLU max_value below 0, or a setting that is not finite.
        Relu = 7 => "ReLU needs max_value >= 0 and finite settings",
        /// A LeakyReLU slope that is not finite.
        LeakyRelu = 8 => "LeakyReLU with a non-finite slope",
        /// An ELU alpha that is not finite.
        Elu = 9 => "ELU with a non-finite alpha",
        /// A GaussianNoise stddev below 0 or not finite.
        GaussianNoise = 10 => "GaussianNoise needs a finite stddev >= 0",
        /// ActivityRegularization factors below 0 or not finite.
        ActivityRegularization = 11 => "ActivityRegularization needs finite l1, l2 >= 0",
        /// A graph without one [`Inbound`](crate::Inbound) per layer.
        Wiring = 12 => "graph wiring missing (one inbound entry per layer)",
        /// An input from the layer itself or a later one.
        GraphSource = 13 => "takes an input from itself or a later layer (a cycle, or an index out of range)",
        /// A merge with too few inputs, or another layer with more than one.
        MergeInputs = 14 => "wrong input count (a merge takes 2 to 8 inputs, Subtract 2, other layers 1)",
        /// Merged inputs of different widths, or concatenated past `u32`.
        MergeWidths = 15 => "merged inputs differ in width (or concatenate to more than 2^32-1 values)",
        /// An output that no layer takes and that is not the network's output.
        UnusedOutput = 16 => "output used by no layer (a graph has one output: its last layer's)",
        /// A trainable suffix of a graph that is not a chain fed by one output.
        BranchingSuffix = 17 => "starts a trainable suffix that is not a chain (it merges branches)",
    }
}

names! {
    /// What is wrong with a batch ([`Error::Batch`]).
    pub enum BatchDefect {
        /// The batch holds no samples.
        NoSamples = 0 => "no samples",
    }
}

/// The host's words for what a device reports.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferSize {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what} buffer holds {actual} values, the network needs {expected}"
            ),
            Error::InvalidLayer { layer, reason } => write!(f, "layer {layer}: {reason}"),
            Error::LayerCount { count } => write!(
                f,
                "a network needs 1 to {} layers, got {count}",
                crate::MAX_LAYERS
            ),
            Error::Batch { reason } => write!(f, "bad batch: {reason}"),
            Error::LayerIndex { index, layers } => write!(
                f,
                "layer index {index} is out of range for a network of {layers} layers"
            ),
            Error::NotBuiltIn { kind } => write!(f, "this build leaves out {kind}"),
        }
    }
}

impl core::error::Error for Error {}

names! {
    /// A group of kinds that comes with its own cargo feature ([`Kind::feature`];
    /// [`crate::kinds`]), for [`Error::NotBuiltIn`].
    pub enum Kind {
        /// BatchNormalization and LayerNormalization layers.
        Normalization = 0 => "BatchNormalization and LayerNormalization layers (cargo feature `normalization`)",
        /// Rescaling and Normalization layers.
        Preprocessing = 1 => "Rescaling and Normalization layers (cargo feature `preprocessing`)",
        /// ReLU, LeakyReLU, PReLU and ELU layers.
        ActivationLayers = 2 => "ReLU, LeakyReLU, PReLU and ELU layers (cargo feature `activation-layers`)",
        /// GaussianNoise, GaussianDropout and AlphaDropout layers.
        Noise = 3 => "GaussianNoise, GaussianDropout and AlphaDropout layers (cargo feature `noise`)",
        /// Merge layers and functional graphs.
        Merge = 4 => "merge layers and functional graphs (cargo feature `merge`)",
        /// Activity regularization.
        ActivityRegularization = 5 => "activity regularization (cargo feature `activity-regularization`)",
        /// Activations other than linear, ReLU, sigmoid and softmax.
        Activations = 6 => "activations other than linear, relu, sigmoid and softmax (cargo feature `activations`)",
        /// Optimizers other than SGD, and weight decay.
        Optimizers = 7 => "optimizers other than SGD, and weight decay (cargo feature `optimizers`)",
        /// Learning-rate schedules.
        Schedules = 8 => "learning-rate schedules (cargo feature `schedules`)",
        /// Gradient clipping.
        Clipping = 9 => "gradient clipping (cargo feature `clipping`)",
        /// An int8 body.
        Int8 = 10 => "int8 layers (cargo feature `int8`)",
        /// Losses other than the device format's four, and loss settings.
        Losses = 11 => "losses other than the device format's four, and loss settings (cargo feature `losses`)",
    }
}
