//! int8 models: a float model quantised in TensorFlow Lite's int8 scheme (see
//! [`microdense_core::quant`]) into an int8 body, run by core's integer kernels as a device
//! runs it, and a float32 head (the last `K` Dense layers) that the device fine-tunes.
//!
//! Activation ranges are calibrated as min/max over the calibration samples (TFLite's
//! default for post-training quantisation), per tensor.

mod build;
mod calibrate;
mod dequantize;
mod error;
mod plan;

pub use dequantize::dequantize;
pub use error::QuantizeError;

use crate::dataset::{Dataset, Features};
use crate::history::Evaluation;
use crate::model::{Compile, Model, NamedLayer, OptimizerState};
use build::{activation_table, quantize_dense};
use calibrate::Range;
use microdense_core::quant::{Int8Activation, Int8Body, Int8Layer, QuantError, QuantParams};
use microdense_core::Activation;

/// An int8 body and its float head.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Model {
    /// Shape of one input sample.
    pub input_shape: Vec<usize>,
    /// The input's quantisation.
    pub input: QuantParams,
    /// The body's int8 Dense layers.
    pub layers: Vec<Int8Layer>,
    /// The body's data region (4-byte words, see [`Int8Body`]).
    pub data: Vec<u32>,
    /// The float head: its input is the body's dequantised output.
    pub head: Model,
}

impl Int8Model {
    /// Quantises `model`: everything before its last `k` Dense layers becomes the int8
    /// body, calibrated on `calibration`; the rest stays float.
    pub fn quantize(model: &Model, calibration: &Dataset<'_>, k: usize) -> Result<Int8Model, QuantizeError> {
        model.validate()?;
        if let Some((name, _)) = model.nonfinite_weights() {
            return Err(QuantizeError::NonFinite {
                name,
                what: "weights",
            });
        }
        let plan = plan::plan(model, k)?;
        let ranges = calibrate::calibrate(model, calibration, plan.head_start)?;
        let params = |name: &str, r: Range| {
            QuantParams::from_min_max(r.min, r.max).ok_or_else(|| QuantizeError::NonFinite {
                name: name.into(),
                what: "calibrated activations",
            })
        };
        let input = params("input", ranges.input)?;
        let mut current = input;
        let mut inputs = model.input_width();
        let mut layers = Vec::new();
        let mut region = Vec::new();
        for d in &plan.body {
            let name = &model.layers[d.layer].name;
            let weights = model.with_network(|net| Ok(net.param_range(d.layer)))?;
            let (kernel, bias) = model.params[weights].split_at(inputs * d.units);
            let (output, activation) = match d.activation {
                None => (params(name, ranges.linear[d.layer])?, Int8Activation::Linear),
                Some(Activation::Relu) => {
                    (params(name, ranges.output[d.activated_at])?, Int8Activation::Relu)
                }
                Some(function) => (
                    params(name, ranges.linear[d.layer])?,
                    Int8Activation::Table {
                        function,
                        output: params(name, ranges.output[d.activated_at])?,
                    },
                ),
            };
            let mut q = quantize_dense(name, kernel, d.use_bias.then_some(bias), d.units, current, output)?;
            if let Int8Activation::Table {
                function,
                output: out,
            } = activation
            {
                q.table = Some(activation_table(function, output, out));
            }
            let layer = Int8Layer {
                units: d.units as u32,
                use_bias: d.use_bias,
                output,
                activation,
            };
            q.write(inputs, &layer, &mut region)?;
            layers.push(layer);
            current = layer.activated();
            inputs = d.units;
        }
        let head = head_model(model, plan.head, plan.head_start, inputs);
        let data = region
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let int8 = Int8Model {
            input_shape: model.input_shape.clone(),
            input,
            layers,
            data,
            head,
        };
        int8.body()?;
        int8.head.validate()?;
        Ok(int8)
    }

    /// The float model Keras can load ([`dequantize`]).
    pub fn dequantized(&self) -> Result<Model, QuantizeError> {
        Ok(dequantize(&self.body()?, &self.input_shape, &self.head)?)
    }

    /// The body, validated.
    pub fn body(&self) -> Result<Int8Body<'_>, QuantError> {
        let width = self.input_shape.iter().product();
        Int8Body::new(width, self.input, &self.layers, bytemuck::cast_slice(&self.data))
    }

    /// The body's int8 outputs for every sample of `data`, and the same dequantised.
    pub fn body_outputs(&self, data: &Dataset<'_>) -> Result<(Vec<i8>, Vec<f32>), QuantError> {
        let body = self.body()?;
        let (w_in, w_out) = (body.input_width(), body.output_width());
        let mut ints = Vec::with_capacity(data.len() * w_out);
        let mut floats = vec![0.0; data.len() * w_out];
        let mut scratch = vec![0i8; body.scratch_len()];
        const CHUNK: usize = 1024;
        for start in (0..data.len()).step_by(CHUNK) {
            let (x, _) = data.slice(start, start + CHUNK);
            for (k, sample) in x.chunks_exact(w_in).enumerate() {
                let out = &mut floats[(start + k) * w_out..][..w_out];
                ints.extend_from_slice(body.predict(sample, &mut scratch, out)?);
            }
        }
        Ok((ints, floats))
    }

    /// Loss and accuracy: the body's integer inference, then the head's float inference
    /// (with the head's compiled loss, or categorical cross-entropy).
    pub fn evaluate(&self, data: &Dataset<'_>) -> Result<Evaluation, QuantizeError> {
        let (_, features) = self.body_outputs(data)?;
        let head_data = Dataset::new(Features::F32(&features), self.head.input_width(), data.labels())?;
        let mut head = self.head.clone();
        head.compile.get_or_insert_with(Compile::default);
        Ok(head.evaluate(&head_data)?)
    }

    /// The model's outputs for every sample of `data`.
    pub fn predict(&self, data: &Dataset<'_>) -> Result<Vec<f32>, QuantizeError> {
        let (_, features) = self.body_outputs(data)?;
        let head_data = Dataset::new(Features::F32(&features), self.head.input_width(), data.labels())?;
        Ok(self.head.predict(&head_data)?)
    }
}

/// The float head as a model of its own: the layers from `start` (and a split-off
/// softmax), its weights and optimizer state the tail of the model's.
fn head_model(model: &Model, layers: Vec<NamedLayer>, start: usize, width: usize) -> Model {
    let offset = model
        .with_network(|net| Ok(net.param_offset(start)))
        .unwrap_or(model.params.len());
    let params = model.params[offset..].to_vec();
    let optimizer = model.optimizer.as_ref().map(|state| {
        let per = state.slots.len() / model.params.len().max(1);
        OptimizerState {
            scalars: state.scalars,
            slots: state.slots[per * offset..].to_vec(),
        }
    });
    Model {
        name: model.name.clone(),
        kind: model.kind,
        input_name: model.input_name.clone(),
        input_shape: vec![width],
        graph: None,
        layers,
        params,
        compile: model.compile.clone(),
        optimizer,
        dropped_training: model.dropped_training.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_format::{int8_from_mdl, int8_to_mdl, ExportOptions};
    use microdense_core::Rng;

    fn quantize(
        spec: &str,
        k: usize,
        edit: impl FnOnce(&mut Model, &mut Vec<f32>),
    ) -> Result<Int8Model, QuantizeError> {
        let mut model = Model::from_spec(spec, 1).unwrap();
        let mut rng = Rng::new(2);
        let mut x: Vec<f32> = (0..64 * 8).map(|_| rng.next_f32()).collect();
        edit(&mut model, &mut x);
        let labels = vec![0u32; 64];
        let data = Dataset::new(Features::F32(&x), 8, &labels).unwrap();
        Int8Model::quantize(&model, &data, k)
    }

    fn refusal(spec: &str, k: usize, edit: impl FnOnce(&mut Model, &mut Vec<f32>)) -> String {
        quantize(spec, k, edit).unwrap_err().to_string()
    }

    #[test]
    fn what_the_body_cannot_compute_is_refused_by_layer_name() {
        let said = refusal("8,4:relu,bn,3:softmax", 0, |_, _| {});
        assert!(
            said.contains("\"batch_normalization\" (BatchNormalization)"),
            "{said}"
        );
        let said = refusal("8,rescale:0.5,4,3:softmax", 0, |_, _| {});
        assert!(said.contains("\"rescaling\" (Rescaling)"), "{said}");
        let said = refusal("8,4:softmax,3:softmax", 0, |_, _| {});
        assert!(
            said.contains("\"dense_1\"") && said.contains("follows a softmax"),
            "{said}"
        );
        let said = refusal("8,4,3:softmax", 2, |_, _| {});
        assert!(said.contains("leaves no Dense layer"), "{said}");
    }

    #[test]
    fn non_finite_weights_and_inputs_are_refused_by_name() {
        let said = refusal("8,4,3:softmax", 0, |m, _| m.params[5] = f32::NAN);
        assert!(
            said.contains("\"dense\": NaN or infinity in its weights"),
            "{said}"
        );
        let said = refusal("8,4,3:softmax", 0, |_, x| x[7] = f32::INFINITY);
        assert!(
            said.contains("\"input\"") && said.contains("calibrated activations"),
            "{said}"
        );
    }

    #[test]
    fn an_int8_model_round_trips_through_a_file_bit_for_bit() {
        for (spec, k) in [
            ("8,4:relu,dropout:0.5,5,tanh,3:softmax", 0),
            ("8,4:relu,5:sigmoid,3:softmax", 1),
        ] {
            let int8 = quantize(spec, k, |_, _| {}).unwrap();
            let bytes = int8_to_mdl(&int8, &ExportOptions::default()).unwrap();
            let back = int8_from_mdl(&bytes).unwrap().unwrap();
            assert_eq!(
                (&back.input, &back.layers, &back.data),
                (&int8.input, &int8.layers, &int8.data)
            );
            assert_eq!(back.head.params, int8.head.params);
            assert_eq!(back.head.core_layers(), int8.head.core_layers());
        }
    }
}
