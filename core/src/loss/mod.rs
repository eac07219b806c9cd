//! Loss functions with Keras semantics, and the accuracy metric that goes with them.
//!
//! [`LossFunction`] is a Keras loss with its settings (`from_logits`, `label_smoothing`,
//! Huber's `delta`); training and evaluation take it. [`Loss`] names the four losses the
//! device format and the serial protocol carry; each is a [`LossFunction`] with Keras's
//! default settings.

mod compute;
mod targets;

use serde::{Deserialize, Serialize};
pub use targets::Targets;

/// Keras's `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before logs.
pub const EPSILON: f32 = 1e-7;

/// The losses a device-format file and the serial protocol name (tags pinned by the format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Loss {
    /// Categorical cross-entropy of probabilities.
    CategoricalCrossentropy,
    /// Categorical cross-entropy of probabilities, targets given as class indices.
    SparseCategoricalCrossentropy,
    /// Binary cross-entropy of probabilities.
    BinaryCrossentropy,
    /// Mean squared error.
    MeanSquaredError,
}

impl Loss {
    /// Every loss, in a fixed order (the order of the device format's tags).
    pub const ALL: [Loss; 4] = [
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
        Loss::BinaryCrossentropy,
        Loss::MeanSquaredError,
    ];

    /// The name Keras writes in a training config.
    pub fn keras_name(self) -> &'static str {
        LossFunction::from(self).kind.keras_name()
    }

    /// Loss of one sample (see [`LossFunction::value`]).
    pub fn value(self, pred: &[f32], targets: &Targets, sample: usize) -> f32 {
        LossFunction::from(self).value(pred, targets, sample)
    }

    /// Whether the sample counts as correct (see [`LossFunction::is_correct`]).
    pub fn is_correct(self, pred: &[f32], targets: &Targets, sample: usize) -> bool {
        LossFunction::from(self).is_correct(pred, targets, sample)
    }

    /// The kind of loss.
    fn kind(self) -> LossKind {
        match self {
            Loss::CategoricalCrossentropy => LossKind::CategoricalCrossentropy,
            Loss::SparseCategoricalCrossentropy => LossKind::SparseCategoricalCrossentropy,
            Loss::BinaryCrossentropy => LossKind::BinaryCrossentropy,
            Loss::MeanSquaredError => LossKind::MeanSquaredError,
        }
    }
}

/// The kinds of loss, as Keras's loss classes name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LossKind {
    /// `-sum(t * ln(clip(p / sum(p))))`, or `-sum(t * log_softmax(x))` from logits.
    CategoricalCrossentropy,
    /// Categorical cross-entropy with targets given as class indices.
    SparseCategoricalCrossentropy,
    /// `-mean(t * ln(clip(p)) + (1 - t) * ln(1 - clip(p)))`, or its softplus form from logits.
    BinaryCrossentropy,
    /// `mean((p - t)^2)`.
    MeanSquaredError,
    /// `mean(|p - t|)`.
    MeanAbsoluteError,
    /// `mean((ln(max(p, ε) + 1) - ln(max(t, ε) + 1))^2)`.
    MeanSquaredLogarithmicError,
    /// `mean(e^2 / 2)` where `|e| ≤ delta`, `mean(delta * |e| - delta^2 / 2)` elsewhere.
    Huber,
    /// `mean(e + softplus(-2e) - ln 2)` with `e = p - t` (`ln cosh e`).
    LogCosh,
    /// `sum(clip(t) * ln(clip(t) / clip(p)))`, both clipped to `[ε, 1]`.
    KlDivergence,
    /// `mean(p - t * ln(p + ε))`.
    Poisson,
    /// `mean(max(1 - t * p, 0))`, 0/1 targets mapped to -1/1.
    Hinge,
    /// `mean(max(1 - t * p, 0)^2)`, 0/1 targets mapped to -1/1.
    SquaredHinge,
    /// `max(max((1 - t) * p) - sum(t * p) + 1, 0)`.
    CategoricalHinge,
}

impl LossKind {
    /// Every kind, in a fixed order.
    pub const ALL: [LossKind; 13] = [
        LossKind::CategoricalCrossentropy,
        LossKind::SparseCategoricalCrossentropy,
        LossKind::BinaryCrossentropy,
        LossKind::MeanSquaredError,
        LossKind::MeanAbsoluteError,
        LossKind::MeanSquaredLogarithmicError,
        LossKind::Huber,
        LossKind::LogCosh,
        LossKind::KlDivergence,
        LossKind::Poisson,
        LossKind::Hinge,
        LossKind::SquaredHinge,
        LossKind::CategoricalHinge,
    ];

    /// The function name Keras writes in a training config (`"mean_squared_error"`).
    pub fn keras_name(self) -> &'static str {
        match self {
            LossKind::CategoricalCrossentropy => "categorical_crossentropy",
            LossKind::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            LossKind::BinaryCrossentropy => "binary_crossentropy",
            LossKind::MeanSquaredError => "mean_squared_error",
            LossKind::MeanAbsoluteError => "mean_absolute_error",
            LossKind::MeanSquaredLogarithmicError => "mean_squared_logarithmic_error",
            LossKind::Huber => "huber",
            LossKind::LogCosh => "log_cosh",
            LossKind::KlDivergence => "kl_divergence",
            LossKind::Poisson => "poisson",
            LossKind::Hinge => "hinge",
            LossKind::SquaredHinge => "squared_hinge",
            LossKind::CategoricalHinge => "categorical_hinge",
        }
    }

    /// The Keras loss class (`"MeanSquaredError"`).
    pub fn class_name(self) -> &'static str {
        match self {
            LossKind::CategoricalCrossentropy => "CategoricalCrossentropy",
            LossKind::SparseCategoricalCrossentropy => "SparseCategoricalCrossentropy",
            LossKind::BinaryCrossentropy => "BinaryCrossentropy",
            LossKind::MeanSquaredError => "MeanSquaredError",
            LossKind::MeanAbsoluteError => "MeanAbsoluteError",
            LossKind::MeanSquaredLogarithmicError => "MeanSquaredLogarithmicError",
            LossKind::Huber => "Huber",
            LossKind::LogCosh => "LogCosh",
            LossKind::KlDivergence => "KLDivergence",
            LossKind::Poisson => "Poisson",
            LossKind::Hinge => "Hinge",
            LossKind::SquaredHinge => "SquaredHinge",
            LossKind::CategoricalHinge => "CategoricalHinge",
        }
    }

    /// Parses a Keras loss name: the function name, its aliases (`mse`, `mae`, `msle`,
    /// `kld`, `logcosh`, `huber_loss`, ...) or the class name.
    pub fn from_keras_name(name: &str) -> Option<LossKind> {
        LossKind::ALL
            .into_iter()
            .find(|k| k.keras_name() == name || k.class_name() == name || k.aliases().contains(&name))
    }

    /// Keras's other names for the loss function (`"mse"`, `"kld"`, ...).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            LossKind::MeanSquaredError => &["mse"],
            LossKind::MeanAbsoluteError => &["mae"],
            LossKind::MeanSquaredLogarithmicError => &["msle"],
            LossKind::Huber => &["huber_loss"],
            LossKind::LogCosh => &["logcosh"],
            LossKind::KlDivergence => &["kld", "kullback_leibler_divergence", "KLD"],
            _ => &[],
        }
    }

    /// Whether Keras's loss of this kind takes `from_logits`.
    pub fn has_from_logits(self) -> bool {
        matches!(
            self,
            LossKind::CategoricalCrossentropy
                | LossKind::SparseCategoricalCrossentropy
                | LossKind::BinaryCrossentropy
        )
    }

    /// Whether Keras's loss of this kind takes `label_smoothing`.
    pub fn has_label_smoothing(self) -> bool {
        matches!(
            self,
            LossKind::CategoricalCrossentropy | LossKind::BinaryCrossentropy
        )
    }
}

/// A Keras loss with its settings, reduced as Keras does: per-sample value, then mean
/// over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossFunction {
    /// Which loss.
    pub kind: LossKind,
    /// The outputs are logits, not probabilities (the three cross-entropies).
    pub from_logits: bool,
    /// Targets `t` become `t * (1 - s) + s / classes` (categorical) or `t * (1 - s) + s / 2`
    /// (binary); in `[0, 1]`.
    pub label_smoothing: f32,
    /// Huber's threshold between the quadratic and the linear part (positive).
    pub delta: f32,
}

impl LossFunction {
    /// `kind` with Keras's default settings.
    pub const fn new(kind: LossKind) -> LossFunction {
        LossFunction {
            kind,
            from_logits: false,
            label_smoothing: 0.0,
            delta: 1.0,
        }
    }

    /// The group of kinds the loss needs beyond the base ([`crate::kinds`]): none for the
    /// device format's four losses with Keras's default settings.
    pub fn needs(&self) -> Option<crate::kinds::Kind> {
        self.device_loss().is_none().then_some(crate::kinds::Kind::Losses)
    }

    /// The device-format loss this is, if it has one (defaults settings only).
    pub fn device_loss(&self) -> Option<Loss> {
        Loss::ALL.into_iter().find(|l| LossFunction::from(*l) == *self)
    }
}

/// Keras's constructor call: `Huber(delta=2)`, `SparseCategoricalCrossentropy(from_logits=True)`.
impl core::fmt::Display for LossFunction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.kind.class_name())?;
        let mut sep = "(";
        if self.from_logits {
            write!(f, "{sep}from_logits=True")?;
            sep = ", ";
        }
        if self.label_smoothing != 0.0 {
            write!(f, "{sep}label_smoothing={}", self.label_smoothing)?;
            sep = ", ";
        }
        if self.kind == LossKind::Huber && self.delta != 1.0 {
            write!(f, "{sep}delta={}", self.delta)?;
            sep = ", ";
        }
        if sep == "(" {
            f.write_str("()")
        } else {
            f.write_str(")")
        }
    }
}

impl From<Loss> for LossFunction {
    fn from(loss: Loss) -> Self {
        LossFunction::new(loss.kind())
    }
}

impl From<LossKind> for LossFunction {
    fn from(kind: LossKind) -> Self {
        LossFunction::new(kind)
    }
}

/// Index of the largest value (the first one on ties, as NumPy's `argmax`).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
