//! Conversion between the host's [`Model`] and the device format (`.mdl`, see
//! `docs/device-format.md`), and the figures `microdense inspect` reports for a file:
//! its integrity, its layers and the memory a device needs to run and fine-tune it,
//! computed by the same `microdense-core` functions the firmware sizes its buffers with.

use crate::model::{Compile, Model, ModelError, ModelKind, NamedLayer, OptimizerState};
use microdense_core::format::{self, FormatError, ModelRef, Quantity, TrainingState};
use microdense_core::{Layer, Network, Sgd, Trainer};
use std::fmt;
use std::path::{Path, PathBuf};

/// What goes into a `.mdl` besides the architecture and the weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Carry the optimizer state (SGD hyperparameters, loss, iterations, momentum of the
    /// trainable parameters) for fine-tuning on the device. Needs a compiled model.
    pub with_training_state: bool,
    /// Make the last `K` Dense layers trainable (implies `with_training_state`). `None`
    /// takes the trailing Dense layers whose Keras `trainable` flag is set.
    pub trainable_layers: Option<usize>,
}

/// Why a model could not be converted to or from the device format.
#[derive(Debug)]
pub enum DeviceFormatError {
    /// The device format refused the bytes or the model.
    Format(FormatError),
    /// The model is not valid.
    Model(ModelError),
    /// A training state was asked for, but the model was never compiled (it has no loss
    /// or optimizer to carry).
    NotCompiled,
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
}

impl fmt::Display for DeviceFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceFormatError::Format(e) => write!(f, "{e}"),
            DeviceFormatError::Model(e) => write!(f, "{e}"),
            DeviceFormatError::NotCompiled => write!(
                f,
                "the model is not compiled, so it has no loss or optimizer to carry as training state"
            ),
            DeviceFormatError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for DeviceFormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeviceFormatError::Format(e) => Some(e),
            DeviceFormatError::Model(e) => Some(e),
            DeviceFormatError::NotCompiled => None,
            DeviceFormatError::Read { error, .. } => Some(error),
        }
    }
}

impl From<FormatError> for DeviceFormatError {
    fn from(e: FormatError) -> Self {
        DeviceFormatError::Format(e)
    }
}

impl From<ModelError> for DeviceFormatError {
    fn from(e: ModelError) -> Self {
        DeviceFormatError::Model(e)
    }
}

impl From<microdense_core::Error> for DeviceFormatError {
    fn from(e: microdense_core::Error) -> Self {
        DeviceFormatError::Model(ModelError::Network(e))
    }
}

/// The number of trailing Dense layers whose Keras `trainable` flag is set.
fn trailing_trainable_dense(model: &Model) -> usize {
    model
        .layers
        .iter()
        .rev()
        .filter(|l| l.layer.has_weights())
        .take_while(|l| l.trainable)
        .count()
}

/// Encodes `model` as a `.mdl` file.
///
/// With a training state, the momentum stored is the model's for the trainable
/// parameters (zeros when the model has none yet and the optimizer uses momentum).
pub fn to_mdl(model: &Model, options: &ExportOptions) -> Result<Vec<u8>, DeviceFormatError> {
    model.validate()?;
    let layers = model.core_layers();
    let network = Network::new(model.input_width(), &layers)?;
    let input_shape = model
        .input_shape
        .iter()
        .map(|&d| {
            u32::try_from(d).map_err(|_| FormatError::TooLarge {
                what: Quantity::InputDimension,
            })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let mut momentum = Vec::new();
    let training = if options.with_training_state || options.trainable_layers.is_some() {
        let compile = model.compile.as_ref().ok_or(DeviceFormatError::NotCompiled)?;
        let k = options
            .trainable_layers
            .unwrap_or_else(|| trailing_trainable_dense(model));
        let frozen = network.param_offset(network.first_trainable_layer(k));
        let trainable = network.param_count() - frozen;
        let state_len = compile.sgd.state_len(trainable);
        momentum = match &model.optimizer {
            Some(opt) if state_len > 0 && !opt.momentum.is_empty() => opt.momentum[frozen..].to_vec(),
            _ => vec![0.0; state_len],
        };
        Some((compile, k))
    } else {
        None
    };
    let file = ModelRef {
        network,
        input_shape: Some(&input_shape),
        weights: &model.params,
        training: training.map(|(compile, k)| TrainingState {
            sgd: compile.sgd,
            loss: compile.loss,
            iterations: model.optimizer.as_ref().map_or(0, |o| o.iterations),
            trainable_layers: k,
            momentum: &momentum,
        }),
    };
    let mut out = vec![0u8; file.encoded_len()?];
    let len = file.encode(&mut out)?;
    out.truncate(len);
    Ok(out)
}

/// The bytes copied into 4-byte-aligned storage, as the in-place decoder needs (a
/// `Vec<u8>` may sit at any address).
struct Aligned {
    words: Vec<u32>,
    len: usize,
}

impl Aligned {
    fn new(bytes: &[u8]) -> Self {
        let words = bytes
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_ne_bytes(w)
            })
            .collect();
        Aligned {
            words,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds `4 * words.len() >= len` initialised bytes (each word was
        // built from native-endian bytes, so they read back in order); u8 has no alignment
        // or validity requirements; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Decodes a `.mdl` file into a [`Model`]: layers named as Keras names them, Dense layers
/// before the trainable ones marked non-trainable, and, with a training state, the
/// compile settings and the optimizer state (momentum of frozen parameters set to 0).
pub fn from_mdl(bytes: &[u8]) -> Result<Model, DeviceFormatError> {
    let aligned = Aligned::new(bytes);
    let view = format::decode(aligned.bytes())?;
    let network = view.network()?;
    let first_trainable = view
        .training()
        .map_or(0, |t| t.trainer(network).first_trainable());
    let mut namer = crate::model::LayerNamer::default();
    let layers = view
        .layers()
        .iter()
        .enumerate()
        .map(|(i, layer)| NamedLayer {
            trainable: i >= first_trainable || !layer.has_weights(),
            ..NamedLayer::new(namer.name_for(layer), *layer)
        })
        .collect();
    let (compile, optimizer) = match view.training() {
        Some(state) => {
            let frozen = state.trainer(network).frozen_param_count();
            let momentum = if state.momentum.is_empty() {
                Vec::new()
            } else {
                let mut all = vec![0.0; frozen];
                all.extend_from_slice(state.momentum);
                all
            };
            (
                Some(Compile {
                    loss: state.loss,
                    sgd: state.sgd,
                    ..Compile::default()
                }),
                Some(OptimizerState {
                    iterations: state.iterations,
                    momentum,
                }),
            )
        }
        None => (None, None),
    };
    let model = Model {
        name: "sequential".into(),
        kind: ModelKind::Sequential,
        input_name: "input_layer".into(),
        input_shape: view.input_shape().iter().map(|&d| d as usize).collect(),
        layers,
        params: view.weights().to_vec(),
        compile,
        optimizer,
        dropped_training: None,
    };
    model.validate()?;
    Ok(model)
}

/// Reads and decodes a `.mdl` file.
pub fn read_mdl(path: &Path) -> Result<Model, DeviceFormatError> {
    let bytes = std::fs::read(path).map_err(|error| DeviceFormatError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    from_mdl(&bytes)
}

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
    /// Momentum (`4 · Sgd::state_len(params)`).
    pub momentum: usize,
    /// Training scratch for a batch of 1 (`4 · Trainer::scratch_len(1)`).
    pub scratch_1: usize,
    /// Training scratch for a batch of N (`4 · Trainer::scratch_len(N)`).
    pub scratch_n: usize,
}

impl FineTuneMemory {
    /// Total RAM for a batch of 1.
    pub fn total_1(&self) -> usize {
        self.weights + self.grads + self.momentum + self.scratch_1
    }

    /// Total RAM for a batch of N.
    pub fn total_n(&self) -> usize {
        self.weights + self.grads + self.momentum + self.scratch_n
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
    pub training: Option<(Sgd, microdense_core::Loss, u64, usize)>,
    /// RAM for inference scratch with a batch of 1 (`4 · inference_scratch_len(1)`).
    pub inference_ram: usize,
    /// The optimizer the fine-tuning figures assume: the file's, or SGD with momentum.
    pub fine_tune_sgd: Sgd,
    /// RAM for fine-tuning the last `k` Dense layers, for `k = 1 ..= Dense layers`.
    pub fine_tune: Vec<FineTuneMemory>,
    /// Bytes of a newer format version this reader skipped.
    pub ignored_bytes: usize,
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
    let aligned = Aligned::new(bytes);
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
    let fine_tune_sgd = training.map_or(
        Sgd {
            momentum: 0.9,
            ..Sgd::default()
        },
        |t| t.sgd,
    );
    let fine_tune = (1..=net.weighted_layer_count())
        .map(|k| {
            let trainer = Trainer::last_weighted(net, k);
            let params = trainer.trainable_param_count();
            FineTuneMemory {
                k,
                params,
                weights: 4 * params,
                grads: 4 * params,
                momentum: 4 * fine_tune_sgd.state_len(params),
                scratch_1: 4 * trainer.scratch_len(1),
                scratch_n: 4 * trainer.scratch_len(batch),
            }
        })
        .collect();
    Some(ModelReport {
        input_shape: view.input_shape().iter().map(|&d| d as usize).collect(),
        layers,
        params: net.param_count(),
        training: training.map(|t| (t.sgd, t.loss, t.iterations, t.trainable_layers)),
        inference_ram: 4 * net.inference_scratch_len(1),
        fine_tune_sgd,
        fine_tune,
        ignored_bytes: view.ignored_bytes(),
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
        match m.training {
            Some((sgd, loss, iterations, k)) => writeln!(
                f,
                "training state: SGD(learning_rate={}, momentum={}, nesterov={}), loss {}, {} iterations, last {} Dense layer(s) trainable",
                sgd.learning_rate,
                sgd.momentum,
                sgd.nesterov,
                loss.keras_name(),
                iterations,
                k
            )?,
            None => writeln!(f, "training state: none")?,
        }
        writeln!(f)?;
        writeln!(f, "device memory (bytes):")?;
        writeln!(f, "  flash (the file):          {}", self.file_len)?;
        writeln!(f, "  RAM, inference (batch 1):  {}", m.inference_ram)?;
        let assumed = if m.training.is_some() {
            "the file's SGD"
        } else {
            "SGD with momentum"
        };
        writeln!(
            f,
            "  RAM, fine-tuning the last K Dense layers ({assumed}; batch 1 and {}):",
            self.batch
        )?;
        writeln!(
            f,
            "  {:>3} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
            "K", "params", "weights", "grads", "momentum", "scratch 1", "scratch N", "total 1", "total N"
        )?;
        for r in &m.fine_tune {
            writeln!(
                f,
                "  {:>3} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
                r.k,
                r.params,
                r.weights,
                r.grads,
                r.momentum,
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
    use crate::model::TUTORIAL_SPEC;
    use microdense_core::{Loss, Portable};

    fn predict(model: &Model, inputs: &[f32], batch: usize) -> Vec<u32> {
        let layers = model.core_layers();
        let net = Network::new(model.input_width(), &layers).unwrap();
        let mut scratch = vec![0.0; net.inference_scratch_len(batch)];
        let out = net
            .predict(&Portable, &model.params, inputs, batch, &mut scratch)
            .unwrap();
        out.iter().map(|v| v.to_bits()).collect()
    }

    fn compiled(spec: &str) -> Model {
        let mut model = Model::from_spec(spec, 3).unwrap();
        model.compile = Some(Compile {
            loss: Loss::SparseCategoricalCrossentropy,
            sgd: Sgd {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov: true,
            },
            ..Compile::default()
        });
        let n = model.params.len();
        model.optimizer = Some(OptimizerState {
            iterations: 1234,
            momentum: (0..n).map(|i| i as f32 * 1e-3).collect(),
        });
        model
    }

    #[test]
    fn tutorial_model_round_trips_bit_for_bit_and_predicts_identically() {
        let model = Model::from_spec(TUTORIAL_SPEC, 11).unwrap();
        let bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        assert_eq!(bytes.len(), 161_968);
        let back = from_mdl(&bytes).unwrap();
        assert_eq!(back.layers, model.layers);
        assert_eq!(back.input_shape, vec![784]);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.params), bits(&model.params));
        assert_eq!((&back.compile, &back.optimizer), (&None, &None));
        let inputs: Vec<f32> = (0..3 * 784).map(|i| (i % 17) as f32 / 17.0).collect();
        assert_eq!(predict(&back, &inputs, 3), predict(&model, &inputs, 3));
    }

    #[test]
    fn input_shape_survives() {
        let model = Model::from_spec("28x28,flatten,10:softmax", 1).unwrap();
        let back = from_mdl(&to_mdl(&model, &ExportOptions::default()).unwrap()).unwrap();
        assert_eq!(back.input_shape, vec![28, 28]);
        assert_eq!(back.layers, model.layers);
    }

    #[test]
    fn training_state_carries_the_trainable_suffix() {
        let model = compiled(TUTORIAL_SPEC);
        let options = ExportOptions {
            with_training_state: true,
            trainable_layers: Some(2),
        };
        let back = from_mdl(&to_mdl(&model, &options).unwrap()).unwrap();
        assert_eq!(
            back.compile.as_ref().unwrap().sgd,
            model.compile.as_ref().unwrap().sgd
        );
        assert_eq!(
            back.compile.as_ref().unwrap().loss,
            Loss::SparseCategoricalCrossentropy
        );
        let opt = back.optimizer.clone().unwrap();
        assert_eq!(opt.iterations, 1234);
        // Dense 20 and Dense 10 are trainable: the last 1020 + 210 parameters.
        let frozen = 40_480 - 1_230;
        let original = &model.optimizer.as_ref().unwrap().momentum;
        assert!(opt.momentum[..frozen].iter().all(|&m| m == 0.0));
        assert_eq!(opt.momentum[frozen..], original[frozen..]);
        let flags: Vec<bool> = back.layers.iter().map(|l| l.trainable).collect();
        assert_eq!(flags, [false, true, true, true, true, true]);
        // The flags give the default K when none is asked for.
        let default = ExportOptions {
            with_training_state: true,
            trainable_layers: None,
        };
        let again = from_mdl(&to_mdl(&back, &default).unwrap()).unwrap();
        assert_eq!(again.layers, back.layers);
    }

    #[test]
    fn training_state_needs_a_compiled_model() {
        let model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
        let options = ExportOptions {
            with_training_state: true,
            trainable_layers: None,
        };
        assert!(matches!(
            to_mdl(&model, &options),
            Err(DeviceFormatError::NotCompiled)
        ));
        let mut too_many = compiled(TUTORIAL_SPEC);
        too_many.optimizer = None;
        let options = ExportOptions {
            with_training_state: false,
            trainable_layers: Some(4),
        };
        let err = to_mdl(&too_many, &options).unwrap_err();
        assert!(err.to_string().contains("trainable layers"), "{err}");
    }

    #[test]
    fn unaligned_input_bytes_are_copied_before_decoding() {
        let model = Model::from_spec("4,3:relu,2:softmax", 5).unwrap();
        let bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        assert_eq!(from_mdl(&shifted[1..]).unwrap().params, model.params);
    }

    #[test]
    fn inspect_reports_the_tutorial_model_memory() {
        let model = Model::from_spec(TUTORIAL_SPEC, 2).unwrap();
        let bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        let report = inspect(&bytes, 32);
        assert_eq!(report.file_len, 161_968);
        assert_eq!(report.header.unwrap().version, 1);
        assert!(report.status.is_ok());
        let m = report.model.as_ref().unwrap();
        assert_eq!(m.params, 40_480);
        // 2 · batch · W with W = 50.
        assert_eq!(m.inference_ram, 4 * 2 * 50);
        // Trainer scratch per sample: stored values of the trainable suffix (its input and
        // each layer's output) plus 2 · W.
        let rows: Vec<(usize, usize, usize, usize)> = m
            .fine_tune
            .iter()
            .map(|r| (r.k, r.params, r.scratch_1, r.scratch_n))
            .collect();
        assert_eq!(
            rows,
            [
                (1, 210, 4 * (20 + 10 + 10 + 100), 4 * 32 * 140),
                (2, 1_230, 4 * (50 + 20 + 20 + 20 + 100), 4 * 32 * 210),
                (3, 40_480, 4 * (50 + 50 + 20 + 20 + 20 + 100), 4 * 32 * 260),
            ]
        );
        let k1 = m.fine_tune[0];
        assert_eq!(k1.total_1(), 3 * 4 * 210 + 560);
        let shown = report.to_string();
        assert!(shown.contains("CRC-32:") && shown.contains("ok"), "{shown}");
        assert!(shown.contains("flash (the file):          161968"), "{shown}");
        assert!(shown.contains("dense_2"), "{shown}");
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
