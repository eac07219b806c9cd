//! Keras's optimizers — SGD, Adam, AdamW, Nadam, RMSprop, Adagrad — with their gradient
//! clipping, weight decay and learning-rate [`Schedule`]s, as one [`Optimizer`] type.
//!
//! Each update follows the formulas of `keras/src/optimizers/*.py` (Keras 3) and
//! `tf_keras/src/optimizers/*.py` (tf_keras 2.x's optimizers, which compute the same),
//! operation for operation in float32. One step, for every trainable tensor:
//!
//! ```text
//! lr = schedule(iterations)                 (iterations before the step)
//! g  = clip(g)                              (clipnorm per tensor, global_clipnorm, clipvalue)
//! w -= w * weight_decay * lr                (when weight_decay > 0)
//! w  = algorithm(w, g, state)               (below; t = iterations + 1)
//!
//! SGD       m = -g*lr + m*momentum; w += m  (nesterov: w += -g*lr + m*momentum);
//!           without momentum w -= g*lr
//! Adam(W)   alpha = lr*sqrt(1-beta_2^t) / (1-beta_1^t)
//!           m += (g-m)*(1-beta_1); v += (g²-v)*(1-beta_2); (amsgrad: v̂ = max(v̂, v), use v̂)
//!           w -= m*alpha / (sqrt(v)+epsilon)
//! Nadam     u_t = beta_1*(1-0.5*0.96^t), u_t1 = beta_1*(1-0.5*0.96^(t+1)),
//!           P = Π u (kept in the state), m, v as Adam,
//!           m̂ = u_t1*m/(1-P*u_t1) + (1-u_t)*g/(1-P), v̂ = v/(1-beta_2^t)
//!           w -= m̂*lr / (sqrt(v̂)+epsilon)
//! RMSprop   v = rho*v + (1-rho)*g²; (centered: a = rho*a + (1-rho)*g, d = v - a² + eps,
//!           else d = v + eps); i = lr*g/sqrt(d); w -= i (momentum: m = momentum*m + i; w -= m)
//! Adagrad   acc += g²; w -= lr*g / sqrt(acc + epsilon)   (acc starts at its initial value)
//! ```
//!
//! State lives in caller memory: [`Optimizer::slots`] f32 per parameter, interleaved
//! (parameter `i`'s values at `i * slots ..`), in the order [`Algorithm::slot_names`]
//! gives; plus the [`OptimizerScalars`] (iteration count, Nadam's product).

mod schedule;

pub use schedule::{Schedule, MAX_BOUNDARIES};

use crate::{kinds, math, Buffer, Error};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Adam's and AdamW's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// Decay of the first moment (Keras: 0.9).
    pub beta_1: f32,
    /// Decay of the second moment (Keras: 0.999).
    pub beta_2: f32,
    /// Added to the root of the second moment (Keras: 1e-7).
    pub epsilon: f32,
    /// Keep the largest second moment seen (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

/// The update rule and its own hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Algorithm {
    /// `keras.optimizers.SGD`.
    Sgd {
        /// Momentum in `[0, 1)`; 0 keeps no state.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `keras.optimizers.Adam`.
    Adam(AdamSettings),
    /// `keras.optimizers.AdamW`: Adam with the optimizer's decoupled weight decay.
    AdamW(AdamSettings),
    /// `keras.optimizers.Nadam`.
    Nadam {
        /// Decay of the first moment (Keras: 0.9).
        beta_1: f32,
        /// Decay of the second moment (Keras: 0.999).
        beta_2: f32,
        /// Added to the root of the second moment (Keras: 1e-7).
        epsilon: f32,
    },
    /// `keras.optimizers.RMSprop`.
    RmsProp {
        /// Decay of the squared-gradient average (Keras: 0.9).
        rho: f32,
        /// Momentum (Keras: 0, no momentum buffer).
        momentum: f32,
        /// Added under the root (Keras: 1e-7).
        epsilon: f32,
        /// Divide by the gradient's variance instead of its second moment.
        centered: bool,
    },
    /// `keras.optimizers.Adagrad`.
    Adagrad {
        /// Starting value of the accumulators (Keras: 0.1).
        initial_accumulator_value: f32,
        /// Added under the root (Keras: 1e-7).
        epsilon: f32,
    },
}

impl Algorithm {
    /// Keras's class name (`Adam`, `RMSprop`, ...).
    pub fn keras_class(&self) -> &'static str {
        match self {
            Algorithm::Sgd { .. } => "SGD",
            Algorithm::Adam(_) => "Adam",
            Algorithm::AdamW(_) => "AdamW",
            Algorithm::Nadam { .. } => "Nadam",
            Algorithm::RmsProp { .. } => "RMSprop",
            Algorithm::Adagrad { .. } => "Adagrad",
        }
    }

    /// Keras's default learning rate for this optimizer (0.01 for SGD, else 0.001).
    pub fn default_learning_rate(&self) -> f32 {
        match self {
            Algorithm::Sgd { .. } => 0.01,
            _ => 0.001,
        }
    }

    /// The state values kept per parameter, in their interleaved order, named as
    /// Keras 3 names the optimizer variables. Where Keras groups them by slot rather
    /// than by variable is the business of the file formats, not of this order.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match *self {
            Algorithm::Sgd { momentum, .. } if momentum != 0.0 => &["momentum"],
            Algorithm::Sgd { .. } => &[],
            Algorithm::Adam(a) | Algorithm::AdamW(a) if a.amsgrad => {
                &["momentum", "velocity", "velocity_hat"]
            }
            Algorithm::Adam(_) | Algorithm::AdamW(_) | Algorithm::Nadam { .. } => &["momentum", "velocity"],
            Algorithm::RmsProp {
                momentum, centered, ..
            } => match (momentum > 0.0, centered) {
                (false, false) => &["velocity"],
                (true, false) => &["velocity", "momentum"],
                (false, true) => &["velocity", "average_gradient"],
                (true, true) => &["velocity", "momentum", "average_gradient"],
            },
            Algorithm::Adagrad { .. } => &["accumulator"],
        }
    }
}

/// How gradients are clipped before each step (Keras allows one of the three).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Clipping {
    /// No clipping.
    #[default]
    None,
    /// `clipnorm`: each tensor's gradient scaled to an L2 norm of at most this.
    Norm(f32),
    /// `global_clipnorm`: all gradients scaled so their joint L2 norm is at most this.
    GlobalNorm(f32),
    /// `clipvalue`: each gradient value clipped to `[-v, v]`.
    Value(f32),
}

/// An optimizer as `model.compile(optimizer=...)` sets it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    /// The update rule.
    pub algorithm: Algorithm,
    /// The learning rate or its schedule.
    pub learning_rate: Schedule,
    /// Decoupled weight decay (`weight_decay`; AdamW's default is 0.004), 0 for none.
    pub weight_decay: f32,
    /// Gradient clipping.
    pub clipping: Clipping,
}

/// The optimizer state that is not per parameter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerScalars {
    /// Updates applied so far (Keras's `iterations`).
    pub iterations: u64,
    /// Nadam's running product of its momentum schedule (1 before the first step).
    pub u_product: f32,
}

impl Default for OptimizerScalars {
    fn default() -> Self {
        OptimizerScalars {
            iterations: 0,
            u_product: 1.0,
        }
    }
}

/// The quantities one step shares across all tensors (from [`Optimizer::begin`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The learning rate of this step.
    pub learning_rate: f32,
    /// Adam's step size `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    alpha: f32,
    /// Nadam's `u_t`, `u_{t+1}`, products `P` and `P * u_{t+1}`, and `1 - beta_2^t`.
    u_t: f32,
    u_next: f32,
    u_product: f32,
    u_product_next: f32,
    beta_2_correction: f32,
}

/// How one tensor's gradient values are clipped in a step (from [`Optimizer::clip`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GradientClip {
    /// Used as computed.
    None,
    /// `g * clip_norm / norm` (Keras's `clip_by_norm` once the norm exceeds the limit).
    Norm {
        /// The limit.
        clip_norm: f32,
        /// `max(norm, clip_norm)`.
        divisor: f32,
    },
    /// `g * scale` (Keras's `clip_by_global_norm`).
    Scale(f32),
    /// `clip(g, -v, v)`.
    Value(f32),
}

impl GradientClip {
    /// The clipped gradient value.
    #[inline]
    pub fn apply(self, g: f32) -> f32 {
        match self {
            GradientClip::None => g,
            GradientClip::Norm { clip_norm, divisor } => g * clip_norm / divisor,
            GradientClip::Scale(scale) => g * scale,
            GradientClip::Value(v) => g.clamp(-v, v),
        }
    }
}

impl From<crate::Sgd> for Optimizer {
    fn from(sgd: crate::Sgd) -> Self {
        Optimizer {
            algorithm: Algorithm::Sgd {
                momentum: sgd.momentum,
                nesterov: sgd.nesterov,
            },
            learning_rate: Schedule::Constant(sgd.learning_rate),
            weight_decay: 0.0,
            clipping: Clipping::None,
        }
    }
}

impl Optimizer {
    /// `algorithm` with Keras's default learning rate and weight decay (0.004 for
    /// AdamW, else none), without clipping.
    pub fn new(algorithm: Algorithm) -> Self {
        Optimizer {
            learning_rate: Schedule::Constant(algorithm.default_learning_rate()),
            weight_decay: if matches!(algorithm, Algorithm::AdamW(_)) {
                0.004
            } else {
                0.0
            },
            clipping: Clipping::None,
            algorithm,
        }
    }

    /// The settings as plain SGD (constant rate, no weight decay or clipping), which
    /// the device format's SGD record can hold; `None` for anything else.
    pub fn as_sgd(&self) -> Option<crate::Sgd> {
        match (
            self.algorithm,
            &self.learning_rate,
            self.weight_decay,
            self.clipping,
        ) {
            (Algorithm::Sgd { momentum, nesterov }, Schedule::Constant(lr), 0.0, Clipping::None) => {
                Some(crate::Sgd {
                    learning_rate: *lr,
                    momentum,
                    nesterov,
                })
            }
            _ => None,
        }
    }

    /// State values per parameter (the length of [`Algorithm::slot_names`]).
    pub fn slots(&self) -> usize {
        self.algorithm.slot_names().len()
    }

    /// Length of the state for `params` parameters: `slots() * params`.
    pub fn state_len(&self, params: usize) -> usize {
        self.slots() * params
    }

    /// Fills a fresh state: Adagrad's accumulators with their initial value, the rest 0.
    pub fn init_state(&self, state: &mut [f32]) {
        let start = match self.algorithm {
            Algorithm::Adagrad {
                initial_accumulator_value,
                ..
            } => initial_accumulator_value,
            _ => 0.0,
        };
        state.fill(start);
    }

    /// The groups of kinds the optimizer needs beyond the base (plain or momentum SGD at a
    /// constant rate, [`kinds`]): its algorithm (or weight decay), its schedule, its clipping.
    pub fn needs(&self) -> [Option<kinds::Kind>; 3] {
        let algorithm = match self.algorithm {
            Algorithm::Sgd { .. } if self.weight_decay == 0.0 => None,
            _ => Some(kinds::Kind::Optimizers),
        };
        let schedule = match self.learning_rate {
            Schedule::Constant(_) => None,
            _ => Some(kinds::Kind::Schedules),
        };
        let clipping = match self.clipping {
            Clipping::None => None,
            _ => Some(kinds::Kind::Clipping),
        };
        [algorithm, schedule, clipping]
    }

    /// Whether [`clip`](Self::clip) needs the tensors' sums of squared gradients.
    pub fn needs_norms(&self) -> bool {
        kinds::Kind::Clipping.built() && matches!(self.clipping, Clipping::Norm(_) | Clipping::GlobalNorm(_))
    }

    /// The clipping of one tensor whose squared gradients sum to `tensor_squares`, when
    /// all tensors' sum to `all_squares` (both are only read when [`needs_norms`](Self::needs_norms)).
    pub fn clip(&self, tensor_squares: f32, all_squares: f32) -> GradientClip {
        match self.clipping {
            // Left out of this build: `update` refuses the optimizer.
            _ if !kinds::Kind::Clipping.built() => GradientClip::None,
            Clipping::None => GradientClip::None,
            Clipping::Norm(clip_norm) => GradientClip::Norm {
                clip_norm,
                divisor: math::sqrt(tensor_squares).max(clip_norm),
            },
            Clipping::GlobalNorm(clip_norm) => {
                let norm = math::sqrt(all_squares);
                GradientClip::Scale(clip_norm * (1.0 / norm).min(1.0 / clip_norm))
            }
            Clipping::Value(v) => GradientClip::Value(v),
        }
    }

    /// The shared quantities of the step after `scalars.iterations` updates.
    pub fn begin(&self, scalars: &OptimizerScalars) -> Step {
        let learning_rate = self.learning_rate.at(scalars.iterations);
        let t = (scalars.iterations + 1) as f32;
        let mut step = Step {
            learning_rate,
            alpha: 0.0,
            u_t: 0.0,
            u_next: 0.0,
            u_product: scalars.u_product,
            u_product_next: 0.0,
            beta_2_correction: 0.0,
        };
        match self.algorithm {
            // Left out of this build: `update` refuses the optimizer.
            _ if !kinds::Kind::Optimizers.built() => {}
            Algorithm::Adam(a) | Algorithm::AdamW(a) => {
                let beta_1_power = math::pow(a.beta_1, t);
                let beta_2_power = math::pow(a.beta_2, t);
                step.alpha = learning_rate * math::sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power);
            }
            Algorithm::Nadam { beta_1, beta_2, .. } => {
                step.u_t = beta_1 * (1.0 - 0.5 * math::pow(0.96, t));
                step.u_next = beta_1 * (1.0 - 0.5 * math::pow(0.96, t + 1.0));
                // Keras 3 advances the product first: P * beta_1 * (1 - 0.5 * 0.96^t).
                step.u_product = scalars.u_product * beta_1 * (1.0 - 0.5 * math::pow(0.96, t));
                step.u_product_next = step.u_product * step.u_next;
                step.beta_2_correction = 1.0 - math::pow(beta_2, t);
            }
            _ => {}
        }
        step
    }

    /// Records a finished step in `scalars`.
    pub fn end(&self, step: &Step, scalars: &mut OptimizerScalars) {
        scalars.iterations += 1;
        if matches!(self.algorithm, Algorithm::Nadam { .. }) {
            scalars.u_product = step.u_product;
        }
    }

    /// Updates one tensor's `params` (or any contiguous part of one) from its `grads`
    /// and its `state` (`state_len(params.len())` values), in the step `step`, its
    /// gradients clipped by `clip`.
    ///
    /// Errors with [`Error::BufferSize`] when the slices' lengths disagree, and with
    /// [`Error::NotBuiltIn`] for an optimizer this build leaves out ([`kinds`]).
    pub fn update(
        &self,
        step: &Step,
        clip: GradientClip,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        if let Some(kind) = kinds::left_out(self.needs()) {
            return Err(Error::NotBuiltIn { kind });
        }
        let n = params.len();
        for (what, expected, actual) in [
            (Buffer::Gradients, n, grads.len()),
            (Buffer::OptimizerState, self.state_len(n), state.len()),
        ] {
            if expected != actual {
                return Err(Error::BufferSize {
                    what,
                    expected,
                    actual,
                });
            }
        }
        let lr = step.learning_rate;
        // The algorithm is matched once per call; each arm is its per-parameter formula,
        // looped by `Each::run` over the parameters and their `K` state values.
        let each = Each {
            params,
            grads,
            state,
            clip,
            decay: self.weight_decay,
            lr,
        };
        match self.algorithm {
            Algorithm::Sgd { momentum, nesterov } => {
                if momentum == 0.0 {
                    each.run(|w, g, []| *w -= g * lr);
                } else {
                    each.run(|w, g, [m]| {
                        *m = -g * lr + *m * momentum;
                        *w += if nesterov { -g * lr + *m * momentum } else { *m };
                    });
                }
            }
            // Refused above.
            _ if !kinds::Kind::Optimizers.built() => {}
            Algorithm::Adam(a) | Algorithm::AdamW(a) => {
                let moments = |g: f32, m: &mut f32, v: &mut f32| {
                    *m += (g - *m) * (1.0 - a.beta_1);
                    *v += (g * g - *v) * (1.0 - a.beta_2);
                };
                if a.amsgrad {
                    each.run(|w, g, [m, v, v_hat]| {
                        moments(g, m, v);
                        *v_hat = v_hat.max(*v);
                        *w -= *m * step.alpha / (math::sqrt(*v_hat) + a.epsilon);
                    });
                } else {
                    each.run(|w, g, [m, v]| {
                        moments(g, m, v);
                        *w -= *m * step.alpha / (math::sqrt(*v) + a.epsilon);
                    });
                }
            }
            Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => each.run(|w, g, [m, v]| {
                *m += (g - *m) * (1.0 - beta_1);
                *v += (g * g - *v) * (1.0 - beta_2);
                let m_hat = step.u_next * *m / (1.0 - step.u_product_next)
                    + (1.0 - step.u_t) * g / (1.0 - step.u_product);
                let v_hat = *v / step.beta_2_correction;
                *w -= m_hat * lr / (math::sqrt(v_hat) + epsilon);
            }),
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                let velocity = |v: &mut f32, g: f32| *v = rho * *v + (1.0 - rho) * (g * g);
                let centre = |a: &mut f32, g: f32| *a = rho * *a + (1.0 - rho) * g;
                // `lr * g / sqrt(d)`, `d` the (centred) mean square plus epsilon.
                let increment = |g: f32, d: f32| lr * g / math::sqrt(d);
                match (momentum > 0.0, centered) {
                    (false, false) => each.run(|w, g, [v]| {
                        velocity(v, g);
                        *w -= increment(g, *v + epsilon);
                    }),
                    (true, false) => each.run(|w, g, [v, m]| {
                        velocity(v, g);
                        *m = momentum * *m + increment(g, *v + epsilon);
                        *w -= *m;
                    }),
                    (false, true) => each.run(|w, g, [v, a]| {
                        velocity(v, g);
                        centre(a, g);
                        *w -= increment(g, *v - *a * *a + epsilon);
                    }),
                    (true, true) => each.run(|w, g, [v, m, a]| {
                        velocity(v, g);
                        centre(a, g);
                        *m = momentum * *m + increment(g, *v - *a * *a + epsilon);
                        *w -= *m;
                    }),
                }
            }
            Algorithm::Adagrad { epsilon, .. } => each.run(|w, g, [acc]| {
                *acc += g * g;
                *w -= lr * g / math::sqrt(*acc + epsilon);
            }),
        }
        Ok(())
    }

    /// Checks the settings as Keras does on construction: a positive finite rate,
    /// momentum and decays in `[0, 1)`, non-negative epsilon, weight decay and
    /// clipping limits. Returns what is wrong.
    pub fn check(&self) -> Result<(), &'static str> {
        let unit = |x: f32| (0.0..1.0).contains(&x);
        let rate = self.learning_rate.at(0);
        if !(rate.is_finite() && rate > 0.0) {
            return Err("the learning rate must be positive");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err("weight_decay must be zero or positive");
        }
        if let Clipping::Norm(c) | Clipping::GlobalNorm(c) | Clipping::Value(c) = self.clipping {
            if !(c.is_finite() && c > 0.0) {
                return Err("clipping limits must be positive");
            }
        }
        let ok = match self.algorithm {
            Algorithm::Sgd { momentum, .. } => unit(momentum),
            Algorithm::Adam(a) | Algorithm::AdamW(a) => unit(a.beta_1) && unit(a.beta_2) && a.epsilon >= 0.0,
            Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => unit(beta_1) && unit(beta_2) && epsilon >= 0.0,
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                ..
            } => unit(rho) && unit(momentum) && epsilon >= 0.0,
            Algorithm::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => initial_accumulator_value >= 0.0 && epsilon >= 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err("momentum, beta and rho must be in [0, 1), epsilon zero or positive")
        }
    }
}

/// One [`Optimizer::update`] call's slices and per-step constants.
struct Each<'a> {
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
    clip: GradientClip,
    /// AdamW's decoupled weight decay (0: none).
    decay: f32,
    lr: f32,
}

impl Each<'_> {
    /// Applies `formula(w, g, state)` to every parameter with its clipped gradient and its
    /// `K` state values, after the weight decay `w -= w * decay * lr`. Without clipping
    /// and decay the loop is the bare formula, which the compiler vectorises where it can.
    #[inline(always)]
    fn run<const K: usize>(self, formula: impl Fn(&mut f32, f32, &mut [f32; K])) {
        let (clip, decay, lr) = (self.clip, self.decay, self.lr);
        let full = |w: &mut f32, g: f32, s: &mut [f32; K]| {
            if decay > 0.0 {
                *w -= *w * decay * lr;
            }
            formula(w, clip.apply(g), s)
        };
        let bare = (!kinds::Kind::Clipping.built() || matches!(clip, GradientClip::None))
            && (!kinds::Kind::Optimizers.built() || decay <= 0.0);
        let values = self.params.iter_mut().zip(self.grads);
        if K == 0 {
            let mut none = [0.0; K];
            if bare {
                values.for_each(|(w, &g)| formula(w, g, &mut none));
            } else {
                values.for_each(|(w, &g)| full(w, g, &mut none));
            }
        } else {
            // Every chunk has K values, so each conversion succeeds.
            let states = self
                .state
                .chunks_exact_mut(K)
                .filter_map(|s| <&mut [f32; K]>::try_from(s).ok());
            if bare {
                values.zip(states).for_each(|((w, &g), s)| formula(w, g, s));
            } else {
                values.zip(states).for_each(|((w, &g), s)| full(w, g, s));
            }
        }
    }
}

/// Keras's constructor call: `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999,
/// epsilon=1e-7, amsgrad=false)`, a schedule by its class name, weight decay and clipping
/// when set.
impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(learning_rate=", self.algorithm.keras_class())?;
        match (&self.learning_rate, self.learning_rate.keras_class()) {
            (Schedule::Constant(rate), _) => write!(f, "{rate}")?,
            (_, class) => write!(f, "{}", class.unwrap_or("schedule"))?,
        }
        match self.algorithm {
            Algorithm::Sgd { momentum, nesterov } => write!(f, ", momentum={momentum}, nesterov={nesterov}")?,
            Algorithm::Adam(a) | Algorithm::AdamW(a) => write!(
                f,
                ", beta_1={}, beta_2={}, epsilon={:e}, amsgrad={}",
                a.beta_1, a.beta_2, a.epsilon, a.amsgrad
            )?,
            Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => write!(f, ", beta_1={beta_1}, beta_2={beta_2}, epsilon={epsilon:e}")?,
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => write!(
                f,
                ", rho={rho}, momentum={momentum}, epsilon={epsilon:e}, centered={centered}"
            )?,
            Algorithm::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => write!(
                f,
                ", initial_accumulator_value={initial_accumulator_value}, epsilon={epsilon:e}"
            )?,
        }
        if self.weight_decay > 0.0 {
            write!(f, ", weight_decay={}", self.weight_decay)?;
        }
        match self.clipping {
            Clipping::None => {}
            Clipping::Norm(c) => write!(f, ", clipnorm={c}")?,
            Clipping::GlobalNorm(c) => write!(f, ", global_clipnorm={c}")?,
            Clipping::Value(c) => write!(f, ", clipvalue={c}")?,
        }
        write!(f, ")")
    }
}
