//! `microdense plot` (a model diagram, as Keras's `plot_model`) and `microdense
//! plot-history` (a training history from `train --json` as a chart).

use anyhow::Result;
use microdense::history::History;
use microdense::plot::{
    model_layers, write_diagram, write_history_png, ChartOptions, DiagramFormat, DiagramOptions, RankDir,
};
use std::path::PathBuf;

/// Options of `microdense plot`, named as `plot_model`'s arguments.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// A model: `.h5`, `.keras`, `.json`/`.yaml` or `.mdl`.
    model: PathBuf,
    /// The picture to write: `.png` or `.svg`.
    #[arg(short, long)]
    out: PathBuf,
    /// Show each layer's input and output shapes.
    #[arg(long)]
    show_shapes: bool,
    /// Show layer names (the default, as in Keras).
    #[arg(long, overrides_with = "no_show_layer_names")]
    show_layer_names: bool,
    /// Show only the layer classes (`plot_model(..., show_layer_names=False)`).
    #[arg(long)]
    no_show_layer_names: bool,
    /// Show the layers' dtypes.
    #[arg(long)]
    show_dtype: bool,
    /// Show the activation of layers that have one.
    #[arg(long)]
    show_layer_activations: bool,
    /// Show whether each weighted layer is trainable.
    #[arg(long)]
    show_trainable: bool,
    /// Direction of the graph: TB (top to bottom) or LR (left to right).
    #[arg(long, default_value = "TB")]
    rankdir: RankDir,
    /// Resolution in dots per inch.
    #[arg(long, default_value_t = microdense::plot::DEFAULT_DPI)]
    dpi: u32,
    #[command(flatten)]
    budget: super::BudgetArgs,
}

/// Runs `microdense plot`.
pub fn run_model(args: PlotArgs) -> Result<()> {
    DiagramFormat::from_path(&args.out)?;
    super::check_output(&args.out)?;
    let model = args.budget.architecture(&args.model)?;
    let options = DiagramOptions {
        show_shapes: args.show_shapes,
        show_dtype: args.show_dtype,
        show_layer_names: !args.no_show_layer_names,
        show_layer_activations: args.show_layer_activations,
        show_trainable: args.show_trainable,
        rankdir: args.rankdir,
        dpi: args.dpi,
    };
    write_diagram(&args.out, &model_layers(&model), &options)?;
    println!("Wrote {}", args.out.display());
    Ok(())
}

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
pub fn run_history(args: PlotHistoryArgs) -> Result<()> {
    super::check_output(&args.out)?;
    let history = History::read_json(&args.history)?;
    let options = ChartOptions {
        width: args.width,
        height: args.height,
    };
    write_history_png(&args.out, &history, &options)?;
    println!("Wrote {}", args.out.display());
    Ok(())
}
