//! Which kinds of layer, activation, optimizer, schedule and loss this build of the engine
//! carries, chosen by cargo features as TensorFlow Lite Micro's op resolver chooses kernels:
//! a firmware built for one model leaves out the code of every kind the model does not use.
//!
//! The feature `all-kinds` (on by default) turns on every group's feature. Without it the engine always
//! has Dense, Activation, Dropout, Flatten, Reshape and Identity layers, the linear, ReLU,
//! sigmoid and softmax activations, SGD (with momentum) at a constant learning rate, and
//! the device format's losses (the categorical, sparse categorical and binary
//! cross-entropies and mean squared error, with Keras's default settings); each other
//! group of kinds ([`Kind`]) comes with its own feature. A model that needs a
//! kind left out is refused where it enters the engine, naming the group and its feature:
//! by [`Network::new`](crate::Network::new) and [`Network::graph`](crate::Network::graph)
//! ([`Error::NotBuiltIn`]) and by the device-format decoder
//! ([`FormatError::NotBuiltIn`](crate::format::FormatError::NotBuiltIn)); nothing left out
//! can run.
//!
//! ```
//! use microdense_core::kinds::{self, Kind};
//! use microdense_core::{Activation, Layer};
//!
//! let dense = Layer::Dense { units: 10, activation: Activation::Gelu, use_bias: true, activity_regularizer: None };
//! assert_eq!(dense.needs(), [Some(Kind::Activations), None]);
//! assert_eq!(Kind::Activations.feature(), "activations");
//! // The default build carries every kind.
//! assert!(Kind::Activations.built());
//! assert_eq!(kinds::left_out(dense.needs()), None);
//! ```

pub use crate::error::Kind;
use crate::Error;

/// Each group's cargo feature: [`Kind::feature`] names it, [`Kind::built`] reads it.
macro_rules! features {
    ($($kind:ident => $feature:literal,)*) => {
        impl Kind {
            /// The cargo feature that brings the group in (of `microdense-core`, and of the
            /// firmware, which passes it on).
            pub fn feature(self) -> &'static str {
                match self {
                    $(Kind::$kind => $feature,)*
                }
            }

            /// Whether this build carries the group (its cargo feature is on; `all-kinds`
            /// turns every group's on). A constant wherever the group is known, so a check
            /// folds away.
            pub const fn built(self) -> bool {
                match self {
                    $(Kind::$kind => cfg!(feature = $feature),)*
                }
            }
        }
    };
}

features! {
    Normalization => "normalization",
    Preprocessing => "preprocessing",
    ActivationLayers => "activation-layers",
    Noise => "noise",
    Merge => "merge",
    ActivityRegularization => "activity-regularization",
    Activations => "activations",
    Optimizers => "optimizers",
    Schedules => "schedules",
    Clipping => "clipping",
    Int8 => "int8",
    Losses => "losses",
}

impl Kind {
    /// `Ok` when this build carries the group, else its [`Error::NotBuiltIn`]: checked
    /// where a kind's code runs, so a group left out is not linked.
    #[inline(always)]
    pub fn require(self) -> Result<(), Error> {
        if self.built() {
            Ok(())
        } else {
            Err(Error::NotBuiltIn { kind: self })
        }
    }
}

/// The first group of `needs` (what a layer, optimizer, loss or model needs: `needs()`
/// on each) that this build leaves out.
#[inline(always)]
pub fn left_out(needs: impl IntoIterator<Item = Option<Kind>>) -> Option<Kind> {
    needs.into_iter().flatten().find(|k| !k.built())
}
