//! Geometry of a model diagram, shared by the PNG and SVG writers. Units are points
//! (1/72 inch) and the measures follow Graphviz's rendering of Keras's HTML-table
//! labels: 16 pt headers, 14 pt cells, 10 pt cell padding, 2 pt cell spacing.

use super::diagram_input::{DiagramLayer, DiagramOptions, RankDir};
use super::font::Fonts;
use super::PlotError;

/// Margin around the whole graph (Graphviz's `pad`).
const PAD: f32 = 4.0;
/// Gap between a table's cells, showing the black table background.
const CELL_SPACING: f32 = 2.0;
/// Width of each cell's border.
const CELL_BORDER: f32 = 1.0;
/// Padding between a cell's border and its text.
const CELL_PADDING: f32 = 10.0;
/// Em size of the `name (Class)` header.
const HEADER_SIZE: f32 = 16.0;
/// Em size of the other cells.
const BODY_SIZE: f32 = 14.0;
/// Line height relative to the em size.
const LINE_HEIGHT: f32 = 1.125;
/// Baseline position below a cell's centre, relative to the em size.
const BASELINE_SHIFT: f32 = 0.34;
/// Distance between consecutive boxes (Graphviz's `ranksep` plus the pen).
const RANK_SEP: f32 = 37.0;
/// Distance between boxes side by side in one rank (Graphviz's `nodesep`, 0.25 inch).
const NODE_SEP: f32 = 18.0;
/// Width of the edge lines.
pub const PEN_WIDTH: f32 = 2.0;
/// Length of an arrowhead.
pub const ARROW_LENGTH: f32 = 10.0;
/// Half the width of an arrowhead's base.
pub const ARROW_HALF_WIDTH: f32 = 3.5;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    /// Graphviz's `forestgreen`, Keras's colour for trainable layers.
    pub const FOREST_GREEN: Rgb = Rgb(34, 139, 34);
    /// Graphviz's `firebrick`, Keras's colour for frozen layers.
    pub const FIREBRICK: Rgb = Rgb(178, 34, 34);

    /// `#rrggbb` notation.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl Rect {
    /// Right edge.
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    /// The rectangle shrunk by `by` on every side.
    fn inset(&self, by: f32) -> Rect {
        Rect {
            x: self.x + by,
            y: self.y + by,
            width: (self.width - 2.0 * by).max(0.0),
            height: (self.height - 2.0 * by).max(0.0),
        }
    }
}

/// A run of text in one weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The characters.
    pub text: String,
    /// Bold or regular.
    pub bold: bool,
}

/// One line of text centred in a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// The runs, left to right.
    pub spans: Vec<Span>,
    /// Em size in points.
    pub size: f32,
    /// Text colour.
    pub color: Rgb,
    /// Horizontal centre of the line.
    pub center_x: f32,
    /// Baseline.
    pub baseline: f32,
    /// Width of the whole line as measured with the embedded font.
    pub width: f32,
}

/// A filled cell of a layer's table with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The coloured area (inside the cell border).
    pub fill_rect: Rect,
    /// Fill colour.
    pub fill: Rgb,
    /// The text.
    pub text: TextLine,
}

/// One layer's box.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    /// The layer's name.
    pub layer_name: String,
    /// The layer's class.
    pub class_name: String,
    /// Outer frame, filled black (the table background).
    pub frame: Rect,
    /// The cells in reading order.
    pub cells: Vec<Cell>,
}

/// An arrow from one box to the next: a straight shaft and a filled head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// Where the shaft starts (on the source box).
    pub start: (f32, f32),
    /// Where the arrowhead's tip touches the destination box.
    pub tip: (f32, f32),
    /// Direction of the arrow.
    pub rankdir: RankDir,
}

impl Edge {
    /// The three corners of the arrowhead: tip, then the two base corners.
    pub fn head(&self) -> [(f32, f32); 3] {
        let (tx, ty) = self.tip;
        match self.rankdir {
            RankDir::TopToBottom => [
                (tx, ty),
                (tx - ARROW_HALF_WIDTH, ty - ARROW_LENGTH),
                (tx + ARROW_HALF_WIDTH, ty - ARROW_LENGTH),
            ],
            RankDir::LeftToRight => [
                (tx, ty),
                (tx - ARROW_LENGTH, ty - ARROW_HALF_WIDTH),
                (tx - ARROW_LENGTH, ty + ARROW_HALF_WIDTH),
            ],
        }
    }

    /// Where the shaft ends (the middle of the arrowhead's base).
    pub fn shaft_end(&self) -> (f32, f32) {
        let (tx, ty) = self.tip;
        match self.rankdir {
            RankDir::TopToBottom => (tx, ty - ARROW_LENGTH),
            RankDir::LeftToRight => (tx - ARROW_LENGTH, ty),
        }
    }
}

/// The whole diagram: boxes, arrows and the canvas size, in points.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Canvas width.
    pub width: f32,
    /// Canvas height.
    pub height: f32,
    /// One box per layer, in model order.
    pub nodes: Vec<NodeBox>,
    /// One arrow per input a layer takes from another (between consecutive layers in a chain).
    pub edges: Vec<Edge>,
}

/// A cell before placement: what it says, how it looks, how wide it wants to be.
struct CellSpec {
    spans: Vec<Span>,
    size: f32,
    fill: Rgb,
    color: Rgb,
    natural_width: f32,
}

/// A row of a layer's table before placement.
struct RowSpec {
    cells: Vec<CellSpec>,
    height: f32,
}

impl RowSpec {
    fn natural_width(&self) -> f32 {
        let cells: f32 = self.cells.iter().map(|c| c.natural_width).sum();
        cells + CELL_SPACING * (self.cells.len().saturating_sub(1)) as f32
    }
}

/// A layer's table before placement.
struct TableSpec {
    rows: Vec<RowSpec>,
    width: f32,
    height: f32,
}

fn span(text: &str, bold: bool) -> Span {
    Span {
        text: text.to_string(),
        bold,
    }
}

fn or_unknown(value: &str) -> &str {
    if value.trim().is_empty() {
        "?"
    } else {
        value
    }
}

fn cell(fonts: &Fonts, spans: Vec<Span>, size: f32, fill: Rgb, color: Rgb) -> CellSpec {
    let text_width: f32 = spans.iter().map(|s| fonts.width(&s.text, size, s.bold)).sum();
    CellSpec {
        spans,
        size,
        fill,
        color,
        natural_width: text_width + 2.0 * (CELL_PADDING + CELL_BORDER),
    }
}

fn row(cells: Vec<CellSpec>, size: f32) -> RowSpec {
    RowSpec {
        cells,
        height: size * LINE_HEIGHT + 2.0 * (CELL_PADDING + CELL_BORDER),
    }
}

/// The rows Keras's `make_layer_label` builds for one layer.
fn table_for(layer: &DiagramLayer, options: &DiagramOptions, fonts: &Fonts) -> TableSpec {
    let mut rows = Vec::new();
    let header = if options.show_layer_names {
        vec![
            span(&layer.name, true),
            span(&format!(" ({})", layer.class_name), false),
        ]
    } else {
        vec![span(&layer.class_name, true)]
    };
    rows.push(row(
        vec![cell(fonts, header, HEADER_SIZE, Rgb::BLACK, Rgb::WHITE)],
        HEADER_SIZE,
    ));
    if options.show_layer_activations {
        if let Some(activation) = &layer.activation {
            let spans = vec![span("Activation: ", false), span(activation, true)];
            rows.push(row(
                vec![cell(fonts, spans, BODY_SIZE, Rgb::WHITE, Rgb::BLACK)],
                BODY_SIZE,
            ));
        }
    }
    let mut info = Vec::new();
    let labelled = |label: &str, value: &str| {
        let spans = vec![span(label, false), span(or_unknown(value), true)];
        cell(fonts, spans, BODY_SIZE, Rgb::WHITE, Rgb::BLACK)
    };
    if options.show_shapes {
        if layer.class_name != "InputLayer" {
            info.push(labelled("Input shape: ", &layer.input_shape));
        }
        info.push(labelled("Output shape: ", &layer.output_shape));
    }
    if options.show_dtype {
        info.push(labelled("Output dtype: ", &layer.dtype));
    }
    if options.show_trainable {
        if let Some(trainable) = layer.trainable {
            let (text, fill) = if trainable {
                ("Trainable", Rgb::FOREST_GREEN)
            } else {
                ("Non-trainable", Rgb::FIREBRICK)
            };
            info.push(cell(fonts, vec![span(text, true)], BODY_SIZE, fill, Rgb::WHITE));
        }
    }
    if !info.is_empty() {
        rows.push(row(info, BODY_SIZE));
    }
    let inner_width = rows.iter().map(RowSpec::natural_width).fold(0.0f32, f32::max);
    let inner_height: f32 =
        rows.iter().map(|r| r.height).sum::<f32>() + CELL_SPACING * (rows.len().saturating_sub(1)) as f32;
    TableSpec {
        width: inner_width + 2.0 * CELL_SPACING,
        height: inner_height + 2.0 * CELL_SPACING,
        rows,
    }
}

/// Places a table's cells inside `frame`, widening cells evenly to fill each row.
fn place_table(table: TableSpec, layer: &DiagramLayer, frame: Rect) -> NodeBox {
    let inner_width = frame.width - 2.0 * CELL_SPACING;
    let mut cells = Vec::new();
    let mut y = frame.y + CELL_SPACING;
    for row in table.rows {
        let extra = (inner_width - row.natural_width()) / row.cells.len().max(1) as f32;
        let mut x = frame.x + CELL_SPACING;
        for spec in row.cells {
            let width = spec.natural_width + extra;
            let outer = Rect {
                x,
                y,
                width,
                height: row.height,
            };
            let center_y = y + row.height / 2.0;
            let text = TextLine {
                width: spec.natural_width - 2.0 * (CELL_PADDING + CELL_BORDER),
                spans: spec.spans,
                size: spec.size,
                color: spec.color,
                center_x: x + width / 2.0,
                baseline: center_y + BASELINE_SHIFT * spec.size,
            };
            cells.push(Cell {
                fill_rect: outer.inset(CELL_BORDER),
                fill: spec.fill,
                text,
            });
            x += width + CELL_SPACING;
        }
        y += row.height + CELL_SPACING;
    }
    NodeBox {
        layer_name: layer.name.clone(),
        class_name: layer.class_name.clone(),
        frame,
        cells,
    }
}

/// Each layer's inputs among the layers (a chain's: the layer before it).
fn inputs_of(layers: &[DiagramLayer]) -> Vec<Vec<usize>> {
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| match &l.inputs {
            Some(inputs) => inputs.iter().copied().filter(|&j| j < i).collect(),
            None => i.checked_sub(1).into_iter().collect(),
        })
        .collect()
}

impl Layout {
    /// Lays out one box per layer joined by arrows, as Graphviz ranks `plot_model`'s graph:
    /// a layer one rank after its furthest input, the layers of a rank side by side.
    pub fn new(
        layers: &[DiagramLayer],
        options: &DiagramOptions,
        fonts: &Fonts,
    ) -> Result<Layout, PlotError> {
        if layers.is_empty() {
            return Err(PlotError::Input("the model has no layers".to_string()));
        }
        let tables: Vec<TableSpec> = layers
            .iter()
            .map(|layer| table_for(layer, options, fonts))
            .collect();
        let inputs = inputs_of(layers);
        let mut rank = vec![0usize; layers.len()];
        for i in 0..layers.len() {
            rank[i] = inputs[i].iter().map(|&j| rank[j] + 1).max().unwrap_or(0);
        }
        let ranks = rank.iter().max().map_or(0, |r| r + 1);
        let top_to_bottom = options.rankdir == RankDir::TopToBottom;
        // Along the rank direction and across it.
        let along = |t: &TableSpec| if top_to_bottom { t.height } else { t.width };
        let across = |t: &TableSpec| if top_to_bottom { t.width } else { t.height };
        let rank = &rank;
        let members = |r: usize| (0..tables.len()).filter(move |&i| rank[i] == r);
        let thickness: Vec<f32> = (0..ranks)
            .map(|r| members(r).map(|i| along(&tables[i])).fold(0.0f32, f32::max))
            .collect();
        let breadth: Vec<f32> = (0..ranks)
            .map(|r| {
                let sizes: Vec<f32> = members(r).map(|i| across(&tables[i])).collect();
                sizes.iter().sum::<f32>() + NODE_SEP * sizes.len().saturating_sub(1) as f32
            })
            .collect();
        let max_breadth = breadth.iter().copied().fold(0.0f32, f32::max);
        let length = thickness.iter().sum::<f32>() + RANK_SEP * (ranks - 1) as f32 + 2.0 * PAD;
        let (width, height) = if top_to_bottom {
            (max_breadth + 2.0 * PAD, length)
        } else {
            (length, max_breadth + 2.0 * PAD)
        };
        let mut frames = vec![Rect::default(); tables.len()];
        let mut cursor = PAD;
        for r in 0..ranks {
            let mut side = PAD + (max_breadth - breadth[r]) / 2.0;
            for i in members(r) {
                let t = &tables[i];
                let at = cursor + (thickness[r] - along(t)) / 2.0;
                frames[i] = if top_to_bottom {
                    Rect {
                        x: side,
                        y: at,
                        width: t.width,
                        height: t.height,
                    }
                } else {
                    Rect {
                        x: at,
                        y: side,
                        width: t.width,
                        height: t.height,
                    }
                };
                side += across(t) + NODE_SEP;
            }
            cursor += thickness[r] + RANK_SEP;
        }
        let frames_ref = &frames;
        let edges = inputs
            .iter()
            .enumerate()
            .flat_map(|(i, from)| from.iter().map(move |&j| (frames_ref[j], frames_ref[i])))
            .map(|(from, to)| {
                let (start, tip) = if top_to_bottom {
                    (
                        (from.x + from.width / 2.0, from.bottom()),
                        (to.x + to.width / 2.0, to.y),
                    )
                } else {
                    (
                        (from.right(), from.y + from.height / 2.0),
                        (to.x, to.y + to.height / 2.0),
                    )
                };
                Edge {
                    start,
                    tip,
                    rankdir: options.rankdir,
                }
            })
            .collect();
        let nodes = tables
            .into_iter()
            .zip(layers)
            .zip(frames)
            .map(|((table, layer), frame)| place_table(table, layer, frame))
            .collect();
        Ok(Layout {
            width,
            height,
            nodes,
            edges,
        })
    }
}
