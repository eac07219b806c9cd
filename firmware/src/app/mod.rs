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
use microdense_core::{argmax, Loss, Optimizer, Rng, Targets};

use crate::clock::{Clock, TickUnit};
use crate::idle::WaitForInput;
use crate::memory::MemoryProbe;
use crate::model_region::ModelRegion;
use crate::FIRMWARE_VERSION;
pub use model::Loaded;
use model::{small, BatchSource, SampleBuffers, Stopwatch, Tuned};

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

/// Seed of the generator dropout layers draw from while fine-tuning.
const DROPOUT_SEED: u64 = 0x6d69_6372_6f64_656e;

/// The server's state besides its buffers.
struct Server<'a, C, M> {
    clock: &'a C,
    memory: &'a M,
    identity: Identity<'a>,
    loaded: &'a Loaded,
    tuned: Option<Tuned>,
    totals: Tally,
    measured: Measured,
    rng: Rng,
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
        tuned: None,
        totals: Tally::default(),
        measured: Measured {
            clock_check_instructions: identity.check_instructions,
            clock_check_ticks: identity.check_ticks,
            infer_ram: (4 * (MAX_INPUT + MAX_SCRATCH + MAX_WIDTH) + MAX_INT8_SCRATCH) as u32,
            ..Measured::default()
        },
        rng: Rng::new(DROPOUT_SEED),
    };
    server.calibrate(buffers);
    let Buffers {
        rx,
        tx,
        input,
        scratch,
        mid,
        int8,
        arena,
        labels,
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
                                arena,
                                labels,
                            };
                            server.handle(&request, &mut work, tx, frame.id, serial)
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
    arena: &'b mut [f32],
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
        let start = self.clock.now();
        let ok = model::infer(view, &net, None, &mut sample).is_ok();
        if ok {
            self.measured.infer_ticks = self.clock.now().saturating_sub(start);
        }
    }

    #[inline(never)]
    fn handle<S: Write>(
        &mut self,
        request: &Request<'_>,
        work: &mut Work<'_>,
        tx: &mut [u8; TX_FRAME],
        id: u16,
        serial: &mut S,
    ) -> Result<Sent, Fault> {
        match request {
            Request::Info => self.send_info(tx, id, serial),
            Request::Infer(samples) => self.infer(samples, work, tx, id, serial),
            Request::Evaluate { reset, loss, samples } => self.evaluate(*reset, *loss, samples, work),
            Request::Train {
                layers,
                sgd,
                loss,
                samples,
            } => self.train(usize::from(*layers), *sgd, *loss, samples, work),
            Request::Pull { offset, len } => self.pull(*offset, *len, work, tx, id, serial),
            Request::Reset => {
                self.tuned = None;
                self.totals = Tally::default();
                self.rng = Rng::new(DROPOUT_SEED);
                Ok(Sent::Simple(Response::Reset))
            }
        }
    }

    #[inline(never)]
    fn send_info<S: Write>(&self, tx: &mut [u8; TX_FRAME], id: u16, serial: &mut S) -> Result<Sent, Fault> {
        let summary = match self.loaded {
            Loaded::Ready(view) => Some(model::summary(view, self.tuned.as_ref())?),
            _ => None,
        };
        let status = match (self.loaded, summary) {
            (Loaded::Corrupted(why), _) => ModelStatus::Corrupted(*why),
            (_, Some(s)) => ModelStatus::Ok(s),
            _ => ModelStatus::None,
        };
        send_now(serial, tx, id, &Response::Info(self.info(status)))
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
                train_arena: TRAIN_ARENA as u32,
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
            .or(self.tuned.as_ref().map(|t| t.loss))
            .or(trained)
            .unwrap_or(Loss::CategoricalCrossentropy)
    }

    #[inline(never)]
    fn infer<S: Write>(
        &mut self,
        samples: &Samples<'_>,
        work: &mut Work<'_>,
        tx: &mut [u8; TX_FRAME],
        id: u16,
        serial: &mut S,
    ) -> Result<Sent, Fault> {
        let view = self.model()?;
        let net = view.network()?;
        Self::check_count(samples, 1, 1)?;
        let mut records = Records::new(samples);
        records.next(false, &mut work.sample.input[..view.input_width()])?;
        records.finish()?;
        let tuned = self.tuned.as_ref().map(|t| (t, &work.arena[..t.params]));
        let start = self.clock.now();
        let out = model::infer(view, &net, tuned, &mut work.sample)?;
        let ticks = self.clock.now().saturating_sub(start);
        let mut scores = heapless::Vec::new();
        // `load` checked the outputs fit MAX_OUTPUTS.
        let _ = scores.extend_from_slice(out);
        let class = argmax(out) as u8;
        self.measured.infer_ticks = ticks;
        send_now(serial, tx, id, &Response::Inferred { class, scores, ticks })
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
        let tuned = self.tuned.as_ref().map(|t| (t, &work.arena[..t.params]));
        let mut records = Records::new(samples);
        let mut batch = Tally::default();
        let mut predictions = heapless::Vec::new();
        let mut ticks = 0;
        for _ in 0..count {
            let label = records
                .next(true, &mut work.sample.input[..width])?
                .unwrap_or_default();
            check_label(batch.samples as usize, label, net.output_width())?;
            let start = self.clock.now();
            let out = model::infer(view, &net, tuned, &mut work.sample)?;
            ticks = self.clock.now().saturating_sub(start);
            let targets = Targets::Classes(core::slice::from_ref(&label));
            batch.samples += 1;
            batch.loss_sum += loss.value(out, &targets, 0);
            batch.correct += u32::from(loss.is_correct(out, &targets, 0));
            // At most MAX_BATCH predictions (checked above).
            let _ = predictions.push(argmax(out) as u8);
        }
        records.finish()?;
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

    #[inline(never)]
    fn train(
        &mut self,
        layers: usize,
        sgd: Option<microdense_core::Sgd>,
        loss: Option<Loss>,
        samples: &Samples<'_>,
        work: &mut Work<'_>,
    ) -> Result<Sent, Fault> {
        let loss = self.loss_for(loss);
        // Borrows only `loaded`, so the step can update the other fields.
        let view = match self.loaded {
            Loaded::Ready(view) => view,
            _ => return Err(self.no_model()),
        };
        let net = view.network()?;
        let count = Self::check_count(samples, 1, MAX_BATCH as u16)?;
        let optimizer = match (sgd, view.training()) {
            (Some(sgd), _) => Optimizer::from(sgd),
            (None, Some(t)) => t.optimizer.clone(),
            (None, None) => return Err(Fault::NoHyperparameters),
        };
        let mut tuned = match &self.tuned {
            Some(t) if t.layers != layers => {
                return Err(Fault::TunedLayers {
                    tuned: small(t.layers),
                    requested: small(layers),
                })
            }
            Some(t) if t.optimizer.slots() != optimizer.slots() => {
                return Err(Fault::TunedOptimizer {
                    slots: t.optimizer.slots() as u8,
                    requested: optimizer.slots() as u8,
                })
            }
            Some(t) => Tuned {
                optimizer,
                loss,
                ..t.clone()
            },
            None => model::start_tuning(view, layers, optimizer, loss, work.arena)?,
        };
        // Every record is checked before the step, so a bad one changes nothing.
        let outputs = net.output_width();
        let mut check = Records::new(samples);
        for s in 0..count {
            let label = check
                .next(true, &mut work.sample.input[..view.input_width()])?
                .unwrap_or_default();
            check_label(s, label, outputs)?;
        }
        check.finish()?;
        let mut source = Source(Records::new(samples));
        let mut watch = Watch {
            clock: self.clock,
            since: self.clock.now(),
            running: true,
            total: 0,
        };
        let result = model::train_step(
            view,
            &net,
            &mut tuned,
            count,
            &mut source,
            &mut watch,
            &mut work.sample,
            work.labels,
            work.arena,
            &mut self.rng,
        );
        watch.pause();
        // A failed first step leaves nothing tuned; a later one changed nothing.
        let stats = result?;
        self.measured.train_ticks_per_sample = watch.total / count as u64;
        self.measured.train_batch = count as u32;
        self.measured.train_ram = model::train_len(&net, &tuned, count).map_or(0, |n| 4 * n as u32);
        let iterations = tuned.scalars.iterations;
        self.tuned = Some(tuned);
        Ok(Sent::Simple(Response::Trained {
            batch: stats.into(),
            iterations,
        }))
    }

    #[inline(never)]
    fn pull<S: Write>(
        &mut self,
        offset: u32,
        len: u16,
        work: &mut Work<'_>,
        tx: &mut [u8; TX_FRAME],
        id: u16,
        serial: &mut S,
    ) -> Result<Sent, Fault> {
        let view = self.model()?;
        // The int8 scratch is free while pulling: the tuned file's head is generated there.
        let head = bytemuck::cast_slice_mut::<i8, u8>(work.sample.int8);
        let image = model::FileImage::new(
            self.identity.model.bytes(),
            view,
            self.tuned.as_ref(),
            work.arena,
            head,
        )?;
        let total = image.len();
        let offset = offset as usize;
        if offset > total {
            return Err(Fault::PullOffset {
                offset: small(offset),
                total: small(total),
            });
        }
        let take = usize::from(len).min(PULL_CHUNK).min(total - offset);
        // The input buffer is free while pulling: the chunk goes there, not on the stack.
        let chunk = &mut bytemuck::cast_slice_mut::<f32, u8>(work.sample.input)[..take];
        let crc = image.crc();
        image.read(offset, chunk, crc);
        send_now(
            serial,
            tx,
            id,
            &Response::Chunk {
                offset: offset as u32,
                total: total as u32,
                crc,
                bytes: chunk,
            },
        )
    }
}

/// Sends a reply that borrows request-local data right away.
fn send_now<S: Write>(
    serial: &mut S,
    tx: &mut [u8; TX_FRAME],
    id: u16,
    response: &Response<'_>,
) -> Result<Sent, Fault> {
    match link::send(serial, tx, id, response) {
        Ok(()) => Ok(Sent::Done),
        Err(SendError::Frame(e)) => Err(Fault::Reply(e)),
        // The port failed: nothing more can be sent; the next receive reports it.
        Err(SendError::Io(_)) => Ok(Sent::Done),
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

/// Training samples decoded from a request's records.
struct Source<'r>(Records<'r>);

impl BatchSource for Source<'_> {
    fn sample(&mut self, _s: usize, input: &mut [f32]) -> Result<u32, Fault> {
        Ok(self.0.next(true, input)?.unwrap_or_default())
    }
}

/// Times a training step without its sample decoding.
struct Watch<'c, C> {
    clock: &'c C,
    since: u64,
    running: bool,
    total: u64,
}

impl<C: Clock> Stopwatch for Watch<'_, C> {
    fn resume(&mut self) {
        if !self.running {
            self.since = self.clock.now();
            self.running = true;
        }
    }

    fn pause(&mut self) {
        if self.running {
            self.total += self.clock.now().saturating_sub(self.since);
            self.running = false;
        }
    }
}
