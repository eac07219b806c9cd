//! `microdense quantize MODEL OUT.mdl --calibrate N`: post-training int8 quantisation
//! (also `convert … --int8`).

use super::data::DataArgs;
use anyhow::{bail, Context, Result};
use microdense::device_format::{int8_to_mdl, ExportOptions};
use microdense::int8::Int8Model;
use microdense::model::Model;
use std::path::{Path, PathBuf};

/// Options of `microdense quantize`.
#[derive(clap::Args, Debug)]
pub struct QuantizeArgs {
    /// The float model: `.h5`, `.keras` or `.mdl`.
    model: PathBuf,
    /// The int8 `.mdl` to write.
    output: PathBuf,
    /// Calibrate the activations' int8 ranges (per tensor, min/max) on the first N MNIST
    /// training images.
    #[arg(long, value_name = "N")]
    calibrate: usize,
    /// Keep the last K Dense layers float32: the layers a device fine-tunes (0: every
    /// Dense layer int8).
    #[arg(long, value_name = "K", default_value_t = 0)]
    trainable_layers: usize,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    budget: super::BudgetArgs,
}

/// Runs `microdense quantize`.
pub fn run(args: QuantizeArgs) -> Result<()> {
    super::check_output(&args.output)?;
    let model = args.budget.load(&args.model)?;
    write_int8(
        &model,
        &args.output,
        args.calibrate,
        &args.data,
        args.trainable_layers,
    )
}

/// Quantises `model` calibrated on the first `n` training images of `data`, the last `k`
/// Dense layers float32 (with the training state to fine-tune them when the model is
/// compiled), and writes the `.mdl` to `out`.
pub(super) fn write_int8(model: &Model, out: &Path, n: usize, data: &DataArgs, k: usize) -> Result<()> {
    let mnist = data.load()?;
    let train = mnist.train()?;
    if n == 0 || n > train.len() {
        bail!("--calibrate {n}: give 1 to {} training images", train.len());
    }
    let int8 = Int8Model::quantize(model, &train.first(n), k)?;
    let train_head = k > 0 && model.compile.is_some();
    if k > 0 && !train_head {
        println!("note: the model is not compiled: its float head carries no training state");
    }
    let options = ExportOptions {
        with_training_state: train_head,
        trainable_layers: train_head.then_some(k),
    };
    let bytes = int8_to_mdl(&int8, &options)?;
    microdense::atomic::write(out, &bytes).with_context(|| super::cannot_write(out))?;
    println!(
        "Quantised {} Dense layers to int8 (activation ranges: min/max over {n} training images{}); \
         {k} Dense layers stay float32",
        int8.layers.len(),
        if mnist.is_normalized() {
            ", pixels / 255"
        } else {
            ", raw pixels"
        },
    );
    println!("Wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
