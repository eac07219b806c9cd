//! `microdense convert IN OUT`: between Keras's formats and the device format.

use super::data::DataArgs;
use anyhow::{bail, Context, Result};
use microdense::device_format::{to_mdl, ExportOptions};
use microdense::model::Model;
use microdense::model_io::{FileKind, LoadWeights};
use std::path::PathBuf;

/// Options of `microdense convert`.
#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The input: a whole model (`.h5`, `.keras`, `.mdl`) or an architecture (`.json`, `.yaml`).
    input: PathBuf,
    /// The output, its format chosen by name: `.h5`, `.keras`, `.json`, `.yaml`/`.yml`,
    /// `.weights.h5` (with `--weights-only`) or `.mdl`.
    output: PathBuf,
    /// Load these weights into the input first (`.h5` in Keras 2's layout, `.weights.h5`,
    /// or a whole-model file).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Match weights to layers by name (others are left alone), as `load_weights(by_name=True)`.
    #[arg(long, requires = "weights")]
    by_name: bool,
    /// With `--by-name`, skip layers whose weight shapes differ instead of failing.
    #[arg(long, requires = "by_name")]
    skip_mismatch: bool,
    /// Write only the weights: `OUT.weights.h5` in Keras 3's layout, any other `.h5` in
    /// the layout of Keras 2's `save_weights`.
    #[arg(long)]
    weights_only: bool,
    /// `.mdl`: carry the optimizer state for fine-tuning on the device.
    #[arg(long)]
    with_training_state: bool,
    /// `.mdl`: mark the last K weighted layers trainable (implies `--with-training-state`).
    #[arg(long, value_name = "K")]
    trainable_layers: Option<usize>,
    /// `.mdl`: quantise to int8 (as `microdense quantize`, with `--calibrate N`); the last
    /// `--trainable-layers K` Dense layers (default 0) stay float32.
    #[arg(long, requires = "calibrate")]
    int8: bool,
    /// With `--int8`: calibrate the activations' ranges (per tensor, min/max) on the first
    /// N MNIST training images.
    #[arg(long, value_name = "N", requires = "int8")]
    calibrate: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
    /// `.mdl`: write weights that are NaN or infinite instead of refusing them.
    #[arg(long)]
    allow_nonfinite: bool,
    #[command(flatten)]
    budget: super::BudgetArgs,
}

/// Runs `microdense convert`.
pub fn run(args: ConvertArgs) -> Result<()> {
    let out = &args.output;
    let to_mdl_file = FileKind::of(out) == Some(FileKind::DeviceFormat);
    if args.int8 && (!to_mdl_file || args.weights_only) {
        bail!("--int8 is for a .mdl output, not {}", out.display());
    }
    if (args.with_training_state || args.trainable_layers.is_some()) && (!to_mdl_file || args.weights_only) {
        bail!(
            "--with-training-state and --trainable-layers are for a .mdl output, not {}",
            out.display()
        );
    }
    Model::check_save_path(out, args.weights_only)?;
    let architecture_only = args.weights.is_none()
        && !args.weights_only
        && matches!(FileKind::of(out), Some(FileKind::Json | FileKind::Yaml));
    let mut model = if architecture_only {
        args.budget.architecture(&args.input)?
    } else {
        args.budget.load(&args.input)?
    };
    if let Some(weights) = &args.weights {
        let how = LoadWeights {
            by_name: args.by_name,
            skip_mismatch: args.skip_mismatch,
        };
        let report = model.load_weights(weights, how)?;
        println!(
            "Loaded weights from {} into: {}",
            weights.display(),
            report.loaded.join(", ")
        );
        for (layer, why) in &report.skipped {
            println!("  left {layer} unchanged: {why}");
        }
    }
    if args.weights_only {
        model.save_weights(out)?;
    } else if to_mdl_file {
        let options = ExportOptions {
            with_training_state: args.with_training_state || args.trainable_layers.is_some(),
            trainable_layers: args.trainable_layers,
        };
        if let (Some((layer, count)), false) = (model.nonfinite_weights(), args.allow_nonfinite) {
            bail!(
                "{}: layer {layer:?} has {count} weights that are NaN or infinite; \
                 a device cannot run them (--allow-nonfinite writes them anyway)",
                args.input.display()
            );
        }
        if let Some(n) = args.calibrate {
            let k = args.trainable_layers.unwrap_or(0);
            return super::quantize::write_int8(&model, out, n, &args.data, k);
        }
        let bytes = to_mdl(&model, &options)?;
        microdense::atomic::write(out, &bytes).with_context(|| super::cannot_write(out))?;
    } else {
        model.save(out)?;
    }
    println!("Wrote {}", out.display());
    Ok(())
}
