//! The `microdense` command line: one module per subcommand.

mod data;
mod plot;
mod progress;
mod train;

use clap::{Parser, Subcommand};

/// Train dense networks with Keras semantics, convert Keras files, and run them on a device.
#[derive(Parser, Debug)]
#[command(name = "microdense", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on MNIST (defaults: the Keras tutorial's model and settings).
    Train(train::TrainArgs),
    /// Draw a training history (`train --json` output) as loss and accuracy curves.
    PlotHistory(plot::PlotHistoryArgs),
}

/// Parses the arguments, runs the subcommand and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::PlotHistory(args) => plot::run_history(args),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}
