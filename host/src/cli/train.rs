//! `microdense train`: the Keras tutorial's training run, and variations of it.

use super::data::DataArgs;
use super::progress::ProgressPrinter;
use anyhow::{anyhow, bail, Result};
use microdense::fit::FitOptions;
use microdense::history::History;
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense::model_io::{FileKind, LoadWeights};
use microdense::plot::{write_history_png, ChartOptions};
use microdense_core::optimizer::AdamSettings;
use microdense_core::{Algorithm, Clipping, LossFunction, LossKind, Optimizer, Schedule};
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
    /// The optimizer, as Keras names it: sgd, adam, adamw, nadam, rmsprop, adagrad.
    #[arg(long, value_enum, default_value_t = OptimizerName::Sgd)]
    optimizer: OptimizerName,
    /// Learning rate (`learning_rate`; Keras's default: 0.01 for SGD, else 0.001).
    #[arg(long, visible_alias = "learning-rate", allow_negative_numbers = true, value_parser = super::parse::learning_rate)]
    lr: Option<f32>,
    /// Momentum of SGD and RMSprop, from 0 to 1.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = super::parse::momentum)]
    momentum: f32,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    nesterov: bool,
    /// Adam's, AdamW's and Nadam's first-moment decay.
    #[arg(long, default_value_t = 0.9)]
    beta_1: f32,
    /// Adam's, AdamW's and Nadam's second-moment decay.
    #[arg(long, default_value_t = 0.999)]
    beta_2: f32,
    /// Added to denominators (Adam, AdamW, Nadam, RMSprop, Adagrad).
    #[arg(long, default_value_t = 1e-7)]
    epsilon: f32,
    /// AMSGrad (Adam, AdamW).
    #[arg(long)]
    amsgrad: bool,
    /// RMSprop's squared-gradient decay.
    #[arg(long, default_value_t = 0.9)]
    rho: f32,
    /// Centered RMSprop.
    #[arg(long)]
    centered: bool,
    /// Adagrad's starting accumulator.
    #[arg(long, default_value_t = 0.1)]
    initial_accumulator_value: f32,
    /// Decoupled weight decay (Keras's default: 0.004 for AdamW, else none).
    #[arg(long)]
    weight_decay: Option<f32>,
    /// Clip each weight tensor's gradient to this L2 norm.
    #[arg(long, conflicts_with_all = ["global_clipnorm", "clipvalue"])]
    clipnorm: Option<f32>,
    /// Clip all gradients together to this L2 norm.
    #[arg(long, conflicts_with = "clipvalue")]
    global_clipnorm: Option<f32>,
    /// Clip each gradient value to [-v, v].
    #[arg(long)]
    clipvalue: Option<f32>,
    /// The loss, as Keras names it (its aliases such as `mse`, `mae`, `kld` and its class
    /// name such as `Huber` work too).
    #[arg(long, value_enum, default_value = "categorical_crossentropy")]
    loss: LossName,
    /// The model outputs logits, not probabilities (the cross-entropies' `from_logits`).
    #[arg(long)]
    from_logits: bool,
    /// Label smoothing, from 0 to 1 (categorical and binary cross-entropy).
    #[arg(long, value_parser = super::parse::fraction)]
    label_smoothing: Option<f32>,
    /// Huber's `delta`, above 0 (default 1).
    #[arg(long, value_parser = super::parse::positive)]
    huber_delta: Option<f32>,
    /// Seed for initial weights, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Training threads (default: the machine's available parallelism); the results do
    /// not depend on it.
    #[arg(long, default_value_t = microdense::fit::available_threads())]
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

/// The loss the flags ask for; a setting the loss does not take is an error naming both.
fn loss(args: &TrainArgs) -> Result<LossFunction> {
    let kind = args.loss.0;
    let refuse = |flag: &str| Err(anyhow!("{flag} does not apply to the loss {}", kind.keras_name()));
    if args.from_logits && !kind.has_from_logits() {
        return refuse("--from-logits");
    }
    if args.label_smoothing.is_some() && !kind.has_label_smoothing() {
        return refuse("--label-smoothing");
    }
    if args.huber_delta.is_some() && kind != LossKind::Huber {
        return refuse("--huber-delta");
    }
    let defaults = LossFunction::new(kind);
    Ok(LossFunction {
        from_logits: args.from_logits,
        label_smoothing: args.label_smoothing.unwrap_or(defaults.label_smoothing),
        delta: args.huber_delta.unwrap_or(defaults.delta),
        ..defaults
    })
}

/// Runs `microdense train`.
pub fn run(args: TrainArgs) -> Result<()> {
    if let Some(path) = &args.out {
        Model::check_save_path(path, false)?;
    }
    if let Some(path) = &args.plot {
        super::check_output(path)?;
    }
    let loss = loss(&args)?;
    let mut model = match &args.resume {
        Some(path) => {
            let model = args.budget.load(path)?;
            if model.compile.is_none() {
                let why = model.dropped_training.as_deref().map_or_else(
                    || "it was saved without a training configuration".to_string(),
                    |why| format!("its training setup cannot be used: {why}"),
                );
                bail!(
                    "cannot resume {}: {why}; to train its weights anew, recompile with \
                     `microdense train --arch {file} --weights {file} --optimizer …`",
                    path.display(),
                    file = path.display(),
                );
            }
            model
        }
        None => {
            let mut model = if FileKind::of(Path::new(&args.arch)).is_some() {
                let mut model = args.budget.architecture(Path::new(&args.arch))?;
                model.allocate_weights(args.seed, args.budget.budget())?;
                model
            } else {
                Model::from_spec_with_budget(&args.arch, args.seed, args.budget.budget())?
            };
            if let Some(weights) = &args.weights {
                model.load_weights(weights, LoadWeights::default())?;
            }
            model.compile(Compile {
                loss,
                optimizer: optimizer(&args)?,
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
    let epochs = model.fit(&train, args.validation.then_some(&test), &options, &mut |p| {
        printer.show(p)
    })?;
    let score = model.evaluate(&test)?;
    println!(
        "Test loss: {:.4} - test accuracy: {:.4}",
        score.loss, score.accuracy
    );
    let history = History {
        epochs,
        test: Some(score),
    };
    if let Some(path) = &args.out {
        model.save(path)?;
        println!("Saved {}", path.display());
    }
    if let Some(path) = &args.plot {
        write_history_png(path, &history, &ChartOptions::default())?;
        println!("Wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&history)?);
    }
    Ok(())
}

/// A loss `--loss` names: Keras's function name, with its aliases and class name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LossName(LossKind);

/// Every loss `--loss` takes, in [`LossKind::ALL`]'s order.
static LOSS_NAMES: [LossName; LossKind::ALL.len()] = {
    let mut names = [LossName(LossKind::ALL[0]); LossKind::ALL.len()];
    let mut i = 1;
    while i < names.len() {
        names[i] = LossName(LossKind::ALL[i]);
        i += 1;
    }
    names
};

impl clap::ValueEnum for LossName {
    fn value_variants<'a>() -> &'a [Self] {
        &LOSS_NAMES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let kind = self.0;
        let value = clap::builder::PossibleValue::new(kind.keras_name())
            .alias(kind.class_name())
            .aliases(kind.aliases().iter().copied());
        Some(value)
    }
}

/// The optimizers `--optimizer` names.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OptimizerName {
    /// `keras.optimizers.SGD`.
    Sgd,
    /// `keras.optimizers.Adam`.
    Adam,
    /// `keras.optimizers.AdamW`.
    Adamw,
    /// `keras.optimizers.Nadam`.
    Nadam,
    /// `keras.optimizers.RMSprop`.
    Rmsprop,
    /// `keras.optimizers.Adagrad`.
    Adagrad,
}

/// The optimizer the flags describe, checked as Keras checks it.
fn optimizer(args: &TrainArgs) -> Result<Optimizer> {
    let adam = AdamSettings {
        beta_1: args.beta_1,
        beta_2: args.beta_2,
        epsilon: args.epsilon,
        amsgrad: args.amsgrad,
    };
    let algorithm = match args.optimizer {
        OptimizerName::Sgd => Algorithm::Sgd {
            momentum: args.momentum,
            nesterov: args.nesterov,
        },
        OptimizerName::Adam => Algorithm::Adam(adam),
        OptimizerName::Adamw => Algorithm::AdamW(adam),
        OptimizerName::Nadam => Algorithm::Nadam {
            beta_1: args.beta_1,
            beta_2: args.beta_2,
            epsilon: args.epsilon,
        },
        OptimizerName::Rmsprop => Algorithm::RmsProp {
            rho: args.rho,
            momentum: args.momentum,
            epsilon: args.epsilon,
            centered: args.centered,
        },
        OptimizerName::Adagrad => Algorithm::Adagrad {
            initial_accumulator_value: args.initial_accumulator_value,
            epsilon: args.epsilon,
        },
    };
    let mut optimizer = Optimizer::new(algorithm);
    if let Some(lr) = args.lr {
        optimizer.learning_rate = Schedule::Constant(lr);
    }
    if let Some(decay) = args.weight_decay {
        optimizer.weight_decay = decay;
    }
    optimizer.clipping = match (args.clipnorm, args.global_clipnorm, args.clipvalue) {
        (Some(v), _, _) => Clipping::Norm(v),
        (_, Some(v), _) => Clipping::GlobalNorm(v),
        (_, _, Some(v)) => Clipping::Value(v),
        _ => Clipping::None,
    };
    optimizer
        .check()
        .map_err(|why| anyhow!("--optimizer {:?}: {why}", args.optimizer))?;
    Ok(optimizer)
}

#[cfg(test)]
mod tests {
    use super::LossName;
    use clap::ValueEnum;
    use microdense_core::LossKind;

    /// `--loss` takes Keras's function names, their aliases and the class names, and
    /// nothing else.
    #[test]
    fn loss_names_are_keras_names_aliases_and_classes() {
        let parse = |s| LossName::from_str(s, false).map(|n| n.0);
        assert_eq!(LossName::value_variants().len(), LossKind::ALL.len());
        for kind in LossKind::ALL {
            assert_eq!(parse(kind.keras_name()), Ok(kind));
            assert_eq!(parse(kind.class_name()), Ok(kind));
        }
        assert_eq!(parse("mse"), Ok(LossKind::MeanSquaredError));
        assert_eq!(parse("KLD"), Ok(LossKind::KlDivergence));
        assert_eq!(parse("huber_loss"), Ok(LossKind::Huber));
        assert!(parse("focal").is_err() && parse("MSE").is_err());
    }
}
