//! The model: validated at boot from the model region, run for inference, fine-tuned on
//! its last weighted layers (frozen prefix read from flash, trained suffix in RAM), and
//! written back out as a `.mdl` file byte range by byte range.

use microdense_core::format::{decode_prefix_with, FormatError, Inconsistency, ModelView, TrainingUse};
use microdense_core::protocol::{
    Capacity, Fault, ModelFault, ModelSummary, TrainingSummary, TunedSummary, MAX_OUTPUTS,
};
use microdense_core::{Error, Network, PenaltySums, Portable, Rows, MAX_LAYERS};

use super::buffers::{MAX_INPUT, MAX_INT8_SCRATCH, MAX_SCRATCH, MAX_WIDTH};

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
    // An inference-only image leaves the training state out (and its optimizer code).
    let training = if cfg!(training) {
        TrainingUse::Read
    } else {
        TrainingUse::Skip
    };
    *loaded = match (blank, decode_prefix_with(region, training)) {
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
pub(super) enum Held {
    Input,
    Mid,
}

impl<'b> SampleBuffers<'b> {
    /// Runs the sample in `input` through everything frozen before layer `first` of the
    /// float network: the int8 body (if any, its dequantised output into `mid`), then the
    /// float layers `..first` (weights in flash, through `scratch` into whichever of
    /// `input` and `mid` they did not read; noise and activity penalties as `rows` says,
    /// whose penalty sums are the whole float network's). Returns where the result lies.
    pub(super) fn run_frozen(
        &mut self,
        view: &ModelView<'_>,
        net: &Network<'_>,
        first: usize,
        rows: &mut Rows<'_>,
    ) -> Result<Held, Fault> {
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
            let mut prefix_rows = Rows {
                noise: rows.noise,
                first_sample: rows.first_sample,
                penalties: &mut rows.penalties[..first],
            };
            let scratch = &mut self.scratch[..len];
            let out = prefix.predict_rows(&Portable, weights, x, 1, &mut prefix_rows, scratch)?;
            to[..out.len()].copy_from_slice(out);
            held = match held {
                Held::Input => Held::Mid,
                Held::Mid => Held::Input,
            };
        }
        Ok(held)
    }
}

/// Runs one sample (in `buffers.input`, sample `rows.first_sample` of its batch) through
/// the model: its int8 body (if any), the float network's frozen prefix and its suffix
/// (tuned from `trainable` when tuned), gathering the activity penalties in `rows` (one
/// sum per layer of the float network). The outputs live in `buffers.scratch`. Gives the
/// same bits as the whole network run at once: rows never mix, and each layer runs the
/// same kernel on the same values.
pub fn infer<'s>(
    view: &ModelView<'_>,
    net: &Network<'_>,
    tuned: Option<(usize, &[f32])>,
    buffers: &'s mut SampleBuffers<'_>,
    rows: &mut Rows<'_>,
) -> Result<&'s [f32], Fault> {
    let (first, suffix, weights) = match tuned {
        Some((first, trainable)) => (first, net.suffix(first)?, trainable),
        None => (0, *net, view.weights()),
    };
    let held = buffers.run_frozen(view, net, first, rows)?;
    let len = suffix.inference_scratch_len(1);
    let SampleBuffers {
        input, scratch, mid, ..
    } = buffers;
    let x = match held {
        Held::Input => &input[..suffix.input_width()],
        Held::Mid => &mid[..suffix.input_width()],
    };
    let mut suffix_rows = Rows {
        noise: None,
        first_sample: rows.first_sample,
        penalties: &mut rows.penalties[first..],
    };
    Ok(suffix.predict_rows(&Portable, weights, x, 1, &mut suffix_rows, &mut scratch[..len])?)
}

/// Room for the activity-penalty sums of a batch ([`Rows`]), one per layer.
pub type PenaltyRoom = [PenaltySums; MAX_LAYERS];

/// The [`Rows`] of a batch through the float network `net` (its first sample first),
/// with its sums in `room` (zeroed).
pub fn batch_rows<'p>(room: &'p mut PenaltyRoom, net: &Network<'_>, noise: Option<u64>) -> Rows<'p> {
    let penalties = &mut room[..net.layers().len()];
    penalties.fill(PenaltySums::default());
    Rows {
        noise,
        first_sample: 0,
        penalties,
    }
}

/// A summary of a valid model for Info.
pub fn summary(view: &ModelView<'static>, tuned: Option<TunedSummary>) -> Result<ModelSummary, Error> {
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
        // An inference-only image decoded no training state (nor carries the code to send one).
        training: view
            .training()
            .filter(|_| cfg!(training))
            .map(|t| TrainingSummary {
                optimizer: t.optimizer.clone(),
                loss: t.loss,
                iterations: t.scalars.iterations,
                trainable_layers: t.trainable_layers as u16,
            }),
        tuned,
    })
}

/// Saturating `usize` to `u32`, for reported figures.
pub fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
