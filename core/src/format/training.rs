//! The training state a file may carry for fine-tuning on the device.

use super::{FormatError, Inconsistency, StoredCount, TrainingDefect};
use crate::{Loss, Network, Sgd, Trainer};

/// What a device needs to go on training a model: the optimizer and its state, the loss,
/// and which layers are trainable (the last `trainable_layers` weighted layers).
///
/// The momentum buffer covers exactly the trainable parameters (the last
/// [`Trainer::trainable_param_count`] values of the flat parameters), and is empty when
/// the optimizer has no momentum ([`Sgd::state_len`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingState<'a> {
    /// Optimizer hyperparameters.
    pub sgd: Sgd,
    /// The loss the model was compiled with.
    pub loss: Loss,
    /// Updates applied so far (Keras's `iterations`).
    pub iterations: u64,
    /// How many of the last weighted (Dense) layers are trainable.
    pub trainable_layers: usize,
    /// Momentum values of the trainable parameters.
    pub momentum: &'a [f32],
}

impl TrainingState<'_> {
    /// The trainer for `net` with this state's trainable layers.
    pub fn trainer<'n>(&self, net: Network<'n>) -> Trainer<'n> {
        Trainer::last_weighted(net, self.trainable_layers)
    }

    /// Checks the state against the network it belongs to: at most as many trainable
    /// layers as weighted layers, finite hyperparameters with momentum in `[0, 1]`, and a
    /// momentum buffer of [`Sgd::state_len`] of the trainable parameter count.
    pub fn check(&self, net: &Network) -> Result<(), FormatError> {
        if self.trainable_layers > net.weighted_layer_count() {
            return Err(Inconsistency::Count {
                what: StoredCount::TrainableLayers,
                expected: net.weighted_layer_count(),
                found: self.trainable_layers,
            }
            .into());
        }
        if !self.sgd.learning_rate.is_finite() {
            return Err(Inconsistency::Training {
                what: TrainingDefect::LearningRate,
            }
            .into());
        }
        if !(0.0..=1.0).contains(&self.sgd.momentum) {
            return Err(Inconsistency::Training {
                what: TrainingDefect::Momentum,
            }
            .into());
        }
        let trainable = self.trainer(*net).trainable_param_count();
        let expected = self.sgd.state_len(trainable);
        if self.momentum.len() != expected {
            return Err(Inconsistency::Count {
                what: StoredCount::MomentumValues,
                expected,
                found: self.momentum.len(),
            }
            .into());
        }
        Ok(())
    }
}
