//! The training state a file may carry for fine-tuning on the device.

use super::{FormatError, Inconsistency, StoredCount, TrainingDefect};
use crate::kinds;
use crate::optimizer::Schedule;
use crate::{Loss, Network, Optimizer, OptimizerScalars, Trainer};

/// What a device needs to go on training a model: the optimizer and its state, the loss,
/// and which layers are trainable (the last `trainable_layers` weighted layers).
///
/// The state covers exactly the trainable parameters (the last
/// [`Trainer::trainable_param_count`] values of the flat parameters):
/// [`Optimizer::state_len`] of them, interleaved per parameter as the optimizer keeps them
/// (empty for SGD without momentum).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState<'a> {
    /// The optimizer and its hyperparameters.
    pub optimizer: Optimizer,
    /// The loss the model was compiled with.
    pub loss: Loss,
    /// Updates applied so far (Keras's `iterations`) and Nadam's running product.
    pub scalars: OptimizerScalars,
    /// How many of the last weighted (Dense) layers are trainable.
    pub trainable_layers: usize,
    /// The optimizer's per-parameter state of the trainable parameters.
    pub state: &'a [f32],
}

impl TrainingState<'_> {
    /// The trainer for `net` with this state's trainable layers.
    pub fn trainer<'n>(&self, net: Network<'n>) -> Trainer<'n> {
        Trainer::last_weighted(net, self.trainable_layers)
    }

    /// Checks the state against the network it belongs to: an optimizer of kinds this
    /// build has ([`FormatError::NotBuiltIn`] otherwise), at most as many trainable
    /// layers as weighted layers, usable settings (for plain SGD a finite learning rate
    /// and momentum in `[0, 1]`, as format 1 allowed; for the others Keras's own checks,
    /// [`Optimizer::check`]), and a state of [`Optimizer::state_len`] of the trainable
    /// parameter count.
    pub fn check(&self, net: &Network) -> Result<(), FormatError> {
        if let Some(kind) = kinds::left_out(self.optimizer.needs()) {
            return Err(FormatError::NotBuiltIn { kind });
        }
        if self.trainable_layers > net.weighted_layer_count() {
            return Err(Inconsistency::Count {
                what: StoredCount::TrainableLayers,
                expected: net.weighted_layer_count(),
                found: self.trainable_layers,
            }
            .into());
        }
        let defect = |what| Err(Inconsistency::Training { what }.into());
        match self.optimizer.as_sgd() {
            Some(sgd) if !sgd.learning_rate.is_finite() => return defect(TrainingDefect::LearningRate),
            Some(sgd) if !(0.0..=1.0).contains(&sgd.momentum) => return defect(TrainingDefect::Momentum),
            Some(_) => {}
            None => {
                let piecewise_ok = match &self.optimizer.learning_rate {
                    Schedule::PiecewiseConstantDecay { boundaries, values } => {
                        values.len() == boundaries.len() + 1
                    }
                    _ => true,
                };
                if !piecewise_ok || self.optimizer.check().is_err() {
                    return defect(TrainingDefect::Optimizer);
                }
            }
        }
        let trainable = self.trainer(*net).trainable_param_count();
        let expected = self.optimizer.state_len(trainable);
        if self.state.len() != expected {
            return Err(Inconsistency::Count {
                what: StoredCount::StateValues,
                expected,
                found: self.state.len(),
            }
            .into());
        }
        Ok(())
    }
}

/// What a reader takes from a file's training state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingUse {
    /// Reads and checks it (the optimizer, its state): for readers that fine-tune.
    Read,
    /// Leaves it out of the view ([`ModelView::training`](super::ModelView::training) is
    /// `None`): its record is skipped by the shapes of its fields (it must still parse) and
    /// its bytes are covered by the CRC, but neither its optimizer nor its state is built or
    /// checked, whatever kinds the build has. For inference-only readers, which then carry
    /// no optimizer code.
    Skip,
}
