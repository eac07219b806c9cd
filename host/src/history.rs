//! Training histories: what `fit` returns and `microdense train --json` prints,
//! and what the charts draw:
//! `{"epochs":[{"epoch":1,"loss":..,"accuracy":..,"seconds":..},..],"test":{..}}`.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// A history that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The history file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The text is not the JSON that `microdense train --json` prints.
    #[error("{origin}: not a training history: {source}")]
    Json {
        /// Where the text came from (a path, or "input" for a string).
        origin: String,
        /// What the JSON parser found wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The history has no epochs.
    #[error("{origin}: not a training history: \"epochs\" is empty")]
    NoEpochs {
        /// Where the text came from.
        origin: String,
    },
}

/// Per-epoch metrics of one training run, plus the final test evaluation if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// Loss and accuracy on the test set after training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Evaluation>,
}

/// Metrics at the end of one epoch. Unknown keys are ignored; a `null` loss or
/// accuracy (a diverged run) reads as NaN and is left out of charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    /// Training accuracy over the epoch.
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy: f64,
    /// Wall-clock seconds the epoch took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Validation loss at the end of the epoch (with `--validation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    /// Validation accuracy at the end of the epoch (with `--validation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
}

/// Loss and accuracy of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss.
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    /// Accuracy.
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy: f64,
}

fn nan_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

impl History {
    /// Parses a history from JSON text. The text may be the JSON object alone or a
    /// whole captured stdout of `microdense train --json`, whose last JSON line is used.
    pub fn from_json(text: &str) -> Result<History, HistoryError> {
        Self::parse(text, "input")
    }

    /// Reads and parses a history file (see [`History::from_json`]).
    pub fn read_json(path: &Path) -> Result<History, HistoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Whether any epoch carries validation metrics.
    pub fn has_validation(&self) -> bool {
        self.epochs
            .iter()
            .any(|e| e.val_loss.is_some() || e.val_accuracy.is_some())
    }

    fn parse(text: &str, origin: &str) -> Result<History, HistoryError> {
        let error = |source: serde_json::Error| HistoryError::Json {
            origin: origin.to_string(),
            source,
        };
        let history: History = match serde_json::from_str(text) {
            Ok(history) => history,
            Err(whole) => {
                let last = text
                    .lines()
                    .rev()
                    .map(str::trim)
                    .find(|line| line.starts_with('{'));
                match last {
                    Some(line) => serde_json::from_str(line).map_err(error)?,
                    None => return Err(error(whole)),
                }
            }
        };
        if history.epochs.is_empty() {
            return Err(HistoryError::NoEpochs {
                origin: origin.to_string(),
            });
        }
        Ok(history)
    }
}
