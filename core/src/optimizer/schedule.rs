//! Learning rates as Keras serialises them: a constant, or one of the schedules of
//! `keras.optimizers.schedules`, evaluated at the optimizer's iteration count before the
//! step (as both tf_keras and Keras 3 do), in float32 with Keras's order of operations.

use crate::{kinds, math};
use serde::{Deserialize, Serialize};

/// Most boundaries a [`Schedule::PiecewiseConstantDecay`] may have (a bound for the
/// fixed-size lists a device holds).
pub const MAX_BOUNDARIES: usize = 8;

/// A learning rate: constant or a `keras.optimizers.schedules` schedule of the step `t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// A fixed rate.
    Constant(f32),
    /// `initial_learning_rate * decay_rate ^ (t / decay_steps)` (the exponent floored
    /// with `staircase`).
    ExponentialDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps per decay period.
        decay_steps: f32,
        /// Factor per period.
        decay_rate: f32,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `values[0]` while `t <= boundaries[0]`, `values[i]` while
    /// `boundaries[i-1] < t <= boundaries[i]`, the last value after the last boundary.
    PiecewiseConstantDecay {
        /// Step boundaries, increasing.
        boundaries: heapless::Vec<f32, MAX_BOUNDARIES>,
        /// One more value than boundaries.
        values: heapless::Vec<f32, { MAX_BOUNDARIES + 1 }>,
    },
    /// `initial_learning_rate / (1 + decay_rate * t / decay_steps)` (the quotient floored
    /// with `staircase`).
    InverseTimeDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps per decay period.
        decay_steps: f32,
        /// Decay per period.
        decay_rate: f32,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// Cosine decay from `initial_learning_rate` (or, after a linear warm-up of
    /// `warmup_steps`, from `warmup_target`) to `alpha` times it over `decay_steps`.
    CosineDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps of the decay.
        decay_steps: f32,
        /// Final rate as a fraction of the decayed-from rate.
        alpha: f32,
        /// Rate reached at the end of the warm-up (`None`: no warm-up).
        warmup_target: Option<f32>,
        /// Steps of the warm-up.
        warmup_steps: f32,
    },
    /// `(initial - end) * (1 - t / decay_steps) ^ power + end`, with `t` capped at
    /// `decay_steps`, or (with `cycle`) `decay_steps` stretched to the next multiple
    /// above `t`.
    PolynomialDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps of the decay.
        decay_steps: f32,
        /// Final rate.
        end_learning_rate: f32,
        /// Exponent.
        power: f32,
        /// Restart the decay every `decay_steps`.
        cycle: bool,
    },
}

impl Schedule {
    /// A [`Schedule::PiecewiseConstantDecay`]; `None` when `values` is not one longer
    /// than `boundaries` or there are more than [`MAX_BOUNDARIES`] boundaries.
    pub fn piecewise_constant(boundaries: &[f32], values: &[f32]) -> Option<Schedule> {
        if values.len() != boundaries.len() + 1 {
            return None;
        }
        Some(Schedule::PiecewiseConstantDecay {
            boundaries: heapless::Vec::from_slice(boundaries).ok()?,
            values: heapless::Vec::from_slice(values).ok()?,
        })
    }

    /// The Keras class name (`ExponentialDecay`), or `None` for a constant.
    pub fn keras_class(&self) -> Option<&'static str> {
        Some(match self {
            Schedule::Constant(_) => return None,
            Schedule::ExponentialDecay { .. } => "ExponentialDecay",
            Schedule::PiecewiseConstantDecay { .. } => "PiecewiseConstantDecay",
            Schedule::InverseTimeDecay { .. } => "InverseTimeDecay",
            Schedule::CosineDecay { .. } => "CosineDecay",
            Schedule::PolynomialDecay { .. } => "PolynomialDecay",
        })
    }

    /// The learning rate at step `iterations` (updates applied so far); NaN for a schedule
    /// this build leaves out ([`kinds`]).
    pub fn at(&self, iterations: u64) -> f32 {
        let t = iterations as f32;
        match self {
            Schedule::Constant(rate) => *rate,
            // Left out of this build (crate::kinds): the optimizer's `update` refuses it.
            _ if !kinds::Kind::Schedules.built() => f32::NAN,
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let p = periods(t / decay_steps, *staircase);
                initial_learning_rate * math::pow(*decay_rate, p)
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                let i = boundaries.iter().take_while(|&&b| t > b).count();
                values.get(i).or(values.last()).copied().unwrap_or(0.0)
            }
            Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let p = periods(t / decay_steps, *staircase);
                initial_learning_rate / (1.0 + decay_rate * p)
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                let cosine = |step: f32, from: f32| {
                    let completed = step / decay_steps;
                    let decayed = 0.5 * (1.0 + math::cos(core::f32::consts::PI * completed));
                    from * ((1.0 - alpha) * decayed + alpha)
                };
                match warmup_target {
                    None => cosine(t.min(*decay_steps), *initial_learning_rate),
                    Some(target) => {
                        let t = t.min(decay_steps + warmup_steps);
                        if t < *warmup_steps {
                            (target - initial_learning_rate) * (t / warmup_steps) + initial_learning_rate
                        } else {
                            cosine(t - warmup_steps, *target)
                        }
                    }
                }
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                let (t, steps) = if *cycle {
                    let multiplier = if t == 0.0 {
                        1.0
                    } else {
                        libm::ceilf(t / decay_steps)
                    };
                    (t, decay_steps * multiplier)
                } else {
                    (t.min(*decay_steps), *decay_steps)
                };
                (initial_learning_rate - end_learning_rate) * math::pow(1.0 - t / steps, *power)
                    + end_learning_rate
            }
        }
    }
}

/// The decay exponent: `p`, floored with `staircase`.
fn periods(p: f32, staircase: bool) -> f32 {
    if staircase {
        libm::floorf(p)
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1e-3)
    }

    #[test]
    fn every_schedule_matches_its_formula_by_hand() {
        let exp = Schedule::ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10.0,
            decay_rate: 0.5,
            staircase: false,
        };
        assert!(close(exp.at(0), 0.1));
        assert!(close(exp.at(5), 0.1 * 0.5f32.sqrt()));
        assert!(close(exp.at(20), 0.025));
        let stairs = Schedule::ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10.0,
            decay_rate: 0.5,
            staircase: true,
        };
        assert!(close(stairs.at(19), 0.05));

        let piecewise = Schedule::piecewise_constant(&[100.0, 200.0], &[1.0, 0.5, 0.1]).unwrap();
        assert_eq!(Schedule::piecewise_constant(&[1.0], &[1.0]), None);
        let rates: [f32; 5] = [0, 100, 101, 200, 201].map(|t| piecewise.at(t));
        assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.1]);

        let inverse = Schedule::InverseTimeDecay {
            initial_learning_rate: 0.1,
            decay_steps: 4.0,
            decay_rate: 0.5,
            staircase: false,
        };
        assert!(close(inverse.at(6), 0.1 / (1.0 + 0.5 * 1.5)));
        let inverse_stairs = Schedule::InverseTimeDecay {
            initial_learning_rate: 0.1,
            decay_steps: 4.0,
            decay_rate: 0.5,
            staircase: true,
        };
        assert!(close(inverse_stairs.at(6), 0.1 / 1.5));

        let cosine = Schedule::CosineDecay {
            initial_learning_rate: 0.2,
            decay_steps: 100.0,
            alpha: 0.1,
            warmup_target: None,
            warmup_steps: 0.0,
        };
        assert!(close(cosine.at(0), 0.2));
        assert!(close(cosine.at(50), 0.2 * (0.9 * 0.5 + 0.1)));
        assert!(close(cosine.at(100), 0.02));
        assert!(close(cosine.at(1000), 0.02));
        let warm = Schedule::CosineDecay {
            initial_learning_rate: 0.0,
            decay_steps: 100.0,
            alpha: 0.0,
            warmup_target: Some(0.4),
            warmup_steps: 10.0,
        };
        assert!(close(warm.at(5), 0.2));
        assert!(close(warm.at(10), 0.4));
        assert!(close(warm.at(60), 0.2));

        let poly = Schedule::PolynomialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10.0,
            end_learning_rate: 0.01,
            power: 2.0,
            cycle: false,
        };
        assert!(close(poly.at(5), 0.09 * 0.25 + 0.01));
        assert!(close(poly.at(50), 0.01));
        let cycling = Schedule::PolynomialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10.0,
            end_learning_rate: 0.01,
            power: 2.0,
            cycle: true,
        };
        // Step 15 decays over 20 steps.
        assert!(close(cycling.at(15), 0.09 * 0.0625 + 0.01));
        assert!(close(cycling.at(0), 0.1));
    }
}
