//! The model: validated at boot from the model region, run for inference, fine-tuned on
//! its last weighted layers (frozen prefix read from flash, trained suffix in RAM), and
//! written back out as a `.mdl` file byte range by byte range.

use microdense_core::format::{
    decode_prefix, Crc32, FileLayout, FormatError, Inconsistency, ModelRef, ModelView, TrainingState,
};
use microdense_core::protocol::{
    Capacity, Fault, ModelFault, ModelSummary, TrainingSummary, TunedSummary, MAX_OUTPUTS,
};
use microdense_core::{Error, Loss, Network, Optimizer, OptimizerScalars, Portable, Rng, Targets, Trainer};

use super::buffers::{MAX_INPUT, MAX_INT8_SCRATCH, MAX_SCRATCH, MAX_WIDTH, TRAIN_ARENA};

/// What the model region holds.
// One value for the program's life, in static memory: there is no heap to box the view in.
#[allow(clippy::large_enum_variant)]
// A tag of its own, `None` first: the static holding it starts as zeros, in `.bss` (with a
// niche in the view, `None` had non-zero bytes, which put it in `.data`: flash and RAM).
#[repr(u8)]
pub enum Loaded {
    /// Nothing was ever written there.
    None,
    /// Something that is not a usable model, and why.
    Corrupted(ModelFault),
    /// A valid model that fits the firmware's buffers.
    Ready(ModelView<'static>),
}

/// Validates the model at the start of `region` (CRC, version, shapes, via core's decoder)
/// and checks it fits the firmware's buffers; the result goes straight into `loaded`, so the
/// decoded model (about 1 KB) is not copied around the stack.
pub fn load(region: &'static [u8], blank: bool, loaded: &mut Loaded) {
    *loaded = match (blank, decode_prefix(region)) {
        (true, _) => Loaded::None,
        (false, Ok((view, _))) => Loaded::Ready(view),
        (false, Err(e)) => Loaded::Corrupted(ModelFault::File(e)),
    };
    let Loaded::Ready(view) = loaded else {
        return;
    };
    if let Err(fault) = fits_buffers(view) {
        *loaded = Loaded::Corrupted(fault);
    }
}

/// Checks a decoded model against the firmware's buffers.
fn fits_buffers(view: &ModelView<'static>) -> Result<(), ModelFault> {
    let net = view.network().map_err(ModelFault::Network)?;
    let body = view.int8_body();
    let checks = [
        (Capacity::InputValues, view.input_width(), MAX_INPUT),
        (
            Capacity::InferenceScratch,
            body.map_or(0, |b| b.scratch_len()),
            MAX_INT8_SCRATCH,
        ),
        (
            Capacity::LayerWidth,
            body.map_or(0, |_| net.input_width()),
            MAX_WIDTH,
        ),
        (Capacity::Outputs, net.output_width(), MAX_OUTPUTS),
        (Capacity::LayerWidth, net.max_output_width(), MAX_WIDTH),
        (
            Capacity::InferenceScratch,
            net.inference_scratch_len(1),
            MAX_SCRATCH,
        ),
    ];
    for (buffer, needed, available) in checks {
        if needed > available {
            return Err(ModelFault::TooLarge {
                buffer,
                needed: small(needed),
                available: small(available),
            });
        }
    }
    Ok(())
}

/// The fine-tuned suffix living in the training arena: `[weights n | optimizer state m |
/// work]`, `m = slots · n` ([`Optimizer::state_len`]).
#[derive(Clone, Debug)]
pub struct Tuned {
    /// Trained weighted layers.
    pub layers: usize,
    /// Index of the first trained layer.
    pub first: usize,
    /// Trainable parameters (`n`).
    pub params: usize,
    /// Optimizer state values (`m`).
    pub state: usize,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// The loss.
    pub loss: Loss,
    /// Steps so far and Nadam's product.
    pub scalars: OptimizerScalars,
}

/// The buffers one sample runs through.
pub struct SampleBuffers<'b> {
    /// The decoded sample (its first `input_width` values); once the frozen layers ran,
    /// free for their output (`MAX_INPUT ≥ MAX_WIDTH` values).
    pub input: &'b mut [f32],
    /// Float inference scratch.
    pub scratch: &'b mut [f32],
    /// An int8 body's dequantised output, or a float prefix's.
    pub mid: &'b mut [f32],
    /// An int8 body's scratch.
    pub int8: &'b mut [i8],
}

/// Which buffer holds what the frozen layers handed on.
#[derive(Clone, Copy)]
enum Held {
    Input,
    Mid,
}

impl<'b> SampleBuffers<'b> {
    /// Runs the sample in `input` through everything frozen before layer `first` of the
    /// float network: the int8 body (if any, its dequantised output into `mid`), then the
    /// float layers `..first` (weights in flash, through `scratch` into whichever of
    /// `input` and `mid` they did not read). Returns where the result lies.
    fn run_frozen(&mut self, view: &ModelView<'_>, net: &Network<'_>, first: usize) -> Result<Held, Fault> {
        let sample = view.input_width();
        let mut held = Held::Input;
        if let Some(body) = view.int8_body() {
            let out = &mut self.mid[..body.output_width()];
            body.predict(&self.input[..sample], &mut self.int8[..body.scratch_len()], out)
                .map_err(|e| {
                    Fault::BadModel(ModelFault::File(FormatError::InconsistentShapes(
                        Inconsistency::Int8(e),
                    )))
                })?;
            held = Held::Mid;
        }
        if first > 0 {
            let prefix = net.prefix(first)?;
            let weights = &view.weights()[..net.param_offset(first)];
            let (from, to) = match held {
                Held::Input => (&*self.input, &mut *self.mid),
                Held::Mid => (&*self.mid, &mut *self.input),
            };
            let len = prefix.inference_scratch_len(1);
            let x = &from[..prefix.input_width()];
            let out = prefix.predict(&Portable, weights, x, 1, &mut self.scratch[..len])?;
            to[..out.len()].copy_from_slice(out);
            held = match held {
                Held::Input => Held::Mid,
                Held::Mid => Held::Input,
            };
        }
        Ok(held)
    }

    /// The first `width` values of the buffer that holds them.
    fn held(&self, held: Held, width: usize) -> &[f32] {
        match held {
            Held::Input => &self.input[..width],
            Held::Mid => &self.mid[..width],
        }
    }
}

/// Runs one sample (in `buffers.input`) through the model: its int8 body (if any), the
/// float network's frozen prefix and its suffix (tuned from `trainable` when tuned). The
/// outputs live in `buffers.scratch`. Gives the same bits as the whole network run at
/// once: rows never mix, and each layer runs the same kernel on the same values.
pub fn infer<'s>(
    view: &ModelView<'_>,
    net: &Network<'_>,
    tuned: Option<(&Tuned, &[f32])>,
    buffers: &'s mut SampleBuffers<'_>,
) -> Result<&'s [f32], Fault> {
    let (first, suffix, weights) = match tuned {
        Some((t, trainable)) => (t.first, net.suffix(t.first)?, trainable),
        None => (0, *net, view.weights()),
    };
    let held = buffers.run_frozen(view, net, first)?;
    let len = suffix.inference_scratch_len(1);
    let SampleBuffers {
        input, scratch, mid, ..
    } = buffers;
    let x = match held {
        Held::Input => &input[..suffix.input_width()],
        Held::Mid => &mid[..suffix.input_width()],
    };
    Ok(suffix.predict(&Portable, weights, x, 1, &mut scratch[..len])?)
}

/// Sets up fine-tuning of the last `layers` weighted layers (of the float network, the
/// head after an int8 body, which stays frozen) in `arena`: copies their
/// weights from flash and the optimizer state from the file's training state (when it
/// trains the same layers with an optimizer of the same state layout), else a fresh state
/// ([`Optimizer::init_state`]: zeros, Adagrad's initial accumulator).
pub fn start_tuning(
    view: &ModelView<'static>,
    layers: usize,
    optimizer: Optimizer,
    loss: Loss,
    arena: &mut [f32],
) -> Result<Tuned, Fault> {
    let net = view.network()?;
    // After an int8 body, the float head: its layers are the trainable ones.
    let weighted = net.weighted_layer_count();
    if layers == 0 || layers > weighted {
        return Err(Fault::TrainLayers {
            requested: small(layers),
            weighted: small(weighted),
        });
    }
    let trainer = Trainer::last_weighted(net, layers);
    let params = trainer.trainable_param_count();
    let state = optimizer.state_len(params);
    if 2 * params + state > TRAIN_ARENA {
        return Err(Fault::TrainMemory {
            layers: small(layers),
            needed: small(2 * params + state),
            reserved: small(TRAIN_ARENA),
        });
    }
    let (weights, rest) = arena.split_at_mut(params);
    weights.copy_from_slice(&view.weights()[trainer.frozen_param_count()..]);
    let saved = view.training().filter(|t| {
        t.trainable_layers == layers && t.optimizer.slots() == optimizer.slots() && t.state.len() == state
    });
    match saved {
        Some(t) => rest[..state].copy_from_slice(t.state),
        None => optimizer.init_state(&mut rest[..state]),
    }
    Ok(Tuned {
        layers,
        first: trainer.first_trainable(),
        params,
        state,
        scalars: view.training().map_or(OptimizerScalars::default(), |t| t.scalars),
        optimizer,
        loss,
    })
}

/// RAM in f32 one training step over `batch` samples takes
/// ([`Trainer::fine_tune_len`]: weights, optimizer state, gradients, the batch's suffix
/// inputs and the suffix trainer's scratch).
pub fn train_len(net: &Network<'_>, tuned: &Tuned, batch: usize) -> Result<usize, Error> {
    Trainer::new(*net, tuned.first)?.fine_tune_len(&tuned.optimizer, batch)
}

/// Where a training step's samples come from: fills `input` with sample `s` and returns its
/// label.
pub trait BatchSource {
    /// Decodes sample `s` into `input`; returns its label.
    fn sample(&mut self, s: usize, input: &mut [f32]) -> Result<u32, Fault>;
}

/// Clock-free timing hooks, so the step's measurement can exclude sample decoding.
pub trait Stopwatch {
    /// Starts (or resumes) timing.
    fn resume(&mut self);
    /// Pauses timing.
    fn pause(&mut self);
}

/// One optimizer step on `batch` samples: each runs through the frozen layers (an int8
/// body and the float prefix, weights in flash) into the arena, then core's [`Trainer`]
/// steps the suffix (weights in RAM).
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    view: &ModelView<'_>,
    net: &Network<'_>,
    tuned: &mut Tuned,
    batch: usize,
    source: &mut dyn BatchSource,
    stopwatch: &mut dyn Stopwatch,
    buffers: &mut SampleBuffers<'_>,
    labels: &mut [u32],
    arena: &mut [f32],
    rng: &mut Rng,
) -> Result<microdense_core::BatchStats, Fault> {
    let needed = train_len(net, tuned, batch)?;
    if needed > arena.len() {
        return Err(Fault::BatchMemory {
            batch: small(batch),
            needed: small(needed),
            reserved: small(arena.len()),
        });
    }
    let suffix = net.suffix(tuned.first)?;
    let in_f = suffix.input_width();
    let (trainable, rest) = arena.split_at_mut(tuned.params);
    let (state, rest) = rest.split_at_mut(tuned.state);
    let (grads, rest) = rest.split_at_mut(tuned.params);
    let (inputs, rest) = rest.split_at_mut(batch * in_f);
    let trainer = Trainer::new(suffix, 0)?;
    let scratch_len = trainer.scratch_len(batch);
    let train_scratch = &mut rest[..scratch_len];
    for (s, row) in inputs.chunks_exact_mut(in_f).enumerate() {
        stopwatch.pause();
        labels[s] = source.sample(s, &mut buffers.input[..view.input_width()])?;
        stopwatch.resume();
        let held = buffers.run_frozen(view, net, tuned.first)?;
        row.copy_from_slice(buffers.held(held, in_f));
    }
    let mut scalars = tuned.scalars;
    let stats = trainer.step(
        &Portable,
        &tuned.optimizer,
        &mut scalars,
        state,
        &[],
        trainable,
        inputs,
        &Targets::Classes(&labels[..batch]),
        tuned.loss,
        rng,
        grads,
        train_scratch,
    )?;
    tuned.scalars = scalars;
    Ok(stats)
}

/// The model as a `.mdl` file: the one in flash, or, once tuned, the flash prefix with the
/// tuned suffix and training state (and the int8 body's data from flash), generated on the
/// fly.
pub struct FileImage<'a> {
    flash: &'static [u8],
    view: &'a ModelView<'static>,
    tuned: Option<(&'a Tuned, &'a [f32])>,
    /// The int8 body's data region (empty without a body).
    int8: &'a [u8],
    /// The generated header and metadata (empty when the file is the flash copy).
    head: &'a [u8],
    layout: FileLayout,
}

impl<'a> FileImage<'a> {
    /// The file of `view` (whose bytes start `flash`), with `tuned` weights and optimizer
    /// state from `arena` when tuned; its header and metadata are generated into `head`
    /// (a free buffer, not the stack).
    pub fn new(
        flash: &'static [u8],
        view: &'a ModelView<'static>,
        tuned: Option<&'a Tuned>,
        arena: &'a [f32],
        head: &'a mut [u8],
    ) -> Result<Self, Fault> {
        let file_len = view.header().len;
        let flash_file = FileLayout {
            weights: file_len,
            state: file_len,
            int8: file_len,
            crc: file_len,
            len: file_len,
        };
        let Some(tuned) = tuned else {
            return Ok(FileImage {
                flash,
                view,
                tuned: None,
                int8: &[],
                head: &[],
                layout: flash_file,
            });
        };
        let net = view.network()?;
        let state = &arena[tuned.params..tuned.params + tuned.state];
        let body = view.int8_body();
        let model = ModelRef {
            int8: body,
            network: net,
            input_shape: Some(view.input_shape()),
            // The head depends only on the weights' count, which the flash copy has.
            weights: view.weights(),
            training: Some(TrainingState {
                optimizer: tuned.optimizer.clone(),
                loss: tuned.loss,
                scalars: tuned.scalars,
                trainable_layers: tuned.layers,
                state,
            }),
        };
        let layout = model.encode_head(head).map_err(Fault::ModelHead)?;
        Ok(FileImage {
            flash,
            view,
            tuned: Some((tuned, &arena[..tuned.params + tuned.state])),
            int8: body.map_or(&[], |b| b.data()),
            head: &head[..layout.weights],
            layout,
        })
    }

    /// The file's length.
    pub fn len(&self) -> usize {
        self.layout.len
    }

    /// The byte at `offset` (< len), CRC excluded.
    fn data_byte(&self, offset: usize) -> u8 {
        let Some((tuned, arena)) = self.tuned else {
            return self.flash[offset];
        };
        let l = &self.layout;
        let value = if offset < l.weights {
            return self.head[offset];
        } else if offset < l.state {
            let p = (offset - l.weights) / 4;
            let frozen = self.view.weights().len() - tuned.params;
            if p < frozen {
                self.view.weights()[p]
            } else {
                arena[p - frozen]
            }
        } else if offset < l.int8 {
            arena[tuned.params + (offset - l.state) / 4]
        } else {
            return self.int8[offset - l.int8];
        };
        value.to_le_bytes()[offset % 4]
    }

    /// The file's CRC-32 (read from flash, or computed over the generated bytes).
    pub fn crc(&self) -> u32 {
        if self.tuned.is_none() {
            return self.view.crc();
        }
        let mut crc = Crc32::new();
        for offset in 0..self.layout.crc {
            crc.update(&[self.data_byte(offset)]);
        }
        crc.finish()
    }

    /// Copies the file's bytes from `offset` into `out`; `crc` is [`Self::crc`].
    pub fn read(&self, offset: usize, out: &mut [u8], crc: u32) {
        let crc_bytes = crc.to_le_bytes();
        for (i, slot) in out.iter_mut().enumerate() {
            let at = offset + i;
            *slot = if at >= self.layout.crc {
                crc_bytes[(at - self.layout.crc) % 4]
            } else {
                self.data_byte(at)
            };
        }
    }
}

/// A summary of a valid model for Info.
pub fn summary(view: &ModelView<'static>, tuned: Option<&Tuned>) -> Result<ModelSummary, Error> {
    let net = view.network()?;
    Ok(ModelSummary {
        file_len: small(view.header().len),
        crc: view.crc(),
        version: view.header().version,
        input_width: small(view.input_width()),
        output_width: small(net.output_width()),
        layers: net.layers().len() as u16,
        weighted_layers: net.weighted_layer_count() as u16,
        params: small(net.param_count()),
        training: view.training().map(|t| TrainingSummary {
            optimizer: t.optimizer.clone(),
            loss: t.loss,
            iterations: t.scalars.iterations,
            trainable_layers: t.trainable_layers as u16,
        }),
        tuned: tuned.map(|t| TunedSummary {
            layers: t.layers as u16,
            params: small(t.params),
            iterations: t.scalars.iterations,
        }),
    })
}

/// Saturating `usize` to `u32`, for reported figures.
pub fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
