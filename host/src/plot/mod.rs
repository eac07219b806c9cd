//! Pictures without Graphviz, system fonts or Python: Keras-style model diagrams
//! (PNG and SVG from one layout), training-history charts and confusion matrices.
//! Renderers take plain descriptions: layers as [`DiagramLayer`]s ([`model_layers`] makes
//! them from a model), histories as [`History`] and predictions as [`ConfusionMatrix`].

mod chart;
mod confusion;
mod diagram;
mod diagram_input;
mod error;
mod font;
mod layout;
mod model;
mod output;
mod png;
mod svg;

pub use crate::history::{EpochRecord, Evaluation, History};
pub use chart::{render_history_png, write_history_png, ChartOptions};
pub use confusion::{ClassMetrics, ConfusionMatrix};
pub use diagram::{render_diagram, write_diagram, DiagramFormat};
pub use diagram_input::{DiagramLayer, DiagramOptions, RankDir, DEFAULT_DPI, MAX_DPI};
pub use error::PlotError;
pub use model::model_layers;

/// Largest picture, in pixels, any renderer here will allocate (about 1 GB of RGBA).
pub const MAX_PIXELS: u64 = 250_000_000;
