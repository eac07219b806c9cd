//! The `microdense` command line: one module per subcommand.

use clap::{Parser, Subcommand};

/// Train dense networks with Keras semantics, convert Keras files, and run them on a device.
#[derive(Parser, Debug)]
#[command(name = "microdense", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {}

/// Parses the arguments, runs the subcommand and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {}
}
