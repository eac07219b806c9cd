//! The parameter budget: the most weights a model read from a file or a spec may have.
//!
//! Every way an architecture arrives (`.h5`, `.keras`, JSON, YAML, `train --arch`) is
//! counted against a [`ParamBudget`] before any weight is allocated, so a small file
//! declaring a huge layer gets a clear error instead of exhausting memory. The default,
//! [`DEFAULT_MAX_PARAMS`], is 100 million parameters: 400 MB of float32 weights, which
//! training multiplies by about four (gradients, optimizer state, a copy per thread) —
//! about what a desktop holds, and some 2 500 times the Keras tutorial's model. The CLI
//! overrides it with `--max-params`.

use microdense_core::{Inbound, Layer, Network};

/// A model the budget, or the memory, cannot hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// The model has more parameters than the budget allows (`None`: too many to count).
    #[error("{}, more than the budget of {max_params} (raise it with --max-params)", counted(*params))]
    TooManyParams {
        /// The parameter count, if it can be counted.
        params: Option<usize>,
        /// The budget.
        max_params: usize,
    },
    /// The memory for the weights could not be had.
    #[error("not enough memory for the model's {params} parameters")]
    OutOfMemory {
        /// The parameter count.
        params: usize,
    },
    /// The layers do not form a network, so they cannot be counted.
    #[error("invalid network: {0}")]
    Network(#[from] microdense_core::Error),
}

/// "the model has N parameters", or that they are too many to count.
fn counted(params: Option<usize>) -> String {
    match params {
        Some(n) => format!("the model has {n} parameters"),
        None => "the model has too many parameters to count".into(),
    }
}

/// The default budget: 100 million parameters (400 MB of float32 weights).
pub const DEFAULT_MAX_PARAMS: usize = 100_000_000;

/// The most parameters a model may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamBudget {
    /// The largest parameter count accepted.
    pub max_params: usize,
}

impl Default for ParamBudget {
    fn default() -> Self {
        ParamBudget {
            max_params: DEFAULT_MAX_PARAMS,
        }
    }
}

impl ParamBudget {
    /// A budget of `max_params` parameters.
    pub fn new(max_params: usize) -> Self {
        ParamBudget { max_params }
    }

    /// The parameter count of `layers` wired by `wiring` ([`Network::graph`]) on inputs of
    /// `input_shape`, checked against the budget without allocating any weight.
    pub fn check(
        self,
        input_shape: &[usize],
        layers: &[Layer],
        wiring: &[Inbound],
    ) -> Result<usize, BudgetError> {
        let over = |params| BudgetError::TooManyParams {
            params,
            max_params: self.max_params,
        };
        // An input too wide to count is over any budget.
        let width = input_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(over(None))?;
        let count = Network::graph(width, layers, wiring)?.param_count();
        if count > self.max_params {
            return Err(over(Some(count)));
        }
        Ok(count)
    }

    /// The most bytes worth reading for a model within this budget: its weights and up
    /// to three optimizer slots per weight (Adam's two moments and a spare), as float64.
    pub fn max_weight_bytes(self) -> u64 {
        (self.max_params as u64).saturating_mul(4 * 8)
    }
}

/// Vec of `len` zeros, refusing (instead of aborting) when the memory is not there.
pub fn try_zeros(len: usize) -> Result<Vec<f32>, BudgetError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| BudgetError::OutOfMemory { params: len })?;
    v.resize(len, 0.0);
    Ok(v)
}
