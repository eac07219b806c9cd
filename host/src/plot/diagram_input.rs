//! What a model diagram is drawn from: its layers, described independently of any model
//! type, and Keras's `plot_model` options. A leaf module: the layout and the renderers
//! both read it.

use std::fmt;
use std::str::FromStr;

use super::PlotError;

/// Keras's default resolution for `plot_model` (tf_keras 2.x; Keras 3 uses 200).
pub const DEFAULT_DPI: u32 = 96;

/// Largest accepted resolution.
pub const MAX_DPI: u32 = 1200;

/// One layer as the diagram shows it, independent of any model type.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagramLayer {
    /// Layer name, e.g. `dense_1`.
    pub name: String,
    /// Keras class name, e.g. `Dense`.
    pub class_name: String,
    /// Input shape in Keras's notation, e.g. `(None, 784)`; empty when unknown.
    pub input_shape: String,
    /// Output shape in Keras's notation, e.g. `(None, 50)`; empty when unknown.
    pub output_shape: String,
    /// Output dtype, e.g. `float32`; empty when unknown.
    pub dtype: String,
    /// Activation name for layers that have one (`Dense` shows `linear` when none is set).
    pub activation: Option<String>,
    /// Whether the weights train; `None` for layers without weights (no cell is drawn, as in Keras).
    pub trainable: Option<bool>,
    /// The earlier layers whose outputs this one takes, in a graph (empty: the model's
    /// input only); `None` in a chain: the layer before it.
    pub inputs: Option<Vec<usize>>,
}

/// Direction in which the layers follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankDir {
    /// Top to bottom (`TB`, Keras's default).
    #[default]
    TopToBottom,
    /// Left to right (`LR`).
    LeftToRight,
}

impl FromStr for RankDir {
    type Err = PlotError;

    fn from_str(s: &str) -> Result<RankDir, PlotError> {
        match s.to_ascii_uppercase().as_str() {
            "TB" => Ok(RankDir::TopToBottom),
            "LR" => Ok(RankDir::LeftToRight),
            _ => Err(PlotError::Input(format!("rankdir {s:?} is not TB or LR"))),
        }
    }
}

impl fmt::Display for RankDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RankDir::TopToBottom => "TB",
            RankDir::LeftToRight => "LR",
        })
    }
}

/// Keras's `plot_model` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagramOptions {
    /// Show each layer's input and output shape.
    pub show_shapes: bool,
    /// Show each layer's output dtype.
    pub show_dtype: bool,
    /// Show `name (Class)` rather than just `Class` (default true).
    pub show_layer_names: bool,
    /// Show the activation of layers that have one.
    pub show_layer_activations: bool,
    /// Show whether layers with weights are trainable.
    pub show_trainable: bool,
    /// Direction of the graph.
    pub rankdir: RankDir,
    /// Resolution of the PNG in dots per inch (the SVG is resolution independent).
    pub dpi: u32,
}

impl Default for DiagramOptions {
    fn default() -> DiagramOptions {
        DiagramOptions {
            show_shapes: false,
            show_dtype: false,
            show_layer_names: true,
            show_layer_activations: false,
            show_trainable: false,
            rankdir: RankDir::TopToBottom,
            dpi: DEFAULT_DPI,
        }
    }
}
