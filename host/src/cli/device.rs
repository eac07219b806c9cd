//! `microdense device`: talk to a device running the microdense firmware, over a serial
//! port or a QEMU started for the command.

use super::data::DataArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use microdense::device::{
    open_port, Device, InfoReport, ModelState, Qemu, QemuBoard, QemuConfig, SampleSet, BOARDS, QEMU_TIMEOUT,
    SERIAL_TIMEOUT,
};
use microdense::mnist::Split;
use microdense::model_io::FileKind;
use microdense::plot::ConfusionMatrix;
use microdense_core::{Rng, Sgd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `microdense device`.
#[derive(clap::Args, Debug)]
pub struct DeviceArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: DeviceCommand,
}

/// Where the device is.
#[derive(clap::Args, Debug)]
struct Connection {
    /// Serial port of the device (or the UART socket of a QEMU kept with --keep).
    #[arg(long, global = true, conflicts_with = "qemu")]
    port: Option<String>,
    /// Baud rate of the serial port.
    #[arg(long, global = true, default_value_t = 115_200)]
    baud: u32,
    /// Boot the firmware under QEMU for this command instead.
    #[arg(long, global = true)]
    qemu: bool,
    /// With --qemu: the board QEMU emulates (default mps2-an386).
    #[arg(long, global = true, value_enum)]
    board: Option<BoardName>,
    /// With --qemu: the .mdl file written into the firmware's model region (convert other
    /// model files first: `microdense convert m.h5 m.mdl`).
    #[arg(long, global = true)]
    model: Option<PathBuf>,
    /// With --qemu: the firmware ELF (default: what `scripts/firmware-build.sh --release
    /// --board BOARD` builds).
    #[arg(long, global = true)]
    firmware: Option<PathBuf>,
    /// With --qemu: leave QEMU running after the command (connect again with --port SOCKET).
    #[arg(long, global = true)]
    keep: bool,
    /// Seconds a reply may take [default: 30; with --qemu 120, as QEMU slows down with the
    /// machine's load].
    #[arg(long, global = true)]
    timeout: Option<u64>,
}

#[derive(clap::Subcommand, Debug)]
enum DeviceCommand {
    /// Firmware, model (none / corrupted / ok), flash and RAM use, measurements.
    Info,
    /// Classify one MNIST test image on the device.
    Infer {
        #[command(flatten)]
        data: DataArgs,
        /// Index of the test image.
        #[arg(long)]
        index: usize,
    },
    /// Loss and accuracy on MNIST's test images, computed on the device.
    Evaluate {
        #[command(flatten)]
        data: DataArgs,
        /// Evaluate only the first N test images.
        #[arg(long, value_parser = super::parse::at_least_one)]
        limit: Option<usize>,
        /// End with a JSON line {"accuracy": …, "loss": …, "samples": …}.
        #[arg(long)]
        json: bool,
        /// Draw the device's confusion matrix into this PNG and print per-class precision/recall.
        #[arg(long, value_name = "PNG")]
        confusion: Option<PathBuf>,
    },
    /// Fine-tune the last K Dense layers on MNIST training images, then pull the model.
    Finetune {
        #[command(flatten)]
        data: DataArgs,
        /// Train the last K Dense layers (the others stay frozen in flash).
        #[arg(long, default_value_t = 2)]
        layers: u8,
        /// Passes over the training images.
        #[arg(long, default_value_t = 1)]
        epochs: usize,
        /// SGD learning rate (default: the model's training state, else 0.01).
        #[arg(long, allow_negative_numbers = true, value_parser = super::parse::learning_rate)]
        lr: Option<f32>,
        /// SGD momentum, from 0 to 1 (default: the model's training state, else 0). With
        /// neither this nor --lr the device trains with the model's own optimizer (Adam, ...).
        #[arg(long, allow_negative_numbers = true, value_parser = super::parse::momentum)]
        momentum: Option<f32>,
        /// Samples per SGD step (one frame each; the device's RAM bounds it).
        #[arg(long, default_value_t = 16, value_parser = super::parse::device_batch)]
        batch_size: usize,
        /// Use only the first N training images.
        #[arg(long, value_parser = super::parse::at_least_one)]
        limit: Option<usize>,
        /// Seed of the shuffling.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the tuned model (.mdl).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Write the device's current model (fine-tuned weights included) to a .mdl file.
    Pull {
        /// The output file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Measure: one inference, training steps (batch 1 and 8, or the device's most, on the
    /// last 2 layers, or the last one where its arena holds no more), then Info.
    Bench {
        #[command(flatten)]
        data: DataArgs,
    },
}

impl DeviceCommand {
    /// Checks the files the command writes, before the device is touched.
    fn check_outputs(&self) -> Result<()> {
        match self {
            DeviceCommand::Finetune { output, .. } | DeviceCommand::Pull { output } => {
                if FileKind::of(output) != Some(FileKind::DeviceFormat) {
                    bail!("{}: a device's model is written as a .mdl file", output.display());
                }
                super::check_output(output)
            }
            DeviceCommand::Evaluate {
                confusion: Some(path),
                ..
            } => super::check_output(path),
            _ => Ok(()),
        }
    }
}

/// A connected device and the QEMU behind it, if any.
struct Session {
    device: Device,
    qemu: Option<Qemu>,
    keep: bool,
}

impl Session {
    fn open(c: &Connection) -> Result<Session> {
        let timeout = match c.timeout {
            Some(seconds) => Duration::from_secs(seconds.max(1)),
            None if c.qemu => QEMU_TIMEOUT,
            None => SERIAL_TIMEOUT,
        };
        if c.qemu {
            if let Some(model) = c
                .model
                .as_deref()
                .filter(|m| FileKind::of(m) != Some(FileKind::DeviceFormat))
            {
                bail!(
                    "--model {}: the firmware runs .mdl files; convert it first: microdense convert {} MODEL.mdl",
                    model.display(),
                    model.display()
                );
            }
            let board = c.board.map_or_else(QemuBoard::default, |b| b.0);
            let config = QemuConfig {
                board,
                elf: c.firmware.clone().unwrap_or_else(|| board.default_firmware()),
                model: c.model.clone(),
            };
            let qemu = if c.keep {
                Qemu::boot_detached(&config)
            } else {
                Qemu::boot(&config)
            }?;
            let transport = qemu.connect()?;
            return Ok(Session {
                device: Device::new(Box::new(transport), timeout),
                qemu: Some(qemu),
                keep: c.keep,
            });
        }
        if c.model.is_some() || c.firmware.is_some() || c.keep || c.board.is_some() {
            bail!("--model, --firmware, --board and --keep need --qemu");
        }
        let port = c
            .port
            .as_deref()
            .context("say where the device is: --port PORT, or --qemu --model MODEL.mdl")?;
        let transport = open_port(port, c.baud)?;
        Ok(Session {
            device: Device::new(transport, timeout),
            qemu: None,
            keep: false,
        })
    }

    fn close(self) {
        let Session { device, qemu, keep } = self;
        drop(device);
        if let Some(qemu) = qemu {
            if keep {
                eprintln!(
                    "QEMU keeps running (pid {}); connect with --port {}",
                    qemu.pid(),
                    qemu.socket().display()
                );
                qemu.keep();
            }
        }
    }
}

/// A board `--board` names: one of [`BOARDS`].
#[derive(Clone, Copy, Debug)]
struct BoardName(QemuBoard);

/// Every board `--board` takes, in [`BOARDS`]'s order.
static BOARD_NAMES: [BoardName; BOARDS.len()] = {
    let mut names = [BoardName(BOARDS[0]); BOARDS.len()];
    let mut i = 1;
    while i < names.len() {
        names[i] = BoardName(BOARDS[i]);
        i += 1;
    }
    names
};

impl clap::ValueEnum for BoardName {
    fn value_variants<'a>() -> &'a [Self] {
        &BOARD_NAMES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name))
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

/// The samples of a split as the device receives them.
fn sample_set<'a>(split: &'a Split, args: &DataArgs) -> Result<SampleSet<'a>> {
    if split.labels.is_empty() {
        bail!("MNIST: the split the command needs has no images");
    }
    let scale = if args.normalize { 1.0 / 255.0 } else { 1.0 };
    Ok(SampleSet::new(
        &split.images,
        split.rows * split.cols,
        &split.labels,
        scale,
    )?)
}

/// Runs `microdense device`.
pub fn run(args: DeviceArgs) -> Result<()> {
    args.command.check_outputs()?;
    let mut session = Session::open(&args.connection)?;
    let result = command(&mut session.device, args.command);
    if result.is_err() && !session.keep {
        if let Some(qemu) = session.qemu.take() {
            return result.map_err(|error| with_qemu_report(error, qemu));
        }
    }
    session.close();
    result
}

/// `error` with QEMU's report added when the firmware stopped (a panic, a fault): the
/// report is on QEMU's stderr. QEMU still running after a second means it did not stop.
fn with_qemu_report(error: anyhow::Error, qemu: Qemu) -> anyhow::Error {
    let Ok(exit) = qemu.wait(Duration::from_secs(1)) else {
        return error;
    };
    let report: Vec<&str> = exit
        .stderr
        .lines()
        .filter(|line| !line.contains("QEMU waiting for connection"))
        .collect();
    error.context(format!(
        "the firmware stopped; QEMU exited ({}): {}",
        exit.status,
        report.join("; ")
    ))
}

fn command(device: &mut Device, command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Info => {
            println!("{}", device.info()?);
            Ok(())
        }
        DeviceCommand::Infer { data, index } => {
            let loaded = data.load()?;
            let set = sample_set(&loaded.mnist.test, &data)?;
            let (class, scores, ticks) = device.infer(&set, index)?;
            let scores: Vec<String> = scores.iter().map(|s| format!("{s:.4}")).collect();
            println!(
                "test image {index}: predicted {class} (label {}), {ticks} ticks",
                set.labels[index]
            );
            println!("scores: [{}]", scores.join(", "));
            Ok(())
        }
        DeviceCommand::Evaluate {
            data,
            limit,
            json,
            confusion,
        } => {
            let loaded = data.load()?;
            let set = sample_set(&loaded.mnist.test, &data)?;
            let n = limit.unwrap_or(set.len()).min(set.len());
            let indices: Vec<usize> = (0..n).collect();
            let progress = bar(n, "evaluate");
            let result = device.evaluate(&set, &indices, None, &mut |done, total| {
                progress.set_position(done as u64);
                progress.set_message(format!("accuracy {:.4}", total.accuracy()));
            })?;
            progress.finish_and_clear();
            if let Some(path) = &confusion {
                let pairs = indices
                    .iter()
                    .zip(&result.predictions)
                    .map(|(&i, &p)| (set.labels[i] as usize, p as usize));
                let matrix = ConfusionMatrix::from_pairs(10, pairs)?;
                print!("{}", matrix.report());
                matrix.write_png(path)?;
                println!("Wrote {}", path.display());
            }
            let t = result.total;
            println!(
                "Device test loss: {:.4} - test accuracy: {:.4} ({} samples)",
                t.loss(),
                t.accuracy(),
                t.samples
            );
            if json {
                println!(
                    "{}",
                    serde_json::json!({"accuracy": t.accuracy(), "loss": t.loss(), "samples": t.samples})
                );
            }
            Ok(())
        }
        DeviceCommand::Finetune {
            data,
            layers,
            epochs,
            lr,
            momentum,
            batch_size,
            limit,
            seed,
            output,
        } => {
            let loaded = data.load()?;
            let set = sample_set(&loaded.mnist.train, &data)?;
            let n = limit.unwrap_or(set.len()).min(set.len());
            let info = device.info()?;
            if !matches!(info.model, ModelState::Ok(_)) {
                bail!("the device has no usable model: {:?}", info.model);
            }
            let sgd = info.model.sgd_override(lr, momentum)?;
            let mut order: Vec<usize> = (0..n).collect();
            let mut rng = Rng::new(seed);
            for epoch in 1..=epochs {
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i + 1));
                }
                println!("Epoch {epoch}/{epochs}");
                let progress = bar(n, "fine-tune");
                let seen =
                    device.train_epoch(layers, sgd, None, &set, &order, batch_size, &mut |done, seen| {
                        progress.set_position(done as u64);
                        progress.set_message(format!(
                            "loss {:.4} - accuracy {:.4}",
                            seen.loss(),
                            seen.accuracy()
                        ));
                    })?;
                progress.finish_and_clear();
                println!(
                    "{n} samples - loss: {:.4} - accuracy: {:.4}",
                    seen.loss(),
                    seen.accuracy()
                );
            }
            pull_to(device, &output)
        }
        DeviceCommand::Pull { output } => pull_to(device, &output),
        DeviceCommand::Bench { data } => bench(device, &data),
    }
}

fn pull_to(device: &mut Device, output: &Path) -> Result<()> {
    let progress = bar(0, "pull");
    let file = device.pull(&mut |done, total| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    })?;
    progress.finish_and_clear();
    microdense::atomic::write(output, &file).with_context(|| super::cannot_write(output))?;
    println!("wrote {} ({} bytes)", output.display(), file.len());
    Ok(())
}

/// Multiply-accumulates of one inference: the Dense layers' kernel sizes.
fn macs(file: &[u8]) -> Option<u64> {
    let model = microdense::device_format::from_mdl(file).ok()?;
    let layers = model.core_layers();
    let wiring = model.wiring();
    let net = microdense_core::Network::graph(model.input_width(), &layers, &wiring).ok()?;
    Some(
        (0..layers.len())
            .filter(|&i| layers[i].has_weights())
            .map(|i| (net.layer_input_width(i) * net.layer_output_width(i)) as u64)
            .sum(),
    )
}

/// How many of its last 2 weighted float layers (an int8 model's head) a device whose
/// training arena holds `arena` f32 can fine-tune on one sample with the optimizer it would
/// step (`sgd`, else the file's own, else plain SGD): 0 when none (or the file does not
/// decode).
fn bench_layers(file: &[u8], sgd: Option<Sgd>, arena: usize) -> usize {
    let aligned = microdense::device_format::AlignedBytes::new(file);
    let Ok(view) = microdense_core::format::decode(aligned.bytes()) else {
        return 0;
    };
    let Ok(net) = view.network() else { return 0 };
    let optimizer = match (sgd, view.training()) {
        (Some(sgd), _) => microdense_core::Optimizer::from(sgd),
        (None, Some(t)) => t.optimizer.clone(),
        (None, None) => microdense_core::Optimizer::from(Sgd::default()),
    };
    (1..=net.weighted_layer_count().min(2))
        .rev()
        .find(|&k| {
            microdense_core::Trainer::last_weighted(net, k)
                .fine_tune_len(&optimizer, 1)
                .is_ok_and(|len| len <= arena)
        })
        .unwrap_or(0)
}

/// The firmware code budget of the board `info` names and what it applies to: 16 KiB for an
/// inference-only image (the goal set on the Cortex-M4F), else 40 KiB on a core with an FPU
/// and 48 KiB in software floating point (issue 16); `None` for a board QEMU does not run.
fn code_budget(info: &InfoReport) -> Option<(u32, &'static str)> {
    let board = QemuBoard::named(&info.board).ok()?;
    Some(if info.limits.train_arena == 0 {
        (16 * 1024, "inference only")
    } else if board.target.ends_with("eabihf") {
        (40 * 1024, "FPU core, all features")
    } else {
        (48 * 1024, "soft-float core, all features")
    })
}

/// The Keras class of the optimizer a model's training state names (`SGD` without one).
fn optimizer_name(info: &InfoReport) -> &'static str {
    match &info.model {
        ModelState::Ok(m) => m
            .training
            .as_ref()
            .map_or("SGD", |t| t.optimizer.algorithm.keras_class()),
        _ => "SGD",
    }
}

fn bench(device: &mut Device, data: &DataArgs) -> Result<()> {
    let loaded = data.load()?;
    let test = sample_set(&loaded.mnist.test, data)?;
    let train = sample_set(&loaded.mnist.train, data)?;
    device.reset()?;
    let (_, _, infer_ticks) = device.infer(&test, 0)?;
    // An inference-only image neither trains nor sends its model back.
    let file = match device.info()?.limits.train_arena {
        0 => None,
        _ => Some(device.pull(&mut |_, _| {})?),
    };
    // Fine-tuning figures for the last 2 float weighted layers (an int8 model's head), or the
    // last one where the device's arena holds no more, at batch 1 and at batch 8 (or the most
    // a request may carry); the model's own optimizer (Adam, ...), else plain SGD.
    let info = device.info()?;
    let sgd = info.model.sgd_override(None, None)?;
    let layers = file
        .as_deref()
        .map_or(0, |f| bench_layers(f, sgd, info.limits.train_arena as usize));
    let large = 8.min(info.limits.max_batch as usize);
    let mut steps = Vec::new();
    if layers > 0 {
        for batch in [1, large] {
            if steps.iter().any(|&(b, _)| b == batch) {
                continue;
            }
            let indices: Vec<usize> = (0..batch).collect();
            device.train_step(layers as u8, sgd, None, &train, &indices)?;
            steps.push((batch, device.info()?));
        }
    }
    let last = match steps.last() {
        Some((_, info)) => info.clone(),
        None => device.info()?,
    };
    device.reset()?;
    let unit = last.unit();
    println!("{last}");
    println!();
    let m = &last.memory;
    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| flash: firmware code | {} bytes |", m.flash_code);
    if let Some((budget, what)) = code_budget(&last) {
        let verdict = if m.flash_code <= budget {
            format!("within, {} bytes to spare", budget - m.flash_code)
        } else {
            format!("over by {} bytes", m.flash_code - budget)
        };
        println!("| code-size budget ({what}) | {budget} bytes: {verdict} |");
    }
    println!("| flash: model | {} bytes |", m.flash_model);
    println!(
        "| RAM: static + stack high-water | {} + {} = {} bytes |",
        m.static_ram,
        m.stack_used,
        last.ram_used()
    );
    println!("| RAM: inference buffers | {} bytes |", last.measured.infer_ram);
    for (batch, info) in &steps {
        println!(
            "| RAM: fine-tune last {layers} layers ({}), batch {batch} | {} bytes |",
            optimizer_name(info),
            info.measured.train_ram
        );
    }
    match file.as_deref().and_then(macs) {
        Some(macs) => println!(
            "| {unit} per inference | {infer_ticks} ({:.2} per multiply-accumulate, {macs} MACs) |",
            infer_ticks as f64 / macs as f64
        ),
        None => println!("| {unit} per inference | {infer_ticks} |"),
    }
    for (batch, info) in &steps {
        println!(
            "| {unit} per training sample (last {layers} layers), batch {batch} | {} |",
            info.measured.train_ticks_per_sample
        );
    }
    Ok(())
}
