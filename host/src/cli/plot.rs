//! `microdense plot-history`: a training history (from `train --json`) as a chart.

use crate::history::History;
use crate::plot::{write_history_png, ChartOptions};
use std::path::PathBuf;

/// Options of `microdense plot-history`.
#[derive(clap::Args, Debug)]
pub struct PlotHistoryArgs {
    /// The JSON history (`microdense train --json` output, or just its last line).
    history: PathBuf,
    /// The PNG to write.
    #[arg(short, long)]
    out: PathBuf,
    /// Width in pixels.
    #[arg(long, default_value_t = ChartOptions::default().width)]
    width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = ChartOptions::default().height)]
    height: u32,
}

/// Runs `microdense plot-history`.
pub fn run_history(args: PlotHistoryArgs) -> Result<(), String> {
    let history = History::read_json(&args.history).map_err(|e| e.to_string())?;
    let options = ChartOptions { width: args.width, height: args.height };
    write_history_png(&args.out, &history, &options).map_err(|e| e.to_string())?;
    println!("Wrote {}", args.out.display());
    Ok(())
}
