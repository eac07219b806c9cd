//! The `microdense` command line: one module per subcommand.

mod convert;
mod data;
mod demo;
mod device;
mod evaluate;
mod inspect;
mod parse;
mod plot;
mod predict;
mod progress;
mod quantize;
mod summary;
mod train;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use microdense::budget::{ParamBudget, DEFAULT_MAX_PARAMS};
use microdense::device_format::read_int8_mdl;
use microdense::model::Model;
use microdense::model_io::{FileKind, LoadWeights};
use std::path::{Path, PathBuf};

/// Train dense networks with Keras semantics, convert Keras files, and run them on a device.
#[derive(Parser, Debug)]
#[command(name = "microdense", version, about)]
struct Cli {
    /// Replace write-protected output files (as `cp --force`); they are refused otherwise.
    #[arg(long, global = true)]
    force: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The Keras tutorial end to end: train, save, reload, resume, architectures, weights,
    /// pictures, the device format (and the device, when QEMU is available).
    Demo(demo::DemoArgs),
    /// Train a model on MNIST (defaults: the Keras tutorial's model and settings).
    Train(train::TrainArgs),
    /// Print a model's layer table, as Keras's `model.summary()`.
    Summary(summary::SummaryArgs),
    /// Loss and accuracy of a model on the MNIST test set.
    Evaluate(evaluate::EvaluateArgs),
    /// Class scores of a model for every MNIST test image, as a NumPy .npy file.
    Predict(predict::PredictArgs),
    /// Convert between Keras's formats (.h5, .keras, .weights.h5, .json, .yaml) and .mdl.
    Convert(convert::ConvertArgs),
    /// Quantise a float model to int8 (TFLite's scheme) into a .mdl, the last K Dense
    /// layers kept float32 for fine-tuning on the device.
    Quantize(quantize::QuantizeArgs),
    /// What a .mdl device-format file holds and the flash and RAM a device needs for it.
    Inspect(inspect::InspectArgs),
    /// Draw a model as Keras's plot_model does (PNG or SVG).
    Plot(plot::PlotArgs),
    /// Draw a training history (`train --json` output) as loss and accuracy curves.
    PlotHistory(plot::PlotHistoryArgs),
    /// Talk to a device running the firmware (serial port, or QEMU with --qemu).
    Device(device::DeviceArgs),
}

/// The parameter budget of the commands that read models.
#[derive(clap::Args, Debug, Clone, Copy)]
struct BudgetArgs {
    /// Refuse models of more than N parameters (checked before any weight is allocated).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PARAMS)]
    max_params: usize,
}

impl BudgetArgs {
    fn budget(self) -> ParamBudget {
        ParamBudget::new(self.max_params)
    }

    /// Loads any model file the commands accept, as [`Model::load`] chooses by file name
    /// (`.h5`, `.keras`, `.json`/`.yaml` architectures, `.mdl`). A training setup the
    /// model cannot be trained with is dropped with one warning line on stderr; weights
    /// that are NaN or infinite get one too.
    fn load(self, path: &Path) -> Result<Model> {
        let model = Model::load_with_budget(path, self.budget())?;
        if FileKind::of(path) == Some(FileKind::DeviceFormat) && matches!(read_int8_mdl(path), Ok(Some(_))) {
            eprintln!(
                "warning: {} has an int8 body: loaded dequantised to float32, which predicts what the int8 \
                 model predicts within its quantisation error",
                path.display()
            );
        }
        if let Some(why) = &model.dropped_training {
            eprintln!("warning: loaded without its training setup (as load_model(compile=False)): {why}");
        }
        if let Some((layer, count)) = model.nonfinite_weights() {
            eprintln!(
                "warning: {}: layer {layer:?} has {count} weights that are NaN or infinite",
                path.display()
            );
        }
        Ok(model)
    }

    /// The architecture of any model file, without its weights (see
    /// [`Model::load_architecture`]).
    fn architecture(self, path: &Path) -> Result<Model> {
        Ok(Model::load_architecture(path, self.budget())?)
    }
}

/// A model file, or an architecture and its weights, for the commands that compute with it.
#[derive(clap::Args, Debug)]
struct ModelArgs {
    /// A model: `.h5`, `.keras`, `.mdl`, or an architecture (`.json`, `.yaml`) with `--weights`.
    model: PathBuf,
    /// Load these weights into the model (`save_weights` output, or a whole model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Compute with an architecture's fresh random weights (the same ones every run).
    #[arg(long, conflicts_with = "weights")]
    random_weights: bool,
    #[command(flatten)]
    budget: BudgetArgs,
}

impl ModelArgs {
    /// Loads the model and its weights; an architecture needs `--weights` or `--random-weights`.
    fn load(&self) -> Result<Model> {
        let mut model = self.budget.load(&self.model)?;
        if let Some(weights) = &self.weights {
            model.load_weights(weights, LoadWeights::default())?;
        } else if matches!(FileKind::of(&self.model), Some(FileKind::Json | FileKind::Yaml))
            && !self.random_weights
        {
            bail!(
                "{} is an architecture without weights: pass --weights FILE (or --random-weights)",
                self.model.display()
            );
        }
        Ok(model)
    }
}

/// Checks, before any work, that `path` can be written.
fn check_output(path: &Path) -> Result<()> {
    microdense::atomic::check(path).with_context(|| cannot_write(path))
}

/// The context the CLI gives a failure to write `path`.
fn cannot_write(path: &Path) -> String {
    format!("cannot write {}", path.display())
}

/// Parses the arguments, runs the subcommand and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    if cli.force {
        microdense::atomic::replace_write_protected();
    }
    if let Err(e) = microdense::cleanup::remove_on_signals() {
        eprintln!("warning: temporary files will stay behind if a signal ends microdense: {e}");
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Plot(args) => plot::run_model(args),
        Command::PlotHistory(args) => plot::run_history(args),
        Command::Device(args) => device::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            let error: &dyn std::error::Error = error.as_ref();
            eprintln!("error: {}", microdense::error_report::message(error));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap's own consistency checks of every subcommand and argument (conflicting
    /// names, defaults a value parser refuses, ...), which otherwise only fail when run.
    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
