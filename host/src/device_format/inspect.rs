//! The figures `microdense inspect` reports for a `.mdl` file: its integrity, its layers
//! and the memory a device needs to run and fine-tune it, computed by the same
//! `microdense-core` functions the firmware sizes its buffers with.

use super::AlignedBytes;
use microdense_core::format::{self, FormatError};
use microdense_core::kinds::Kind;
use microdense_core::quant::{Int8Activation, Int8LayerLayout};
use microdense_core::{Layer, Loss, Optimizer, Sgd, Trainer};
use std::fmt;

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// Keras's default name for the layer.
    pub name: String,
    /// The layer.
    pub layer: Layer,
    /// Output width.
    pub output_width: usize,
    /// Parameters.
    pub params: usize,
    /// Whether the file's training state trains it.
    pub trainable: bool,
}

/// One int8 Dense layer of an int8 body.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Row {
    /// Output width.
    pub units: usize,
    /// How its output is activated (`linear`, `relu` by clamping, or a table's function).
    pub activation: &'static str,
    /// Bytes of its arrays in the file (weights, bias, requantisation, scales, table).
    pub bytes: usize,
}

/// An int8 body's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Report {
    /// Its layers.
    pub layers: Vec<Int8Row>,
    /// Its inference scratch (`2·W` bytes, `W` the widest of the input and its layers).
    pub scratch: usize,
}

/// Device memory for fine-tuning the last `k` Dense layers, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FineTuneMemory {
    /// Trainable Dense layers, counted from the end.
    pub k: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Trainable weights copied to RAM (`4 · params`).
    pub weights: usize,
    /// Gradients (`4 · params`).
    pub grads: usize,
    /// Optimizer state (`4 · Optimizer::state_len(params)`: momentum, moments, ...).
    pub state: usize,
    /// Activations for a batch of 1: the first trainable layer's input and the suffix
    /// trainer's scratch (the rest of `4 · Trainer::fine_tune_len(optimizer, 1)`).
    pub scratch_1: usize,
    /// Activations for a batch of N (the rest of `4 · Trainer::fine_tune_len(optimizer, N)`).
    pub scratch_n: usize,
}

impl FineTuneMemory {
    /// Total RAM for a batch of 1.
    pub fn total_1(&self) -> usize {
        self.weights + self.grads + self.state + self.scratch_1
    }

    /// Total RAM for a batch of N.
    pub fn total_n(&self) -> usize {
        self.weights + self.grads + self.state + self.scratch_n
    }
}

/// What a decoded file holds, and what a device needs for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReport {
    /// Shape of one input sample.
    pub input_shape: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerRow>,
    /// Total parameters.
    pub params: usize,
    /// The training state's optimizer, loss, iterations and trainable layer count.
    pub training: Option<(Optimizer, Loss, u64, usize)>,
    /// The int8 body before the layers (format 4), if any.
    pub int8: Option<Int8Report>,
    /// RAM for inference scratch with a batch of 1 (`4 · inference_scratch_len(1)`; with
    /// an int8 body, plus its scratch and the `4 · in` bytes of its dequantised output).
    pub inference_ram: usize,
    /// The optimizer the fine-tuning figures assume: the file's, or SGD with momentum.
    pub fine_tune_optimizer: Optimizer,
    /// RAM for fine-tuning the last `k` Dense layers, for `k = 1 ..= Dense layers`.
    pub fine_tune: Vec<FineTuneMemory>,
    /// Bytes of a newer format version this reader skipped.
    pub ignored_bytes: usize,
    /// The groups of kinds a firmware needs for the model beyond the tutorial's (core's
    /// `kinds`), in tag order: what `scripts/firmware-build.sh --kinds` takes.
    pub kinds: Vec<Kind>,
}

/// Everything `microdense inspect` reports about a `.mdl` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    /// Size of the file: the flash a device needs for it.
    pub file_len: usize,
    /// The header, when it can be read (format version and the oldest reader version).
    pub header: Option<format::FileHeader>,
    /// The verified CRC-32, or why the file cannot be used.
    pub status: Result<u32, FormatError>,
    /// The model, when the file decodes.
    pub model: Option<ModelReport>,
    /// The batch size N of the fine-tuning figures.
    pub batch: usize,
}

/// Inspects a `.mdl` file's bytes; `batch` is the N of the fine-tuning RAM figures.
pub fn inspect(bytes: &[u8], batch: usize) -> Inspection {
    let aligned = AlignedBytes::new(bytes);
    let decoded = format::decode(aligned.bytes());
    let model = decoded.as_ref().ok().and_then(|view| report(view, batch));
    Inspection {
        file_len: bytes.len(),
        header: format::read_header(bytes).ok(),
        status: decoded.map(|view| view.crc()),
        model,
        batch,
    }
}

fn report(view: &format::ModelView<'_>, batch: usize) -> Option<ModelReport> {
    let net = view.network().ok()?;
    let training = view.training();
    let first_trainable = training.map_or(net.layers().len(), |t| t.trainer(net).first_trainable());
    let mut namer = crate::model::LayerNamer::default();
    let layers = net
        .layers()
        .iter()
        .enumerate()
        .map(|(i, layer)| LayerRow {
            name: namer.name_for(layer),
            layer: *layer,
            output_width: net.layer_output_width(i),
            params: net.param_range(i).len(),
            trainable: layer.has_weights() && i >= first_trainable,
        })
        .collect();
    let fine_tune_optimizer = training.map_or_else(
        || {
            Optimizer::from(Sgd {
                momentum: 0.9,
                ..Sgd::default()
            })
        },
        |t| t.optimizer.clone(),
    );
    let fine_tune = (1..=net.weighted_layer_count())
        .map(|k| {
            let trainer = Trainer::last_weighted(net, k);
            let params = trainer.trainable_param_count();
            let state = fine_tune_optimizer.state_len(params);
            let activations = |n| {
                let total = trainer.fine_tune_len(&fine_tune_optimizer, n).ok()?;
                Some(4 * (total - 2 * params - state))
            };
            Some(FineTuneMemory {
                k,
                params,
                weights: 4 * params,
                grads: 4 * params,
                state: 4 * state,
                scratch_1: activations(1)?,
                scratch_n: activations(batch)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let int8 = view.int8_body().map(|body| {
        let mut inputs = body.input_width();
        let layers = body
            .layers()
            .iter()
            .map(|l| {
                let bytes = Int8LayerLayout::new(inputs, l).map_or(0, |layout| layout.len());
                inputs = l.units as usize;
                Int8Row {
                    units: l.units as usize,
                    activation: match l.activation {
                        Int8Activation::Linear => "linear",
                        Int8Activation::Relu => "relu",
                        Int8Activation::Table { function, .. } => function.keras_name(),
                    },
                    bytes,
                }
            })
            .collect();
        Int8Report {
            layers,
            scratch: body.scratch_len(),
        }
    });
    let body_ram = int8.as_ref().map_or(0, |r| r.scratch + 4 * net.input_width());
    let kinds: Vec<Kind> = view.needs().collect();
    Some(ModelReport {
        input_shape: view.input_shape().iter().map(|&d| d as usize).collect(),
        layers,
        params: net.param_count(),
        training: training.map(|t| {
            (
                t.optimizer.clone(),
                t.loss,
                t.scalars.iterations,
                t.trainable_layers,
            )
        }),
        int8,
        inference_ram: 4 * net.inference_scratch_len(1) + body_ram,
        fine_tune_optimizer,
        fine_tune,
        ignored_bytes: view.ignored_bytes(),
        kinds,
    })
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.header {
            Some(h) => writeln!(
                f,
                "format version: {} (readable by version {} and newer; this reader: {})",
                h.version,
                h.min_reader,
                format::VERSION
            )?,
            None => writeln!(f, "format version: unknown (no readable header)")?,
        }
        match &self.status {
            Ok(crc) => writeln!(f, "CRC-32:         {crc:#010x} ok")?,
            Err(e) => writeln!(f, "status:         {e}")?,
        }
        let Some(m) = &self.model else {
            return writeln!(f, "flash:          {} bytes (file)", self.file_len);
        };
        writeln!(f, "input shape:    {}", crate::model::keras_shape(&m.input_shape))?;
        if m.ignored_bytes > 0 {
            writeln!(
                f,
                "skipped:        {} bytes of newer-version fields",
                m.ignored_bytes
            )?;
        }
        writeln!(f)?;
        if let Some(body) = &m.int8 {
            writeln!(f, "int8 body (TFLite's scheme, run by core's integer kernels):")?;
            writeln!(
                f,
                "{:<4} {:<12} {:<10} {:>8} {:>9}",
                "#", "layer", "activation", "output", "bytes"
            )?;
            for (i, row) in body.layers.iter().enumerate() {
                writeln!(
                    f,
                    "{:<4} {:<12} {:<10} {:>8} {:>9}",
                    i, "Dense int8", row.activation, row.units, row.bytes
                )?;
            }
            writeln!(f, "float32 head (on the body's dequantised output):")?;
        }
        writeln!(
            f,
            "{:<4} {:<14} {:<12} {:<10} {:>8} {:>9}  train",
            "#", "name", "layer", "activation", "output", "params"
        )?;
        for (i, row) in m.layers.iter().enumerate() {
            let activation = row.layer.activation().map_or("", |a| a.keras_name());
            writeln!(
                f,
                "{:<4} {:<14} {:<12} {:<10} {:>8} {:>9}  {}",
                i,
                row.name,
                row.layer.keras_class(),
                activation,
                row.output_width,
                row.params,
                if row.trainable { "yes" } else { "" }
            )?;
        }
        writeln!(f, "parameters:     {} ({} bytes)", m.params, 4 * m.params)?;
        match &m.training {
            Some((optimizer, loss, iterations, k)) => writeln!(
                f,
                "training state: {optimizer}, loss {}, {} iterations, last {} Dense layer(s) trainable",
                loss.keras_name(),
                iterations,
                k
            )?,
            None => writeln!(f, "training state: none")?,
        }
        let kinds = match m.kinds.iter().map(|k| k.feature()).collect::<Vec<_>>().join(",") {
            none if none.is_empty() => "base".to_string(),
            list => list,
        };
        writeln!(
            f,
            "firmware kinds: {kinds} (the smallest image for it: scripts/firmware-build.sh --kinds {kinds})"
        )?;
        writeln!(f)?;
        writeln!(f, "device memory (bytes):")?;
        writeln!(f, "  flash (the file):          {}", self.file_len)?;
        writeln!(f, "  RAM, inference (batch 1):  {}", m.inference_ram)?;
        let assumed = if m.training.is_some() {
            format!("the file's {}", m.fine_tune_optimizer.algorithm.keras_class())
        } else {
            "SGD with momentum".into()
        };
        writeln!(
            f,
            "  RAM, fine-tuning the last K Dense layers ({assumed}; batch 1 and {}):",
            self.batch
        )?;
        writeln!(
            f,
            "  {:>3} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
            "K", "params", "weights", "grads", "opt state", "scratch 1", "scratch N", "total 1", "total N"
        )?;
        for r in &m.fine_tune {
            writeln!(
                f,
                "  {:>3} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
                r.k,
                r.params,
                r.weights,
                r.grads,
                r.state,
                r.scratch_1,
                r.scratch_n,
                r.total_1(),
                r.total_n()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_format::{from_mdl, to_mdl, DeviceFormatError, ExportOptions};
    use crate::model::{Model, TUTORIAL_SPEC};

    #[test]
    fn inspect_reports_the_tutorial_model_memory() {
        let model = Model::from_spec(TUTORIAL_SPEC, 2).unwrap();
        let bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        let report = inspect(&bytes, 32);
        assert_eq!(report.file_len, 161_968);
        assert_eq!(report.header.unwrap().version, format::VERSION);
        assert!(report.status.is_ok());
        let m = report.model.as_ref().unwrap();
        assert_eq!(m.params, 40_480);
        // 2 · batch · W with W = 50.
        assert_eq!(m.inference_ram, 4 * 2 * 50);
        // Activations per sample: the first trainable layer's input `in_f`, each suffix
        // layer's output, and 2 · W of the suffix (as the firmware's arena holds them).
        let rows: Vec<(usize, usize, usize, usize)> = m
            .fine_tune
            .iter()
            .map(|r| (r.k, r.params, r.scratch_1, r.scratch_n))
            .collect();
        assert_eq!(
            rows,
            [
                (1, 210, 4 * (20 + 10 + 10 + 20), 4 * 32 * 60),
                (2, 1_230, 4 * (50 + 20 + 20 + 10 + 10 + 40), 4 * 32 * 150),
                (
                    3,
                    40_480,
                    4 * (784 + 50 + 50 + 20 + 20 + 10 + 10 + 100),
                    4 * 32 * 1044
                ),
            ]
        );
        // SGD with momentum: weights, gradients and momentum.
        let k1 = m.fine_tune[0];
        assert_eq!(k1.total_1(), 3 * 4 * 210 + 240);
        let shown = report.to_string();
        assert!(shown.contains("CRC-32:") && shown.contains("ok"), "{shown}");
        assert!(shown.contains("flash (the file):          161968"), "{shown}");
        assert!(shown.contains("dense_2"), "{shown}");
        assert!(m.kinds.is_empty());
        assert!(
            shown.contains(
                "firmware kinds: base (the smallest image for it: scripts/firmware-build.sh --kinds base)"
            ),
            "{shown}"
        );
    }

    #[test]
    fn inspect_counts_the_files_adam_state_per_k() {
        let mut model = Model::from_spec(TUTORIAL_SPEC, 2).unwrap();
        model.compile(crate::model::Compile {
            optimizer: Optimizer::new(microdense_core::Algorithm::Adam(Default::default())),
            ..Default::default()
        });
        let options = ExportOptions {
            with_training_state: true,
            trainable_layers: Some(2),
        };
        let report = inspect(&to_mdl(&model, &options).unwrap(), 8);
        let m = report.model.as_ref().unwrap();
        let k2 = m.fine_tune[1];
        // The goal: Adam on the last 2 layers at batch 1 in at most 24 KiB.
        assert_eq!((k2.state, k2.total_1()), (2 * 4 * 1_230, 4 * (4 * 1_230 + 150)));
        assert!(k2.total_1() <= 24 * 1024);
        assert_eq!(m.kinds, [Kind::Optimizers]);
        let shown = report.to_string();
        assert!(
            shown.contains("training state: Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=false)")
                && shown.contains("the file's Adam")
                && shown.contains("readable by version 3"),
            "{shown}"
        );
        let bn = Model::from_spec("784,32:relu,bn,tanh,10:softmax", 1).unwrap();
        let report = inspect(&to_mdl(&bn, &ExportOptions::default()).unwrap(), 8);
        assert_eq!(
            report.model.as_ref().unwrap().kinds,
            [Kind::Normalization, Kind::Activations]
        );
        assert!(report.to_string().contains("--kinds normalization,activations)"));
    }

    #[test]
    fn inspect_reports_damage() {
        let model = Model::from_spec("4,3:relu,2:softmax", 5).unwrap();
        let mut bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        bytes[40] ^= 1;
        let report = inspect(&bytes, 8);
        assert!(matches!(report.status, Err(FormatError::Corrupted { .. })));
        assert!(report.model.is_none());
        assert_eq!(report.header.unwrap().len, bytes.len());
        assert!(report.to_string().contains("corrupted"), "{report}");
        assert!(matches!(
            from_mdl(b"not a model"),
            Err(DeviceFormatError::Format(FormatError::NotAModel))
        ));
    }
}
