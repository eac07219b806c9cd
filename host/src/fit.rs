//! Keras's `fit`, `evaluate` and `predict` on a [`Model`], running core's engine.
//!
//! Training cuts every batch of a small model into chunks of [`CHUNK`] samples whatever
//! the number of threads: the threads compute core's gradients chunk by chunk with the
//! [`HostKernel`] (an [`InputKernel`]: the chunk's non-zero inputs are found once, for
//! the first layer's forward product and weight gradient alike), then sum the chunks'
//! gradients in chunk order, each over a slice of the parameters, and apply core's
//! optimizer to it. A model of [`WHOLE_BATCH_PARAMS`] parameters or more (or with
//! BatchNormalization, whose moments are the batch's) takes each batch whole: its
//! products are large enough for the threads to share them in blocks of outputs (see
//! [`crate::gemm`]). Either way each value is summed in one fixed
//! order, so the same seed gives the same weights bit for bit with any `threads`. The
//! loop runs inside its own thread pool (made once per fit), and every piece of training
//! work runs under a [`FlushDenormals`] guard (no subnormal stalls; see
//! [`crate::denormals`]). Evaluation and prediction use core's [`Portable`] kernel
//! without flushing, so they give the device's results bit for bit.

use crate::dataset::Dataset;
use crate::denormals::FlushDenormals;
use crate::gemm::{HostKernel, InputKernel, Sparse, BLOCKS};
use crate::history::{EpochRecord, Evaluation};
use crate::model::{Compile, Model, ModelError, OptimizerState};
use microdense_core::{BatchStats, Layer, Network, Optimizer, Portable, Rng, Targets, Trainer};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Settings of one `fit` call.
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Epochs to run.
    pub epochs: usize,
    /// Samples per batch (Keras's default is 32; the tutorial uses 64).
    pub batch_size: usize,
    /// Seed for shuffling and dropout.
    pub seed: u64,
    /// Shuffle the samples every epoch, as Keras does by default.
    pub shuffle: bool,
    /// Worker threads (1 or more; the default is the machine's available parallelism).
    /// Results do not depend on it.
    pub threads: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 3,
            batch_size: 64,
            seed: 0,
            shuffle: true,
            threads: available_threads(),
        }
    }
}

impl From<BatchStats> for Evaluation {
    fn from(s: BatchStats) -> Self {
        let n = s.samples.max(1) as f64;
        Evaluation {
            loss: s.loss_sum as f64 / n,
            accuracy: s.correct as f64 / n,
        }
    }
}

/// What `fit` reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// An epoch starts.
    EpochStart {
        /// 1-based epoch number.
        epoch: usize,
        /// Number of epochs in this call.
        epochs: usize,
        /// Batches in the epoch.
        steps: usize,
    },
    /// A batch finished; figures are running means over the epoch so far.
    Batch {
        /// Batches done.
        step: usize,
        /// Batches in the epoch.
        steps: usize,
        /// Running training figures.
        score: Evaluation,
    },
    /// An epoch finished.
    EpochEnd(EpochRecord),
}

/// Why training, evaluation or prediction failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// The model is not compiled (no loss or optimizer).
    #[error("the model has no loss and optimizer: compile it first")]
    NotCompiled,
    /// The data does not fit the model.
    #[error("data does not fit the model: {0}")]
    Data(String),
    /// Bad options.
    #[error("bad training options: {0}")]
    Options(&'static str),
    /// The model is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The engine refused (a bug if it happens: shapes are checked first).
    #[error("engine error")]
    Engine(#[from] microdense_core::Error),
    /// [`Model::fit_until`]'s stop flag was set; the batches before it were applied.
    #[error("training stopped before epoch {epoch}, batch {step}")]
    Stopped {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch that was not run.
        step: usize,
    },
    /// [`Model::evaluate_until`]'s or [`Model::predict_until`]'s stop flag was set.
    #[error("stopped before the end of the data")]
    Cancelled,
    /// The loss became NaN or infinite.
    #[error("the loss became NaN or infinite in epoch {epoch}, batch {step}: lower the learning rate")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch.
        step: usize,
    },
}

/// Samples per chunk of a small model's batch (the last chunk may be smaller): the unit
/// of work of a thread, fixed so that results do not depend on the number of threads.
pub const CHUNK: usize = 32;

/// Models with at least this many parameters train on whole batches (larger products,
/// shared by the threads, and no chunk gradients to sum); smaller ones in chunks, whose
/// products are too small to share.
pub const WHOLE_BATCH_PARAMS: usize = 1 << 17;

/// Samples gathered per parallel task when a chunk's inputs are collected.
const GATHER_ROWS: usize = 16;

/// Parameters per slice of the gradient sum and optimizer step (whole cache lines; a
/// fixed size, so clipping norms are summed in the same groups with any number of threads).
const UPDATE_SLICE: usize = 4096;

/// The machine's available parallelism (1 when unknown).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Buffers for one chunk position of a batch; chunk `c` of every batch uses the `c`-th,
/// so its dropout generator's sequence does not depend on the threads either.
struct Chunk {
    /// The products' kernel: parallel when the batch is one chunk.
    kernel: HostKernel,
    inputs: Vec<f32>,
    /// The non-zeros of `inputs`, found by the first product that reads them.
    nonzeros: Sparse,
    labels: Vec<u32>,
    grads: Vec<f32>,
    scratch: Vec<f32>,
    rng: Rng,
}

impl Chunk {
    /// Gathers `indices` and computes their share of the batch gradient.
    fn run(
        &mut self,
        trainer: &Trainer<'_>,
        compile: &Compile,
        params: &[f32],
        data: &Dataset<'_>,
        indices: &[usize],
        scale: f32,
    ) -> Result<BatchStats, microdense_core::Error> {
        let n = indices.len();
        let width = data.width();
        use rayon::prelude::*;
        if self.kernel.parallel {
            // The batch's only chunk: the threads share the gathering too.
            let rows = GATHER_ROWS;
            self.inputs[..n * width]
                .par_chunks_mut(rows * width)
                .zip(self.labels[..n].par_chunks_mut(rows))
                .zip(indices.par_chunks(rows))
                .for_each(|((x, y), part)| {
                    let _flush = FlushDenormals::new();
                    data.gather(part, x, y);
                });
        } else {
            data.gather(indices, &mut self.inputs[..n * width], &mut self.labels[..n]);
        }
        let targets = Targets::Classes(&self.labels[..n]);
        let scratch_len = trainer.scratch_len(n);
        let inputs = &self.inputs[..n * width];
        trainer.gradients(
            &InputKernel::new(self.kernel, inputs, width, &mut self.nonzeros),
            &[],
            params,
            inputs,
            &targets,
            compile.loss,
            scale,
            &mut self.rng,
            &mut self.grads,
            &mut self.scratch[..scratch_len],
        )
    }
}

impl Model {
    /// Sets the loss and optimizer, as `model.compile(...)`, and clears the optimizer state.
    pub fn compile(&mut self, compile: Compile) {
        self.compile = Some(compile);
        self.optimizer = None;
        self.dropped_training = None;
    }

    /// Trains on `data` as Keras's `fit` does: shuffles every epoch, runs batches of
    /// `batch_size` (the last one smaller), updates with SGD after each, and reports
    /// progress. Continues from the saved optimizer state when there is one. With
    /// `validation` (Keras's `validation_data`), each epoch ends with its loss and accuracy.
    pub fn fit(
        &mut self,
        data: &Dataset<'_>,
        validation: Option<&Dataset<'_>>,
        options: &FitOptions,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Vec<EpochRecord>, FitError> {
        self.fit_until(data, validation, options, progress, &AtomicBool::new(false))
    }

    /// [`fit`](Self::fit) that checks `stop` before every batch and, once it is set, ends
    /// with [`FitError::Stopped`], keeping the updates made so far and the optimizer state
    /// (Keras's `fit` interrupted by Ctrl-C).
    pub fn fit_until(
        &mut self,
        data: &Dataset<'_>,
        validation: Option<&Dataset<'_>>,
        options: &FitOptions,
        progress: &mut (dyn FnMut(&Progress) + Send),
        stop: &AtomicBool,
    ) -> Result<Vec<EpochRecord>, FitError> {
        let compile = self.compile.clone().ok_or(FitError::NotCompiled)?;
        self.validate()?;
        if options.batch_size == 0 || options.threads == 0 {
            return Err(FitError::Options("batch size and threads must be at least 1"));
        }
        self.check_data(data)?;
        check_not_empty(data)?;
        // As Keras: a batch larger than the data is the whole data (nothing is allocated
        // for samples that do not exist).
        let batch_size = options.batch_size.min(data.len());
        let layers = self.core_layers();
        let wiring = self.wiring();
        let net = Network::graph(self.input_width(), &layers, &wiring).map_err(ModelError::from)?;
        // Keras's fit: BatchNormalization normalises with each batch's moments, so a
        // batch is not split across threads when the model has one.
        let trainer = Trainer::new(net, 0)?.with_batch_statistics(true);
        let whole_batches = layers
            .iter()
            .any(|l| matches!(l, Layer::BatchNormalization { .. }));
        let params_len = net.param_count();

        let optimizer = &compile.optimizer;
        let mut state = self.optimizer.take().unwrap_or_default();
        if state.slots.len() != optimizer.state_len(params_len) {
            state.slots = vec![0.0; optimizer.state_len(params_len)];
            optimizer.init_state(&mut state.slots);
        }
        let tensors = weight_tensors(&net);
        let regularized = self.is_regularized();

        // BatchNormalization normalises with the whole batch's moments: such a model's
        // batch is one chunk, as a large model's.
        let chunk = if whole_batches || params_len >= WHOLE_BATCH_PARAMS {
            batch_size
        } else {
            CHUNK
        };
        let chunk_count = batch_size.div_ceil(chunk);
        // No more threads than a batch has parts to share (its chunks, or a whole batch's
        // product blocks): `--threads 1000000000` starts a few, as the results do not
        // depend on the count.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads.min(chunk_count.max(BLOCKS)))
            .build()
            .map_err(|_| FitError::Options("could not start the training threads"))?;
        let share = batch_size.min(chunk);
        let mut chunks: Vec<Chunk> = (0..chunk_count)
            .map(|c| Chunk {
                kernel: HostKernel {
                    parallel: chunk_count == 1,
                    ..HostKernel::default()
                },
                inputs: vec![0.0; share * data.width()],
                nonzeros: Sparse::default(),
                labels: vec![0; share],
                grads: vec![0.0; params_len],
                scratch: vec![0.0; trainer.scratch_len(share)],
                rng: Rng::new(options.seed ^ (0xD20F_u64 << 32) ^ c as u64),
            })
            .collect();
        let mut shuffle_rng = Rng::new(options.seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let steps = data.len().div_ceil(batch_size);
        let mut history = Vec::new();
        let result = pool.install(|| {
            for epoch in 1..=options.epochs {
                progress(&Progress::EpochStart {
                    epoch,
                    epochs: options.epochs,
                    steps,
                });
                let started = Instant::now();
                if options.shuffle {
                    shuffle(&mut order, &mut shuffle_rng);
                }
                let mut total = BatchStats::default();
                for (step, batch) in order.chunks(batch_size).enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        return Err(FitError::Stopped {
                            epoch,
                            step: step + 1,
                        });
                    }
                    let scale = 1.0 / batch.len() as f32;
                    let used = &mut chunks[..batch.len().div_ceil(chunk)];
                    let mut stats =
                        self.batch_gradients(&trainer, &compile, data, batch, chunk, scale, used)?;
                    if regularized {
                        stats.loss_sum += self.regularization_loss(&net) * batch.len() as f32;
                        self.add_regularization_gradients(&net, &mut used[0].grads);
                    }
                    if !stats.loss_sum.is_finite() {
                        return Err(FitError::Diverged {
                            epoch,
                            step: step + 1,
                        });
                    }
                    update(optimizer, &tensors, &mut self.params, &mut state, used)?;
                    if regularized {
                        self.apply_constraints(&net);
                    }
                    let first = batch.len().min(chunk);
                    let scratch = &used[0].scratch[..trainer.scratch_len(first)];
                    trainer.commit_statistics(&mut self.params, scratch, first)?;
                    total.merge(stats);
                    progress(&Progress::Batch {
                        step: step + 1,
                        steps,
                        score: total.into(),
                    });
                }
                let score = Evaluation::from(total);
                let seconds = Some(started.elapsed().as_secs_f64());
                let val = validation.map(|v| self.evaluate_until(v, stop)).transpose()?;
                let record = EpochRecord {
                    epoch,
                    loss: score.loss,
                    accuracy: score.accuracy,
                    seconds,
                    val_loss: val.map(|v| v.loss),
                    val_accuracy: val.map(|v| v.accuracy),
                };
                progress(&Progress::EpochEnd(record.clone()));
                history.push(record);
            }
            Ok(())
        });
        self.optimizer = Some(state);
        result.map(|()| history)
    }

    /// Computes the gradients of one batch's chunks of `chunk` samples (one per entry of
    /// `chunks`) on the pool's threads and returns the statistics merged in chunk order;
    /// each chunk's gradients stay in its buffer.
    #[allow(clippy::too_many_arguments)]
    fn batch_gradients(
        &self,
        trainer: &Trainer<'_>,
        compile: &Compile,
        data: &Dataset<'_>,
        batch: &[usize],
        chunk: usize,
        scale: f32,
        chunks: &mut [Chunk],
    ) -> Result<BatchStats, FitError> {
        let params = &self.params;
        use rayon::prelude::*;
        let results: Vec<Result<BatchStats, microdense_core::Error>> = chunks
            .par_iter_mut()
            .zip(batch.par_chunks(chunk))
            .map(|(chunk, part)| {
                let _flush = FlushDenormals::new();
                chunk.run(trainer, compile, params, data, part, scale)
            })
            .collect();
        let mut total = BatchStats::default();
        for r in results {
            total.merge(r?);
        }
        Ok(total)
    }

    /// Checks that the data set's width matches the model's input.
    fn check_data(&self, data: &Dataset<'_>) -> Result<(), FitError> {
        if data.width() != self.input_width() {
            return Err(FitError::Data(format!(
                "samples have {} values, the model's input has {} (shape {:?})",
                data.width(),
                self.input_width(),
                self.input_shape
            )));
        }
        Ok(())
    }

    /// Mean loss and accuracy on `data` (Keras's `evaluate`), computed with core's
    /// portable kernel exactly as a device computes them. Uses the compiled loss.
    pub fn evaluate(&self, data: &Dataset<'_>) -> Result<Evaluation, FitError> {
        self.evaluate_until(data, &AtomicBool::new(false))
    }

    /// [`evaluate`](Self::evaluate) that ends with [`FitError::Cancelled`] once `stop` is
    /// set (checked before each chunk of samples).
    pub fn evaluate_until(&self, data: &Dataset<'_>, stop: &AtomicBool) -> Result<Evaluation, FitError> {
        let loss = self.compile.as_ref().ok_or(FitError::NotCompiled)?.loss;
        check_not_empty(data)?;
        let mut total = BatchStats::default();
        self.for_each_chunk(data, stop, |net, params, x, y, scratch| {
            let stats = net.evaluate(&Portable, params, x, &Targets::Classes(y), loss, scratch)?;
            Ok(vec![stats])
        })?
        .into_iter()
        .for_each(|s| total.merge(s));
        if self.is_regularized() {
            let layers = self.core_layers();
            let wiring = self.wiring();
            let net = Network::graph(self.input_width(), &layers, &wiring).map_err(ModelError::from)?;
            total.loss_sum += self.regularization_loss(&net) * total.samples as f32;
        }
        Ok(total.into())
    }

    /// The model's outputs for every sample of `data` (`len × outputs`, row-major),
    /// computed with core's portable kernel (Keras's `predict`).
    pub fn predict(&self, data: &Dataset<'_>) -> Result<Vec<f32>, FitError> {
        self.predict_until(data, &AtomicBool::new(false))
    }

    /// [`predict`](Self::predict) that ends with [`FitError::Cancelled`] once `stop` is
    /// set (checked before each chunk of samples).
    pub fn predict_until(&self, data: &Dataset<'_>, stop: &AtomicBool) -> Result<Vec<f32>, FitError> {
        self.for_each_chunk(data, stop, |net, params, x, _, scratch| {
            Ok(net
                .predict(&Portable, params, x, x.len() / net.input_width(), scratch)?
                .to_vec())
        })
    }

    /// Runs `f` over chunks of `data` on all cores, in order, and returns the results in
    /// order; once `stop` is set, the chunks not started are skipped and the result is
    /// [`FitError::Cancelled`].
    fn for_each_chunk<T: Send>(
        &self,
        data: &Dataset<'_>,
        stop: &AtomicBool,
        f: impl Fn(&Network<'_>, &[f32], &[f32], &[u32], &mut [f32]) -> Result<Vec<T>, microdense_core::Error>
            + Sync,
    ) -> Result<Vec<T>, FitError> {
        use rayon::prelude::*;
        self.validate()?;
        self.check_data(data)?;
        const CHUNK: usize = 256;
        let layers = self.core_layers();
        let wiring = self.wiring();
        let net = Network::graph(self.input_width(), &layers, &wiring).map_err(ModelError::from)?;
        let starts: Vec<usize> = (0..data.len()).step_by(CHUNK).collect();
        let parts: Vec<Result<Vec<T>, FitError>> = starts
            .par_iter()
            .map(|&start| {
                if stop.load(Ordering::Relaxed) {
                    return Err(FitError::Cancelled);
                }
                let (x, y) = data.slice(start, start + CHUNK);
                let mut scratch = vec![0.0; net.inference_scratch_len(y.len())];
                Ok(f(&net, &self.params, &x, &y, &mut scratch)?)
            })
            .collect();
        let mut out = Vec::new();
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }
}

/// Refuses a data set without samples (no loss to train on or to report), as Keras does.
fn check_not_empty(data: &Dataset<'_>) -> Result<(), FitError> {
    if data.is_empty() {
        return Err(FitError::Data("there are no samples".into()));
    }
    Ok(())
}

/// The ranges of the trainable weight tensors in the parameters, as Keras's optimizers
/// see them (and clip them one by one): each Dense layer's kernel, then its bias; each
/// per-feature weight of the other layers (gamma, beta, alpha). Non-trainable weights
/// (moving statistics) are not among them.
fn weight_tensors(net: &Network<'_>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for (i, layer) in net.layers().iter().enumerate() {
        let start = net.param_range(i).start;
        let width = net.layer_input_width(i);
        let trainable = start..start + layer.trainable_param_count(width);
        match layer {
            Layer::Dense { units, .. } => {
                let split = start + width * *units as usize;
                out.push(start..split);
                if split < trainable.end {
                    out.push(split..trainable.end);
                }
            }
            _ => out.extend(trainable.step_by(width.max(1)).map(|s| s..s + width)),
        }
    }
    out
}

/// Sums the chunks' gradients into the first chunk's, in chunk order, then applies one
/// optimizer step; both run in parallel over slices of the weight tensors (the updates
/// are element-wise and the sums keep their order, so the result does not depend on the
/// number of slices). Clipping by norm reads each tensor's sum of squared gradients from
/// the first pass.
fn update(
    optimizer: &Optimizer,
    tensors: &[Range<usize>],
    params: &mut [f32],
    state: &mut OptimizerState,
    chunks: &mut [Chunk],
) -> Result<(), FitError> {
    use rayon::prelude::*;
    let (first, rest) = chunks.split_at_mut(1);
    // Slices of UPDATE_SLICE values, none crossing a tensor's end: the same slices whatever
    // the number of threads, so the norms' partial sums group the same way too.
    let slice = UPDATE_SLICE;
    let jobs: Vec<(usize, Range<usize>)> = tensors
        .iter()
        .enumerate()
        .flat_map(|(t, r)| {
            (r.start..r.end)
                .step_by(slice)
                .map(move |s| (t, s..(s + slice).min(r.end)))
        })
        .collect();
    // Chunk c's gradients added to the first chunk's, over one job's range.
    let sum = |g: &mut [f32], range: &Range<usize>| {
        for chunk in rest.iter() {
            for (g, o) in g.iter_mut().zip(&chunk.grads[range.clone()]) {
                *g += o;
            }
        }
    };
    // Clipping by norm needs every tensor's sum before any update: a pass of its own.
    let norms = optimizer.needs_norms();
    let mut per_tensor = vec![0.0f64; tensors.len()];
    if norms {
        let squares: Vec<f64> = split_by(&mut first[0].grads, &jobs)
            .into_par_iter()
            .zip(&jobs)
            .map(|(g, (_, range))| {
                let _flush = FlushDenormals::new();
                sum(g, range);
                g.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
            })
            .collect();
        for ((t, _), sq) in jobs.iter().zip(&squares) {
            per_tensor[*t] += sq;
        }
    }
    let all: f64 = per_tensor.iter().sum();
    let step = optimizer.begin(&state.scalars);
    let k = optimizer.slots();
    let state_jobs: Vec<(usize, Range<usize>)> =
        jobs.iter().map(|(t, r)| (*t, r.start * k..r.end * k)).collect();
    split_by(params, &jobs)
        .into_par_iter()
        .zip(split_by(&mut state.slots, &state_jobs))
        .zip(split_by(&mut first[0].grads, &jobs))
        .zip(&jobs)
        .try_for_each(|(((p, s), g), (t, range))| {
            let _flush = FlushDenormals::new();
            if !norms {
                sum(g, range);
            }
            let clip = optimizer.clip(per_tensor[*t] as f32, all as f32);
            optimizer.update(&step, clip, p, g, s)
        })?;
    optimizer.end(&step, &mut state.scalars);
    Ok(())
}

/// `values` cut into the consecutive, non-overlapping `ranges` (in order).
fn split_by<'a>(mut values: &'a mut [f32], ranges: &[(usize, Range<usize>)]) -> Vec<&'a mut [f32]> {
    let mut at = 0;
    let mut out = Vec::with_capacity(ranges.len());
    for (_, r) in ranges {
        let (_, rest) = std::mem::take(&mut values).split_at_mut(r.start - at);
        let (part, rest) = rest.split_at_mut(r.len());
        out.push(part);
        values = rest;
        at = r.end;
    }
    out
}

/// Fisher–Yates shuffle driven by core's seeded generator.
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Features;

    #[test]
    fn fit_until_stops_before_the_next_batch_and_keeps_the_steps_made() {
        let mut model = Model::from_spec("4,3:relu,2:softmax", 7).unwrap();
        model.compile(Compile::default());
        let x: Vec<f32> = (0..40).map(|i| (i % 7) as f32 / 7.0).collect();
        let y: Vec<u32> = (0..10).map(|i| i % 2).collect();
        let data = Dataset::new(Features::F32(&x), 4, &y).unwrap();
        let options = FitOptions {
            epochs: 2,
            batch_size: 2,
            ..FitOptions::default()
        };
        let stop = AtomicBool::new(false);
        let before = model.params.clone();
        let result = model.fit_until(
            &data,
            None,
            &options,
            &mut |p| {
                if let Progress::Batch { step: 2, .. } = p {
                    stop.store(true, Ordering::Relaxed);
                }
            },
            &stop,
        );
        assert_eq!(result, Err(FitError::Stopped { epoch: 1, step: 3 }));
        assert_eq!(model.optimizer.as_ref().map(|o| o.scalars.iterations), Some(2));
        assert_ne!(model.params, before);
    }

    #[test]
    fn a_batch_larger_than_the_data_is_the_whole_data() {
        let x: Vec<f32> = (0..40).map(|i| (i % 7) as f32 / 7.0).collect();
        let y: Vec<u32> = (0..10).map(|i| i % 2).collect();
        let data = Dataset::new(Features::F32(&x), 4, &y).unwrap();
        let trained = |batch_size| {
            let mut model = Model::from_spec("4,3:relu,2:softmax", 7).unwrap();
            model.compile(Compile::default());
            let options = FitOptions {
                batch_size,
                epochs: 1,
                ..FitOptions::default()
            };
            model.fit(&data, None, &options, &mut |_| {}).unwrap();
            model
        };
        // Nothing is allocated for the samples that do not exist.
        let huge = trained(usize::MAX / 2);
        assert_eq!(huge.optimizer.as_ref().map(|o| o.scalars.iterations), Some(1));
        assert_eq!(huge.params, trained(10).params);
    }

    #[test]
    fn fit_and_evaluate_refuse_empty_data_and_predict_gives_nothing() {
        let mut model = Model::from_spec("4,3:relu,2:softmax", 7).unwrap();
        model.compile(Compile::default());
        let data = Dataset::new(Features::F32(&[]), 4, &[]).unwrap();
        let empty = Err(FitError::Data("there are no samples".into()));
        let fitted = model.fit(&data, None, &FitOptions::default(), &mut |_| {});
        assert_eq!(fitted.map(|_| ()), empty);
        assert_eq!(model.evaluate(&data).map(|_| ()), empty);
        assert_eq!(model.predict(&data), Ok(Vec::new()));
    }

    #[test]
    fn predict_and_evaluate_until_end_once_stopped() {
        let mut model = Model::from_spec("4,3:relu,2:softmax", 7).unwrap();
        model.compile(Compile::default());
        let x = vec![0.5; 4 * 1000];
        let y = vec![1; 1000];
        let data = Dataset::new(Features::F32(&x), 4, &y).unwrap();
        let stopped = AtomicBool::new(true);
        assert_eq!(model.predict_until(&data, &stopped), Err(FitError::Cancelled));
        assert_eq!(
            model.evaluate_until(&data, &stopped).map(|_| ()),
            Err(FitError::Cancelled)
        );
        let running = AtomicBool::new(false);
        assert_eq!(model.predict_until(&data, &running), model.predict(&data));
    }
}
