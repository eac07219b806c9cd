//! `microdense train`: the Keras tutorial's training run, and variations of it.

use super::data::DataArgs;
use super::progress::ProgressPrinter;
use crate::fit::FitOptions;
use crate::history::History;
use crate::model::{Compile, Model, TUTORIAL_SPEC};
use crate::model_io::{FileKind, LoadWeights};
use crate::plot::{write_history_png, ChartOptions};
use microdense_core::{Loss, Sgd};
use std::path::{Path, PathBuf};

/// Options of `microdense train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    budget: super::BudgetArgs,
    /// The architecture: a Keras JSON/YAML file (`model.to_json()`), or a spec: input
    /// width, then `N` (Dense), `N:act` (Dense with activation), an activation name
    /// (Activation layer), `dropout:R`, `flatten`, `bn[:MOMENTUM[:EPSILON]]`, `ln`,
    /// `rescale:S[:OFFSET]`, `normalize`, `relu:MAX[:SLOPE[:THRESHOLD]]`,
    /// `leaky_relu[:SLOPE]`, `prelu`, `elu:ALPHA`, `softmax_layer`, `identity`,
    /// `gaussian_noise:S`, `gaussian_dropout:R`, `alpha_dropout:R`, `reshape`,
    /// `activity_reg:L1[:L2]`.
    #[arg(long, default_value = TUTORIAL_SPEC)]
    arch: String,
    /// Load these weights into the architecture (`save_weights` output, or a whole model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Continue training a saved model (`.h5`, `.keras`, `.mdl`) with its optimizer state;
    /// its compile settings are kept and the flags below are ignored.
    #[arg(long, conflicts_with_all = ["arch", "weights"])]
    resume: Option<PathBuf>,
    /// Save the trained model here (`model.save`): `.h5`, `.keras`, `.mdl`, ...
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Samples per gradient step (at most the training set's size, as Keras does).
    #[arg(long, default_value_t = 64, value_parser = super::parse::at_least_one)]
    batch_size: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true, value_parser = super::parse::learning_rate)]
    lr: f32,
    /// SGD momentum, from 0 to 1.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = super::parse::momentum)]
    momentum: f32,
    /// Nesterov momentum.
    #[arg(long)]
    nesterov: bool,
    /// Loss: categorical_crossentropy, sparse_categorical_crossentropy,
    /// binary_crossentropy or mean_squared_error.
    #[arg(long, default_value = "categorical_crossentropy")]
    loss: String,
    /// Seed for initial weights, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Training threads (default: the machine's available parallelism); the results do
    /// not depend on it.
    #[arg(long, default_value_t = crate::fit::available_threads())]
    threads: usize,
    /// Print a final JSON line with the history and the test score.
    #[arg(long)]
    json: bool,
    /// Evaluate on the test set after every epoch (Keras's `validation_data`).
    #[arg(long)]
    validation: bool,
    /// Draw the loss and accuracy per epoch into this PNG.
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,
}

/// Runs `microdense train`.
pub fn run(args: TrainArgs) -> Result<(), String> {
    if let Some(path) = &args.out {
        Model::check_save_path(path, false).map_err(|e| e.to_string())?;
    }
    if let Some(path) = &args.plot {
        super::check_output(path)?;
    }
    let loss = Loss::from_keras_name(&args.loss).ok_or_else(|| format!("unknown loss {:?}", args.loss))?;
    let mut model = match &args.resume {
        Some(path) => {
            let model = args.budget.load(path)?;
            if model.compile.is_none() {
                let why = model.dropped_training.as_deref().map_or_else(
                    || "it was saved without a training configuration".to_string(),
                    |why| format!("its training setup cannot be used: {why}"),
                );
                return Err(format!(
                    "cannot resume {}: {why}; to train its weights anew, recompile with \
                     `microdense train --arch {file} --weights {file}` and the optimizer flags",
                    path.display(),
                    file = path.display(),
                ));
            }
            model
        }
        None => {
            let mut model = if FileKind::of(Path::new(&args.arch)).is_some() {
                let mut model = args.budget.architecture(Path::new(&args.arch))?;
                model
                    .allocate_weights(args.seed, args.budget.budget())
                    .map_err(|e| e.to_string())?;
                model
            } else {
                Model::from_spec_with_budget(&args.arch, args.seed, args.budget.budget())
                    .map_err(|e| e.to_string())?
            };
            if let Some(weights) = &args.weights {
                model
                    .load_weights(weights, LoadWeights::default())
                    .map_err(|e| e.to_string())?;
            }
            let sgd = Sgd {
                learning_rate: args.lr,
                momentum: args.momentum,
                nesterov: args.nesterov,
            };
            model.compile(Compile {
                loss,
                sgd,
                metrics: vec!["accuracy".into()],
            });
            model
        }
    };
    super::data::check_output_width(&model)?;
    let data = args.data.load()?;
    let (train, test) = (data.train()?, data.test()?);
    let options = FitOptions {
        epochs: args.epochs,
        batch_size: args.batch_size.min(train.len()),
        seed: args.seed,
        shuffle: true,
        threads: args.threads,
    };
    let mut printer = ProgressPrinter::new();
    let epochs = model
        .fit(&train, args.validation.then_some(&test), &options, &mut |p| {
            printer.show(p)
        })
        .map_err(|e| e.to_string())?;
    let score = model.evaluate(&test).map_err(|e| e.to_string())?;
    println!(
        "Test loss: {:.4} - test accuracy: {:.4}",
        score.loss, score.accuracy
    );
    let history = History {
        epochs,
        test: Some(score),
    };
    if let Some(path) = &args.out {
        model.save(path).map_err(|e| e.to_string())?;
        println!("Saved {}", path.display());
    }
    if let Some(path) = &args.plot {
        write_history_png(path, &history, &ChartOptions::default()).map_err(|e| e.to_string())?;
        println!("Wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&history).map_err(|e| e.to_string())?);
    }
    Ok(())
}
