//! The protocol server: answers the host's requests (see `microdense_core::protocol`) over
//! any `embedded-io` serial port, timing its work with any [`Clock`]. Board-independent.
//!
//! Every frame gets exactly one reply, an error reply when it cannot be read or the request
//! fails; a frame whose bytes stop arriving is dropped after [`link::FRAME_TIMEOUT_TICKS`]
//! with an error reply. While no byte is waiting, the core sleeps ([`WaitForInput`]). The
//! server never stops serving: only a failing serial port ends it.

mod buffers;
mod link;
mod model;
#[cfg(training)]
mod tuning;

pub use buffers::{
    Buffers, MAX_BATCH, MAX_INPUT, MAX_INT8_SCRATCH, MAX_SCRATCH, MAX_WIDTH, PULL_CHUNK, RX_FRAME,
    TRAIN_ARENA, TX_FRAME,
};
pub use link::{SendError, FRAME_TIMEOUT_TICKS};

use embedded_io::{Read, ReadReady, Write};
use microdense_core::protocol::{
    decode_values, open_frame, ClockUnit, DeviceInfo, Fault, Limits, Measured, MemoryUse, ModelStatus,
    Request, Response, Samples, Tally, PROTOCOL_VERSION, UNKNOWN_ID,
};
use microdense_core::{argmax, Loss, PenaltySums, Targets, MAX_LAYERS};

use crate::clock::{Clock, TickUnit};
use crate::idle::WaitForInput;
use crate::memory::MemoryProbe;
use crate::model_region::ModelRegion;
use crate::FIRMWARE_VERSION;
pub use model::Loaded;
use model::{small, SampleBuffers};

/// What the firmware tells about itself.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    /// The board's name.
    pub board: &'a str,
    /// The model region the firmware was linked with.
    pub model: ModelRegion,
    /// A clock self-check: a busy loop of this many instructions …
    pub check_instructions: u32,
    /// … took this many clock ticks.
    pub check_ticks: u64,
}

/// f32 of fine-tuning memory this image has (none when inference-only).
const TRAINING_MEMORY: usize = if cfg!(training) { TRAIN_ARENA } else { 0 };

/// The server's state besides its buffers.
struct Server<'a, C, M> {
    clock: &'a C,
    memory: &'a M,
    identity: Identity<'a>,
    loaded: &'a Loaded,
    /// The fine-tuned suffix, once fine-tuning started.
    #[cfg(training)]
    tuned: Option<tuning::Tuned>,
    totals: Tally,
    measured: Measured,
    /// The generator dropout layers draw from while fine-tuning.
    #[cfg(training)]
    rng: microdense_core::Rng,
}

/// Validates the model in `region` into `loaded` (CRC, version, shapes, and that it fits the
/// buffers), before [`run`] serves it. A function of its own, so the decoder's stack frame is
/// gone before the server's starts: on a 16 KiB part they would not fit on top of each other.
#[inline(never)]
pub fn load_model(region: ModelRegion, loaded: &mut Loaded) {
    model::load(region.bytes(), region.is_blank(), loaded);
}

/// Serves the host the model `loaded` ([`load_model`]) until the serial port fails; returns the
/// port's error.
pub fn run<S, C, M>(
    serial: &mut S,
    clock: &C,
    memory: &M,
    identity: Identity<'_>,
    loaded: &Loaded,
    buffers: &mut Buffers,
) -> SendError<S::Error>
where
    S: Read + ReadReady + Write + WaitForInput,
    C: Clock,
    M: MemoryProbe,
{
    let mut server = Server {
        clock,
        memory,
        identity,
        loaded,
        #[cfg(training)]
        tuned: None,
        totals: Tally::default(),
        measured: Measured {
            clock_check_instructions: identity.check_instructions,
            clock_check_ticks: identity.check_ticks,
            infer_ram: (4 * (MAX_INPUT + MAX_SCRATCH + MAX_WIDTH) + MAX_INT8_SCRATCH) as u32,
            ..Measured::default()
        },
        #[cfg(training)]
        rng: microdense_core::Rng::new(microdense_core::protocol::DROPOUT_SEED),
    };
    server.calibrate(buffers);
    let Buffers {
        rx,
        tx,
        input,
        scratch,
        mid,
        int8,
        #[cfg(training)]
        arena,
        #[cfg(training)]
        labels,
        ..
    } = buffers;
    loop {
        let (id, reply) = match link::receive(serial, clock, rx) {
            Err(fault) => (UNKNOWN_ID, Err(fault)),
            Ok(len) => match open_frame(&mut rx[..len]) {
                Err(e) => (UNKNOWN_ID, Err(Fault::Frame(e))),
                Ok(frame) => {
                    let reply = match frame.message::<Request>() {
                        Err(e) => Err(Fault::Frame(e)),
                        Ok(request) => {
                            let mut work = Work {
                                sample: SampleBuffers {
                                    input,
                                    scratch,
                                    mid,
                                    int8,
                                },
                                #[cfg(training)]
                                arena,
                                #[cfg(training)]
                                labels,
                            };
                            server.handle(
                                &request,
                                &mut work,
                                Reply {
                                    serial,
                                    tx,
                                    id: frame.id,
                                },
                            )
                        }
                    };
                    (frame.id, reply)
                }
            },
        };
        let sent = match reply {
            Ok(Sent::Done) => Ok(()),
            Ok(Sent::Simple(response)) => link::send(serial, tx, id, &response),
            Err(fault) => link::send(serial, tx, id, &Response::Error(fault)),
        };
        if let Err(e) = sent {
            return e;
        }
    }
}

/// The working buffers a request may use.
struct Work<'b> {
    sample: SampleBuffers<'b>,
    /// Fine-tuning memory.
    #[cfg(training)]
    arena: &'b mut [f32],
    /// A training batch's labels.
    #[cfg(training)]
    labels: &'b mut [u32],
}

/// How a request was answered.
// Returned once per request and sent at once: there is no heap to box the reply in.
#[allow(clippy::large_enum_variant)]
enum Sent {
    /// The handler sent its reply itself (it borrowed the transmit buffer's neighbours).
    Done,
    /// A reply without borrowed data, to be sent.
    Simple(Response<'static>),
}

/// Decodes labelled records from a request's samples.
struct Records<'r> {
    samples: &'r Samples<'r>,
    at: usize,
    next: usize,
}

impl<'r> Records<'r> {
    fn new(samples: &'r Samples<'r>) -> Self {
        Records {
            samples,
            at: 0,
            next: 0,
        }
    }

    /// Decodes the next record (samples are read in order) into `input`; its label, or
    /// `None` for unlabelled records.
    fn next(&mut self, labelled: bool, input: &mut [f32]) -> Result<Option<u32>, Fault> {
        let data = self.samples.data;
        let label = if labelled {
            let label = *data.get(self.at).ok_or(Fault::NoLabel {
                sample: small(self.next),
            })?;
            self.at += 1;
            Some(u32::from(label))
        } else {
            None
        };
        let rest = data.get(self.at..).unwrap_or_default();
        let used =
            decode_values(self.samples.encoding, self.samples.scale, rest, input).map_err(|error| {
                Fault::Sample {
                    sample: small(self.next),
                    error,
                }
            })?;
        self.at += used;
        self.next += 1;
        Ok(label)
    }

    /// Errors unless every byte was used.
    fn finish(&self) -> Result<(), Fault> {
        if self.at != self.samples.data.len() {
            return Err(Fault::TrailingBytes {
                bytes: small(self.samples.data.len() - self.at),
                samples: self.samples.count,
            });
        }
        Ok(())
    }
}

impl<'a, C: Clock, M: MemoryProbe> Server<'a, C, M> {
    /// The valid model, or the reason there is none.
    fn model(&self) -> Result<&microdense_core::format::ModelView<'static>, Fault> {
        match self.loaded {
            Loaded::Ready(view) => Ok(view),
            _ => Err(self.no_model()),
        }
    }

    /// Why there is no valid model (only meaningful when there is none).
    fn no_model(&self) -> Fault {
        match self.loaded {
            Loaded::Corrupted(why) => Fault::BadModel(*why),
            _ => Fault::NoModel {
                address: self.identity.model.address(),
            },
        }
    }

    /// Measures one inference on an all-zero input, so Info has a figure from the start.
    #[inline(never)]
    fn calibrate(&mut self, buffers: &mut Buffers) {
        let Loaded::Ready(view) = self.loaded else {
            return;
        };
        let Ok(net) = view.network() else { return };
        buffers.input[..view.input_width()].fill(0.0);
        let mut sample = SampleBuffers {
            input: &mut buffers.input,
            scratch: &mut buffers.scratch,
            mid: &mut buffers.mid,
            int8: &mut buffers.int8,
        };
        let mut room = [PenaltySums::default(); MAX_LAYERS];
        let mut rows = model::batch_rows(&mut room, &net, None);
        let start = self.clock.now();
        let ok = model::infer(view, &net, None, &mut sample, &mut rows).is_ok();
        if ok {
            self.measured.infer_ticks = self.clock.now().saturating_sub(start);
        }
    }

    #[inline(never)]
    fn handle<S: Write>(
        &mut self,
        request: &Request<'_>,
        work: &mut Work<'_>,
        reply: Reply<'_, S>,
    ) -> Result<Sent, Fault> {
        match request {
            Request::Info => self.send_info(reply),
            Request::Infer(samples) => self.infer(samples, work, reply),
            Request::Evaluate { reset, loss, samples } => self.evaluate(*reset, *loss, samples, work),
            #[cfg(training)]
            Request::Train {
                layers,
                sgd,
                loss,
                samples,
            } => self.train(usize::from(*layers), *sgd, *loss, samples, work),
            #[cfg(training)]
            Request::Pull { offset, len } => self.pull(*offset, *len, work, reply),
            #[cfg(not(training))]
            Request::Train { .. } => Err(Fault::InferenceOnly(
                microdense_core::protocol::TrainingRequest::Finetune,
            )),
            #[cfg(not(training))]
            Request::Pull { .. } => Err(Fault::InferenceOnly(
                microdense_core::protocol::TrainingRequest::Pull,
            )),
            Request::Reset => {
                self.reset_tuning();
                self.totals = Tally::default();
                Ok(Sent::Simple(Response::Reset))
            }
        }
    }

    #[inline(never)]
    fn send_info<S: Write>(&self, reply: Reply<'_, S>) -> Result<Sent, Fault> {
        let summary = match self.loaded {
            Loaded::Ready(view) => Some(model::summary(view, self.tuned_summary())?),
            _ => None,
        };
        let status = match (self.loaded, summary) {
            (Loaded::Corrupted(why), _) => ModelStatus::Corrupted(*why),
            (_, Some(s)) => ModelStatus::Ok(s),
            _ => ModelStatus::None,
        };
        reply.send(&Response::Info(self.info(status)))
    }

    fn info<'s>(&self, model: ModelStatus) -> DeviceInfo<'s>
    where
        'a: 's,
    {
        let m = self.memory.report();
        let flash_model = match self.loaded {
            Loaded::Ready(view) => view.header().len as u32,
            _ => 0,
        };
        DeviceInfo {
            protocol: PROTOCOL_VERSION,
            firmware: FIRMWARE_VERSION,
            board: self.identity.board,
            model_address: self.identity.model.address(),
            model_region: self.identity.model.bytes().len() as u32,
            model,
            memory: MemoryUse {
                flash_code: m.flash_used,
                flash_budget: m.flash_budget,
                flash_model,
                static_ram: m.static_ram,
                stack_size: m.stack_size,
                stack_used: m.stack_used,
            },
            clock: match self.clock.unit() {
                TickUnit::Instructions => ClockUnit::Instructions,
                TickUnit::Cycles => ClockUnit::Cycles,
            },
            clock_resolution: self.clock.resolution(),
            limits: Limits {
                max_input: MAX_INPUT as u32,
                max_inference_scratch: MAX_SCRATCH as u32,
                train_arena: TRAINING_MEMORY as u32,
                max_batch: MAX_BATCH as u32,
            },
            measured: self.measured,
        }
    }

    /// Checks the samples' count against the model and the firmware's limits.
    fn check_count(samples: &Samples<'_>, min: u16, max: u16) -> Result<usize, Fault> {
        if samples.count < min || samples.count > max {
            return Err(Fault::SampleCount {
                count: samples.count,
                min,
                max,
            });
        }
        Ok(usize::from(samples.count))
    }

    fn loss_for(&self, requested: Option<Loss>) -> Loss {
        let trained = match self.loaded {
            Loaded::Ready(view) => view.training().map(|t| t.loss),
            _ => None,
        };
        requested
            .or(self.tuned_loss())
            .or(trained)
            .unwrap_or(Loss::CategoricalCrossentropy)
    }

    #[inline(never)]
    fn infer<S: Write>(
        &mut self,
        samples: &Samples<'_>,
        work: &mut Work<'_>,
        reply: Reply<'_, S>,
    ) -> Result<Sent, Fault> {
        let view = self.model()?;
        let net = view.network()?;
        Self::check_count(samples, 1, 1)?;
        let mut records = Records::new(samples);
        records.next(false, &mut work.sample.input[..view.input_width()])?;
        records.finish()?;
        #[cfg(training)]
        let tuned = self.tuned_suffix(work.arena);
        #[cfg(not(training))]
        let tuned = None;
        let mut room = [PenaltySums::default(); MAX_LAYERS];
        let mut rows = model::batch_rows(&mut room, &net, None);
        let start = self.clock.now();
        let out = model::infer(view, &net, tuned, &mut work.sample, &mut rows)?;
        let ticks = self.clock.now().saturating_sub(start);
        let mut scores = heapless::Vec::new();
        // `load` checked the outputs fit MAX_OUTPUTS.
        let _ = scores.extend_from_slice(out);
        let class = argmax(out) as u8;
        self.measured.infer_ticks = ticks;
        reply.send(&Response::Inferred { class, scores, ticks })
    }

    #[inline(never)]
    fn evaluate(
        &mut self,
        reset: bool,
        loss: Option<Loss>,
        samples: &Samples<'_>,
        work: &mut Work<'_>,
    ) -> Result<Sent, Fault> {
        let loss = self.loss_for(loss);
        let view = self.model()?;
        let net = view.network()?;
        let count = Self::check_count(samples, 0, MAX_BATCH as u16)?;
        let width = view.input_width();
        #[cfg(training)]
        let tuned = self.tuned_suffix(work.arena);
        #[cfg(not(training))]
        let tuned = None;
        let mut records = Records::new(samples);
        let mut batch = Tally::default();
        let mut predictions = heapless::Vec::new();
        let mut ticks = 0;
        let mut room = [PenaltySums::default(); MAX_LAYERS];
        let mut rows = model::batch_rows(&mut room, &net, None);
        for s in 0..count {
            let label = records
                .next(true, &mut work.sample.input[..width])?
                .unwrap_or_default();
            check_label(s, label, net.output_width())?;
            rows.first_sample = s;
            let start = self.clock.now();
            let out = model::infer(view, &net, tuned, &mut work.sample, &mut rows)?;
            ticks = self.clock.now().saturating_sub(start);
            let targets = Targets::Classes(core::slice::from_ref(&label));
            batch.samples += 1;
            batch.loss_sum += loss.value(out, &targets, 0);
            batch.correct += u32::from(loss.is_correct(out, &targets, 0));
            // At most MAX_BATCH predictions (checked above).
            let _ = predictions.push(argmax(out) as u8);
        }
        records.finish()?;
        // What activity regularizers add, after the samples' losses (as the host's evaluate).
        batch.loss_sum += rows.penalty(net.layers());
        if count > 0 {
            self.measured.infer_ticks = ticks;
        }
        if reset {
            self.totals = Tally::default();
        }
        self.totals.merge(batch);
        Ok(Sent::Simple(Response::Evaluated {
            batch,
            total: self.totals,
            predictions,
        }))
    }
}

/// An inference-only image never fine-tunes.
#[cfg(not(training))]
impl<C, M> Server<'_, C, M> {
    fn tuned_summary(&self) -> Option<microdense_core::protocol::TunedSummary> {
        None
    }

    fn tuned_loss(&self) -> Option<Loss> {
        None
    }

    fn reset_tuning(&mut self) {}
}

/// Where a handler sends a reply that borrows request-local data: right away, as the reply
/// to frame `id`.
struct Reply<'r, S> {
    serial: &'r mut S,
    tx: &'r mut [u8; TX_FRAME],
    id: u16,
}

impl<S: Write> Reply<'_, S> {
    /// Sends `response` now.
    fn send(self, response: &Response<'_>) -> Result<Sent, Fault> {
        match link::send(self.serial, self.tx, self.id, response) {
            Ok(()) => Ok(Sent::Done),
            Err(SendError::Frame(e)) => Err(Fault::Reply(e)),
            // The port failed: nothing more can be sent; the next receive reports it.
            Err(SendError::Io(_)) => Ok(Sent::Done),
        }
    }
}

/// Errors unless `label` is one of the model's `outputs` classes.
fn check_label(sample: usize, label: u32, outputs: usize) -> Result<(), Fault> {
    if label as usize >= outputs {
        return Err(Fault::Label {
            sample: small(sample),
            label,
            outputs: small(outputs),
        });
    }
    Ok(())
}
