//! `microdense evaluate`: loss and accuracy of a model on the MNIST test set, with an
//! optional confusion matrix.

use super::data::DataArgs;
use crate::model::Compile;
use crate::plot::ConfusionMatrix;
use microdense_core::argmax;
use std::path::PathBuf;

/// Options of `microdense evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    /// Print a final JSON line `{"loss": …, "accuracy": …}`.
    #[arg(long)]
    json: bool,
    /// Draw the 10×10 confusion matrix into this PNG and print per-class precision/recall.
    #[arg(long, value_name = "PNG")]
    confusion: Option<PathBuf>,
}

/// Runs `microdense evaluate`.
pub fn run(args: EvaluateArgs) -> Result<(), String> {
    if let Some(path) = &args.confusion {
        super::check_output(path)?;
    }
    let mut model = args.model.load()?;
    super::data::check_output_width(&model)?;
    if model.compile.is_none() {
        eprintln!(
            "note: {} is not compiled; evaluating with categorical cross-entropy",
            args.model.model.display()
        );
        model.compile = Some(Compile::default());
    }
    let data = args.data.load()?;
    let test = data.test()?;
    let score = model.evaluate(&test).map_err(|e| e.to_string())?;
    println!(
        "{} test images - loss: {:.4} - accuracy: {:.4}",
        test.len(),
        score.loss,
        score.accuracy
    );
    if let Some(path) = &args.confusion {
        let outputs = model.predict(&test).map_err(|e| e.to_string())?;
        let classes = outputs.len() / test.len().max(1);
        let pairs = test
            .labels()
            .iter()
            .zip(outputs.chunks_exact(classes.max(1)))
            .map(|(&t, row)| (t as usize, argmax(row)));
        let matrix = ConfusionMatrix::from_pairs(classes, pairs).map_err(|e| e.to_string())?;
        print!("{}", matrix.report());
        matrix.write_png(path).map_err(|e| e.to_string())?;
        println!("Wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&score).map_err(|e| e.to_string())?);
    }
    Ok(())
}
