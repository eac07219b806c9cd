//! Training-history charts: loss and accuracy per epoch, training and (when the
//! history has it) validation, drawn with plotters and the embedded font.

use std::path::Path;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::font::{register_with_plotters, PLOTTERS_FAMILY};
use super::output::encode_png;
use super::{PlotError, MAX_PIXELS};
use crate::history::{EpochRecord, History};

/// Matplotlib's first colour (training curves).
const TRAINING: RGBColor = RGBColor(31, 119, 180);
/// Matplotlib's second colour (validation curves).
const VALIDATION: RGBColor = RGBColor(255, 127, 14);

/// Series with more points than this are drawn without point markers.
const MAX_MARKERS: usize = 30;

/// Size of a history chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartOptions {
    /// Width in pixels (both panels together).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for ChartOptions {
    fn default() -> ChartOptions {
        ChartOptions {
            width: 1200,
            height: 480,
        }
    }
}

/// One panel: which metric, how it is called.
struct Panel {
    title: &'static str,
    axis: &'static str,
    training: fn(&EpochRecord) -> Option<f64>,
    validation: fn(&EpochRecord) -> Option<f64>,
    legend: SeriesLabelPosition,
}

const LOSS: Panel = Panel {
    title: "Model loss",
    axis: "Loss",
    training: |e| Some(e.loss),
    validation: |e| e.val_loss,
    legend: SeriesLabelPosition::UpperRight,
};

const ACCURACY: Panel = Panel {
    title: "Model accuracy",
    axis: "Accuracy",
    training: |e| Some(e.accuracy),
    validation: |e| e.val_accuracy,
    legend: SeriesLabelPosition::LowerRight,
};

/// The finite (epoch, value) points of one series.
fn series(history: &History, metric: fn(&EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
    history
        .epochs
        .iter()
        .filter_map(|e| metric(e).map(|v| (e.epoch as f64, v)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// `(low, high)` of the values with 8 % headroom, never empty.
fn value_range(points: &[&[(f64, f64)]]) -> (f64, f64) {
    let values = points.iter().flat_map(|s| s.iter().map(|p| p.1));
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let span = (high - low).max(high.abs() * 0.05).max(1e-3);
    (low - 0.08 * span, high + 0.08 * span)
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_, RGBPixel>, Shift>,
    history: &History,
    panel: &Panel,
) -> Result<(), PlotError> {
    let training = series(history, panel.training);
    let validation = series(history, panel.validation);
    let first = history.epochs.iter().map(|e| e.epoch).min().unwrap_or(1) as f64;
    let last = history.epochs.iter().map(|e| e.epoch).max().unwrap_or(1) as f64;
    let pad = ((last - first) * 0.05).max(0.25);
    let (low, high) = value_range(&[&training, &validation]);

    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, (PLOTTERS_FAMILY, 26).into_font())
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(first - pad..last + pad, low..high)
        .map_err(PlotError::draw)?;
    let epochs = (last - first) as usize + 1;
    // Enough decimals to tell apart ticks about a tenth of the range apart.
    let decimals = (-((high - low) / 8.0).log10()).ceil().clamp(0.0, 6.0) as usize;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc(panel.axis)
        .x_labels(epochs.clamp(2, 12))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        })
        .y_labels(8)
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style((PLOTTERS_FAMILY, 17).into_font())
        .axis_desc_style((PLOTTERS_FAMILY, 20).into_font())
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(PlotError::draw)?;

    for (points, color, name) in [
        (&training, TRAINING, "training"),
        (&validation, VALIDATION, "validation"),
    ] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(3)))
            .map_err(PlotError::draw)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], color.stroke_width(3)));
        // Markers only while they stay apart.
        if points.len() <= MAX_MARKERS {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(PlotError::draw)?;
        }
    }
    chart
        .configure_series_labels()
        .position(panel.legend.clone())
        .label_font((PLOTTERS_FAMILY, 18).into_font())
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .legend_area_size(40)
        .margin(12)
        .draw()
        .map_err(PlotError::draw)?;
    Ok(())
}

/// Draws `history` as two side-by-side panels (loss, accuracy) and encodes a PNG.
pub fn render_history_png(history: &History, options: &ChartOptions) -> Result<Vec<u8>, PlotError> {
    let (width, height) = (options.width, options.height);
    if width < 400 || height < 240 {
        return Err(PlotError::Input(format!(
            "chart size {width}x{height} is below the minimum of 400x240"
        )));
    }
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(PlotError::TooLarge {
            width: width as u64,
            height: height as u64,
        });
    }
    if history.epochs.is_empty() {
        return Err(PlotError::Input("the history has no epochs".to_string()));
    }
    register_with_plotters()?;
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buffer, (width, height))
            .map_err(PlotError::draw)?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::draw)?;
        let (left, right) = root.split_horizontally(width / 2);
        draw_panel(&left, history, &LOSS)?;
        draw_panel(&right, history, &ACCURACY)?;
        root.present().map_err(PlotError::draw)?;
    }
    encode_png(width, height, &buffer, None)
}

/// Renders `history` to the PNG file `path`, atomically.
pub fn write_history_png(path: &Path, history: &History, options: &ChartOptions) -> Result<(), PlotError> {
    let bytes = render_history_png(history, options)?;
    crate::atomic::write(path, &bytes).map_err(PlotError::writing(path))
}
