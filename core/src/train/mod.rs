//! Back-propagation over a batch, for all layers or only the last few.

mod graph;

use crate::layer::{Backward, Draws, Flow, Io, Training};
use crate::network::check_len;
use crate::{
    kinds, BatchDefect, Buffer, Error, Layer, LossFunction, MatMul, Network, Optimizer, OptimizerScalars,
    Rng, Rows, Targets,
};
use core::ops::Range;

/// Loss and accuracy of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Sum over the batch of each sample's loss (divide by `samples` for Keras's mean).
    pub loss_sum: f32,
    /// Samples counted correct by the accuracy metric.
    pub correct: u32,
    /// Samples in the batch.
    pub samples: u32,
}

impl BatchStats {
    /// Adds what activity regularizers add to the loss: the trainable layers' penalty,
    /// then the frozen prefix's (the order a device, running its prefix apart, follows).
    pub fn add_penalties(&mut self, trainable: f32, frozen: f32) {
        self.loss_sum += trainable;
        self.loss_sum += frozen;
    }

    /// Adds another batch's figures to these.
    pub fn merge(&mut self, other: BatchStats) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
        self.samples += other.samples;
    }
}

/// Trains the layers from `first` on (the "trainable suffix") of a [`Network`]; layers
/// before it are frozen and only run forward, so their weights may stay in flash.
///
/// BatchNormalization layers in the suffix normalise with their moving statistics
/// (frozen statistics, trainable `gamma`/`beta`: how Keras fine-tunes) unless
/// [`with_batch_statistics`](Self::with_batch_statistics) asks for Keras's `fit`
/// behaviour (the batch's moments, moving averages updated). Non-trainable weights in the
/// suffix get zero gradients; [`commit_statistics`](Self::commit_statistics) gives them
/// their next values after the optimizer step ([`step`](Self::step) does both).
///
/// # Buffer sizes (in `f32`)
///
/// With a batch of `N`, `W` the network's widest layer output, `w_i` layer `i`'s output
/// width and `f` the first trainable layer:
///
/// - trainable parameters and gradients: [`trainable_param_count`](Self::trainable_param_count)
///   `= param_count − param_offset(f)` each;
/// - optimizer state: [`Optimizer::state_len`] of that (slots per parameter: 0 for
///   plain SGD, 1 with momentum, 2 for Adam, ...);
/// - scratch: [`scratch_len`](Self::scratch_len)`(N) = N·(s + 2·W) + c` for a chain,
///   where `s = [f > 0]·in_f + Σ_{i ≥ f} (w_i + e_i)`, `in_f` the input width of layer
///   `f`, `e_i` = `w_i` for a Dense layer with a non-linear fused activation (its
///   pre-activation) or a Dropout, GaussianDropout or AlphaDropout layer (its mask),
///   else 0; and `c = Σ_{i ≥ f} c_i` with `c_i = 2·w_i` for a BatchNormalization
///   (`4·w_i` with batch statistics) or a Normalization layer, else 0;
/// - scratch for a graph ([`Network::graph`]): `N·(s + W + a) + c` where every output is
///   kept, `s = Σ_i w_i + Σ_{i ≥ f} e_i`, and `a = Σ_{i ≥ f} w_i` holds each trainable
///   output's gradient, summed over the layers that take it.
#[derive(Clone, Copy, Debug)]
pub struct Trainer<'a> {
    net: Network<'a>,
    first: usize,
    batch_statistics: bool,
}

/// Where the parts of the training scratch lie for a batch: `[stored | work_a | work_b |
/// per-batch values | gradient sums]`.
struct ScratchLayout {
    /// Per-sample stored values: `N·s`.
    stored: usize,
    /// The first work buffer: `N·W`.
    work_a: usize,
    /// The second work buffer: `N·W` for a chain, none for a graph.
    work_b: usize,
    /// The summed gradients of a graph's trainable outputs: `N·a`.
    sums: usize,
}

impl<'a> Trainer<'a> {
    /// Trains layers `first..` of `net` (`0` trains everything).
    pub fn new(net: Network<'a>, first: usize) -> Result<Self, Error> {
        if first > net.layers().len() {
            return Err(Error::LayerIndex {
                index: first,
                layers: net.layers().len(),
            });
        }
        Ok(Trainer {
            net,
            first,
            batch_statistics: false,
        })
    }

    /// Trains the last `k` weighted layers of `net`.
    pub fn last_weighted(net: Network<'a>, k: usize) -> Self {
        Trainer {
            net,
            first: net.first_trainable_layer(k),
            batch_statistics: false,
        }
    }

    /// The same trainer with BatchNormalization in the suffix normalising with each
    /// batch's moments and updating its moving statistics (`true`, Keras's `fit`), or
    /// with its moving statistics frozen (`false`, the default).
    pub fn with_batch_statistics(self, on: bool) -> Self {
        Trainer {
            batch_statistics: on,
            ..self
        }
    }

    /// Whether BatchNormalization uses the batch's moments.
    pub fn batch_statistics(&self) -> bool {
        self.batch_statistics
    }

    /// The network.
    pub fn network(&self) -> Network<'a> {
        self.net
    }

    /// Index of the first trainable layer.
    pub fn first_trainable(&self) -> usize {
        self.first
    }

    /// Number of parameters before the trainable suffix (the frozen prefix).
    pub fn frozen_param_count(&self) -> usize {
        self.net.param_offset(self.first)
    }

    /// Number of parameters of the trainable suffix (also the gradient length),
    /// non-trainable ones (moving statistics) included.
    pub fn trainable_param_count(&self) -> usize {
        self.net.param_count() - self.frozen_param_count()
    }

    /// Per-sample stored values `s` (see the type's docs).
    fn stored_per_sample(&self) -> usize {
        if self.net.is_graph() {
            return self.graph_stored_per_sample();
        }
        let mut total = if self.first > 0 {
            self.net.layer_input_width(self.first)
        } else {
            0
        };
        for i in self.first..self.net.layers().len() {
            total += self.net.layer_output_width(i) + self.kept_per_sample(i);
        }
        total
    }

    /// `e_i`: per-sample values layer `i` keeps for the backward pass.
    fn kept_per_sample(&self, i: usize) -> usize {
        self.net.layers()[i].kept_per_sample(self.net.layer_input_width(i))
    }

    /// `c_i`: per-batch values layer `i` keeps.
    fn kept_per_batch(&self, i: usize) -> usize {
        self.net.layers()[i].kept_per_batch(self.net.layer_input_width(i), self.batch_statistics)
    }

    /// Offset of layer `i`'s per-batch values in the per-batch region.
    fn stats_at(&self, i: usize) -> usize {
        (self.first..i).map(|j| self.kept_per_batch(j)).sum()
    }

    fn layout(&self, batch: usize) -> ScratchLayout {
        let work = self.net.max_output_width() * batch;
        let graph = self.net.is_graph();
        ScratchLayout {
            stored: self.stored_per_sample() * batch,
            work_a: work,
            work_b: if graph { 0 } else { work },
            sums: if graph {
                self.summed_per_sample() * batch
            } else {
                0
            },
        }
    }

    /// f32 of scratch a batch of `batch` samples needs: `N·(s + 2·W) + c` for a chain,
    /// `N·(s + W + a) + c` for a graph.
    pub fn scratch_len(&self, batch: usize) -> usize {
        let works = if self.net.is_graph() { 1 } else { 2 };
        let per_sample = self.stored_per_sample() + works * self.net.max_output_width();
        batch
            .saturating_mul(per_sample.saturating_add(self.summed_per_sample()))
            .saturating_add(self.stats_at(self.net.layers().len()))
    }

    /// f32 a device needs to fine-tune the suffix over `batch` samples with `optimizer`,
    /// running the frozen prefix separately (its weights stay in flash and each sample's
    /// prefix output goes straight into the suffix's inputs): the trainable weights, their
    /// optimizer state ([`Optimizer::state_len`]) and gradients, the batch's inputs of the
    /// first trainable layer, and the scratch of a trainer of the suffix alone
    /// (`n·(2 + slots) + N·in_f + scratch_len_suffix(N)`).
    ///
    /// Errors for a graph whose suffix is not a chain fed by the output of layer `f − 1`.
    pub fn fine_tune_len(&self, optimizer: &Optimizer, batch: usize) -> Result<usize, Error> {
        let in_f = self.net.layer_input_width(self.first);
        let suffix = self.net.suffix(self.first)?;
        let n = self.trainable_param_count();
        Ok((2 * n + optimizer.state_len(n))
            .saturating_add(batch.saturating_mul(in_f))
            .saturating_add(Trainer::new(suffix, 0)?.scratch_len(batch)))
    }

    /// Offsets, within the stored region, of layer `i`'s kept values and of its output:
    /// each trainable layer stores `[kept | output]`, after the input of layer `f`.
    fn slots(&self, i: usize, batch: usize) -> (usize, usize) {
        let mut off = if self.first > 0 {
            self.net.layer_input_width(self.first)
        } else {
            0
        };
        for j in self.first..i {
            off += self.kept_per_sample(j) + self.net.layer_output_width(j);
        }
        (off * batch, (off + self.kept_per_sample(i)) * batch)
    }

    /// Offset of layer `i`'s input in the stored region (`None`: the caller's inputs).
    fn input_at(&self, i: usize, batch: usize) -> Option<usize> {
        if i > self.first {
            Some(self.slots(i - 1, batch).1)
        } else if self.first > 0 {
            Some(0)
        } else {
            None
        }
    }

    /// Computes `scale ×` the gradient of the batch loss with respect to the trainable
    /// parameters into `grads`, and returns the batch's loss and accuracy.
    ///
    /// `frozen` holds the parameters of layers before the first trainable one and
    /// `trainable` the rest (for a fully trainable network `frozen` is empty). Pass
    /// `scale = 1 / N` for Keras's mean over the batch. Dropout and noise draw from `rng`.
    /// Afterwards `scratch` holds the non-trainable weights' next values for
    /// [`commit_statistics`](Self::commit_statistics).
    #[allow(clippy::too_many_arguments)]
    pub fn gradients<K: MatMul>(
        &self,
        kernel: &K,
        frozen: &[f32],
        trainable: &[f32],
        inputs: &[f32],
        targets: &Targets,
        loss: impl Into<LossFunction>,
        scale: f32,
        rng: &mut Rng,
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<BatchStats, Error> {
        let loss = loss.into();
        if let Some(kind) = kinds::left_out([loss.needs()]) {
            return Err(Error::NotBuiltIn { kind });
        }
        let net = self.net;
        let batch = targets.samples(net.output_width());
        self.check_buffers(frozen, trainable, inputs, targets, batch, grads, scratch)?;
        let params = Params {
            frozen,
            trainable,
            offset: self.frozen_param_count(),
            net,
            first: self.first,
        };
        let layout = self.layout(batch);
        let (stored, rest) = scratch.split_at_mut(layout.stored);
        let (work_a, rest) = rest.split_at_mut(layout.work_a);
        let (work_b, rest) = rest.split_at_mut(layout.work_b);
        let (stats, sums) = rest.split_at_mut(rest.len() - layout.sums);
        if net.is_graph() {
            let buffers = graph::Buffers {
                stored,
                work: work_a,
                stats,
                sums,
            };
            return self.graph_gradients(kernel, &params, inputs, targets, loss, scale, rng, grads, buffers);
        }

        let seed = self.frozen_seed(rng);
        let frozen_loss =
            self.forward_frozen(kernel, &params, inputs, batch, seed, stored, work_a, work_b)?;
        let trainable_loss = self.forward_trainable(kernel, &params, inputs, batch, rng, stored, stats)?;
        let stored: &[f32] = stored;
        let last = self.net.layers().len() - 1;
        let pred = &stored[self.slots(last, batch).1..][..batch * net.output_width()];
        let mut stats_out = loss_gradient(pred, targets, loss, scale, batch, work_a);
        stats_out.add_penalties(trainable_loss, frozen_loss);
        self.backward(
            kernel, &params, inputs, batch, scale, stored, stats, grads, work_a, work_b,
        )?;
        Ok(stats_out)
    }

    /// Checks every buffer's length against the network and the batch.
    #[allow(clippy::too_many_arguments)]
    fn check_buffers(
        &self,
        frozen: &[f32],
        trainable: &[f32],
        inputs: &[f32],
        targets: &Targets,
        batch: usize,
        grads: &[f32],
        scratch: &[f32],
    ) -> Result<(), Error> {
        if batch == 0 {
            return Err(Error::Batch {
                reason: BatchDefect::NoSamples,
            });
        }
        if let Targets::Values(v) = targets {
            check_len(Buffer::Targets, batch * self.net.output_width(), v.len())?;
        }
        check_len(Buffer::FrozenParameters, self.frozen_param_count(), frozen.len())?;
        check_len(
            Buffer::TrainableParameters,
            self.trainable_param_count(),
            trainable.len(),
        )?;
        check_len(Buffer::Gradients, self.trainable_param_count(), grads.len())?;
        check_len(Buffer::Inputs, batch * self.net.input_width(), inputs.len())?;
        check_len(Buffer::TrainingScratch, self.scratch_len(batch), scratch.len())
    }

    /// The seed of the frozen prefix's dropout and noise ([`Rows::frozen_noise`]; 0 when
    /// none draws).
    fn frozen_seed(&self, rng: &mut Rng) -> u64 {
        Rows::frozen_noise(&self.net.layers()[..self.first], rng).unwrap_or(0)
    }

    /// Frozen prefix: forward only (dropout and noise active, drawn from `seed` sample by
    /// sample; BatchNormalization with its moving statistics), ping-ponging through the
    /// work buffers, the last output landing at the start of `stored`. Returns the loss the
    /// layers add.
    #[allow(clippy::too_many_arguments)]
    fn forward_frozen<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        batch: usize,
        seed: u64,
        stored: &mut [f32],
        work_a: &mut [f32],
        work_b: &mut [f32],
    ) -> Result<f32, Error> {
        let (mut cur, mut next) = (work_a, work_b);
        let mut width = self.net.input_width();
        let mut added_loss = 0.0;
        for (i, layer) in self.net.layers().iter().enumerate().take(self.first) {
            let out = layer.output_width(width);
            let dst: &mut [f32] = if i + 1 == self.first {
                &mut stored[..batch * out]
            } else {
                &mut next[..batch * out]
            };
            let io = Io {
                params: params.of(i),
                src: if i == 0 { inputs } else { &cur[..batch * width] },
                dst,
                batch,
                w_in: width,
            };
            added_loss += layer.forward(kernel, io, Some(&mut Training::frozen(seed, i, 0)))?;
            core::mem::swap(&mut cur, &mut next);
            width = out;
        }
        Ok(added_loss)
    }

    /// Trainable suffix: forward, keeping every output and each layer's kept values.
    /// Returns the loss the layers add.
    #[allow(clippy::too_many_arguments)]
    fn forward_trainable<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        batch: usize,
        rng: &mut Rng,
        stored: &mut [f32],
        stats: &mut [f32],
    ) -> Result<f32, Error> {
        let mut added_loss = 0.0;
        for (i, layer) in self.net.layers().iter().enumerate().skip(self.first) {
            let w_in = self.net.layer_input_width(i);
            let w_out = self.net.layer_output_width(i);
            let (kept_at, out_at) = self.slots(i, batch);
            let (before, after) = stored.split_at_mut(kept_at);
            let (kept, rest) = after.split_at_mut(out_at - kept_at);
            let at = self.stats_at(i);
            let io = Io {
                params: params.of(i),
                src: match self.input_at(i, batch) {
                    Some(at) => &before[at..at + batch * w_in],
                    None => inputs,
                },
                dst: &mut rest[..batch * w_out],
                batch,
                w_in,
            };
            let mut train = Training {
                draws: Draws::Stream(rng),
                kept,
                stats: &mut stats[at..at + self.kept_per_batch(i)],
                batch_statistics: self.batch_statistics,
            };
            added_loss += layer.forward(kernel, io, Some(&mut train))?;
        }
        Ok(added_loss)
    }

    /// Backward through the trainable suffix, from the loss gradient in `work_a`.
    #[allow(clippy::too_many_arguments)]
    fn backward<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        batch: usize,
        scale: f32,
        stored: &[f32],
        stats: &[f32],
        grads: &mut [f32],
        work_a: &mut [f32],
        work_b: &mut [f32],
    ) -> Result<(), Error> {
        let (mut g, mut g_next) = (work_a, work_b);
        for i in (self.first..self.net.layers().len()).rev() {
            let w_in = self.net.layer_input_width(i);
            let w_out = self.net.layer_output_width(i);
            let (kept_at, out_at) = self.slots(i, batch);
            let r = self.net.param_range(i);
            let at = self.stats_at(i);
            let b = Backward {
                params: params.of(i),
                input: match self.input_at(i, batch) {
                    Some(at) => &stored[at..at + batch * w_in],
                    None => inputs,
                },
                output: &stored[out_at..out_at + batch * w_out],
                kept: &stored[kept_at..out_at],
                stats: &stats[at..at + self.kept_per_batch(i)],
                grads: &mut grads[r.start - params.offset..r.end - params.offset],
                batch,
                w_in,
                scale,
                batch_statistics: self.batch_statistics,
            };
            let next = (i > self.first).then(|| &mut g_next[..batch * w_in]);
            let flow = self.net.layers()[i].backward(kernel, b, &mut g[..batch * w_out], next)?;
            if flow == Flow::Next {
                core::mem::swap(&mut g, &mut g_next);
            }
        }
        Ok(())
    }

    /// Writes the non-trainable weights of the suffix (BatchNormalization's moving
    /// statistics, Normalization's mean and variance) to the next values the last
    /// [`gradients`](Self::gradients) call on `batch` samples left in `scratch`: updated
    /// moving averages with batch statistics, else unchanged — whatever an optimizer
    /// step did to them in between.
    pub fn commit_statistics(
        &self,
        trainable: &mut [f32],
        scratch: &[f32],
        batch: usize,
    ) -> Result<(), Error> {
        check_len(
            Buffer::TrainableParameters,
            self.trainable_param_count(),
            trainable.len(),
        )?;
        check_len(Buffer::TrainingScratch, self.scratch_len(batch), scratch.len())?;
        let layout = self.layout(batch);
        let stats = &scratch[layout.stored + layout.work_a + layout.work_b..];
        let offset = self.frozen_param_count();
        for (i, layer) in self.net.layers().iter().enumerate().skip(self.first) {
            let w_in = self.net.layer_input_width(i);
            let n = layer.non_trainable_param_count(w_in);
            if n == 0 {
                continue;
            }
            let end = self.net.param_range(i).end - offset;
            let at = self.stats_at(i);
            trainable[end - n..end].copy_from_slice(&stats[at..at + n]);
        }
        Ok(())
    }

    /// One optimizer step on a batch: [`gradients`](Self::gradients) with `scale = 1 / N`,
    /// [`apply`](Self::apply) on the trainable parameters, then
    /// [`commit_statistics`](Self::commit_statistics).
    #[allow(clippy::too_many_arguments)]
    pub fn step<K: MatMul>(
        &self,
        kernel: &K,
        optimizer: &Optimizer,
        scalars: &mut OptimizerScalars,
        state: &mut [f32],
        frozen: &[f32],
        trainable: &mut [f32],
        inputs: &[f32],
        targets: &Targets,
        loss: impl Into<LossFunction>,
        rng: &mut Rng,
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<BatchStats, Error> {
        let batch = targets.samples(self.net.output_width()).max(1);
        let stats = self.gradients(
            kernel,
            frozen,
            trainable,
            inputs,
            targets,
            loss,
            1.0 / batch as f32,
            rng,
            grads,
            scratch,
        )?;
        self.apply(optimizer, scalars, trainable, grads, state)?;
        self.commit_statistics(trainable, scratch, batch)?;
        Ok(stats)
    }

    /// Applies one step of `optimizer` to the trainable parameters from their gradients,
    /// tensor by tensor as Keras's optimizers see them (each Dense layer's kernel, then its
    /// bias; each per-feature weight of the other layers, such as gamma, beta, alpha):
    /// clipping by norm uses each tensor's sum of squared gradients (and their total),
    /// accumulated in f64. Non-trainable weights (moving statistics) are left alone.
    /// `state` holds [`Optimizer::state_len`] of the trainable parameter count.
    pub fn apply(
        &self,
        optimizer: &Optimizer,
        scalars: &mut OptimizerScalars,
        trainable: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        let n = self.trainable_param_count();
        check_len(Buffer::TrainableParameters, n, trainable.len())?;
        check_len(Buffer::Gradients, n, grads.len())?;
        check_len(Buffer::OptimizerState, optimizer.state_len(n), state.len())?;
        let squares = |g: &[f32]| g.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
        let all = if optimizer.needs_norms() {
            self.tensors().map(|r| squares(&grads[r])).sum()
        } else {
            0.0
        };
        let step = optimizer.begin(scalars);
        let k = optimizer.slots();
        for r in self.tensors() {
            let tensor = if optimizer.needs_norms() {
                squares(&grads[r.clone()])
            } else {
                0.0
            };
            let clip = optimizer.clip(tensor as f32, all as f32);
            optimizer.update(
                &step,
                clip,
                &mut trainable[r.clone()],
                &grads[r.clone()],
                &mut state[r.start * k..r.end * k],
            )?;
        }
        optimizer.end(&step, scalars);
        Ok(())
    }

    /// The trainable weight tensors of the suffix, as ranges of the trainable parameters.
    fn tensors(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let offset = self.frozen_param_count();
        (self.first..self.net.layers().len()).flat_map(move |i| {
            let layer = self.net.layers()[i];
            let start = self.net.param_range(i).start - offset;
            let width = self.net.layer_input_width(i);
            let end = start + layer.trainable_param_count(width);
            // A Dense layer: kernel `width × units`, then the bias; else per-feature tensors.
            let split = match layer {
                Layer::Dense { units, .. } => width * units as usize,
                _ => width.max(1),
            };
            (start..end)
                .step_by(split.max(1))
                .map(move |s| s..(s + split).min(end))
        })
    }
}

/// The loss and accuracy of the predictions `pred` (`batch` rows), and the loss's gradient
/// with respect to them (into `grad`).
fn loss_gradient(
    pred: &[f32],
    targets: &Targets,
    loss: LossFunction,
    scale: f32,
    batch: usize,
    grad: &mut [f32],
) -> BatchStats {
    let outputs = pred.len() / batch.max(1);
    let mut stats = BatchStats {
        samples: batch as u32,
        ..BatchStats::default()
    };
    for (s, row) in pred.chunks_exact(outputs).enumerate() {
        stats.loss_sum += loss.value(row, targets, s);
        stats.correct += loss.is_correct(row, targets, s) as u32;
        loss.gradient(row, targets, s, scale, &mut grad[s * outputs..(s + 1) * outputs]);
    }
    stats
}

/// The flat parameters split at the first trainable layer.
struct Params<'p, 'n> {
    frozen: &'p [f32],
    trainable: &'p [f32],
    /// Length of `frozen`.
    offset: usize,
    net: Network<'n>,
    first: usize,
}

impl Params<'_, '_> {
    /// Layer `i`'s weights.
    fn of(&self, i: usize) -> &[f32] {
        let r = self.net.param_range(i);
        if i < self.first {
            &self.frozen[r]
        } else {
            &self.trainable[r.start - self.offset..r.end - self.offset]
        }
    }
}

impl Network<'_> {
    /// Loss and accuracy of a batch at inference (dropout off), e.g. for `evaluate`; the
    /// loss includes what ActivityRegularization layers add, as in Keras.
    ///
    /// Uses `scratch` of [`inference_scratch_len`](Self::inference_scratch_len)`(N)`.
    pub fn evaluate<K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        targets: &Targets,
        loss: impl Into<LossFunction>,
        scratch: &mut [f32],
    ) -> Result<BatchStats, Error> {
        let loss = loss.into();
        if let Some(kind) = kinds::left_out([loss.needs()]) {
            return Err(Error::NotBuiltIn { kind });
        }
        let outputs = self.output_width();
        let batch = targets.samples(outputs);
        let (pred, added_loss) = self.infer(kernel, params, inputs, batch, None, scratch)?;
        let mut stats = BatchStats {
            samples: batch as u32,
            ..BatchStats::default()
        };
        for (s, row) in pred.chunks_exact(outputs).enumerate() {
            stats.loss_sum += loss.value(row, targets, s);
            stats.correct += loss.is_correct(row, targets, s) as u32;
        }
        // After the samples' losses, as a device running them one by one adds it.
        stats.loss_sum += added_loss;
        Ok(stats)
    }
}
