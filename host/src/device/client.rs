//! Requests and replies, and the long operations built on them.

use super::report::InfoReport;
use super::samples::SampleSet;
use super::transport::Transport;
use super::DeviceError;
use microdense_core::format::crc32;
use microdense_core::protocol::{
    encode_frame, open_frame, FrameError, Request, Response, Samples, Tally, MAX_CHUNK, MAX_FRAME, UNKNOWN_ID,
};
use microdense_core::{Loss, Sgd};
use std::time::{Duration, Instant};

/// How long a device's reply may take by default.
pub const SERIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a reply may take by default under QEMU, whose speed falls with the machine's
/// load (a heavily loaded machine once took more than 30 s for one).
pub const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

/// A device at the other end of a [`Transport`].
pub struct Device {
    transport: Box<dyn Transport>,
    timeout: Duration,
    next_id: u16,
    /// Bytes received after the last complete frame.
    pending: Vec<u8>,
    /// Most samples the device takes in one request (its Info's limits), once known.
    max_batch: Option<usize>,
}

/// The result of evaluating samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Loss and accuracy over all samples.
    pub total: Tally,
    /// The predicted class of each sample, in the order given.
    pub predictions: Vec<u8>,
}

/// The result of one training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepResult {
    /// The batch's loss and accuracy before the step.
    pub batch: Tally,
    /// Steps applied so far.
    pub iterations: u64,
}

/// A short description of a reply, for messages.
fn describe(response: &Response<'_>) -> String {
    let text = format!("{response:?}");
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

impl Device {
    /// A device on `transport`, whose replies may take up to `timeout` each.
    pub fn new(transport: Box<dyn Transport>, timeout: Duration) -> Self {
        Device {
            transport,
            timeout,
            next_id: 0,
            pending: Vec::new(),
            max_batch: None,
        }
    }

    /// Sends raw bytes (for tests of the device's error handling).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.transport.send(bytes)
    }

    /// The next complete frame's bytes (without the closing zero), received before
    /// `deadline`.
    fn read_frame(&mut self, deadline: Instant) -> Result<Vec<u8>, DeviceError> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == 0) {
                let frame: Vec<u8> = self.pending.drain(..=end).take(end).collect();
                if frame.is_empty() {
                    continue;
                }
                return Ok(frame);
            }
            if self.pending.len() > MAX_FRAME {
                self.pending.clear();
                return Err(DeviceError::Frame(FrameError::Oversized {
                    limit: MAX_FRAME as u32,
                }));
            }
            let mut buf = [0u8; 4096];
            let n = self.transport.receive(&mut buf, deadline)?;
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Waits up to `timeout` for the next reply, whatever its id, and passes it with its id
    /// to `f` (for tests of replies to damaged frames).
    pub fn next_reply<R>(
        &mut self,
        timeout: Duration,
        f: impl FnOnce(u16, Response<'_>) -> R,
    ) -> Result<R, DeviceError> {
        let mut frame = self.read_frame(Instant::now() + timeout)?;
        let open = open_frame(&mut frame).map_err(DeviceError::Frame)?;
        let response: Response<'_> = open.message().map_err(DeviceError::Frame)?;
        Ok(f(open.id, response))
    }

    /// Sends `request` and passes its reply to `f`. Replies to earlier requests are
    /// skipped; an error reply (also one to an unreadable frame) is an error.
    pub fn call<R>(
        &mut self,
        request: &Request<'_>,
        f: impl FnOnce(Response<'_>) -> Result<R, DeviceError>,
    ) -> Result<R, DeviceError> {
        let id = self.next_id;
        self.next_id = if self.next_id + 1 == UNKNOWN_ID {
            0
        } else {
            self.next_id + 1
        };
        let mut out = vec![0u8; MAX_FRAME];
        let len = encode_frame(id, request, &mut out).map_err(DeviceError::Frame)?;
        self.transport.send(&out[..len])?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let mut frame = self.read_frame(deadline)?;
            let open = open_frame(&mut frame).map_err(DeviceError::Frame)?;
            if open.id != id && open.id != UNKNOWN_ID {
                continue;
            }
            let response: Response<'_> = open.message().map_err(DeviceError::Frame)?;
            if let Response::Error(fault) = response {
                return Err(DeviceError::Device {
                    code: fault.code(),
                    message: fault.to_string(),
                });
            }
            return f(response);
        }
    }

    /// The reply of the wrong kind as an error.
    fn unexpected<R>(request: &'static str, response: &Response<'_>) -> Result<R, DeviceError> {
        Err(DeviceError::Unexpected {
            request,
            reply: describe(response),
        })
    }

    /// What the device is, holds and measured.
    pub fn info(&mut self) -> Result<InfoReport, DeviceError> {
        let report = self.call(&Request::Info, |r| match r {
            Response::Info(info) => Ok(InfoReport::from(&info)),
            other => Self::unexpected("Info", &other),
        })?;
        self.max_batch = Some(report.limits.max_batch as usize);
        Ok(report)
    }

    /// Most samples the device takes in one request (asks for its Info the first time): a
    /// device with little RAM receives only frames of that many samples.
    fn max_batch(&mut self) -> Result<usize, DeviceError> {
        match self.max_batch {
            Some(n) => Ok(n),
            None => Ok(self.info()?.limits.max_batch as usize),
        }
    }

    /// Runs sample `index` of `set` (its label is not sent): the class, the scores and the
    /// ticks the inference took.
    pub fn infer(&mut self, set: &SampleSet<'_>, index: usize) -> Result<(u8, Vec<f32>, u64), DeviceError> {
        if index >= set.len() {
            return Err(DeviceError::Usage(format!(
                "index {index} is out of range: the data has {} samples",
                set.len()
            )));
        }
        let mut data = Vec::new();
        set.push_record(index, false, &mut data)?;
        let request = Request::Infer(Samples {
            encoding: set.encoding,
            scale: set.scale,
            count: 1,
            data: &data,
        });
        self.call(&request, |r| match r {
            Response::Inferred { class, scores, ticks } => Ok((class, scores.to_vec(), ticks)),
            other => Self::unexpected("Infer", &other),
        })
    }

    /// Evaluates the samples `indices` of `set` on the device, as many per frame as fit;
    /// `progress` sees the samples done and the running totals after each frame.
    pub fn evaluate(
        &mut self,
        set: &SampleSet<'_>,
        indices: &[usize],
        loss: Option<Loss>,
        progress: &mut dyn FnMut(usize, &Tally),
    ) -> Result<Evaluation, DeviceError> {
        let mut result = Evaluation {
            total: Tally::default(),
            predictions: Vec::with_capacity(indices.len()),
        };
        let max_batch = self.max_batch()?;
        for (n, (count, data)) in set.pack(indices, max_batch)?.into_iter().enumerate() {
            let request = Request::Evaluate {
                reset: n == 0,
                loss,
                samples: Samples {
                    encoding: set.encoding,
                    scale: set.scale,
                    count,
                    data: &data,
                },
            };
            let (total, predictions) = self.call(&request, |r| match r {
                Response::Evaluated {
                    total, predictions, ..
                } => Ok((total, predictions)),
                other => Self::unexpected("Evaluate", &other),
            })?;
            if predictions.len() != usize::from(count) {
                return Err(DeviceError::Unexpected {
                    request: "Evaluate",
                    reply: format!("{} predictions for {count} samples", predictions.len()),
                });
            }
            result.total = total;
            result.predictions.extend_from_slice(&predictions);
            progress(result.predictions.len(), &total);
        }
        Ok(result)
    }

    /// One SGD step on the last `layers` weighted layers over the samples `batch` of `set`
    /// (one frame: errors if they do not fit one, or are more than the device's Info allows).
    pub fn train_step(
        &mut self,
        layers: u8,
        sgd: Option<Sgd>,
        loss: Option<Loss>,
        set: &SampleSet<'_>,
        batch: &[usize],
    ) -> Result<StepResult, DeviceError> {
        let max_batch = self.max_batch()?;
        if batch.len() > max_batch {
            return Err(DeviceError::Usage(format!(
                "a batch of {} samples is more than the device takes in one request ({max_batch}, \
                 its Info's limits); use a batch size of at most {max_batch}",
                batch.len()
            )));
        }
        let packs = set.pack(batch, batch.len())?;
        let [(count, data)] = packs.as_slice() else {
            return Err(DeviceError::Usage(format!(
                "a batch of {} samples does not fit one frame; use a smaller batch size",
                batch.len()
            )));
        };
        let request = Request::Train {
            layers,
            sgd,
            loss,
            samples: Samples {
                encoding: set.encoding,
                scale: set.scale,
                count: *count,
                data,
            },
        };
        self.call(&request, |r| match r {
            Response::Trained { batch, iterations } => Ok(StepResult { batch, iterations }),
            other => Self::unexpected("Train", &other),
        })
    }

    /// One pass of SGD steps over the samples `order` of `set`, `batch_size` per step (one
    /// frame each); `progress` sees the samples done and the running figures. Returns the
    /// pass's figures (each batch's taken before its step, as Keras reports them).
    #[allow(clippy::too_many_arguments)]
    pub fn train_epoch(
        &mut self,
        layers: u8,
        sgd: Option<Sgd>,
        loss: Option<Loss>,
        set: &SampleSet<'_>,
        order: &[usize],
        batch_size: usize,
        progress: &mut dyn FnMut(usize, &Tally),
    ) -> Result<Tally, DeviceError> {
        let mut seen = Tally::default();
        let mut done = 0;
        for batch in order.chunks(batch_size.max(1)) {
            let step = self.train_step(layers, sgd, loss, set, batch)?;
            seen.merge(step.batch);
            done += batch.len();
            progress(done, &seen);
        }
        Ok(seen)
    }

    /// The device's current model as a `.mdl` file, pulled in chunks; `progress` sees the
    /// bytes received and the total. Checks the chunks agree and the file's CRC-32.
    pub fn pull(&mut self, progress: &mut dyn FnMut(usize, usize)) -> Result<Vec<u8>, DeviceError> {
        let mut file = Vec::new();
        let mut expected: Option<(u32, u32)> = None;
        loop {
            let request = Request::Pull {
                offset: file.len() as u32,
                len: MAX_CHUNK as u16,
            };
            let (offset, total, crc, bytes) = self.call(&request, |r| match r {
                Response::Chunk {
                    offset,
                    total,
                    crc,
                    bytes,
                } => Ok((offset, total, crc, bytes.to_vec())),
                other => Self::unexpected("Pull", &other),
            })?;
            if *expected.get_or_insert((total, crc)) != (total, crc) || offset as usize != file.len() {
                return Err(DeviceError::Unexpected {
                    request: "Pull",
                    reply: format!(
                        "a chunk at {offset} of a {total}-byte file with CRC {crc:#010x}, after {} bytes of {expected:?}",
                        file.len()
                    ),
                });
            }
            if bytes.is_empty() && file.len() < total as usize {
                return Err(DeviceError::Unexpected {
                    request: "Pull",
                    reply: format!("an empty chunk at {offset} of {total}"),
                });
            }
            file.extend_from_slice(&bytes);
            progress(file.len(), total as usize);
            if file.len() >= total as usize {
                break;
            }
        }
        let (total, crc) = expected.unwrap_or_default();
        let body = file.len().saturating_sub(4);
        if file.len() != total as usize || file.len() < 4 || crc32(&file[..body]) != crc {
            return Err(DeviceError::Unexpected {
                request: "Pull",
                reply: format!(
                    "a {}-byte file whose CRC-32 is not the announced {crc:#010x}",
                    file.len()
                ),
            });
        }
        Ok(file)
    }

    /// Drops the device's fine-tuning and running totals.
    pub fn reset(&mut self) -> Result<(), DeviceError> {
        self.call(&Request::Reset, |r| match r {
            Response::Reset => Ok(()),
            other => Self::unexpected("Reset", &other),
        })
    }
}
