//! Confusion matrices: counting (true, predicted) pairs, per-class precision and
//! recall, a text report, and a heat map with the counts in the cells.

use std::fmt::Write;
use std::path::Path;

use plotters::backend::RGBPixel;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::{register_with_plotters, PLOTTERS_FAMILY};
use super::output::encode_png;
use super::{PlotError, MAX_PIXELS};

/// Counts of predictions per (true class, predicted class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major: `counts[truth * classes + predicted]`.
    counts: Vec<u64>,
}

/// Precision, recall and F1 of one class; `None` where the ratio is 0/0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassMetrics {
    /// The class index.
    pub class: usize,
    /// Correct predictions of the class over all predictions of the class.
    pub precision: Option<f64>,
    /// Correct predictions of the class over all samples of the class.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: Option<f64>,
    /// Number of samples whose true class this is.
    pub support: u64,
}

/// Matplotlib's "Blues" colour map, light to dark.
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// The colour of `t` in 0..=1 on [`BLUES`].
fn blues(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let i = (t.floor() as usize).min(BLUES.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes (at least 1).
    pub fn new(classes: usize) -> Result<ConfusionMatrix, PlotError> {
        if classes == 0 {
            return Err(PlotError::Input(
                "a confusion matrix needs at least one class".to_string(),
            ));
        }
        Ok(ConfusionMatrix {
            classes,
            counts: vec![0; classes * classes],
        })
    }

    /// Counts every `(true class, predicted class)` pair.
    pub fn from_pairs<I>(classes: usize, pairs: I) -> Result<ConfusionMatrix, PlotError>
    where
        I: IntoIterator<Item = (usize, usize)>,
    {
        let mut matrix = ConfusionMatrix::new(classes)?;
        for (index, (truth, predicted)) in pairs.into_iter().enumerate() {
            matrix.add(truth, predicted).map_err(|e| match e {
                PlotError::Input(message) => PlotError::Input(format!("pair {index}: {message}")),
                other => other,
            })?;
        }
        Ok(matrix)
    }

    /// Counts one prediction.
    pub fn add(&mut self, truth: usize, predicted: usize) -> Result<(), PlotError> {
        if truth >= self.classes || predicted >= self.classes {
            return Err(PlotError::Input(format!(
                "label (true {truth}, predicted {predicted}) outside the {} classes",
                self.classes
            )));
        }
        self.counts[truth * self.classes + predicted] += 1;
        Ok(())
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of class `truth` were predicted as `predicted` (0 outside the matrix).
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction of samples predicted correctly; `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        let correct = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Precision, recall, F1 and support of every class.
    pub fn class_metrics(&self) -> Vec<ClassMetrics> {
        (0..self.classes)
            .map(|class| {
                let hits = self.count(class, class);
                let predicted = (0..self.classes).map(|t| self.count(t, class)).sum();
                let support = (0..self.classes).map(|p| self.count(class, p)).sum();
                let precision = ratio(hits, predicted);
                let recall = ratio(hits, support);
                let f1 = match (precision, recall) {
                    (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
                    (Some(_), Some(_)) => Some(0.0),
                    _ => None,
                };
                ClassMetrics {
                    class,
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// A table in the manner of scikit-learn's `classification_report`; undefined
    /// ratios print as `-` and count as 0 in the macro average, as scikit-learn does.
    pub fn report(&self) -> String {
        let metrics = self.class_metrics();
        let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>12} {:>10} {:>10} {:>10} {:>10}",
            "class", "precision", "recall", "f1-score", "support"
        );
        for m in &metrics {
            let _ = writeln!(
                out,
                "{:>12} {:>10} {:>10} {:>10} {:>10}",
                m.class,
                cell(m.precision),
                cell(m.recall),
                cell(m.f1),
                m.support
            );
        }
        let total = self.total();
        let _ = writeln!(
            out,
            "{:>12} {:>10} {:>10} {:>10} {:>10}",
            "accuracy",
            "",
            "",
            cell(self.accuracy()),
            total
        );
        let n = metrics.len() as f64;
        let mean = |f: fn(&ClassMetrics) -> Option<f64>| {
            Some(metrics.iter().map(|m| f(m).unwrap_or(0.0)).sum::<f64>() / n)
        };
        let _ = writeln!(
            out,
            "{:>12} {:>10} {:>10} {:>10} {:>10}",
            "macro avg",
            cell(mean(|m| m.precision)),
            cell(mean(|m| m.recall)),
            cell(mean(|m| m.f1)),
            total
        );
        out
    }

    /// Edge of one cell in pixels: large for few classes, at least 22 pixels.
    fn cell_size(&self) -> u32 {
        (560 / self.classes as u32).clamp(22, 64)
    }

    /// Size in pixels of the heat map [`render_png`](Self::render_png) draws.
    pub fn png_size(&self) -> (u32, u32) {
        let grid = self.cell_size() * self.classes as u32;
        (LEFT + grid + RIGHT, TOP + grid + BOTTOM)
    }

    /// Draws the heat map (rows: true class, columns: predicted class) as a PNG.
    pub fn render_png(&self) -> Result<Vec<u8>, PlotError> {
        let (width, height) = self.png_size();
        if width as u64 * height as u64 > MAX_PIXELS {
            return Err(PlotError::TooLarge {
                width: width as u64,
                height: height as u64,
            });
        }
        register_with_plotters()?;
        let mut buffer = vec![0u8; width as usize * height as usize * 3];
        {
            let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buffer, (width, height))
                .map_err(PlotError::draw)?;
            let root = backend.into_drawing_area();
            root.fill(&WHITE).map_err(PlotError::draw)?;
            self.draw(&root)?;
            root.present().map_err(PlotError::draw)?;
        }
        encode_png(width, height, &buffer, None)
    }

    /// Renders the heat map to the PNG file `path`, atomically.
    pub fn write_png(&self, path: &Path) -> Result<(), PlotError> {
        let bytes = self.render_png()?;
        crate::atomic::write(path, &bytes).map_err(PlotError::writing(path))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let cell = self.cell_size() as i32;
        let n = self.classes as i32;
        let grid = cell * n;
        let (x0, y0) = (LEFT as i32, TOP as i32);
        let max = self.counts.iter().copied().max().unwrap_or(0).max(1);
        let centered = Pos::new(HPos::Center, VPos::Center);
        let font = |size: i32| (PLOTTERS_FAMILY, size).into_font();
        let label_size = (cell / 3).clamp(11, 20);
        let count_digits = max.to_string().len() as i32;
        let count_size = (cell * 2 / 5).min(cell * 3 / (2 * count_digits));

        let title = match self.accuracy() {
            Some(accuracy) => format!(
                "Confusion matrix — accuracy {accuracy:.4} on {} samples",
                self.total()
            ),
            None => "Confusion matrix — no samples".to_string(),
        };
        let text = |s: &str, at: (i32, i32), style: TextStyle| {
            root.draw(&Text::new(s.to_string(), at, style))
                .map_err(PlotError::draw)
        };
        text(
            &title,
            (x0 + grid / 2, TOP as i32 / 2),
            font(22).into_text_style(root).pos(centered),
        )?;
        for truth in 0..n {
            for predicted in 0..n {
                let count = self.count(truth as usize, predicted as usize);
                let t = count as f64 / max as f64;
                let (x, y) = (x0 + predicted * cell, y0 + truth * cell);
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], blues(t).filled()))
                    .map_err(PlotError::draw)?;
                if count_size >= 9 {
                    let color = if t > 0.55 { WHITE } else { BLACK };
                    text(
                        &count.to_string(),
                        (x + cell / 2, y + cell / 2),
                        font(count_size).color(&color).pos(centered),
                    )?;
                }
            }
            // Class labels on both axes (skipped when they would overlap).
            if label_size * 2 <= cell * 3 || truth % 5 == 0 {
                let label = truth.to_string();
                text(
                    &label,
                    (x0 - 8, y0 + truth * cell + cell / 2),
                    font(label_size)
                        .into_text_style(root)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                )?;
                text(
                    &label,
                    (x0 + truth * cell + cell / 2, y0 + grid + 8),
                    font(label_size)
                        .into_text_style(root)
                        .pos(Pos::new(HPos::Center, VPos::Top)),
                )?;
            }
        }
        root.draw(&Rectangle::new(
            [(x0, y0), (x0 + grid, y0 + grid)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))
        .map_err(PlotError::draw)?;
        text(
            "Predicted label",
            (x0 + grid / 2, y0 + grid + 8 + label_size + 26),
            font(20).into_text_style(root).pos(centered),
        )?;
        text(
            "True label",
            (24, y0 + grid / 2),
            font(20)
                .transform(FontTransform::Rotate270)
                .into_text_style(root)
                .pos(centered),
        )?;
        self.draw_colorbar(root, x0 + grid + 28, y0, grid, max)
    }

    fn draw_colorbar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        x: i32,
        y: i32,
        height: i32,
        max: u64,
    ) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        const BAR: i32 = 20;
        for row in 0..height {
            let t = 1.0 - row as f64 / (height - 1).max(1) as f64;
            root.draw(&Rectangle::new(
                [(x, y + row), (x + BAR, y + row + 1)],
                blues(t).filled(),
            ))
            .map_err(PlotError::draw)?;
        }
        root.draw(&Rectangle::new(
            [(x, y), (x + BAR, y + height)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))
        .map_err(PlotError::draw)?;
        for tick in 0..=4u64 {
            let value = max * tick / 4;
            let ty = y + height - ((height - 1) as u64 * tick / 4) as i32 - 1;
            root.draw(&PathElement::new(
                vec![(x + BAR, ty), (x + BAR + 5, ty)],
                RGBColor(80, 80, 80),
            ))
            .map_err(PlotError::draw)?;
            root.draw(&Text::new(
                value.to_string(),
                (x + BAR + 9, ty),
                (PLOTTERS_FAMILY, 18)
                    .into_font()
                    .into_text_style(root)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(PlotError::draw)?;
        }
        Ok(())
    }
}

/// Room left of the grid (axis title and class labels).
const LEFT: u32 = 96;
/// Room right of the grid (colour bar and its labels).
const RIGHT: u32 = 120;
/// Room above the grid (title).
const TOP: u32 = 64;
/// Room below the grid (class labels and axis title).
const BOTTOM: u32 = 84;
