//! The host's model: a validated stack of named layers with flat parameters in
//! `microdense-core`'s layout, plus the compile settings and optimizer state Keras saves.

use crate::budget::{try_zeros, BudgetError, ParamBudget};
use crate::keras_order::keras_order;
use microdense_core::{
    Activation, Constraint, Inbound, Initializer, Layer, LayerDefect, Loss, LossFunction, Merge, Network,
    Optimizer, OptimizerScalars, Regularizer, Rng, Sgd, Source,
};
use std::fmt;

/// A layer with the identity Keras gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedLayer {
    /// Keras layer name (`dense`, `activation_1`, ...), unique within the model.
    pub name: String,
    /// What the layer computes.
    pub layer: Layer,
    /// Keras's `trainable` flag.
    pub trainable: bool,
    /// Kernel initializer (Dense only; Keras's default `glorot_uniform`).
    pub kernel_initializer: Initializer,
    /// Bias initializer (Dense only; Keras's default `zeros`).
    pub bias_initializer: Initializer,
    /// Regularizers and constraints of the kernel and bias (Dense only).
    pub regularization: DenseRegularization,
    /// Normalization's `count` weight (how many samples `adapt` saw): not needed to
    /// compute anything, kept to write it back.
    pub count: i64,
}

impl NamedLayer {
    /// A trainable layer with Keras's default initializers.
    pub fn new(name: impl Into<String>, layer: Layer) -> Self {
        NamedLayer {
            name: name.into(),
            layer,
            trainable: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            regularization: DenseRegularization::default(),
            count: 0,
        }
    }
}

/// A Dense layer's `kernel_regularizer`, `bias_regularizer`, `kernel_constraint` and
/// `bias_constraint` (see [`crate::regularization`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DenseRegularization {
    /// Penalty on the kernel, added to the loss.
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias, added to the loss.
    pub bias_regularizer: Option<Regularizer>,
    /// Projection of the kernel after each step.
    pub kernel_constraint: Option<Constraint>,
    /// Projection of the bias after each step.
    pub bias_constraint: Option<Constraint>,
}

/// Whether the model was built as `keras.Sequential` or as a Functional model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// `keras.Sequential([...])`.
    Sequential,
    /// `keras.Model(inputs, outputs)`: a chain or a graph ([`Model::graph`]).
    Functional,
}

/// What `model.compile(...)` set.
#[derive(Clone, Debug, PartialEq)]
pub struct Compile {
    /// The loss and its settings.
    pub loss: LossFunction,
    /// The optimizer, its learning rate or schedule, clipping and weight decay.
    pub optimizer: Optimizer,
    /// Metric names as given (`"accuracy"`; Keras 2.0's `"acc"` is kept as written).
    pub metrics: Vec<String>,
}

impl Default for Compile {
    fn default() -> Self {
        Compile {
            loss: Loss::CategoricalCrossentropy.into(),
            optimizer: Optimizer::from(Sgd::default()),
            metrics: vec!["accuracy".into()],
        }
    }
}

/// The optimizer's saved state: its scalars (step count, Nadam's product) and its
/// per-parameter values ([`Optimizer::slots`] per parameter, interleaved, over all
/// parameters in core's layout; empty when the optimizer keeps none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    /// Updates applied so far and Nadam's product.
    pub scalars: OptimizerScalars,
    /// The per-parameter state (momentum, velocity, ...), or empty.
    pub slots: Vec<f32>,
}

/// What a file says about training: the compile settings and, when saved, the optimizer
/// state (`None` for a model saved uncompiled).
pub type Training = Option<(Compile, Option<OptimizerState>)>;

/// A model: architecture, weights, and (when compiled) training settings and state.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Model name (`sequential`).
    pub name: String,
    /// Sequential or Functional.
    pub kind: ModelKind,
    /// Name of the input layer (`dense_input`, `input_layer`).
    pub input_name: String,
    /// Input shape without the batch dimension (`[784]`, or `[28, 28]` before a Flatten).
    pub input_shape: Vec<usize>,
    /// The layers, in order (a graph's in topological order).
    pub layers: Vec<NamedLayer>,
    /// Each layer's inputs when the layers form a graph other than a chain (a Functional
    /// model with merges or branches); `None` for a chain.
    pub graph: Option<Vec<Inbound>>,
    /// All weights, flat: per Dense layer its kernel (`in × units`, row-major) then its bias.
    pub params: Vec<f32>,
    /// Compile settings, if the model was compiled.
    pub compile: Option<Compile>,
    /// Optimizer state, if the model has been trained or was loaded with one.
    pub optimizer: Option<OptimizerState>,
    /// Why the training setup a loaded file named was dropped (an optimizer, loss or
    /// schedule microdense cannot train with): the model loaded uncompiled, as Keras's
    /// `load_model(compile=False)` loads it. `None` when nothing was dropped.
    pub dropped_training: Option<String>,
}

/// Why a model is not valid.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The layers do not form a valid network.
    Network(microdense_core::Error),
    /// A layer is invalid where it stands (its settings, its inputs, its widths).
    Layer {
        /// The layer's name.
        name: String,
        /// Its Keras class.
        class: &'static str,
        /// What is wrong.
        reason: LayerDefect,
    },
    /// The weights do not match the architecture.
    ParamCount {
        /// Parameters the architecture needs.
        expected: usize,
        /// Parameters present.
        actual: usize,
    },
    /// Two layers share a name.
    DuplicateName(String),
    /// The `--arch` specification could not be parsed.
    Spec(String),
    /// A layer name is empty or holds a `/` (Keras refuses both; HDF5 files cannot
    /// store them as group names).
    BadName(String),
    /// The model exceeds the parameter budget or the memory.
    Budget(BudgetError),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Network(e) => write!(f, "invalid network: {e}"),
            ModelError::Layer { name, class, reason } => {
                write!(f, "invalid network: layer {name:?} ({class}): {reason}")
            }
            ModelError::ParamCount { expected, actual } => {
                write!(
                    f,
                    "the architecture needs {expected} weights, {actual} were given"
                )
            }
            ModelError::DuplicateName(n) => write!(f, "two layers are named {n:?}"),
            ModelError::Spec(msg) => write!(f, "bad architecture spec: {msg}"),
            ModelError::BadName(n) => {
                write!(f, "layer name {n:?} is empty or holds a '/' (Keras refuses both)")
            }
            ModelError::Budget(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::Network(e) => Some(e),
            // Shown whole by Display: its causes are this error's.
            ModelError::Budget(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl From<BudgetError> for ModelError {
    fn from(e: BudgetError) -> Self {
        ModelError::Budget(e)
    }
}

impl From<microdense_core::Error> for ModelError {
    fn from(e: microdense_core::Error) -> Self {
        ModelError::Network(e)
    }
}

/// The Keras tutorial's architecture: 784 → Dense 50 → sigmoid → Dense 20 → sigmoid →
/// Dense 10 → softmax.
pub const TUTORIAL_SPEC: &str = "784,50,sigmoid,20,sigmoid,10,softmax";

impl Model {
    /// Takes the training setup read from a file. When it could not be used (an optimizer,
    /// loss or schedule microdense does not train with, or unreadable optimizer state),
    /// the model stays uncompiled and [`Model::dropped_training`] says why: loading for
    /// inference never depends on the training setup, as with Keras's
    /// `load_model(compile=False)`.
    pub fn set_training(&mut self, read: Result<Training, impl fmt::Display>) {
        match read {
            Ok(training) => {
                (self.compile, self.optimizer) = training.map_or((None, None), |(c, s)| (Some(c), s));
                self.dropped_training = None;
            }
            Err(why) => {
                (self.compile, self.optimizer) = (None, None);
                self.dropped_training = Some(why.to_string());
            }
        }
    }

    /// A Sequential model over `layers`, its weights drawn from the layers' initializers
    /// with a generator seeded by `seed`. Checks that the layers form a valid network of
    /// at most `budget` parameters before allocating them.
    pub fn sequential(
        input_shape: Vec<usize>,
        layers: Vec<NamedLayer>,
        seed: u64,
        budget: ParamBudget,
    ) -> Result<Model, ModelError> {
        Model::built(ModelKind::Sequential, input_shape, layers, None, seed, budget)
    }

    /// A Functional model over `layers` wired by `graph` ([`Network::graph`]: each layer's
    /// inputs, in topological order), its weights drawn as [`Model::sequential`] draws them.
    /// The layers are put in Keras's order ([`keras_order`]), which its files follow.
    pub fn functional(
        input_shape: Vec<usize>,
        layers: Vec<NamedLayer>,
        graph: Vec<Inbound>,
        seed: u64,
        budget: ParamBudget,
    ) -> Result<Model, ModelError> {
        let (layers, graph) = keras_order(layers, &graph);
        Model::built(
            ModelKind::Functional,
            input_shape,
            layers,
            Some(graph),
            seed,
            budget,
        )
    }

    /// A Functional model from `(layer, its inputs)` pairs in topological order, the
    /// layers named as Keras names them (`dense`, `dense_1`, `add`, ...), as
    /// [`Model::functional`] builds it. Errors naming the layer given no inputs or more
    /// than [`MAX_INPUTS`](microdense_core::MAX_INPUTS).
    pub fn from_graph(
        input_shape: Vec<usize>,
        graph: &[(Layer, &[Source])],
        seed: u64,
        budget: ParamBudget,
    ) -> Result<Model, ModelError> {
        let mut namer = LayerNamer::default();
        let mut layers = Vec::with_capacity(graph.len());
        let mut wiring = Vec::with_capacity(graph.len());
        for (layer, sources) in graph {
            let name = namer.name_for(layer);
            let inbound = Inbound::new(sources).ok_or_else(|| ModelError::Layer {
                name: name.clone(),
                class: layer.keras_class(),
                reason: LayerDefect::MergeInputs,
            })?;
            layers.push(NamedLayer::new(name, *layer));
            wiring.push(inbound);
        }
        Model::functional(input_shape, layers, wiring, seed, budget)
    }

    /// A new model of `kind` named as Keras names it, with drawn weights.
    fn built(
        kind: ModelKind,
        input_shape: Vec<usize>,
        layers: Vec<NamedLayer>,
        graph: Option<Vec<Inbound>>,
        seed: u64,
        budget: ParamBudget,
    ) -> Result<Model, ModelError> {
        let mut model = Model {
            name: match kind {
                ModelKind::Sequential => "sequential",
                ModelKind::Functional => "functional",
            }
            .into(),
            kind,
            input_name: "input_layer".into(),
            input_shape,
            layers,
            graph,
            params: Vec::new(),
            compile: None,
            optimizer: None,
            dropped_training: None,
        };
        model.with_network(|_| Ok(()))?;
        model.allocate_weights(seed, budget)?;
        Ok(model)
    }

    /// Builds a Sequential model from a spec such as `784,128:relu,dropout:0.2,10:softmax`:
    /// the input width (or `28x28` for a shape, which needs a `flatten`), then per layer
    /// `N` (Dense, linear), `N:act` (Dense with a fused activation), `N:act:nobias`,
    /// an activation name (an Activation layer), `dropout:R`, `flatten`, or one of
    /// [`SPEC_LAYERS`]' forms (`bn`, `leaky_relu:0.2`, `rescale:0.00392`, ...).
    /// Layers are named as Keras names them (`dense`, `dense_1`, `activation`, ...).
    /// At most [`DEFAULT_MAX_PARAMS`](crate::budget::DEFAULT_MAX_PARAMS) parameters; see
    /// [`Model::from_spec_with_budget`].
    pub fn from_spec(spec: &str, seed: u64) -> Result<Model, ModelError> {
        Model::from_spec_with_budget(spec, seed, ParamBudget::default())
    }

    /// [`Model::from_spec`] with a parameter budget other than the default.
    pub fn from_spec_with_budget(spec: &str, seed: u64, budget: ParamBudget) -> Result<Model, ModelError> {
        let mut parts = spec.split(',').map(str::trim);
        let input = parts.next().unwrap_or("");
        let input_shape = input
            .split('x')
            .map(|d| d.parse::<usize>().ok().filter(|&d| d > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ModelError::Spec(format!("input {input:?} is not a width like 784 or 28x28")))?;
        let mut namer = LayerNamer::default();
        let mut layers = Vec::new();
        for part in parts {
            let fields: Vec<&str> = part.split(':').collect();
            let layer = match fields.as_slice() {
                ["flatten"] => Layer::Flatten,
                ["dropout", rate] => Layer::Dropout {
                    rate: rate
                        .parse()
                        .map_err(|_| ModelError::Spec(format!("dropout rate {rate:?}")))?,
                },
                [units, rest @ ..] if units.parse::<u32>().is_ok() => {
                    let activation = match rest.first() {
                        Some(name) => parse_activation(name)?,
                        None => Activation::Linear,
                    };
                    let use_bias = match rest.get(1) {
                        None => true,
                        Some(&"nobias") => false,
                        Some(other) => {
                            return Err(ModelError::Spec(format!("unknown Dense option {other:?}")))
                        }
                    };
                    Layer::Dense {
                        units: units.parse().unwrap_or(0),
                        activation,
                        use_bias,
                        activity_regularizer: None,
                    }
                }
                [name] if Activation::from_keras_name(name).is_some() => {
                    Layer::Activation(parse_activation(name)?)
                }
                [name, args @ ..] => spec_layer(name, args)?
                    .ok_or_else(|| ModelError::Spec(format!("cannot read layer {part:?}")))?,
                _ => return Err(ModelError::Spec(format!("cannot read layer {part:?}"))),
            };
            layers.push(NamedLayer::new(namer.name_for(&layer), layer));
        }
        Model::sequential(input_shape, layers, seed, budget)
    }

    /// Number of input values per sample (the product of the input shape).
    pub fn input_width(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The layers as the engine sees them.
    pub fn core_layers(&self) -> Vec<Layer> {
        self.layers.iter().map(|l| l.layer).collect()
    }

    /// Each layer's inputs as the engine sees them ([`Inbound::chain`] for a chain).
    pub fn wiring(&self) -> Vec<Inbound> {
        self.graph
            .clone()
            .unwrap_or_else(|| (0..self.layers.len()).map(Inbound::chain).collect())
    }

    /// Runs `f` with the validated engine network of this model.
    pub fn with_network<T>(
        &self,
        f: impl FnOnce(Network<'_>) -> Result<T, ModelError>,
    ) -> Result<T, ModelError> {
        let layers = self.core_layers();
        let wiring = self.wiring();
        let net = Network::graph(self.input_width(), &layers, &wiring).map_err(|e| self.named(e))?;
        f(net)
    }

    /// `e`, naming the layer it is about.
    fn named(&self, e: microdense_core::Error) -> ModelError {
        match e {
            microdense_core::Error::InvalidLayer { layer, reason } if layer < self.layers.len() => {
                let named = &self.layers[layer];
                ModelError::Layer {
                    name: named.name.clone(),
                    class: named.layer.keras_class(),
                    reason,
                }
            }
            e => ModelError::Network(e),
        }
    }

    /// Checks the layers chain, names are unique and the weights match the architecture.
    pub fn validate(&self) -> Result<(), ModelError> {
        let expected = self.with_network(|net| Ok(net.param_count()))?;
        if expected != self.params.len() {
            return Err(ModelError::ParamCount {
                expected,
                actual: self.params.len(),
            });
        }
        self.validate_names()?;
        if let (Some(opt), Some(compile)) = (&self.optimizer, &self.compile) {
            let wanted = compile.optimizer.state_len(expected);
            if !opt.slots.is_empty() && opt.slots.len() != wanted {
                return Err(ModelError::ParamCount {
                    expected: wanted,
                    actual: opt.slots.len(),
                });
            }
        }
        Ok(())
    }

    /// Allocates the weights of the architecture, after checking their count against
    /// `budget` (and reserving the memory fallibly), and draws them from the layers'
    /// initializers with a generator seeded by `seed`.
    pub fn allocate_weights(&mut self, seed: u64, budget: ParamBudget) -> Result<(), ModelError> {
        let count = budget.check(&self.input_shape, &self.core_layers(), &self.wiring())?;
        self.params = try_zeros(count)?;
        self.initialize(seed)
    }

    /// Where the first weight that is NaN or infinite sits: the layer's name and how many
    /// of its weights are not finite.
    pub fn nonfinite_weights(&self) -> Option<(String, usize)> {
        self.with_network(|net| {
            Ok((0..self.layers.len()).find_map(|i| {
                let weights = self.params.get(net.param_range(i))?;
                let bad = weights.iter().filter(|w| !w.is_finite()).count();
                (bad > 0).then(|| (self.layers[i].name.clone(), bad))
            }))
        })
        .ok()
        .flatten()
    }

    /// Checks every name (input and layers) is non-empty without a `/`, and layer names
    /// are unique.
    pub fn validate_names(&self) -> Result<(), ModelError> {
        let all = std::iter::once(&self.input_name).chain(self.layers.iter().map(|l| &l.name));
        if let Some(bad) = all.into_iter().find(|n| n.is_empty() || n.contains('/')) {
            return Err(ModelError::BadName(bad.clone()));
        }
        let mut names = std::collections::HashSet::new();
        for l in &self.layers {
            if !names.insert(l.name.as_str()) {
                return Err(ModelError::DuplicateName(l.name.clone()));
            }
        }
        Ok(())
    }

    /// Redraws every weight from the layers' initializers with a generator seeded by `seed`.
    pub fn initialize(&mut self, seed: u64) -> Result<(), ModelError> {
        let layers = self.core_layers();
        let wiring = self.wiring();
        let net = Network::graph(self.input_width(), &layers, &wiring)?;
        if self.params.len() != net.param_count() {
            return Err(ModelError::ParamCount {
                expected: net.param_count(),
                actual: self.params.len(),
            });
        }
        let mut rng = Rng::new(seed);
        for (i, named) in self.layers.iter().enumerate() {
            let fan_in = net.layer_input_width(i);
            let params = &mut self.params[net.param_range(i)];
            if let Layer::Dense { units, .. } = named.layer {
                let units = units as usize;
                let (kernel, bias) = params.split_at_mut(fan_in * units);
                named.kernel_initializer.fill(kernel, fan_in, units, &mut rng);
                named.bias_initializer.fill(bias, units, units, &mut rng);
                continue;
            }
            // Keras's defaults: ones for scales and variances, zeros for the rest.
            for (name, values) in named
                .layer
                .weight_names()
                .iter()
                .zip(params.chunks_exact_mut(fan_in))
            {
                let one = matches!(*name, "gamma" | "moving_variance" | "variance");
                values.fill(if one { 1.0 } else { 0.0 });
            }
        }
        Ok(())
    }

    /// Input and output shapes of layer `i` as Keras prints them, without the batch
    /// dimension (a merge's input shape: its first input's, or for Concatenate the
    /// flat total).
    pub fn layer_shapes(&self, i: usize) -> (Vec<usize>, Vec<usize>) {
        let wiring = self.wiring();
        let mut outputs: Vec<Vec<usize>> = Vec::with_capacity(self.layers.len());
        for (j, named) in self.layers.iter().enumerate() {
            let shape_of = |source: &Source| match *source {
                Source::Input => self.input_shape.clone(),
                Source::Layer(k) => outputs.get(usize::from(k)).cloned().unwrap_or_default(),
            };
            let sources = wiring.get(j).map_or(&[][..], |w| w.sources());
            let input = match named.layer {
                Layer::Merge(Merge::Concatenate) => {
                    vec![sources
                        .iter()
                        .map(|s| shape_of(s).iter().product::<usize>())
                        .sum()]
                }
                _ => sources.first().map(shape_of).unwrap_or_default(),
            };
            let output = match named.layer {
                Layer::Dense { units, .. } => {
                    let mut s = input.clone();
                    if let Some(last) = s.last_mut() {
                        *last = units as usize;
                    }
                    s
                }
                Layer::Flatten | Layer::Reshape => vec![input.iter().product()],
                _ => input.clone(),
            };
            if j == i {
                return (input, output);
            }
            outputs.push(output);
        }
        let last = outputs.pop().unwrap_or_else(|| self.input_shape.clone());
        (last.clone(), last)
    }

    /// Number of weights of layer `i`.
    pub fn layer_param_count(&self, i: usize) -> usize {
        self.with_network(|net| Ok(net.param_range(i).len())).unwrap_or(0)
    }
}

/// Hands out Keras's automatic layer names: `dense`, `dense_1`, `activation`, ...
#[derive(Default, Debug)]
pub struct LayerNamer {
    counts: std::collections::HashMap<String, usize>,
}

impl LayerNamer {
    /// The next name for a layer of this kind.
    pub fn name_for(&mut self, layer: &Layer) -> String {
        self.next(&keras_snake_case(layer.keras_class()))
    }

    /// The next name with this base: `base`, then `base_1`, `base_2`, ...
    pub fn next(&mut self, base: &str) -> String {
        let n = self.counts.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    }
}

/// Keras's `to_snake_case` of a class name, the base of its automatic layer names:
/// `BatchNormalization` → `batch_normalization`, `ReLU` → `re_lu`, `PReLU` → `p_re_lu`.
pub fn keras_snake_case(class: &str) -> String {
    let chars: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        // `(.)([A-Z][a-z]+)` → `\1_\2`, then `([a-z])([A-Z])` → `\1_\2`.
        let word_start = c.is_uppercase() && next.is_some_and(|n| n.is_lowercase()) && prev.is_some();
        let case_change = c.is_uppercase() && prev.is_some_and(char::is_lowercase);
        if (word_start || case_change) && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The `--arch` forms of the layers beyond Dense, Activation, Dropout and Flatten
/// (optional arguments in brackets, Keras's defaults when left out).
pub const SPEC_LAYERS: &str = "bn[:MOMENTUM[:EPSILON]], ln[:EPSILON], rescale:SCALE[:OFFSET], \
normalize, relu:MAX[:SLOPE[:THRESHOLD]], leaky_relu[:SLOPE], prelu, elu:ALPHA, softmax_layer, \
identity, gaussian_noise:STDDEV, gaussian_dropout:RATE, alpha_dropout:RATE, reshape, \
activity_reg:L1[:L2]";

/// One of [`SPEC_LAYERS`] from its name and arguments; `None` for an unknown name.
fn spec_layer(name: &str, args: &[&str]) -> Result<Option<Layer>, ModelError> {
    let number = |i: usize, default: Option<f32>| -> Result<f32, ModelError> {
        match args.get(i) {
            Some(text) => text
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ModelError::Spec(format!("{name}: {text:?} is not a number"))),
            None => {
                default.ok_or_else(|| ModelError::Spec(format!("{name} needs an argument ({SPEC_LAYERS})")))
            }
        }
    };
    let most = |n: usize| {
        if args.len() > n {
            Err(ModelError::Spec(format!("{name} takes at most {n} arguments")))
        } else {
            Ok(())
        }
    };
    let layer = match name {
        "bn" => {
            most(2)?;
            Layer::BatchNormalization {
                momentum: number(0, Some(0.99))?,
                epsilon: number(1, Some(1e-3))?,
                center: true,
                scale: true,
            }
        }
        "ln" => {
            most(1)?;
            Layer::LayerNormalization {
                epsilon: number(0, Some(1e-3))?,
                center: true,
                scale: true,
            }
        }
        "rescale" => {
            most(2)?;
            Layer::Rescaling {
                scale: number(0, None)?,
                offset: number(1, Some(0.0))?,
            }
        }
        "normalize" => Layer::Normalization { invert: false },
        "relu" => {
            most(3)?;
            Layer::Relu {
                max_value: Some(number(0, None)?),
                negative_slope: number(1, Some(0.0))?,
                threshold: number(2, Some(0.0))?,
            }
        }
        "leaky_relu" => {
            most(1)?;
            Layer::LeakyRelu {
                negative_slope: number(0, Some(0.3))?,
            }
        }
        "prelu" => Layer::Prelu,
        "elu" => {
            most(1)?;
            Layer::Elu {
                alpha: number(0, None)?,
            }
        }
        "softmax_layer" => Layer::Softmax,
        "identity" => Layer::Identity,
        "gaussian_noise" => {
            most(1)?;
            Layer::GaussianNoise {
                stddev: number(0, None)?,
            }
        }
        "gaussian_dropout" => {
            most(1)?;
            Layer::GaussianDropout {
                rate: number(0, None)?,
            }
        }
        "alpha_dropout" => {
            most(1)?;
            Layer::AlphaDropout {
                rate: number(0, None)?,
            }
        }
        "reshape" => Layer::Reshape,
        "activity_reg" => {
            most(2)?;
            Layer::ActivityRegularization {
                l1: number(0, None)?,
                l2: number(1, Some(0.0))?,
            }
        }
        _ => return Ok(None),
    };
    let no_args = matches!(
        layer,
        Layer::Normalization { .. } | Layer::Prelu | Layer::Softmax | Layer::Identity | Layer::Reshape
    );
    if no_args && !args.is_empty() {
        return Err(ModelError::Spec(format!("{name} takes no arguments")));
    }
    Ok(Some(layer))
}

fn parse_activation(name: &str) -> Result<Activation, ModelError> {
    Activation::from_keras_name(name).ok_or_else(|| ModelError::Spec(format!("unknown activation {name:?}")))
}

/// Shape as Keras prints it: `(None, 784)`.
pub fn keras_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if dims.is_empty() {
        "(None,)".into()
    } else {
        format!("(None, {})", dims.join(", "))
    }
}
