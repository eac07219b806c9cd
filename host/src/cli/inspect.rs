//! `microdense inspect`: what a `.mdl` file holds and what a device needs to run it.

use anyhow::{Context, Result};
use microdense::device_format::inspect;
use std::path::PathBuf;

/// Options of `microdense inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The device-format file (`.mdl`).
    model: PathBuf,
    /// Batch size N of the fine-tuning RAM figures.
    #[arg(long, default_value_t = 32, value_parser = super::parse::device_batch)]
    batch: usize,
}

/// Runs `microdense inspect`: prints the format version, the CRC status, the layer table,
/// the parameter count and the device's flash and RAM needs; fails when the file cannot
/// be used (after printing what could be read).
pub fn run(args: InspectArgs) -> Result<()> {
    let bytes =
        std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
    let report = inspect(&bytes, args.batch);
    println!("{report}");
    report
        .status
        .map(|_| ())
        .with_context(|| format!("{}", args.model.display()))
}
