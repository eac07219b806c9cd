//! Back-propagation through a graph: every layer's output is kept, and the gradient of an
//! output several layers take is the sum of what each sends back.

use super::{loss_gradient, Params, Trainer};
use crate::layer::{merge, Backward, Draws, Flow, Training};
use crate::{BatchStats, Error, Layer, LossFunction, MatMul, Rng, Source, Targets};

/// The parts of a graph's training scratch.
pub(super) struct Buffers<'s> {
    /// Every layer's output, and the trainable layers' kept values: `N·s`.
    pub stored: &'s mut [f32],
    /// dL/d`input` of the layer being back-propagated: `N·W`.
    pub work: &'s mut [f32],
    /// The trainable layers' per-batch values: `c`.
    pub stats: &'s mut [f32],
    /// The summed gradient of each trainable layer's output: `N·a`.
    pub sums: &'s mut [f32],
}

impl Trainer<'_> {
    /// `s` for a graph: `Σ_i w_i + Σ_{i ≥ f} e_i`.
    pub(super) fn graph_stored_per_sample(&self) -> usize {
        (0..self.net.layers().len()).map(|i| self.stored_by(i)).sum()
    }

    /// `a`: `Σ_{i ≥ f} w_i` for a graph, 0 for a chain.
    pub(super) fn summed_per_sample(&self) -> usize {
        if !self.net.is_graph() {
            return 0;
        }
        (self.first..self.net.layers().len())
            .map(|i| self.net.layer_output_width(i))
            .sum()
    }

    /// Per-sample values layer `i` stores: its output, and its kept values if trainable.
    fn stored_by(&self, i: usize) -> usize {
        let kept = if i >= self.first {
            self.kept_per_sample(i)
        } else {
            0
        };
        kept + self.net.layer_output_width(i)
    }

    /// Offsets, within the stored region, of layer `i`'s kept values and of its output:
    /// each layer stores `[kept | output]`, in order.
    fn graph_slots(&self, i: usize, batch: usize) -> (usize, usize) {
        let at: usize = (0..i).map(|j| self.stored_by(j)).sum();
        (
            at * batch,
            (at + self.stored_by(i) - self.net.layer_output_width(i)) * batch,
        )
    }

    /// Layer `i`'s output in the stored region.
    fn output_of<'s>(&self, stored: &'s [f32], i: usize, batch: usize) -> &'s [f32] {
        let at = self.graph_slots(i, batch).1;
        &stored[at..at + batch * self.net.layer_output_width(i)]
    }

    /// Offset of trainable layer `i`'s gradient sum.
    fn sum_at(&self, i: usize, batch: usize) -> usize {
        (self.first..i)
            .map(|j| self.net.layer_output_width(j))
            .sum::<usize>()
            * batch
    }

    /// [`Trainer::gradients`] for a graph.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn graph_gradients<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        targets: &Targets,
        loss: LossFunction,
        scale: f32,
        rng: &mut Rng,
        grads: &mut [f32],
        buffers: Buffers<'_>,
    ) -> Result<BatchStats, Error> {
        let net = self.net;
        let batch = targets.samples(net.output_width());
        let Buffers {
            stored,
            work,
            stats,
            sums,
        } = buffers;
        let (trainable_loss, frozen_loss) =
            self.graph_forward(kernel, params, inputs, batch, rng, stored, stats)?;
        let stored: &[f32] = stored;
        let last = net.layers().len() - 1;
        sums.fill(0.0);
        let at = self.sum_at(last, batch);
        let pred = self.output_of(stored, last, batch);
        let mut out = loss_gradient(pred, targets, loss, scale, batch, &mut sums[at..at + pred.len()]);
        out.add_penalties(trainable_loss, frozen_loss);
        for i in (self.first..=last).rev() {
            self.graph_backward(
                kernel, params, inputs, batch, scale, stored, stats, grads, work, sums, i,
            )?;
        }
        Ok(out)
    }

    /// Every layer forward, each output and the trainable layers' kept values stored
    /// (frozen layers' dropout and noise drawn sample by sample, as in a chain's prefix).
    /// Returns the loss the trainable layers add, and the frozen ones.
    #[allow(clippy::too_many_arguments)]
    fn graph_forward<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        batch: usize,
        rng: &mut Rng,
        stored: &mut [f32],
        stats: &mut [f32],
    ) -> Result<(f32, f32), Error> {
        let seed = self.frozen_seed(rng);
        let (mut trainable_loss, mut frozen_loss) = (0.0, 0.0);
        for i in 0..self.net.layers().len() {
            let (kept_at, out_at) = self.graph_slots(i, batch);
            let (before, after) = stored.split_at_mut(kept_at);
            let (kept, rest) = after.split_at_mut(out_at - kept_at);
            let before: &[f32] = before;
            let sources = self
                .net
                .sources(i, inputs, batch, |j| self.output_of(before, j, batch));
            let dst = &mut rest[..batch * self.net.layer_output_width(i)];
            if i < self.first {
                let mut train = Training::frozen(seed, i, 0);
                frozen_loss += self.net.forward_layer(
                    kernel,
                    i,
                    params.of(i),
                    &sources,
                    batch,
                    dst,
                    Some(&mut train),
                )?;
                continue;
            }
            let at = self.stats_at(i);
            let mut train = Training {
                draws: Draws::Stream(rng),
                kept,
                stats: &mut stats[at..at + self.kept_per_batch(i)],
                batch_statistics: self.batch_statistics,
            };
            trainable_loss +=
                self.net
                    .forward_layer(kernel, i, params.of(i), &sources, batch, dst, Some(&mut train))?;
        }
        Ok((trainable_loss, frozen_loss))
    }

    /// Back-propagates trainable layer `i` from its summed output gradient, adding what
    /// reaches each trainable input to that input's sum.
    #[allow(clippy::too_many_arguments)]
    fn graph_backward<K: MatMul>(
        &self,
        kernel: &K,
        params: &Params,
        inputs: &[f32],
        batch: usize,
        scale: f32,
        stored: &[f32],
        stats: &[f32],
        grads: &mut [f32],
        work: &mut [f32],
        sums: &mut [f32],
        i: usize,
    ) -> Result<(), Error> {
        let net = self.net;
        let (lower, own) = sums.split_at_mut(self.sum_at(i, batch));
        let grad = &mut own[..batch * net.layer_output_width(i)];
        let sources = net.sources(i, inputs, batch, |j| self.output_of(stored, j, batch));
        // Where the sum of a trainable source lies: only those get gradients.
        let sum_of = |source: Source| match source {
            Source::Layer(j) if usize::from(j) >= self.first => {
                let j = usize::from(j);
                let at = self.sum_at(j, batch);
                Some(at..at + batch * net.layer_output_width(j))
            }
            _ => None,
        };
        let inbound = net.inbound(i);
        let layer = net.layers()[i];
        if let Layer::Merge(m) = layer {
            for (k, &source) in inbound.sources().iter().enumerate() {
                if let Some(sum) = sum_of(source) {
                    merge::backward(m, k, sources.get(), batch, grad, &mut lower[sum]);
                }
            }
            return Ok(());
        }
        let w_in = net.layer_input_width(i);
        let (kept_at, out_at) = self.graph_slots(i, batch);
        let r = net.param_range(i);
        let at = self.stats_at(i);
        let b = Backward {
            params: params.of(i),
            input: sources.get()[0],
            output: self.output_of(stored, i, batch),
            kept: &stored[kept_at..out_at],
            stats: &stats[at..at + self.kept_per_batch(i)],
            grads: &mut grads[r.start - params.offset..r.end - params.offset],
            batch,
            w_in,
            scale,
            batch_statistics: self.batch_statistics,
        };
        let sum = sum_of(inbound.sources()[0]);
        let next = sum.is_some().then(|| &mut work[..batch * w_in]);
        let flow = layer.backward(kernel, b, grad, next)?;
        if let Some(sum) = sum {
            let input_grad: &[f32] = match flow {
                Flow::InPlace => grad,
                Flow::Next => &work[..batch * w_in],
            };
            lower[sum].iter_mut().zip(input_grad).for_each(|(s, &g)| *s += g);
        }
        Ok(())
    }
}
