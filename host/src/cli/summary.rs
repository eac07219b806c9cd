//! `microdense summary`: Keras's `model.summary()` for any model file.

use anyhow::Result;
use std::path::PathBuf;

/// Options of `microdense summary`.
#[derive(clap::Args, Debug)]
pub struct SummaryArgs {
    /// A model: `.h5`, `.keras`, `.json`/`.yaml` (architecture) or `.mdl`.
    model: PathBuf,
    #[command(flatten)]
    budget: super::BudgetArgs,
}

/// Runs `microdense summary`.
pub fn run(args: SummaryArgs) -> Result<()> {
    let model = args.budget.architecture(&args.model)?;
    print!("{}", microdense::summary::summary(&model));
    Ok(())
}
