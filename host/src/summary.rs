//! `model.summary()`: the layer table Keras prints.

use crate::model::{keras_shape, Model};
use microdense_core::{Layer, Source};
use std::fmt::Write;

/// The summary as tf_keras 2.x prints it: one row per layer with its output shape and
/// parameter count (and, for a graph, the layers it is connected to), then the totals.
///
/// Chains print as Keras prints sequential-like models (65 columns; a Functional chain
/// starts with its InputLayer row); graphs get Keras's 98-column table with the
/// "Connected to" column, long cells wrapped as Keras wraps them.
pub fn summary(model: &Model) -> String {
    let graph = model.graph.is_some();
    let (width, positions): (usize, &[usize]) = if graph {
        (98, &[29, 58, 68, 98])
    } else {
        (65, &[29, 55, 65])
    };
    let mut header = vec!["Layer (type)", "Output Shape", "Param #"];
    if graph {
        header.push("Connected to");
    }
    let mut out = String::new();
    let _ = writeln!(out, "Model: \"{}\"", model.name);
    let _ = writeln!(out, "{}", "_".repeat(width));
    print_row(
        &mut out,
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        positions,
    );
    let _ = writeln!(out, "{}", "=".repeat(width));
    let blank = " ".repeat(width);
    if model.kind == crate::model::ModelKind::Functional {
        let mut row = vec![
            format!("{} (InputLayer)", model.input_name),
            format!("[{}]", keras_shape(&model.input_shape)),
            "0".to_string(),
        ];
        if graph {
            row.push("[]".to_string());
        }
        print_row(&mut out, &row, positions);
        let _ = writeln!(out, "{blank}");
    }
    let wiring = model.wiring();
    let (mut trainable, mut frozen) = (0usize, 0usize);
    for (i, named) in model.layers.iter().enumerate() {
        let (input, output) = model.layer_shapes(i);
        let input_width = input.last().copied().unwrap_or(0);
        let weights = named.layer.trainable_param_count(input_width);
        let statistics = model.layer_param_count(i) - weights
            // Keras's Normalization also counts its `count` weight.
            + usize::from(matches!(named.layer, Layer::Normalization { .. }));
        if named.trainable {
            trainable += weights;
            frozen += statistics;
        } else {
            frozen += weights + statistics;
        }
        let mut row = vec![
            format!("{} ({})", named.name, named.layer.keras_class()),
            keras_shape(&output),
            (weights + statistics).to_string(),
        ];
        if graph {
            let names: Vec<String> = wiring[i]
                .sources()
                .iter()
                .map(|source| {
                    let name = match *source {
                        Source::Input => &model.input_name,
                        Source::Layer(j) => &model.layers[usize::from(j)].name,
                    };
                    format!("'{name}[0][0]'")
                })
                .collect();
            row.push(format!("[{}]", names.join(", ")));
        }
        print_row(&mut out, &row, positions);
        let _ = writeln!(out, "{blank}");
    }
    let _ = writeln!(out, "{}", "=".repeat(width));
    let _ = writeln!(
        out,
        "Total params: {} ({})",
        trainable + frozen,
        size(trainable + frozen)
    );
    let _ = writeln!(out, "Trainable params: {trainable} ({})", size(trainable));
    let _ = writeln!(out, "Non-trainable params: {frozen} ({})", size(frozen));
    let _ = writeln!(out, "{}", "_".repeat(width));
    out
}

/// One table row as tf_keras's `print_row` lays it out: each cell cut to its column
/// (less two spaces of gutter, and one more except in the last column), cut earlier
/// after a `),`, `},`, `],` or `',` when the cut part has one, the rest continued on
/// the next lines; every line padded to the column ends.
fn print_row(out: &mut String, fields: &[String], positions: &[usize]) {
    let mut left: Vec<&str> = fields.iter().map(String::as_str).collect();
    while left.iter().any(|cell| !cell.is_empty()) {
        let mut line = String::new();
        for (col, cell) in left.iter_mut().enumerate() {
            let start = if col > 0 { positions[col - 1] } else { 0 };
            let last = col == positions.len() - 1;
            let gutter = if last { 0 } else { 2 };
            let mut cutoff = (positions[col] - start - gutter).saturating_sub(usize::from(!last));
            let mut fit = char_prefix(cell, cutoff);
            let breaks = ["),", "},", "],", "',"];
            if let Some(end) = breaks
                .iter()
                .filter_map(|b| fit.find(b).map(|at| at + b.len()))
                .min()
            {
                fit = &fit[..end];
                cutoff = fit.chars().count();
            }
            if col == 0 {
                line.push(' ');
            }
            line.push_str(fit);
            line.push_str(&" ".repeat(gutter));
            *cell = &cell[char_prefix(cell, cutoff).len()..];
            let pad = positions[col].saturating_sub(line.chars().count());
            line.push_str(&" ".repeat(pad));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The first `n` characters of `s` (all of it when shorter).
fn char_prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(at, _)| &s[..at])
}

/// Parameter memory as Keras shows it: `158.12 KB`, `0.00 Byte`.
fn size(params: usize) -> String {
    let bytes = params as f64 * 4.0;
    if bytes < 1024.0 {
        format!("{bytes:.2} Byte")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.2} KB", bytes / 1024.0)
    } else {
        format!("{:.2} MB", bytes / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TUTORIAL_SPEC;

    #[test]
    fn tutorial_summary_matches_keras() {
        let model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
        let text = summary(&model);
        assert!(
            text.contains(" dense (Dense)               (None, 50)                39250"),
            "{text}"
        );
        assert!(
            text.contains(" activation_2 (Activation)   (None, 10)                0"),
            "{text}"
        );
        assert!(text.contains("Total params: 40480 (158.12 KB)"), "{text}");
        assert!(text.contains("Non-trainable params: 0 (0.00 Byte)"), "{text}");
        assert_eq!(text.matches("(Dense)").count(), 3);
    }
}
