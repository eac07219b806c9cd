//! A device's responses written by hand: the frame [`super::encode_frame`] makes of a
//! [`Response`], without serde's derived code for the messages and faults (code size on a
//! device; the tests compare the two for every variant). An enum's tag is the variant's
//! position in its declaration, a unit enum's its discriminant (equal, tested where they
//! are declared).

use super::frame::CrcCobs;
use super::{
    DeviceInfo, Fault, FrameError, Limits, Measured, MemoryUse, ModelFault, ModelStatus, ModelSummary,
    Response, SampleError, Tally,
};
use crate::format::{FormatError, Inconsistency, Writer};
use crate::quant::QuantError;
use crate::Error;

/// Writes `response` with `id` as one frame into `out` and returns the frame's length (the
/// closing zero included): the bytes of [`super::encode_frame`]`(id, response, out)`.
pub fn encode_response(id: u16, response: &Response<'_>, out: &mut [u8]) -> Result<usize, FrameError> {
    let mut frame = CrcCobs::new(out)?;
    let mut w = Writer::to_sink(&mut frame);
    w.varint(id.into());
    w.response(response);
    if w.finish().is_none() {
        return Err(FrameError::Oversized {
            limit: super::MAX_PAYLOAD as u32,
        });
    }
    frame.close()
}

impl Writer<'_> {
    /// A [`Response`]: its tag (the variant's position), then its fields in order.
    fn response(&mut self, response: &Response<'_>) {
        match response {
            Response::Info(info) => {
                self.byte(0);
                self.info(info);
            }
            Response::Inferred { class, scores, ticks } => {
                self.byte(1);
                self.byte(*class);
                self.seq_len(scores.len());
                for &x in scores {
                    self.f32(x);
                }
                self.varint(*ticks);
            }
            Response::Evaluated {
                batch,
                total,
                predictions,
            } => {
                self.byte(2);
                self.tally(batch);
                self.tally(total);
                self.slice(predictions);
            }
            Response::Trained { batch, iterations } => {
                self.byte(3);
                self.tally(batch);
                self.varint(*iterations);
            }
            Response::Chunk {
                offset,
                total,
                crc,
                bytes,
            } => {
                self.byte(4);
                for n in [offset, total, crc] {
                    self.varint((*n).into());
                }
                self.slice(bytes);
            }
            Response::Reset => self.byte(5),
            Response::Error(fault) => {
                self.byte(6);
                self.fault(fault);
            }
        }
    }

    /// A byte slice or a string's bytes: the length, then the bytes.
    fn slice(&mut self, bytes: &[u8]) {
        self.seq_len(bytes.len());
        self.bytes(bytes);
    }

    /// A tag, then unsigned integers as varints (a variant whose fields are all such).
    fn tagged(&mut self, tag: u8, values: &[u64]) {
        self.byte(tag);
        self.varints(values);
    }

    /// Unsigned integers as varints, in order.
    fn varints(&mut self, values: &[u64]) {
        for &v in values {
            self.varint(v);
        }
    }

    /// A [`Tally`].
    fn tally(&mut self, t: &Tally) {
        self.varints(&[t.samples.into(), t.correct.into()]);
        self.f32(t.loss_sum);
    }

    /// A [`DeviceInfo`].
    fn info(&mut self, info: &DeviceInfo<'_>) {
        self.varint(info.protocol.into());
        self.slice(info.firmware.as_bytes());
        self.slice(info.board.as_bytes());
        self.varints(&[info.model_address.into(), info.model_region.into()]);
        match &info.model {
            ModelStatus::None => self.byte(0),
            ModelStatus::Corrupted(why) => {
                self.byte(1);
                self.model_fault(why);
            }
            ModelStatus::Ok(summary) => {
                self.byte(2);
                self.summary(summary);
            }
        }
        let MemoryUse {
            flash_code,
            flash_budget,
            flash_model,
            static_ram,
            stack_size,
            stack_used,
        } = info.memory;
        self.varints(&[
            flash_code.into(),
            flash_budget.into(),
            flash_model.into(),
            static_ram.into(),
            stack_size.into(),
            stack_used.into(),
        ]);
        self.byte(info.clock as u8);
        let Limits {
            max_input,
            max_inference_scratch,
            train_arena,
            max_batch,
        } = info.limits;
        self.varints(&[
            info.clock_resolution.into(),
            max_input.into(),
            max_inference_scratch.into(),
            train_arena.into(),
            max_batch.into(),
        ]);
        let Measured {
            infer_ticks,
            train_ticks_per_sample,
            train_batch,
            infer_ram,
            train_ram,
            clock_check_instructions,
            clock_check_ticks,
        } = info.measured;
        self.varints(&[
            infer_ticks,
            train_ticks_per_sample,
            train_batch.into(),
            infer_ram.into(),
            train_ram.into(),
            clock_check_instructions.into(),
            clock_check_ticks,
        ]);
    }

    /// A [`ModelSummary`].
    fn summary(&mut self, s: &ModelSummary) {
        self.varints(&[
            s.file_len.into(),
            s.crc.into(),
            s.version.into(),
            s.input_width.into(),
            s.output_width.into(),
            s.layers.into(),
            s.weighted_layers.into(),
            s.params.into(),
        ]);
        match &s.training {
            None => self.byte(0),
            Some(t) => {
                self.byte(1);
                self.optimizer(&t.optimizer);
                self.varints(&[t.loss as u64, t.iterations, t.trainable_layers.into()]);
            }
        }
        match &s.tuned {
            None => self.byte(0),
            Some(t) => {
                self.byte(1);
                self.varints(&[t.layers.into(), t.params.into(), t.iterations]);
            }
        }
    }

    /// A [`Fault`].
    fn fault(&mut self, fault: &Fault) {
        let u = u64::from;
        match *fault {
            Fault::Frame(e) => {
                self.byte(0);
                self.frame_error(e);
            }
            Fault::CutOff { timeout_ticks } => self.tagged(1, &[timeout_ticks]),
            Fault::Serial => self.byte(2),
            Fault::NoModel { address } => self.tagged(3, &[u(address)]),
            Fault::BadModel(ref why) => {
                self.byte(4);
                self.model_fault(why);
            }
            Fault::Engine(e) => {
                self.byte(5);
                self.engine(e);
            }
            Fault::Reply(e) => {
                self.byte(6);
                self.frame_error(e);
            }
            Fault::NoLabel { sample } => self.tagged(7, &[u(sample)]),
            Fault::Sample { sample, error } => {
                self.tagged(8, &[u(sample)]);
                self.sample_error(error);
            }
            Fault::TrailingBytes { bytes, samples } => self.tagged(9, &[u(bytes), samples.into()]),
            Fault::SampleCount { count, min, max } => {
                self.tagged(10, &[count.into(), min.into(), max.into()])
            }
            Fault::Label {
                sample,
                label,
                outputs,
            } => self.tagged(11, &[u(sample), u(label), u(outputs)]),
            Fault::NoHyperparameters => self.byte(12),
            Fault::TunedLayers { tuned, requested } => self.tagged(13, &[u(tuned), u(requested)]),
            Fault::TunedOptimizer { slots, requested } => self.bytes(&[14, slots, requested]),
            Fault::TrainLayers { requested, weighted } => self.tagged(15, &[u(requested), u(weighted)]),
            Fault::TrainMemory {
                layers,
                needed,
                reserved,
            } => self.tagged(16, &[u(layers), u(needed), u(reserved)]),
            Fault::BatchMemory {
                batch,
                needed,
                reserved,
            } => self.tagged(17, &[u(batch), u(needed), u(reserved)]),
            Fault::ModelHead(e) => {
                self.byte(18);
                self.format_error(e);
            }
            Fault::PullOffset { offset, total } => self.tagged(19, &[u(offset), u(total)]),
            Fault::InferenceOnly(request) => self.bytes(&[20, request as u8]),
        }
    }

    /// A [`FrameError`].
    fn frame_error(&mut self, e: FrameError) {
        match e {
            FrameError::Oversized { limit } => self.tagged(0, &[limit.into()]),
            FrameError::Cobs => self.byte(1),
            FrameError::TooShort { len } => self.tagged(2, &[len.into()]),
            FrameError::Crc { stored, computed } => self.tagged(3, &[stored.into(), computed.into()]),
            FrameError::Message { offset } => self.tagged(4, &[offset.into()]),
        }
    }

    /// A [`SampleError`].
    fn sample_error(&mut self, e: SampleError) {
        match e {
            SampleError::Truncated { decoded, needed } => self.tagged(0, &[decoded.into(), needed.into()]),
            SampleError::BadRun { offset } => self.tagged(1, &[offset.into()]),
            SampleError::BufferTooSmall { needed } => self.tagged(2, &[needed.into()]),
            SampleError::NotF32 { len } => self.tagged(3, &[len.into()]),
        }
    }

    /// A [`ModelFault`].
    fn model_fault(&mut self, why: &ModelFault) {
        match *why {
            ModelFault::File(e) => {
                self.byte(0);
                self.format_error(e);
            }
            ModelFault::Network(e) => {
                self.byte(1);
                self.engine(e);
            }
            ModelFault::TooLarge {
                buffer,
                needed,
                available,
            } => self.tagged(2, &[buffer as u64, needed.into(), available.into()]),
        }
    }

    /// The engine's [`Error`].
    fn engine(&mut self, e: Error) {
        let u = |n: usize| n as u64;
        match e {
            Error::BufferSize {
                what,
                expected,
                actual,
            } => self.tagged(0, &[what as u64, u(expected), u(actual)]),
            Error::InvalidLayer { layer, reason } => self.tagged(1, &[u(layer), reason as u64]),
            Error::LayerCount { count } => self.tagged(2, &[u(count)]),
            Error::Batch { reason } => self.tagged(3, &[reason as u64]),
            Error::LayerIndex { index, layers } => self.tagged(4, &[u(index), u(layers)]),
            Error::NotBuiltIn { kind } => self.tagged(5, &[kind as u64]),
        }
    }

    /// A [`FormatError`].
    fn format_error(&mut self, e: FormatError) {
        let u = |n: usize| n as u64;
        match e {
            FormatError::NotAModel => self.byte(0),
            FormatError::NewerVersion {
                version,
                min_reader,
                supported,
            } => self.tagged(1, &[version.into(), min_reader.into(), supported.into()]),
            FormatError::Corrupted { stored, computed } => self.tagged(2, &[stored.into(), computed.into()]),
            FormatError::Truncated { needed, available } => self.tagged(3, &[u(needed), u(available)]),
            FormatError::TrailingBytes { len, available } => self.tagged(4, &[u(len), u(available)]),
            FormatError::InconsistentShapes(why) => {
                self.byte(5);
                self.inconsistency(why);
            }
            FormatError::Malformed { offset, what } => self.tagged(6, &[u(offset), what as u64]),
            FormatError::Misaligned {
                offset,
                address_mod_4,
            } => self.tagged(7, &[u(offset), u(address_mod_4)]),
            FormatError::BigEndianTarget => self.byte(8),
            FormatError::BufferTooSmall { needed, available } => self.tagged(9, &[u(needed), u(available)]),
            FormatError::TooLarge { what } => self.tagged(10, &[what as u64]),
            FormatError::NotBuiltIn { kind } => self.tagged(11, &[kind as u64]),
        }
    }

    /// An [`Inconsistency`].
    fn inconsistency(&mut self, why: Inconsistency) {
        let u = |n: usize| n as u64;
        match why {
            Inconsistency::Layers(e) => {
                self.byte(0);
                self.engine(e);
            }
            Inconsistency::Count {
                what,
                expected,
                found,
            } => self.tagged(1, &[what as u64, u(expected), u(found)]),
            Inconsistency::InputShape { what } => self.tagged(2, &[what as u64]),
            Inconsistency::Training { what } => self.tagged(3, &[what as u64]),
            Inconsistency::Int8(QuantError { layer, defect }) => self.tagged(4, &[u(layer), defect as u64]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode_frame, ClockUnit, TrainingSummary, TunedSummary, MAX_FRAME, MAX_PAYLOAD};

    /// Both encoders on `response`, into buffers of `size` bytes.
    fn both(response: &Response<'_>, size: usize) -> [Result<heapless::Vec<u8, MAX_FRAME>, FrameError>; 2] {
        let mut mine = [0u8; MAX_FRAME];
        let mut theirs = [0u8; MAX_FRAME];
        let vec = |b: &[u8]| heapless::Vec::from_slice(b).unwrap();
        [
            encode_response(9_000, response, &mut mine[..size]).map(|n| vec(&mine[..n])),
            encode_frame(9_000, response, &mut theirs[..size]).map(|n| vec(&theirs[..n])),
        ]
    }

    /// On every response postcard's derived deserializer reads from byte strings of every
    /// shape (tags and field bytes drawn small and large), the hand-written frame is
    /// postcard's, into a whole frame's buffer and into small ones.
    #[test]
    fn agrees_with_postcards_derived_serializer() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = [0u8; 160];
        let mut seen = [0u32; 7];
        let mut faults = [0u32; 21];
        let mut trained_models = 0;
        for round in 0..300_000u32 {
            for b in bytes.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = match state % 5 {
                    0 => (state >> 8) as u8 % 7,
                    1 | 2 => (state >> 8) as u8 % 2,
                    _ => (state >> 8) as u8 & 0x7f,
                };
            }
            bytes[0] = (round % 7) as u8;
            if bytes[0] == 6 {
                // Every fault (21 variants), whatever the draw.
                bytes[1] = (round / 7 % 21) as u8;
            }
            let Ok((response, _)) = postcard::take_from_bytes::<Response>(&bytes) else {
                continue;
            };
            seen[usize::from(bytes[0])] += 1;
            if bytes[0] == 6 {
                faults[usize::from(bytes[1])] += 1;
            }
            for size in [MAX_FRAME, 40, 6] {
                let [mine, theirs] = both(&response, size);
                assert_eq!(mine, theirs, "{response:?} into {size} bytes");
            }
            // Training states (optimizers of every kind) in an Info reply.
            if let Ok((training, _)) = postcard::take_from_bytes::<TrainingSummary>(&bytes[1..]) {
                let response = info_with(training, round);
                assert_eq!(both(&response, MAX_FRAME)[0], both(&response, MAX_FRAME)[1]);
                trained_models += 1;
            }
        }
        assert!(seen.iter().all(|&n| n >= 50), "responses read per tag: {seen:?}");
        assert!(faults.iter().all(|&n| n >= 20), "faults read per tag: {faults:?}");
        assert!(
            trained_models >= 50,
            "{trained_models} Info replies with a training state"
        );
    }

    /// An Info reply about a model with `training`, fine-tuned or not as `round` is odd.
    fn info_with(training: TrainingSummary, round: u32) -> Response<'static> {
        Response::Info(DeviceInfo {
            protocol: 4,
            firmware: "0.1.0",
            board: "mps2-an386",
            model_address: 0x0040_0000,
            model_region: 1 << 20,
            model: ModelStatus::Ok(ModelSummary {
                file_len: 410_000,
                crc: 0xdead_beef,
                version: 5,
                input_width: 784,
                output_width: 10,
                layers: 4,
                weighted_layers: 2,
                params: 101_770,
                training: Some(training),
                tuned: (round % 2 == 1).then_some(TunedSummary {
                    layers: 1,
                    params: 1_290,
                    iterations: u64::MAX,
                }),
            }),
            memory: MemoryUse {
                flash_code: 78_024,
                flash_budget: 1 << 19,
                flash_model: 410_000,
                static_ram: 56_000,
                stack_size: 8_000,
                stack_used: 3_000,
            },
            clock: ClockUnit::Cycles,
            clock_resolution: 1,
            limits: Limits {
                max_input: 784,
                max_inference_scratch: 1_024,
                train_arena: 12_000,
                max_batch: 64,
            },
            measured: Measured {
                infer_ticks: 77_440,
                train_ticks_per_sample: 300_000,
                train_batch: 32,
                infer_ram: 4_000,
                train_ram: 40_000,
                clock_check_instructions: 1_000,
                clock_check_ticks: 1_000,
            },
        })
    }

    /// A chunk too long for a frame is refused by both.
    #[test]
    fn oversized_replies_are_refused_alike() {
        let bytes = [3u8; MAX_PAYLOAD];
        let chunk = Response::Chunk {
            offset: 0,
            total: 1 << 20,
            crc: u32::MAX,
            bytes: &bytes,
        };
        let [mine, theirs] = both(&chunk, MAX_FRAME);
        assert_eq!(mine, theirs);
        assert!(mine.is_err());
    }
}
