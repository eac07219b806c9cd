//! Stochastic gradient descent with Keras's update rule.

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
