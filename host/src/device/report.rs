//! What a device says about itself, owned and printable.

use super::DeviceError;
use microdense_core::protocol::{
    ClockUnit, DeviceInfo, Limits, Measured, MemoryUse, ModelStatus, ModelSummary,
};
use microdense_core::Sgd;
use std::fmt;

/// The model region's state.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelState {
    /// Nothing written there.
    None,
    /// Not a usable model (damaged, too large for the firmware, or needing kinds it leaves
    /// out), and why: the firmware refused it at boot.
    Corrupted(String),
    /// A valid model.
    Ok(ModelSummary),
}

impl ModelState {
    /// The optimizer a fine-tuning request asks for: `None` (the model's own training
    /// state, whatever its optimizer) when neither `learning_rate` nor `momentum` is
    /// given and the model has one; else plain SGD with these values over the model's
    /// SGD settings (Keras's defaults without a training state). Errors when the values
    /// would override an optimizer other than plain SGD.
    pub fn sgd_override(
        &self,
        learning_rate: Option<f32>,
        momentum: Option<f32>,
    ) -> Result<Option<Sgd>, DeviceError> {
        let training = match self {
            ModelState::Ok(m) => m.training.as_ref(),
            _ => None,
        };
        let base = match training {
            Some(_) if learning_rate.is_none() && momentum.is_none() => return Ok(None),
            Some(t) => t.optimizer.as_sgd().ok_or_else(|| {
                DeviceError::Usage(format!(
                    "the model fine-tunes with {}: a learning rate or momentum overrides plain SGD \
                     only; leave them out to train with the model's optimizer",
                    t.optimizer
                ))
            })?,
            None => Sgd::default(),
        };
        Ok(Some(Sgd {
            learning_rate: learning_rate.unwrap_or(base.learning_rate),
            momentum: momentum.unwrap_or(base.momentum),
            nesterov: base.nesterov,
        }))
    }
}

/// A device's Info reply.
#[derive(Clone, Debug, PartialEq)]
pub struct InfoReport {
    /// Protocol version.
    pub protocol: u16,
    /// Firmware version.
    pub firmware: String,
    /// Board.
    pub board: String,
    /// Model region address.
    pub model_address: u32,
    /// Model region size.
    pub model_region: u32,
    /// The model.
    pub model: ModelState,
    /// Flash and RAM.
    pub memory: MemoryUse,
    /// Clock unit.
    pub clock: ClockUnit,
    /// Clock resolution in ticks.
    pub clock_resolution: u32,
    /// Buffer limits.
    pub limits: Limits,
    /// Measurements.
    pub measured: Measured,
}

impl From<&DeviceInfo<'_>> for InfoReport {
    fn from(info: &DeviceInfo<'_>) -> Self {
        InfoReport {
            protocol: info.protocol,
            firmware: info.firmware.to_string(),
            board: info.board.to_string(),
            model_address: info.model_address,
            model_region: info.model_region,
            model: match &info.model {
                ModelStatus::None => ModelState::None,
                ModelStatus::Corrupted(why) => ModelState::Corrupted(why.to_string()),
                ModelStatus::Ok(summary) => ModelState::Ok(summary.clone()),
            },
            memory: info.memory,
            clock: info.clock,
            clock_resolution: info.clock_resolution,
            limits: info.limits,
            measured: info.measured,
        }
    }
}

impl InfoReport {
    /// The clock unit's name.
    pub fn unit(&self) -> &'static str {
        match self.clock {
            ClockUnit::Instructions => "instructions",
            ClockUnit::Cycles => "cycles",
        }
    }

    /// Statically allocated RAM plus the stack's high-water mark.
    pub fn ram_used(&self) -> u32 {
        self.memory.static_ram + self.memory.stack_used
    }
}

impl fmt::Display for InfoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.memory;
        writeln!(
            f,
            "firmware:       microdense-firmware {} on {} (protocol {})",
            self.firmware, self.board, self.protocol
        )?;
        writeln!(
            f,
            "model region:   {:#010x}, {} bytes",
            self.model_address, self.model_region
        )?;
        match &self.model {
            ModelState::None => writeln!(f, "model:          none (the model region is blank)")?,
            ModelState::Corrupted(why) => writeln!(f, "model:          REFUSED: {why}")?,
            ModelState::Ok(s) => {
                writeln!(
                    f,
                    "model:          ok, {} bytes, CRC-32 {:#010x}, format version {}",
                    s.file_len, s.crc, s.version
                )?;
                writeln!(
                    f,
                    "                {} inputs -> {} outputs, {} layers ({} Dense), {} parameters",
                    s.input_width, s.output_width, s.layers, s.weighted_layers, s.params
                )?;
                match &s.training {
                    Some(t) => writeln!(
                        f,
                        "training state: {}, {}, {} iterations, last {} Dense layer(s)",
                        t.optimizer,
                        t.loss.keras_name(),
                        t.iterations,
                        t.trainable_layers
                    )?,
                    // An inference-only image reads no training state.
                    None if self.limits.train_arena == 0 => {
                        writeln!(f, "training state: not read (inference-only firmware)")?
                    }
                    None => writeln!(f, "training state: none")?,
                }
                if let Some(t) = &s.tuned {
                    writeln!(
                        f,
                        "fine-tuned:     last {} Dense layer(s), {} parameters in RAM, {} iterations",
                        t.layers, t.params, t.iterations
                    )?;
                }
            }
        }
        writeln!(
            f,
            "flash:          firmware {} of {} bytes, model {} bytes, total {}",
            m.flash_code,
            m.flash_budget,
            m.flash_model,
            m.flash_code + m.flash_model
        )?;
        writeln!(
            f,
            "RAM:            static {} bytes + stack high-water {} of {} = {}",
            m.static_ram,
            m.stack_used,
            m.stack_size,
            self.ram_used()
        )?;
        let me = &self.measured;
        let unit = self.unit();
        writeln!(
            f,
            "clock:          {unit}, resolution {}; check: {}-instruction loop took {}",
            self.clock_resolution, me.clock_check_instructions, me.clock_check_ticks
        )?;
        writeln!(
            f,
            "inference:      {} {unit} per sample; buffers {} bytes",
            me.infer_ticks, me.infer_ram
        )?;
        if me.train_batch > 0 {
            writeln!(
                f,
                "training:       {} {unit} per sample (batch {}); fine-tuning RAM {} bytes",
                me.train_ticks_per_sample, me.train_batch, me.train_ram
            )?;
        } else {
            writeln!(
                f,
                "training:       not measured yet (no training step since boot)"
            )?;
        }
        write!(
            f,
            "limits:         input {} values, inference scratch {} f32, training arena {} f32, {} samples per request",
            self.limits.max_input, self.limits.max_inference_scratch, self.limits.train_arena, self.limits.max_batch
        )
    }
}
