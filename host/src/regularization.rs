//! Dense layers' regularizers and constraints in training, as Keras applies them: each
//! regularizer's penalty is added to the loss (and its reported value, in `fit` and
//! `evaluate`) and its gradient to the weights' gradient before the optimizer step;
//! each constraint projects its weights after every step.

use crate::model::Model;
use microdense_core::{Layer, Network};
use std::ops::Range;

/// A Dense layer's kernel and bias ranges in the flat parameters, and its shape.
struct DenseTensors {
    kernel: Range<usize>,
    bias: Option<Range<usize>>,
    inputs: usize,
    units: usize,
}

impl Model {
    /// Each Dense layer's index and tensors.
    fn dense_tensors(&self, net: &Network<'_>) -> Vec<(usize, DenseTensors)> {
        let mut out = Vec::new();
        for (i, layer) in net.layers().iter().enumerate() {
            if let Layer::Dense { units, use_bias, .. } = *layer {
                let (inputs, units) = (net.layer_input_width(i), units as usize);
                let start = net.param_range(i).start;
                let split = start + inputs * units;
                out.push((
                    i,
                    DenseTensors {
                        kernel: start..split,
                        bias: use_bias.then(|| split..split + units),
                        inputs,
                        units,
                    },
                ));
            }
        }
        out
    }

    /// Whether any layer has a regularizer or a constraint.
    pub fn is_regularized(&self) -> bool {
        self.layers.iter().any(|l| l.regularization != Default::default())
    }

    /// The regularizers' penalty at the current weights (0 without any).
    pub fn regularization_loss(&self, net: &Network<'_>) -> f32 {
        let mut loss = 0.0;
        for (i, t) in self.dense_tensors(net) {
            let r = &self.layers[i].regularization;
            if let Some(k) = &r.kernel_regularizer {
                loss += k.loss(&self.params[t.kernel.clone()]);
            }
            if let (Some(b), Some(range)) = (&r.bias_regularizer, &t.bias) {
                loss += b.loss(&self.params[range.clone()]);
            }
        }
        loss
    }

    /// Adds the regularizers' gradients to `grads` (the flat parameters' layout).
    pub fn add_regularization_gradients(&self, net: &Network<'_>, grads: &mut [f32]) {
        for (i, t) in self.dense_tensors(net) {
            let r = &self.layers[i].regularization;
            if let Some(k) = &r.kernel_regularizer {
                k.add_gradient(&self.params[t.kernel.clone()], &mut grads[t.kernel.clone()]);
            }
            if let (Some(b), Some(range)) = (&r.bias_regularizer, &t.bias) {
                b.add_gradient(&self.params[range.clone()], &mut grads[range.clone()]);
            }
        }
    }

    /// Applies the constraints to the weights (after an optimizer step).
    pub fn apply_constraints(&mut self, net: &Network<'_>) {
        for (i, t) in self.dense_tensors(net) {
            let r = self.layers[i].regularization;
            if let Some(c) = &r.kernel_constraint {
                c.apply(&mut self.params[t.kernel.clone()], t.inputs, t.units);
            }
            if let (Some(c), Some(range)) = (&r.bias_constraint, &t.bias) {
                c.apply(&mut self.params[range.clone()], t.units, 1);
            }
        }
    }
}
