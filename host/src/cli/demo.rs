//! `microdense demo`: the Keras tutorial end to end, narrated, every file written to one
//! directory, ending with a table of what each step produced.

use super::data::{DataArgs, LoadedMnist};
use super::progress::ProgressPrinter;
use crate::dataset::Dataset;
use crate::device_format::{inspect, to_mdl, ExportOptions};
use crate::fit::FitOptions;
use crate::history::{EpochRecord, History};
use crate::model::{Compile, Model, TUTORIAL_SPEC};
use crate::model_io::LoadWeights;
use crate::plot::{model_layers, write_atomic, write_diagram, write_history_png, ChartOptions, DiagramOptions};
use std::path::{Path, PathBuf};

/// Options of `microdense demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Directory for every file the demo writes.
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Seed of the first model's weights and of shuffling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Epochs of each training run (the tutorial's 3).
    #[arg(long, default_value_t = 3)]
    epochs: usize,
}

/// One row of the closing table.
struct Row {
    step: String,
    file: Option<PathBuf>,
    accuracy: Option<f64>,
}

/// The demo's running state: output directory, data and the table being built.
struct Demo<'a> {
    out: PathBuf,
    test: Dataset<'a>,
    train: Dataset<'a>,
    options: FitOptions,
    rows: Vec<Row>,
    step: usize,
}

impl Demo<'_> {
    fn heading(&mut self, text: &str) {
        self.step += 1;
        println!("\n== {}. {text}", self.step);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }

    fn record(&mut self, step: &str, file: Option<&Path>, accuracy: Option<f64>) {
        self.rows.push(Row { step: step.into(), file: file.map(Path::to_path_buf), accuracy });
    }

    fn fit(&self, model: &mut Model) -> Result<Vec<EpochRecord>, String> {
        let mut printer = ProgressPrinter::new();
        model.fit(&self.train, None, &self.options, &mut |p| printer.show(p)).map_err(|e| e.to_string())
    }

    fn test_accuracy(&self, model: &Model) -> Result<f64, String> {
        let score = model.evaluate(&self.test).map_err(|e| e.to_string())?;
        println!("test accuracy: {:.4} (loss {:.4})", score.accuracy, score.loss);
        Ok(score.accuracy)
    }
}

/// Runs `microdense demo`.
pub fn run(mut args: DemoArgs) -> Result<(), String> {
    args.data.download = true;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    println!("microdense demo: the Keras tutorial, every file in {}", args.out.display());
    let data: LoadedMnist = args.data.load()?;
    let mut demo = Demo {
        out: args.out.clone(),
        train: data.train()?,
        test: data.test()?,
        options: FitOptions { epochs: args.epochs, seed: args.seed, ..FitOptions::default() },
        rows: Vec::new(),
        step: 0,
    };
    let report = |e: crate::model_io::KerasError| e.to_string();

    demo.heading("Train the tutorial's model (Dense 50 → sigmoid → Dense 20 → sigmoid → Dense 10 → softmax, SGD 0.01, batch 64)");
    let mut model = Model::from_spec(TUTORIAL_SPEC, args.seed).map_err(|e| e.to_string())?;
    model.compile(Compile::default());
    let mut history = demo.fit(&mut model)?;
    let accuracy = demo.test_accuracy(&model)?;
    let h5 = demo.path("my_model.h5");
    model.save(&h5).map_err(report)?;
    println!("model.save('{}')", h5.display());
    demo.record("train 3 epochs, model.save", Some(&h5), Some(accuracy));

    demo.heading("load_model('my_model.h5') and train 3 more epochs: it resumes where it stopped");
    let mut resumed = Model::load(&h5).map_err(report)?;
    let iterations = resumed.optimizer.as_ref().map_or(0, |o| o.iterations);
    println!("loaded {} layers, optimizer at iteration {iterations}", resumed.layers.len());
    demo.options.seed = args.seed + 1;
    let more = demo.fit(&mut resumed)?;
    let first = more.first().map_or(0.0, |e| e.accuracy);
    println!("first resumed epoch: accuracy {first:.4} (the last saved epoch had {:.4})", history.last().map_or(0.0, |e| e.accuracy));
    let accuracy = demo.test_accuracy(&resumed)?;
    let resumed_h5 = demo.path("my_model_resumed.h5");
    resumed.save(&resumed_h5).map_err(report)?;
    demo.record("load_model, train 3 more", Some(&resumed_h5), Some(accuracy));
    let offset = history.len();
    history.extend(more.into_iter().map(|e| EpochRecord { epoch: e.epoch + offset, ..e }));

    demo.heading("Architecture only: to_json / to_yaml, and rebuild from each");
    let json = demo.path("my_model_arch.json");
    let yaml = demo.path("my_model_arch.yaml");
    write_atomic(&json, resumed.to_json().as_bytes()).map_err(|e| e.to_string())?;
    write_atomic(&yaml, resumed.to_yaml().map_err(report)?.as_bytes()).map_err(|e| e.to_string())?;
    for path in [&json, &yaml] {
        let rebuilt = Model::load(path).map_err(report)?;
        let classes: Vec<&str> = rebuilt.layers.iter().map(|l| l.layer.keras_class()).collect();
        println!("{}: {} layers ({})", path.display(), rebuilt.layers.len(), classes.join(", "));
        demo.record("architecture, rebuilt", Some(path), None);
    }

    demo.heading("Weights only: save_weights, load_weights, and by_name into another model");
    let weights = demo.path("my_model_weights.h5");
    resumed.save_weights(&weights).map_err(report)?;
    let mut rebuilt = Model::load(&json).map_err(report)?;
    rebuilt.load_weights(&weights, LoadWeights::default()).map_err(report)?;
    rebuilt.compile(Compile::default());
    let accuracy = demo.test_accuracy(&rebuilt)?;
    demo.record("save_weights, load_weights", Some(&weights), Some(accuracy));
    let mut transfer = Model::from_spec("784,50,sigmoid,20,sigmoid,10,softmax", args.seed + 7).map_err(|e| e.to_string())?;
    if let Some(head) = transfer.layers.iter_mut().rfind(|l| l.layer.has_weights()) {
        head.name = "new_head".into();
    }
    let by_name = LoadWeights { by_name: true, skip_mismatch: false };
    let loaded = transfer.load_weights(&weights, by_name).map_err(report)?;
    println!("load_weights(by_name=True) into a model with a new head: loaded {}", loaded.loaded.join(", "));
    for (layer, why) in &loaded.skipped {
        println!("  {layer} left as initialised: {why}");
    }

    demo.heading("Rebuild from architecture + weights, compile anew, train 3 epochs");
    demo.options.seed = args.seed + 2;
    demo.fit(&mut rebuilt)?;
    let accuracy = demo.test_accuracy(&rebuilt)?;
    let retrained_h5 = demo.path("my_model_retrained.h5");
    rebuilt.save(&retrained_h5).map_err(report)?;
    demo.record("architecture + weights, compiled anew, 3 epochs", Some(&retrained_h5), Some(accuracy));

    demo.heading("Pictures: plot_model(show_shapes=True, show_layer_names=False) and the training history");
    let picture = demo.path("model.png");
    let options = DiagramOptions { show_shapes: true, show_layer_names: false, ..DiagramOptions::default() };
    write_diagram(&picture, &model_layers(&resumed), &options).map_err(|e| e.to_string())?;
    let chart = demo.path("history.png");
    let test_score = resumed.evaluate(&demo.test).map_err(|e| e.to_string())?;
    write_history_png(&chart, &History { epochs: history, test: Some(test_score) }, &ChartOptions::default())
        .map_err(|e| e.to_string())?;
    println!("wrote {} and {}", picture.display(), chart.display());
    demo.record("plot_model", Some(&picture), None);
    demo.record("training history", Some(&chart), None);

    demo.heading("Convert to the device format (last 2 Dense layers trainable on the device)");
    let mdl = demo.path("my_model.mdl");
    let bytes = to_mdl(&resumed, &ExportOptions { with_training_state: true, trainable_layers: Some(2) })
        .map_err(|e| e.to_string())?;
    write_atomic(&mdl, &bytes).map_err(|e| e.to_string())?;
    println!("{}", inspect(&bytes, 32));
    demo.record("device format", Some(&mdl), Some(test_score.accuracy));

    println!("\n== Summary");
    println!("{:<48} {:<34} {:>10} {:>9}", "step", "file", "bytes", "accuracy");
    for row in &demo.rows {
        let (name, size) = match &row.file {
            Some(p) => (
                p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                std::fs::metadata(p).map_or(String::from("-"), |m| m.len().to_string()),
            ),
            None => (String::from("-"), String::from("-")),
        };
        let accuracy = row.accuracy.map_or(String::from("-"), |a| format!("{a:.4}"));
        println!("{:<48} {:<34} {:>10} {:>9}", row.step, name, size, accuracy);
    }
    Ok(())
}
