//! A validated stack of layers: shapes, parameter layout, buffer sizes and inference.

use crate::graph::{Inbound, Source, MAX_INPUTS};
use crate::layer::{merge, Io, Merge, Training};
use crate::{kinds, Buffer, Error, Layer, LayerDefect, MatMul, PenaltySums, Regularizer, Rng, MAX_LAYERS};
use core::ops::Range;

/// A sequential network over borrowed layers, validated once so every later call can
/// trust its shapes.
///
/// Parameters live in one flat slice: for each layer with weights in order, its weights
/// in Keras's order ([`Layer::weight_names`]) — a Dense layer's kernel (`in × units`,
/// row-major as Keras stores it) then its bias (`units`, if any); a BatchNormalization's
/// `gamma`, `beta`, `moving_mean`, `moving_variance` (`in` each); ...
///
/// # Buffer sizes (in `f32`)
///
/// With `w_i` the output width of layer `i`, `W = max_i w_i` (the network input excluded)
/// and a batch of `N` samples:
///
/// - parameters: [`param_count`](Self::param_count) `= Σ_i` [`Layer::param_count`]`(in_i)`
///   (Dense: `in·units + units·use_bias`; BatchNormalization: `(2 + scale + center)·in`;
///   LayerNormalization: `(scale + center)·in`; Normalization: `2·in`; PReLU: `in`);
/// - inference scratch: [`inference_scratch_len`](Self::inference_scratch_len)`(N) = 2·N·W`;
/// - training, see [`crate::Trainer`].
///
/// ```
/// use microdense_core::{Activation, Layer, Network};
/// let layers = [
///     Layer::Dense { units: 50, activation: Activation::Linear, use_bias: true, activity_regularizer: None },
///     Layer::Activation(Activation::Sigmoid),
///     Layer::Dense { units: 10, activation: Activation::Softmax, use_bias: true, activity_regularizer: None },
/// ];
/// let net = Network::new(784, &layers).unwrap();
/// assert_eq!(net.param_count(), 784 * 50 + 50 + 50 * 10 + 10);
/// assert_eq!(net.inference_scratch_len(1), 2 * 50);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    input: usize,
    layers: &'a [Layer],
    /// Each layer's inputs, for a graph that is not a chain.
    inbound: Option<&'a [Inbound]>,
}

impl<'a> Network<'a> {
    /// Validates `layers` applied in a chain to inputs of `input` values.
    ///
    /// Errors: no layers or more than [`MAX_LAYERS`], zero input width, a layer whose
    /// settings are invalid (a Dense layer with zero units, a dropout rate outside
    /// `[0, 1)`, a non-positive epsilon, a merge layer, which needs several inputs, ...),
    /// or a parameter count that overflows.
    pub fn new(input: usize, layers: &'a [Layer]) -> Result<Self, Error> {
        Network {
            input,
            layers,
            inbound: None,
        }
        .validated()
    }

    /// Validates a functional graph: layer `i` takes the outputs `inbound[i]` names
    /// (layers in topological order, each taking the network input or earlier outputs);
    /// the last layer's output is the network's. A graph wired as a chain is one, with
    /// the same sizes and results as [`new`](Self::new).
    ///
    /// Errors as [`new`](Self::new), and for `inbound` of another length than `layers`,
    /// a source that is not an earlier layer (a cycle, an index out of range), a merge
    /// with too few inputs or inputs of different widths, another layer with several
    /// inputs, or an output that no layer uses besides the last.
    pub fn graph(input: usize, layers: &'a [Layer], inbound: &'a [Inbound]) -> Result<Self, Error> {
        if inbound.len() != layers.len() {
            return Err(Error::InvalidLayer {
                layer: inbound.len().min(layers.len()),
                reason: LayerDefect::Wiring,
            });
        }
        let chain = inbound.iter().enumerate().all(|(i, b)| *b == Inbound::chain(i));
        if !chain && !kinds::Kind::Merge.built() {
            return Err(Error::NotBuiltIn {
                kind: kinds::Kind::Merge,
            });
        }
        Network {
            input,
            layers,
            inbound: (!chain).then_some(inbound),
        }
        .validated()
    }

    fn validated(self) -> Result<Self, Error> {
        let layers = self.layers;
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(Error::LayerCount { count: layers.len() });
        }
        if self.input == 0 || self.input > u32::MAX as usize {
            return Err(Error::InvalidLayer {
                layer: 0,
                reason: LayerDefect::InputWidth,
            });
        }
        let mut widths = [0u32; MAX_LAYERS];
        let mut used = [false; MAX_LAYERS];
        let mut params: usize = 0;
        for (i, layer) in layers.iter().enumerate() {
            let fail = |reason| Error::InvalidLayer { layer: i, reason };
            if let Some(reason) = layer.invalid() {
                return Err(fail(reason));
            }
            if let Some(kind) = kinds::left_out(layer.needs()) {
                return Err(Error::NotBuiltIn { kind });
            }
            let inbound = self.inbound(i);
            for source in inbound.sources() {
                if let Source::Layer(j) = *source {
                    let j = usize::from(j);
                    if j >= i {
                        return Err(fail(LayerDefect::GraphSource));
                    }
                    used[j] = true;
                }
            }
            let count = inbound.sources().len();
            let arity = match layer {
                Layer::Merge(m) => m.takes(count),
                _ => count == 1,
            };
            if !arity {
                return Err(fail(LayerDefect::MergeInputs));
            }
            let width = self
                .merged_width(i, &widths)
                .ok_or(fail(LayerDefect::MergeWidths))?;
            // Every layer but Dense holds at most 4 values per input.
            let count = match layer {
                Layer::Dense { units, .. } => {
                    let units = *units as usize;
                    width.checked_mul(units).and_then(|k| k.checked_add(units))
                }
                _ => width.checked_mul(4),
            };
            params = count
                .and_then(|k| params.checked_add(k))
                .ok_or(fail(LayerDefect::ParameterOverflow))?;
            widths[i] = layer.output_width(width) as u32;
        }
        if let Some(unused) = used[..layers.len() - 1].iter().position(|u| !u) {
            return Err(Error::InvalidLayer {
                layer: unused,
                reason: LayerDefect::UnusedOutput,
            });
        }
        Ok(self)
    }

    /// The layers.
    pub fn layers(&self) -> &'a [Layer] {
        self.layers
    }

    /// Whether the network is a graph other than a chain ([`graph`](Self::graph)).
    pub fn is_graph(&self) -> bool {
        self.wiring().is_some()
    }

    /// Each layer's inputs, for a graph that is not a chain. Without merges
    /// (`Kind::Merge.built()`) every valid network is a chain, and its graph code is left out.
    fn wiring(&self) -> Option<&'a [Inbound]> {
        self.inbound.filter(|_| kinds::Kind::Merge.built())
    }

    /// Layer `i`'s inputs ([`Inbound::chain`] in a chain).
    pub fn inbound(&self, i: usize) -> Inbound {
        self.wiring()
            .and_then(|all| all.get(i).copied())
            .unwrap_or(Inbound::chain(i))
    }

    /// Layers `..first` as a network of their own (the frozen prefix of a fine-tuned
    /// model), whose output is layer `first − 1`'s. Errors for `first = 0` or past the end,
    /// and for a graph where a later layer takes another prefix output ([`suffix`](Self::suffix)).
    pub fn prefix(&self, first: usize) -> Result<Network<'a>, Error> {
        self.suffix(first)?;
        match self.wiring() {
            Some(all) => Network::graph(self.input, &self.layers[..first], &all[..first]),
            None => Network::new(self.input, &self.layers[..first]),
        }
    }

    /// Layers `first..` as a chain of their own on the output of layer `first − 1` (the
    /// trainable suffix). Errors when the suffix is not a chain fed by that output alone
    /// ([`LayerDefect::BranchingSuffix`], naming its first other layer).
    pub fn suffix(&self, first: usize) -> Result<Network<'a>, Error> {
        if first > self.layers.len() {
            return Err(Error::LayerIndex {
                index: first,
                layers: self.layers.len(),
            });
        }
        if let Some(layer) = (first..self.layers.len()).find(|&i| self.inbound(i) != Inbound::chain(i)) {
            return Err(Error::InvalidLayer {
                layer,
                reason: LayerDefect::BranchingSuffix,
            });
        }
        Network::new(self.layer_input_width(first), &self.layers[first..])
    }

    /// Number of inputs per sample.
    pub fn input_width(&self) -> usize {
        self.input
    }

    /// Width of `source` given the output widths of the layers before it.
    fn source_width(&self, source: Source, widths: &[u32]) -> usize {
        match source {
            Source::Input => self.input,
            Source::Layer(j) => widths[usize::from(j)] as usize,
        }
    }

    /// Width of layer `i`'s input given the output widths of the layers before it: its
    /// single input's, the inputs' total for Concatenate, their common width for another
    /// merge (`None` when they differ or the total overflows `u32`).
    fn merged_width(&self, i: usize, widths: &[u32]) -> Option<usize> {
        let inbound = self.inbound(i);
        let mut sizes = inbound.sources().iter().map(|&s| self.source_width(s, widths));
        let first = sizes.next().unwrap_or(0);
        match self.layers[i] {
            Layer::Merge(Merge::Concatenate) => sizes
                .try_fold(first, |total, w| total.checked_add(w))
                .filter(|&w| w <= u32::MAX as usize),
            _ => sizes.all(|w| w == first).then_some(first),
        }
    }

    /// Output width of every layer (the first `layers.len()` entries).
    fn widths(&self) -> [u32; MAX_LAYERS] {
        let mut widths = [0u32; MAX_LAYERS];
        for (i, layer) in self.layers.iter().enumerate() {
            let input = self.merged_width(i, &widths).unwrap_or(0);
            widths[i] = layer.output_width(input) as u32;
        }
        widths
    }

    /// Width of the input of layer `i` (the network input for `i = 0`; for a merge, its
    /// inputs' common width, or their total for Concatenate; the output for `i = len`).
    pub fn layer_input_width(&self, i: usize) -> usize {
        if !self.is_graph() {
            return self.chain_input_width(i);
        }
        let widths = self.widths();
        if i >= self.layers.len() {
            return self.output_width();
        }
        self.merged_width(i, &widths).unwrap_or(0)
    }

    /// Width of the output of layer `i`.
    pub fn layer_output_width(&self, i: usize) -> usize {
        if !self.is_graph() {
            let w = self.chain_input_width(i);
            return self.layers.get(i).map_or(w, |l| l.output_width(w));
        }
        match self.layers.get(i) {
            Some(_) => self.widths()[i] as usize,
            None => self.output_width(),
        }
    }

    /// Number of outputs per sample.
    pub fn output_width(&self) -> usize {
        if !self.is_graph() {
            return self.chain_input_width(self.layers.len());
        }
        self.widths()[self.layers.len() - 1] as usize
    }

    /// In a chain, the width of layer `i`'s input: the outputs folded from the network input
    /// (cheaper than [`widths`](Self::widths), on the device's per-layer paths).
    fn chain_input_width(&self, i: usize) -> usize {
        self.layers[..i.min(self.layers.len())]
            .iter()
            .fold(self.input, |w, l| l.output_width(w))
    }

    /// `W`: the widest layer output (the network input excluded).
    pub fn max_output_width(&self) -> usize {
        if !self.is_graph() {
            let mut width = self.input;
            return self
                .layers
                .iter()
                .map(|l| {
                    width = l.output_width(width);
                    width
                })
                .max()
                .unwrap_or(0);
        }
        self.widths().iter().max().map_or(0, |&w| w as usize)
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.param_offset(self.layers.len())
    }

    /// Offset of layer `i`'s parameters in the flat parameter slice (the total for `i = len`).
    pub fn param_offset(&self, i: usize) -> usize {
        if !self.is_graph() {
            let mut width = self.input;
            let mut offset = 0;
            for layer in &self.layers[..i.min(self.layers.len())] {
                offset += layer.param_count(width);
                width = layer.output_width(width);
            }
            return offset;
        }
        let widths = self.widths();
        (0..i.min(self.layers.len()))
            .map(|j| self.layers[j].param_count(self.merged_width(j, &widths).unwrap_or(0)))
            .sum()
    }

    /// Range of layer `i`'s parameters (kernel then bias) in the flat parameter slice.
    pub fn param_range(&self, i: usize) -> Range<usize> {
        let start = self.param_offset(i);
        let count = self
            .layers
            .get(i)
            .map_or(0, |l| l.param_count(self.layer_input_width(i)));
        start..start + count
    }

    /// Number of layers with trainable weights ([`Layer::has_weights`]).
    pub fn weighted_layer_count(&self) -> usize {
        self.layers.iter().filter(|l| l.has_weights()).count()
    }

    /// Index of the first layer to train when the last `k` weighted layers are trainable
    /// (`0` when `k` covers them all; the layer count when `k = 0`).
    pub fn first_trainable_layer(&self, k: usize) -> usize {
        if k == 0 {
            return self.layers.len();
        }
        let mut seen = 0;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            if layer.has_weights() {
                seen += 1;
                if seen == k {
                    return i;
                }
            }
        }
        0
    }

    /// f32 of scratch [`predict`](Self::predict) needs for `batch` samples: `2·batch·W`
    /// for a chain, `batch·L` for a graph (`L`: one sample's outputs that are live at once,
    /// laid out first-fit; at most the sum of the layers' widths).
    pub fn inference_scratch_len(&self, batch: usize) -> usize {
        match self.wiring() {
            None => 2 * batch * self.max_output_width(),
            Some(_) => batch * Arena::of(self).len,
        }
    }

    /// Runs `batch` samples (row-major in `inputs`) through the network and returns the
    /// `batch × outputs` result, which lives in `scratch`. Layers active only in
    /// training (dropout, noise) are the identity.
    ///
    /// Errors when `params`, `inputs` or `scratch` have the wrong length.
    pub fn predict<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        scratch: &'s mut [f32],
    ) -> Result<&'s [f32], Error> {
        Ok(self.infer(kernel, params, inputs, batch, None, scratch)?.0)
    }

    /// [`predict`](Self::predict) for samples of a larger batch run a few at a time (a
    /// device runs them one by one): `rows` says where they lie in the batch and whether
    /// noise layers draw as a frozen prefix's do in fine-tuning, and gathers the activity
    /// penalties, so that the batch gives the bits it gives run at once (the
    /// [`crate::Trainer`]'s forward pass of a frozen prefix; [`Rows::penalty`]).
    ///
    /// Errors as [`predict`](Self::predict), and when `rows` has not one penalty sum per
    /// layer.
    pub fn predict_rows<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        rows: &mut Rows<'_>,
        scratch: &'s mut [f32],
    ) -> Result<&'s [f32], Error> {
        check_len(Buffer::PenaltySums, self.layers.len(), rows.penalties.len())?;
        Ok(self.infer(kernel, params, inputs, batch, Some(rows), scratch)?.0)
    }

    /// [`predict`](Self::predict), also returning the sum over the batch of what the
    /// layers add to the loss (activity penalties); with `rows`, these go to its sums
    /// instead (and 0 is returned).
    pub(crate) fn infer<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        mut rows: Option<&mut Rows<'_>>,
        scratch: &'s mut [f32],
    ) -> Result<(&'s [f32], f32), Error> {
        check_len(Buffer::Parameters, self.param_count(), params.len())?;
        check_len(Buffer::Inputs, batch * self.input, inputs.len())?;
        check_len(
            Buffer::InferenceScratch,
            self.inference_scratch_len(batch),
            scratch.len(),
        )?;
        if self.is_graph() {
            return self.infer_graph(kernel, params, inputs, batch, rows, scratch);
        }
        let half = batch * self.max_output_width();
        let (mut cur, mut next) = scratch.split_at_mut(half);
        let mut width = self.input;
        let mut added_loss = 0.0;
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.output_width(width);
            let io = Io {
                params: &params[self.param_range(i)],
                src: if i == 0 { inputs } else { &cur[..batch * width] },
                dst: &mut next[..batch * out],
                batch,
                w_in: width,
            };
            let added = layer.forward(kernel, io, Rows::training(&rows, i).as_mut())?;
            added_loss += Rows::gather(&mut rows, i, layer, &next[..batch * out], added);
            core::mem::swap(&mut cur, &mut next);
            width = out;
        }
        let out: &'s [f32] = cur;
        Ok((&out[..batch * width], added_loss))
    }

    /// [`infer`](Self::infer) for a graph: each output at its place in the [`Arena`].
    fn infer_graph<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        mut rows: Option<&mut Rows<'_>>,
        scratch: &'s mut [f32],
    ) -> Result<(&'s [f32], f32), Error> {
        let widths = self.widths();
        let arena = Arena::of(self);
        let place = |j: usize| {
            let at = arena.offsets[j] * batch;
            at..at + widths[j] as usize * batch
        };
        let mut added_loss = 0.0;
        for i in 0..self.layers.len() {
            let at = place(i);
            let (before, rest) = scratch.split_at_mut(at.start);
            let (dst, after) = rest.split_at_mut(at.len());
            let sources = self.sources(i, inputs, batch, |j| {
                let r = place(j);
                // Live outputs never overlap the one being written.
                if r.start < at.start {
                    &before[r]
                } else {
                    &after[r.start - at.end..r.end - at.end]
                }
            });
            let mut train = Rows::training(&rows, i);
            let params = &params[self.param_range(i)];
            let added = self.forward_layer(kernel, i, params, &sources, batch, dst, train.as_mut())?;
            added_loss += Rows::gather(&mut rows, i, &self.layers[i], dst, added);
        }
        let last: &'s [f32] = scratch;
        Ok((&last[place(self.layers.len() - 1)], added_loss))
    }

    /// Layer `i`'s input slices: `inputs` for the network input, `output(j)` for layer `j`'s.
    pub(crate) fn sources<'x>(
        &self,
        i: usize,
        inputs: &'x [f32],
        batch: usize,
        output: impl Fn(usize) -> &'x [f32],
    ) -> Sources<'x> {
        let inbound = self.inbound(i);
        let mut all: [&[f32]; MAX_INPUTS] = [&[]; MAX_INPUTS];
        for (slot, source) in all.iter_mut().zip(inbound.sources()) {
            *slot = match *source {
                Source::Input => &inputs[..batch * self.input],
                Source::Layer(j) => output(usize::from(j)),
            };
        }
        Sources {
            all,
            len: inbound.sources().len(),
        }
    }

    /// Runs layer `i` forward from its inputs into `dst`: a merge combines them, any
    /// other layer maps its one input. Returns what the layer adds to the batch loss.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_layer<K: MatMul>(
        &self,
        kernel: &K,
        i: usize,
        params: &[f32],
        sources: &Sources<'_>,
        batch: usize,
        dst: &mut [f32],
        train: Option<&mut Training<'_>>,
    ) -> Result<f32, Error> {
        match self.layers[i] {
            Layer::Merge(m) => {
                merge::forward(m, sources.get(), batch, dst);
                Ok(0.0)
            }
            layer => {
                let io = Io {
                    params,
                    src: sources.get()[0],
                    dst,
                    batch,
                    w_in: self.layer_input_width(i),
                };
                layer.forward(kernel, io, train)
            }
        }
    }
}

/// A layer's input slices, in its [`Inbound`] order.
pub(crate) struct Sources<'x> {
    all: [&'x [f32]; MAX_INPUTS],
    len: usize,
}

impl<'x> Sources<'x> {
    /// The slices.
    pub(crate) fn get(&self) -> &[&'x [f32]] {
        &self.all[..self.len]
    }
}

/// Where a graph's inference keeps each layer's output: one arena of `L` values per
/// sample, each output at a fixed offset, live from its layer until its last consumer
/// (the network's output until the end). Layers in order, each output goes to the
/// lowest offset — 0 or the end of a live output — where it overlaps no live output
/// (first fit); `L` is the highest end, at most `Σ_i w_i`. Offsets are per sample: the
/// buffers of a batch of `N` lie at `N ×` them, in `N·L` values.
pub(crate) struct Arena {
    /// Offset of each layer's output.
    pub offsets: [usize; MAX_LAYERS],
    /// `L`.
    pub len: usize,
}

impl Arena {
    /// The arena of `net`'s graph.
    pub(crate) fn of(net: &Network<'_>) -> Arena {
        let n = net.layers.len();
        let widths = net.widths().map(|w| w as usize);
        let mut last_use = [0usize; MAX_LAYERS];
        for i in 0..n {
            for source in net.inbound(i).sources() {
                if let Source::Layer(j) = *source {
                    last_use[usize::from(j)] = i;
                }
            }
        }
        last_use[n - 1] = n;
        let mut offsets = [0usize; MAX_LAYERS];
        let mut len = 0;
        for i in 0..n {
            let live = (0..i).filter(|&j| last_use[j] >= i);
            let end = |at: usize, w: usize| at.saturating_add(w);
            let fits = |at: usize| {
                live.clone()
                    .all(|j| end(at, widths[i]) <= offsets[j] || end(offsets[j], widths[j]) <= at)
            };
            let at = core::iter::once(0)
                .chain(live.clone().map(|j| end(offsets[j], widths[j])))
                .filter(|&at| fits(at))
                .min()
                .unwrap_or(0);
            offsets[i] = at;
            len = len.max(end(at, widths[i]));
        }
        Arena { offsets, len }
    }
}

/// Errors unless a buffer has exactly the length the network needs.
pub(crate) fn check_len(what: Buffer, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::BufferSize {
            what,
            expected,
            actual,
        })
    }
}

/// Where the samples [`Network::predict_rows`] runs lie in their batch, and what it gathers
/// for the whole batch.
///
/// ```
/// use microdense_core::{Activation, Layer, Network, PenaltySums, Portable, Regularizer, Rows};
/// let layers = [Layer::Dense {
///     units: 2,
///     activation: Activation::Linear,
///     use_bias: false,
///     activity_regularizer: Some(Regularizer { l1: 0.5, l2: 0.0 }),
/// }];
/// let net = Network::new(2, &layers).unwrap();
/// let weights = [1.0, 0.0, 0.0, 1.0]; // the identity
/// let mut sums = [PenaltySums::default(); 1];
/// let mut rows = Rows { noise: None, first_sample: 0, penalties: &mut sums };
/// let mut scratch = [0.0; 4];
/// for (sample, x) in [[1.0, -2.0], [3.0, 4.0]].iter().enumerate() {
///     rows.first_sample = sample;
///     net.predict_rows(&Portable, &weights, x, 1, &mut rows, &mut scratch).unwrap();
/// }
/// // 0.5 · (|1| + |-2| + |3| + |4|), as the batch run at once gives.
/// assert_eq!(rows.penalty(&layers), 5.0);
/// ```
pub struct Rows<'p> {
    /// `Some(seed)`: dropout and noise layers draw as a frozen prefix's do in fine-tuning
    /// (layer `i`, sample `s` of the batch from [`Rng::keyed`]`(seed, i, s)`); `None`:
    /// they are the identity (inference).
    pub noise: Option<u64>,
    /// Index in the batch of the first sample run.
    pub first_sample: usize,
    /// Each layer's running activity-penalty sums over the batch so far (one per layer of
    /// the network run).
    pub penalties: &'p mut [PenaltySums],
}

impl Rows<'_> {
    /// The seed of a training step's noise in the frozen prefix `layers`, drawn from `rng`
    /// when one of them draws (dropout, noise); `None`, drawing nothing, otherwise.
    pub fn frozen_noise(layers: &[Layer], rng: &mut Rng) -> Option<u64> {
        layers.iter().any(Layer::draws).then(|| rng.next_u64())
    }

    /// The batch's activity penalty so far: each layer's, added in layer order (the bits of
    /// the penalty the layers add run over the whole batch at once).
    pub fn penalty(&self, layers: &[Layer]) -> f32 {
        layers
            .iter()
            .zip(self.penalties.iter())
            .filter_map(|(layer, &sums)| layer.activity_regularizer().map(|r| r.penalty(sums)))
            .fold(0.0, |total, p| total + p)
    }

    /// Layer `i`'s training pass under `rows`: a frozen prefix's when it draws noise.
    fn training(rows: &Option<&mut Rows<'_>>, i: usize) -> Option<Training<'static>> {
        let rows = rows.as_ref()?;
        Some(Training::frozen(rows.noise?, i, rows.first_sample))
    }

    /// Gathers layer `i`'s activity penalty of its `output` into `rows` and returns 0, or
    /// without `rows` returns `added`, what the layer's forward pass returned.
    fn gather(rows: &mut Option<&mut Rows<'_>>, i: usize, layer: &Layer, output: &[f32], added: f32) -> f32 {
        match rows {
            Some(rows) => {
                if layer.activity_regularizer().is_some() {
                    Regularizer::accumulate(output, &mut rows.penalties[i]);
                }
                0.0
            }
            None => added,
        }
    }
}
