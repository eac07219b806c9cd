//! The `microdense` command line: one module per subcommand.

mod convert;
mod data;
mod demo;
mod device;
mod evaluate;
mod inspect;
mod plot;
mod predict;
mod progress;
mod summary;
mod train;

use crate::model::Model;
use clap::{Parser, Subcommand};
use std::path::Path;

/// Train dense networks with Keras semantics, convert Keras files, and run them on a device.
#[derive(Parser, Debug)]
#[command(name = "microdense", version, about)]
struct Cli {
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
    /// What a .mdl device-format file holds and the flash and RAM a device needs for it.
    Inspect(inspect::InspectArgs),
    /// Draw a model as Keras's plot_model does (PNG or SVG).
    Plot(plot::PlotArgs),
    /// Draw a training history (`train --json` output) as loss and accuracy curves.
    PlotHistory(plot::PlotHistoryArgs),
    /// Talk to a device running the firmware (serial port, or QEMU with --qemu).
    Device(device::DeviceArgs),
}

/// Loads any model file the commands accept, as [`Model::load`] chooses by file name
/// (`.h5`, `.keras`, `.json`/`.yaml` architectures, `.mdl`). A training setup the model
/// cannot be trained with is dropped with one warning line on stderr.
fn load_model(path: &Path) -> Result<Model, String> {
    let model = Model::load(path).map_err(|e| e.to_string())?;
    if let Some(why) = &model.dropped_training {
        eprintln!("warning: loaded without its training setup (as load_model(compile=False)): {why}");
    }
    Ok(model)
}

/// Parses the arguments, runs the subcommand and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Plot(args) => plot::run_model(args),
        Command::PlotHistory(args) => plot::run_history(args),
        Command::Device(args) => device::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}
