//! `microdense evaluate`: loss and accuracy of a model on the MNIST test set, with an
//! optional confusion matrix.

use super::data::DataArgs;
use anyhow::Result;
use microdense::dataset::Dataset;
use microdense::device_format::read_int8_mdl;
use microdense::history::Evaluation;
use microdense::int8::Int8Model;
use microdense::model::{Compile, Model};
use microdense::model_io::FileKind;
use microdense::plot::ConfusionMatrix;
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
pub fn run(args: EvaluateArgs) -> Result<()> {
    if let Some(path) = &args.confusion {
        super::check_output(path)?;
    }
    let model = match FileKind::of(&args.model.model) {
        Some(FileKind::DeviceFormat) => read_int8_mdl(&args.model.model)?,
        _ => None,
    };
    let model = match model {
        Some(int8) => {
            super::data::check_output_width(&int8.head)?;
            println!("int8 body: core's integer kernels, as the device runs them; float32 head");
            Evaluated::Int8(int8)
        }
        None => {
            let mut model = args.model.load()?;
            super::data::check_output_width(&model)?;
            if model.compile.is_none() {
                eprintln!(
                    "note: {} is not compiled; evaluating with categorical cross-entropy",
                    args.model.model.display()
                );
                model.compile = Some(Compile::default());
            }
            Evaluated::Float(model)
        }
    };
    let data = args.data.load()?;
    let test = data.test()?;
    let score = model.evaluate(&test)?;
    println!(
        "{} test images - loss: {:.4} - accuracy: {:.4}",
        test.len(),
        score.loss,
        score.accuracy
    );
    if let Some(path) = &args.confusion {
        let outputs = model.predict(&test)?;
        let classes = outputs.len() / test.len().max(1);
        let pairs = test
            .labels()
            .iter()
            .zip(outputs.chunks_exact(classes.max(1)))
            .map(|(&t, row)| (t as usize, argmax(row)));
        let matrix = ConfusionMatrix::from_pairs(classes, pairs)?;
        print!("{}", matrix.report());
        matrix.write_png(path)?;
        println!("Wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&score)?);
    }
    Ok(())
}

/// What `evaluate` runs: a float model, or an int8 body with its float head.
enum Evaluated {
    Float(Model),
    Int8(Int8Model),
}

impl Evaluated {
    fn evaluate(&self, test: &Dataset<'_>) -> Result<Evaluation> {
        match self {
            Evaluated::Float(m) => Ok(m.evaluate(test)?),
            Evaluated::Int8(m) => Ok(m.evaluate(test)?),
        }
    }

    fn predict(&self, test: &Dataset<'_>) -> Result<Vec<f32>> {
        match self {
            Evaluated::Float(m) => Ok(m.predict(test)?),
            Evaluated::Int8(m) => Ok(m.predict(test)?),
        }
    }
}
