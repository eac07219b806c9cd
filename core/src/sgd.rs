//! Stochastic gradient descent with Keras's update rule.

use crate::optimizer::{GradientClip, Optimizer, OptimizerScalars};
use crate::Error;
use serde::{Deserialize, Serialize};

/// SGD hyperparameters (`keras.optimizers.SGD`).
///
/// Update of each weight `w` with gradient `g` and momentum buffer `m`, as in Keras:
///
/// ```text
/// momentum == 0:  w -= lr * g
/// otherwise:      m = momentum * m - lr * g
///                 w += m                         (classic)
///                 w += momentum * m - lr * g     (nesterov)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Step size (Keras's default is 0.01).
    pub learning_rate: f32,
    /// Momentum in `[0, 1)`; 0 disables the momentum buffers.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

/// The optimizer state Keras saves: the step count and one momentum value per weight.
///
/// The momentum buffer lives in caller memory; its length is [`Sgd::state_len`].
#[derive(Debug, PartialEq)]
pub struct SgdState<'a> {
    /// Number of updates applied so far (Keras's `iterations`).
    pub iterations: u64,
    /// Momentum buffer, one value per trainable parameter (empty when momentum is 0).
    pub momentum: &'a mut [f32],
}

impl Sgd {
    /// Number of f32 of optimizer state for `params` trainable parameters:
    /// `params` with momentum, 0 without.
    pub fn state_len(&self, params: usize) -> usize {
        if self.momentum != 0.0 {
            params
        } else {
            0
        }
    }

    /// Applies one update to `params` from `grads`, advancing `state`: the SGD step of
    /// [`Optimizer`].
    ///
    /// Errors with [`Error::BufferSize`] when the slices' lengths disagree.
    pub fn step(&self, params: &mut [f32], grads: &[f32], state: &mut SgdState) -> Result<(), Error> {
        let optimizer = Optimizer::from(*self);
        let scalars = OptimizerScalars {
            iterations: state.iterations,
            ..OptimizerScalars::default()
        };
        let step = optimizer.begin(&scalars);
        optimizer.update(&step, GradientClip::None, params, grads, state.momentum)?;
        state.iterations += 1;
        Ok(())
    }
}
