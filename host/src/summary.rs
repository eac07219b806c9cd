//! `model.summary()`: the layer table Keras prints.

use crate::model::{keras_shape, Model};
use std::fmt::Write;

/// The summary as tf_keras 2.x prints it: one row per layer with its output shape and
/// parameter count, then the totals.
pub fn summary(model: &Model) -> String {
    let rule = "_".repeat(65);
    let double = "=".repeat(65);
    let mut out = String::new();
    let _ = writeln!(out, "Model: \"{}\"", model.name);
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        " {:<28}{:<26}{:<10}",
        "Layer (type)", "Output Shape", "Param #"
    );
    let _ = writeln!(out, "{double}");
    let (mut trainable, mut frozen) = (0usize, 0usize);
    for (i, named) in model.layers.iter().enumerate() {
        let count = model.layer_param_count(i);
        if named.trainable {
            trainable += count;
        } else {
            frozen += count;
        }
        let name = format!("{} ({})", named.name, named.layer.keras_class());
        let shape = keras_shape(&model.layer_shapes(i).1);
        let _ = writeln!(out, " {name:<28}{shape:<26}{count:<10}");
        let _ = writeln!(out);
    }
    // Keras prints the blank line between rows, not after the last.
    out.pop();
    let _ = writeln!(out, "{double}");
    let _ = writeln!(
        out,
        "Total params: {} ({})",
        trainable + frozen,
        size(trainable + frozen)
    );
    let _ = writeln!(out, "Trainable params: {trainable} ({})", size(trainable));
    let _ = writeln!(out, "Non-trainable params: {frozen} ({})", size(frozen));
    let _ = writeln!(out, "{rule}");
    out
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
