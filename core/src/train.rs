//! Back-propagation over a batch, for all layers or only the last few.

use crate::network::{check_len, dense_linear, forward_layer};
use crate::{
    Activation, BatchDefect, Buffer, Error, Layer, Loss, Mat, MatMul, Network, Rng, Sgd, SgdState, Targets,
};

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
/// # Buffer sizes (in `f32`)
///
/// With a batch of `N`, `W` the network's widest layer output, `w_i` layer `i`'s output
/// width and `f` the first trainable layer:
///
/// - trainable parameters and gradients: [`trainable_param_count`](Self::trainable_param_count)
///   `= param_count − param_offset(f)` each;
/// - optimizer state: [`Sgd::state_len`] of that (equal to it with momentum, else 0);
/// - scratch: [`scratch_len`](Self::scratch_len)`(N) = N·(s + 2·W)` where
///   `s = [f > 0]·in_f + Σ_{i ≥ f} (w_i + e_i)`, `in_f` the input width of layer `f`, and
///   `e_i` = `w_i` for a Dense layer with a non-linear fused activation (its
///   pre-activation) or a Dropout layer (its mask), else 0.
#[derive(Clone, Copy, Debug)]
pub struct Trainer<'a> {
    net: Network<'a>,
    first: usize,
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
        Ok(Trainer { net, first })
    }

    /// Trains the last `k` weighted layers of `net`.
    pub fn last_weighted(net: Network<'a>, k: usize) -> Self {
        Trainer {
            net,
            first: net.first_trainable_layer(k),
        }
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

    /// Number of trainable parameters (also the gradient length).
    pub fn trainable_param_count(&self) -> usize {
        self.net.param_count() - self.frozen_param_count()
    }

    /// Per-sample stored values `s` (see the type's docs).
    fn stored_per_sample(&self) -> usize {
        let mut total = if self.first > 0 {
            self.net.layer_input_width(self.first)
        } else {
            0
        };
        for i in self.first..self.net.layers().len() {
            total += self.net.layer_output_width(i) + self.extra_width(i);
        }
        total
    }

    /// `e_i`: extra per-sample values layer `i` stores for the backward pass.
    fn extra_width(&self, i: usize) -> usize {
        match self.net.layers()[i] {
            Layer::Dense {
                units, activation, ..
            } if activation != Activation::Linear => units as usize,
            Layer::Dropout { .. } => self.net.layer_output_width(i),
            _ => 0,
        }
    }

    /// f32 of scratch a batch of `batch` samples needs: `N·(s + 2·W)`.
    pub fn scratch_len(&self, batch: usize) -> usize {
        batch.saturating_mul(self.stored_per_sample() + 2 * self.net.max_output_width())
    }

    /// Offsets, within the stored region, of layer `i`'s extra values and of its output:
    /// each trainable layer stores `[extra | output]`, after the input of layer `f`.
    fn slots(&self, i: usize, batch: usize) -> (usize, usize) {
        let mut off = if self.first > 0 {
            self.net.layer_input_width(self.first)
        } else {
            0
        };
        for j in self.first..i {
            off += self.extra_width(j) + self.net.layer_output_width(j);
        }
        (off * batch, (off + self.extra_width(i)) * batch)
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
    /// `scale = 1 / N` for Keras's mean over the batch. Dropout draws from `rng`.
    #[allow(clippy::too_many_arguments)]
    pub fn gradients<K: MatMul>(
        &self,
        kernel: &K,
        frozen: &[f32],
        trainable: &[f32],
        inputs: &[f32],
        targets: &Targets,
        loss: Loss,
        scale: f32,
        rng: &mut Rng,
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<BatchStats, Error> {
        let net = self.net;
        let layers = net.layers();
        let outputs = net.output_width();
        let batch = targets.samples(outputs);
        if batch == 0 {
            return Err(Error::Batch {
                reason: BatchDefect::NoSamples,
            });
        }
        if let Targets::Values(v) = targets {
            check_len(Buffer::Targets, batch * outputs, v.len())?;
        }
        check_len(Buffer::FrozenParameters, self.frozen_param_count(), frozen.len())?;
        check_len(
            Buffer::TrainableParameters,
            self.trainable_param_count(),
            trainable.len(),
        )?;
        check_len(Buffer::Gradients, self.trainable_param_count(), grads.len())?;
        check_len(Buffer::Inputs, batch * net.input_width(), inputs.len())?;
        check_len(Buffer::TrainingScratch, self.scratch_len(batch), scratch.len())?;

        let w_max = batch * net.max_output_width();
        let (stored, work) = scratch.split_at_mut(self.stored_per_sample() * batch);
        let (work_a, work_b) = work.split_at_mut(w_max);
        let offset = self.frozen_param_count();
        let params_of = |i: usize| -> &[f32] {
            let r = net.param_range(i);
            if i < self.first {
                &frozen[r]
            } else {
                &trainable[r.start - offset..r.end - offset]
            }
        };

        // Frozen prefix: forward only, ping-ponging through the work buffers, the last
        // output landing at the start of `stored`.
        {
            let (mut cur, mut next) = (&mut *work_a, &mut *work_b);
            let mut width = net.input_width();
            for (i, layer) in layers.iter().enumerate().take(self.first) {
                let out = layer.output_width(width);
                let src: &[f32] = if i == 0 { inputs } else { &cur[..batch * width] };
                let dst: &mut [f32] = if i + 1 == self.first {
                    &mut stored[..batch * out]
                } else {
                    &mut next[..batch * out]
                };
                if let Layer::Dropout { rate } = *layer {
                    dropout(src, dst, None, rate, rng);
                } else {
                    forward_layer(kernel, layer, params_of(i), src, dst, batch, width)?;
                }
                core::mem::swap(&mut cur, &mut next);
                width = out;
            }
        }

        // Trainable suffix: forward, keeping every output (and pre-activations, masks).
        for (i, layer) in layers.iter().enumerate().skip(self.first) {
            let w_in = net.layer_input_width(i);
            let w_out = net.layer_output_width(i);
            let (extra_at, out_at) = self.slots(i, batch);
            let (before, after) = stored.split_at_mut(extra_at);
            let src: &[f32] = match self.input_at(i, batch) {
                Some(at) => &before[at..at + batch * w_in],
                None => inputs,
            };
            let (extra, rest) = after.split_at_mut(out_at - extra_at);
            let dst = &mut rest[..batch * w_out];
            match *layer {
                Layer::Dense {
                    units,
                    activation,
                    use_bias,
                } => {
                    dense_linear(
                        kernel,
                        params_of(i),
                        src,
                        dst,
                        batch,
                        w_in,
                        units as usize,
                        use_bias,
                    )?;
                    if activation != Activation::Linear {
                        extra.copy_from_slice(dst);
                        activation.forward_rows(kernel, dst, w_out);
                    }
                }
                Layer::Dropout { rate } => dropout(src, dst, Some(extra), rate, rng),
                _ => forward_layer(kernel, layer, &[], src, dst, batch, w_in)?,
            }
        }

        // Loss and its gradient with respect to the network's output.
        let stored: &[f32] = stored;
        let last = layers.len() - 1;
        let pred = &stored[self.slots(last, batch).1..][..batch * outputs];
        let mut stats = BatchStats {
            samples: batch as u32,
            ..BatchStats::default()
        };
        let (mut g, mut g_next) = (work_a, work_b);
        for (s, row) in pred.chunks_exact(outputs).enumerate() {
            stats.loss_sum += loss.value(row, targets, s);
            stats.correct += loss.is_correct(row, targets, s) as u32;
            loss.gradient(row, targets, s, scale, &mut g[s * outputs..(s + 1) * outputs]);
        }

        // Backward through the trainable suffix.
        for i in (self.first..layers.len()).rev() {
            let w_in = net.layer_input_width(i);
            let w_out = net.layer_output_width(i);
            let (extra_at, out_at) = self.slots(i, batch);
            let input: &[f32] = match self.input_at(i, batch) {
                Some(at) => &stored[at..at + batch * w_in],
                None => inputs,
            };
            let output = &stored[out_at..out_at + batch * w_out];
            let extra = &stored[extra_at..out_at];
            let grad = &mut g[..batch * w_out];
            match layers[i] {
                Layer::Dense {
                    units,
                    activation,
                    use_bias,
                } => {
                    let units = units as usize;
                    if activation != Activation::Linear {
                        for ((z, y), d) in extra
                            .chunks_exact(units)
                            .zip(output.chunks_exact(units))
                            .zip(grad.chunks_exact_mut(units))
                        {
                            activation.backward(z, y, d);
                        }
                    }
                    let r = net.param_range(i);
                    let layer_grads = &mut grads[r.start - offset..r.end - offset];
                    let (d_kernel, d_bias) = layer_grads.split_at_mut(w_in * units);
                    kernel.matmul(
                        w_in,
                        batch,
                        units,
                        Mat::transposed(input, w_in),
                        Mat::row_major(grad, units),
                        d_kernel,
                    )?;
                    if use_bias {
                        d_bias.fill(0.0);
                        for row in grad.chunks_exact(units) {
                            for (b, d) in d_bias.iter_mut().zip(row) {
                                *b += d;
                            }
                        }
                    }
                    if i > self.first {
                        let weights = &params_of(i)[..w_in * units];
                        kernel.matmul(
                            batch,
                            units,
                            w_in,
                            Mat::row_major(grad, units),
                            Mat::transposed(weights, units),
                            &mut g_next[..batch * w_in],
                        )?;
                        core::mem::swap(&mut g, &mut g_next);
                    }
                }
                Layer::Activation(activation) => {
                    for ((x, y), d) in input
                        .chunks_exact(w_in)
                        .zip(output.chunks_exact(w_out))
                        .zip(grad.chunks_exact_mut(w_out))
                    {
                        activation.backward(x, y, d);
                    }
                }
                Layer::Dropout { .. } => {
                    for (d, m) in grad.iter_mut().zip(extra) {
                        *d *= m;
                    }
                }
                Layer::Flatten => {}
            }
        }
        Ok(stats)
    }

    /// One SGD step on a batch: [`gradients`](Self::gradients) with `scale = 1 / N`, then
    /// [`Sgd::step`] on the trainable parameters.
    #[allow(clippy::too_many_arguments)]
    pub fn step<K: MatMul>(
        &self,
        kernel: &K,
        sgd: &Sgd,
        state: &mut SgdState,
        frozen: &[f32],
        trainable: &mut [f32],
        inputs: &[f32],
        targets: &Targets,
        loss: Loss,
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
        sgd.step(trainable, grads, state)?;
        Ok(stats)
    }
}

/// Inverted dropout: keeps each value with probability `1 - rate`, scaled by `1 / (1 - rate)`;
/// records the factor applied to each value in `mask` when given.
fn dropout(src: &[f32], dst: &mut [f32], mut mask: Option<&mut [f32]>, rate: f32, rng: &mut Rng) {
    let keep = 1.0 / (1.0 - rate);
    for (i, (d, s)) in dst.iter_mut().zip(src).enumerate() {
        let factor = if rate > 0.0 && rng.next_f32() < rate {
            0.0
        } else {
            keep
        };
        *d = s * factor;
        if let Some(m) = mask.as_deref_mut() {
            m[i] = factor;
        }
    }
}

impl Network<'_> {
    /// Loss and accuracy of a batch at inference (dropout off), e.g. for `evaluate`.
    ///
    /// Uses `scratch` of [`inference_scratch_len`](Self::inference_scratch_len)`(N)`.
    pub fn evaluate<K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        targets: &Targets,
        loss: Loss,
        scratch: &mut [f32],
    ) -> Result<BatchStats, Error> {
        let outputs = self.output_width();
        let batch = targets.samples(outputs);
        let pred = self.predict(kernel, params, inputs, batch, scratch)?;
        let mut stats = BatchStats {
            samples: batch as u32,
            ..BatchStats::default()
        };
        for (s, row) in pred.chunks_exact(outputs).enumerate() {
            stats.loss_sum += loss.value(row, targets, s);
            stats.correct += loss.is_correct(row, targets, s) as u32;
        }
        Ok(stats)
    }
}
