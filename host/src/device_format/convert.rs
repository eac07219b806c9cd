//! Conversion between the host's [`Model`] and the device format.

use super::AlignedBytes;
use crate::int8::{dequantize, Int8Model};
use crate::model::{Compile, Model, ModelError, ModelKind, NamedLayer, OptimizerState};
use microdense_core::format::{
    self, FormatError, Inconsistency, ModelRef, ModelView, Quantity, TrainingState,
};
use microdense_core::quant::Int8Body;
use microdense_core::{Network, OptimizerScalars};
use std::path::{Path, PathBuf};

/// What goes into a `.mdl` besides the architecture and the weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Carry the training state (the optimizer and its hyperparameters, the loss, the
    /// iterations, the optimizer state of the trainable parameters) for fine-tuning on the
    /// device. Needs a compiled model.
    pub with_training_state: bool,
    /// Make the last `K` Dense layers trainable (implies `with_training_state`). `None`
    /// takes the trailing Dense layers whose Keras `trainable` flag is set.
    pub trainable_layers: Option<usize>,
}

/// Why a model could not be converted to or from the device format.
#[derive(Debug, thiserror::Error)]
pub enum DeviceFormatError {
    /// The device format refused the bytes or the model.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The model is not valid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A training state was asked for, but the model was never compiled (it has no loss
    /// or optimizer to carry).
    #[error("the model is not compiled, so it has no loss or optimizer to carry as training state")]
    NotCompiled,
    /// A training state was asked for, but the device format names only four losses
    /// with Keras's default settings (the loss the model is compiled with, as Keras writes it).
    #[error(
        "the device format carries categorical_crossentropy, sparse_categorical_crossentropy, \
         binary_crossentropy or mean_squared_error of probabilities; the model is compiled with \
         {0}: convert without training state, or recompile with one of those"
    )]
    DeviceLoss(String),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
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

/// Encodes `model` as a `.mdl` file, frozen BatchNormalization layers folded into the
/// Dense layer before them ([`crate::fold`]).
///
/// With a training state, the optimizer state stored is the model's for the trainable
/// parameters (a fresh one, [`microdense_core::Optimizer::init_state`], when the model has none yet).
pub fn to_mdl(model: &Model, options: &ExportOptions) -> Result<Vec<u8>, DeviceFormatError> {
    encode_mdl(model, options, None)
}

/// [`to_mdl`], with an int8 body before `model` (which is then its float head) and the
/// body's input shape as the file's.
fn encode_mdl(
    model: &Model,
    options: &ExportOptions,
    int8: Option<(Int8Body<'_>, &[usize])>,
) -> Result<Vec<u8>, DeviceFormatError> {
    model.validate()?;
    let first = match options.trainable_layers {
        Some(k) => model.with_network(|net| Ok(net.first_trainable_layer(k)))?,
        None if options.with_training_state => {
            let k = trailing_trainable_dense(model);
            model.with_network(|net| Ok(net.first_trainable_layer(k)))?
        }
        None => model.layers.len(),
    };
    let folded = crate::fold::fold_frozen_batch_norms(model, first)?;
    let model = &folded;
    let layers = model.core_layers();
    let wiring = model.wiring();
    let network = Network::graph(model.input_width(), &layers, &wiring)?;
    let input_shape = int8
        .map_or(&model.input_shape[..], |(_, shape)| shape)
        .iter()
        .map(|&d| {
            u32::try_from(d).map_err(|_| FormatError::TooLarge {
                what: Quantity::InputDimension,
            })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let mut state = Vec::new();
    let training = if options.with_training_state || options.trainable_layers.is_some() {
        let compile = model.compile.as_ref().ok_or(DeviceFormatError::NotCompiled)?;
        let k = options
            .trainable_layers
            .unwrap_or_else(|| trailing_trainable_dense(model));
        let optimizer = &compile.optimizer;
        let slots = optimizer.slots();
        let frozen = network.param_offset(network.first_trainable_layer(k));
        let saved = model
            .optimizer
            .as_ref()
            .filter(|o| o.slots.len() == optimizer.state_len(network.param_count()));
        state = match saved {
            Some(o) => o.slots[frozen * slots..].to_vec(),
            None => {
                let mut fresh = vec![0.0; optimizer.state_len(network.param_count() - frozen)];
                optimizer.init_state(&mut fresh);
                fresh
            }
        };
        let loss = compile
            .loss
            .device_loss()
            .ok_or_else(|| DeviceFormatError::DeviceLoss(compile.loss.to_string()))?;
        Some((compile, loss, k))
    } else {
        None
    };
    let file = ModelRef {
        int8: int8.map(|(body, _)| body),
        network,
        input_shape: Some(&input_shape),
        weights: &model.params,
        training: training.map(|(compile, loss, k)| TrainingState {
            optimizer: compile.optimizer.clone(),
            loss,
            scalars: model
                .optimizer
                .as_ref()
                .map_or_else(OptimizerScalars::default, |o| o.scalars),
            trainable_layers: k,
            state: &state,
        }),
    };
    let mut out = vec![0u8; file.encoded_len()?];
    let len = file.encode(&mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Decodes a `.mdl` file into a [`Model`]: layers named as Keras names them, Dense layers
/// before the trainable ones marked non-trainable, and, with a training state, the
/// compile settings and the optimizer state (a fresh state, [`microdense_core::Optimizer::init_state`], for
/// the frozen parameters, which Keras does not step).
///
/// A file with an int8 body decodes to its dequantised float model
/// ([`Int8Model::dequantized`]); [`int8_from_mdl`] keeps it int8.
pub fn from_mdl(bytes: &[u8]) -> Result<Model, DeviceFormatError> {
    let aligned = AlignedBytes::new(bytes);
    let view = format::decode(aligned.bytes())?;
    let shape: Vec<usize> = view.input_shape().iter().map(|&d| d as usize).collect();
    match view.int8_body() {
        Some(body) => {
            let head = model_from_view(&view, vec![view.network()?.input_width()])?;
            Ok(dequantize(&body, &shape, &head)?)
        }
        None => model_from_view(&view, shape),
    }
}

/// Decodes a `.mdl` file with an int8 body (`None` for a float file).
pub fn int8_from_mdl(bytes: &[u8]) -> Result<Option<Int8Model>, DeviceFormatError> {
    let aligned = AlignedBytes::new(bytes);
    let view = format::decode(aligned.bytes())?;
    let Some(body) = view.int8_body() else {
        return Ok(None);
    };
    let head = model_from_view(&view, vec![view.network()?.input_width()])?;
    Ok(Some(Int8Model {
        input_shape: view.input_shape().iter().map(|&d| d as usize).collect(),
        input: body.input_params(),
        layers: body.layers().to_vec(),
        data: body
            .data()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        head,
    }))
}

/// Encodes an int8 model: its body, then its float head with the training state
/// `options` ask for.
pub fn int8_to_mdl(int8: &Int8Model, options: &ExportOptions) -> Result<Vec<u8>, DeviceFormatError> {
    let body = int8
        .body()
        .map_err(|e| FormatError::InconsistentShapes(Inconsistency::Int8(e)))?;
    encode_mdl(&int8.head, options, Some((body, &int8.input_shape)))
}

/// The float model a decoded view holds (the head of an int8 file), with `input_shape`.
fn model_from_view(view: &ModelView<'_>, input_shape: Vec<usize>) -> Result<Model, DeviceFormatError> {
    let network = view.network()?;
    let first_trainable = view
        .training()
        .map_or(0, |t| t.trainer(network).first_trainable());
    let mut namer = crate::model::LayerNamer::default();
    let layers: Vec<NamedLayer> = view
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
            let optimizer = &state.optimizer;
            let frozen = state.trainer(network).frozen_param_count();
            let mut slots = vec![0.0; optimizer.state_len(frozen)];
            optimizer.init_state(&mut slots);
            slots.extend_from_slice(state.state);
            (
                Some(Compile {
                    loss: state.loss.into(),
                    optimizer: optimizer.clone(),
                    ..Compile::default()
                }),
                Some(OptimizerState {
                    scalars: state.scalars,
                    slots,
                }),
            )
        }
        None => (None, None),
    };
    let graph = network
        .is_graph()
        .then(|| (0..layers.len()).map(|i| network.inbound(i)).collect());
    let model = Model {
        name: if graph.is_some() {
            "functional"
        } else {
            "sequential"
        }
        .into(),
        kind: if graph.is_some() {
            ModelKind::Functional
        } else {
            ModelKind::Sequential
        },
        graph,
        input_name: "input_layer".into(),
        input_shape,
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
    from_mdl(&read_file(path)?)
}

/// Reads a `.mdl` file with an int8 body (`None` for a float file).
pub fn read_int8_mdl(path: &Path) -> Result<Option<Int8Model>, DeviceFormatError> {
    int8_from_mdl(&read_file(path)?)
}

fn read_file(path: &Path) -> Result<Vec<u8>, DeviceFormatError> {
    std::fs::read(path).map_err(|source| DeviceFormatError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TUTORIAL_SPEC;
    use microdense_core::optimizer::AdamSettings;
    use microdense_core::{Algorithm, Loss, Optimizer, Portable, Sgd};

    fn predict(model: &Model, inputs: &[f32], batch: usize) -> Vec<u32> {
        let layers = model.core_layers();
        let wiring = model.wiring();
        let net = Network::graph(model.input_width(), &layers, &wiring).unwrap();
        let mut scratch = vec![0.0; net.inference_scratch_len(batch)];
        let out = net
            .predict(&Portable, &model.params, inputs, batch, &mut scratch)
            .unwrap();
        out.iter().map(|v| v.to_bits()).collect()
    }

    fn compiled(spec: &str) -> Model {
        let mut model = Model::from_spec(spec, 3).unwrap();
        model.compile = Some(Compile {
            loss: Loss::SparseCategoricalCrossentropy.into(),
            optimizer: Optimizer::from(Sgd {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov: true,
            }),
            ..Compile::default()
        });
        let n = model.params.len();
        model.optimizer = Some(OptimizerState {
            scalars: OptimizerScalars {
                iterations: 1234,
                ..OptimizerScalars::default()
            },
            slots: (0..n).map(|i| i as f32 * 1e-3).collect(),
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
            back.compile.as_ref().unwrap().optimizer,
            model.compile.as_ref().unwrap().optimizer
        );
        assert_eq!(
            back.compile.as_ref().unwrap().loss,
            Loss::SparseCategoricalCrossentropy.into()
        );
        let opt = back.optimizer.clone().unwrap();
        assert_eq!(opt.scalars.iterations, 1234);
        // Dense 20 and Dense 10 are trainable: the last 1020 + 210 parameters.
        let frozen = 40_480 - 1_230;
        let original = &model.optimizer.as_ref().unwrap().slots;
        assert!(opt.slots[..frozen].iter().all(|&m| m == 0.0));
        assert_eq!(opt.slots[frozen..], original[frozen..]);
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
    fn adam_state_of_the_trainable_suffix_round_trips() {
        let mut model = compiled(TUTORIAL_SPEC);
        let adam = Optimizer::new(Algorithm::Adam(AdamSettings {
            amsgrad: true,
            ..AdamSettings::default()
        }));
        model.compile.as_mut().unwrap().optimizer = adam.clone();
        let n = model.params.len();
        let original: Vec<f32> = (0..3 * n).map(|i| i as f32 * 1e-3).collect();
        model.optimizer.as_mut().unwrap().slots = original.clone();
        let options = ExportOptions {
            with_training_state: true,
            trainable_layers: Some(2),
        };
        let bytes = to_mdl(&model, &options).unwrap();
        let header = format::read_header(&bytes).unwrap();
        assert_eq!((header.version, header.min_reader), (format::VERSION, 3));
        let back = from_mdl(&bytes).unwrap();
        assert_eq!(back.compile.as_ref().unwrap().optimizer, adam);
        let state = back.optimizer.unwrap();
        assert_eq!(state.scalars, model.optimizer.as_ref().unwrap().scalars);
        // 3 slots (momentum, velocity, velocity_hat) for each of the last 1,230 parameters.
        let frozen = 3 * (40_480 - 1_230);
        assert_eq!(state.slots.len(), 3 * n);
        assert!(state.slots[..frozen].iter().all(|&m| m == 0.0));
        assert_eq!(state.slots[frozen..], original[frozen..]);
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
    fn losses_the_device_format_cannot_carry_are_refused_by_name() {
        let mut model = compiled(TUTORIAL_SPEC);
        let options = ExportOptions {
            with_training_state: true,
            trainable_layers: Some(2),
        };
        for (loss, named) in [
            (
                microdense_core::LossFunction {
                    from_logits: true,
                    ..Loss::SparseCategoricalCrossentropy.into()
                },
                "SparseCategoricalCrossentropy(from_logits=True)",
            ),
            (microdense_core::LossKind::Huber.into(), "Huber()"),
        ] {
            model.compile.as_mut().unwrap().loss = loss;
            let err = to_mdl(&model, &options).unwrap_err().to_string();
            assert!(err.contains(named), "{err}");
        }
        // Without training state the model converts.
        assert!(to_mdl(&model, &ExportOptions::default()).is_ok());
    }

    #[test]
    fn unaligned_input_bytes_are_copied_before_decoding() {
        let model = Model::from_spec("4,3:relu,2:softmax", 5).unwrap();
        let bytes = to_mdl(&model, &ExportOptions::default()).unwrap();
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        assert_eq!(from_mdl(&shifted[1..]).unwrap().params, model.params);
    }
}
