//! `microdense demo`: the Keras tutorial end to end, narrated, every file written to one
//! directory, ending with a table of what each step produced.

use super::data::{DataArgs, LoadedMnist};
use super::progress::ProgressPrinter;
use anyhow::{bail, Context, Result};
use microdense::dataset::Dataset;
use microdense::device_format::{inspect, to_mdl, ExportOptions};
use microdense::fit::FitOptions;
use microdense::history::{EpochRecord, History};
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense::model_io::LoadWeights;
use microdense::plot::{model_layers, write_diagram, write_history_png, ChartOptions, DiagramOptions};
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
    /// Skip the device part even when QEMU and the firmware are available.
    #[arg(long)]
    no_device: bool,
    /// The firmware image for the device part (default: what `scripts/firmware-build.sh
    /// --release` builds).
    #[arg(long)]
    firmware: Option<PathBuf>,
    /// Training images the device fine-tunes on.
    #[arg(long, default_value_t = 4000, value_parser = super::parse::at_least_one)]
    finetune_images: usize,
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
        self.rows.push(Row {
            step: step.into(),
            file: file.map(Path::to_path_buf),
            accuracy,
        });
    }

    fn fit(&self, model: &mut Model) -> Result<Vec<EpochRecord>> {
        let mut printer = ProgressPrinter::new();
        Ok(model.fit(&self.train, None, &self.options, &mut |p| printer.show(p))?)
    }

    fn test_accuracy(&self, model: &Model) -> Result<f64> {
        let score = model.evaluate(&self.test)?;
        println!("test accuracy: {:.4} (loss {:.4})", score.accuracy, score.loss);
        Ok(score.accuracy)
    }
}

/// Runs `microdense demo`.
pub fn run(mut args: DemoArgs) -> Result<()> {
    args.data.download = true;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    println!(
        "microdense demo: the Keras tutorial, every file in {}",
        args.out.display()
    );
    let data: LoadedMnist = args.data.load()?;
    let mut demo = Demo {
        out: args.out.clone(),
        train: data.train()?,
        test: data.test()?,
        options: FitOptions {
            epochs: args.epochs,
            seed: args.seed,
            ..FitOptions::default()
        },
        rows: Vec::new(),
        step: 0,
    };
    let seed = args.seed;
    let (h5, mut history) = demo.train_and_save(seed)?;
    let resumed = demo.resume(&h5, &mut history, seed + 1)?;
    let json = demo.architectures(&resumed)?;
    let mut rebuilt = demo.weights(&resumed, &json, seed + 7)?;
    demo.retrain(&mut rebuilt, seed + 2)?;
    let test_accuracy = demo.pictures(&resumed, history)?;
    let mdl = demo.convert(&resumed, test_accuracy)?;

    demo.heading("On the device: an emulated Cortex-M4F (QEMU mps2-an386) evaluates, fine-tunes the last 2 layers, hands the weights back");
    let firmware = args
        .firmware
        .clone()
        .unwrap_or_else(microdense::device::qemu::default_firmware);
    match device_unavailable(&firmware, args.no_device) {
        Some(reason) => println!("skipped: {reason}"),
        None => device_part(&mut demo, &data, &mdl, &firmware, args.finetune_images)?,
    }
    demo.print_summary();
    Ok(())
}

impl Demo<'_> {
    /// Step 1: the tutorial's model trained and saved; returns the file and the history.
    fn train_and_save(&mut self, seed: u64) -> Result<(PathBuf, Vec<EpochRecord>)> {
        self.heading("Train the tutorial's model (Dense 50 → sigmoid → Dense 20 → sigmoid → Dense 10 → softmax, SGD 0.01, batch 64)");
        let mut model = Model::from_spec(TUTORIAL_SPEC, seed)?;
        model.compile(Compile::default());
        let history = self.fit(&mut model)?;
        let accuracy = self.test_accuracy(&model)?;
        let h5 = self.path("my_model.h5");
        model.save(&h5)?;
        println!("model.save('{}')", h5.display());
        self.record("train 3 epochs, model.save", Some(&h5), Some(accuracy));
        Ok((h5, history))
    }

    /// Step 2: the saved model loaded and trained on (its epochs appended to `history`).
    fn resume(&mut self, h5: &Path, history: &mut Vec<EpochRecord>, seed: u64) -> Result<Model> {
        self.heading("load_model('my_model.h5') and train 3 more epochs: it resumes where it stopped");
        let mut resumed = Model::load(h5)?;
        let iterations = resumed.optimizer.as_ref().map_or(0, |o| o.scalars.iterations);
        println!(
            "loaded {} layers, optimizer at iteration {iterations}",
            resumed.layers.len()
        );
        self.options.seed = seed;
        let more = self.fit(&mut resumed)?;
        let first = more.first().map_or(0.0, |e| e.accuracy);
        println!(
            "first resumed epoch: accuracy {first:.4} (the last saved epoch had {:.4})",
            history.last().map_or(0.0, |e| e.accuracy)
        );
        let accuracy = self.test_accuracy(&resumed)?;
        let resumed_h5 = self.path("my_model_resumed.h5");
        resumed.save(&resumed_h5)?;
        self.record("load_model, train 3 more", Some(&resumed_h5), Some(accuracy));
        let offset = history.len();
        history.extend(more.into_iter().map(|e| EpochRecord {
            epoch: e.epoch + offset,
            ..e
        }));
        Ok(resumed)
    }

    /// Step 3: the architecture as JSON and YAML, each rebuilt; returns the JSON file.
    fn architectures(&mut self, model: &Model) -> Result<PathBuf> {
        self.heading("Architecture only: to_json / to_yaml, and rebuild from each");
        let json = self.path("my_model_arch.json");
        let yaml = self.path("my_model_arch.yaml");
        microdense::atomic::write(&json, model.to_json().as_bytes())
            .with_context(|| super::cannot_write(&json))?;
        microdense::atomic::write(&yaml, model.to_yaml()?.as_bytes())
            .with_context(|| super::cannot_write(&yaml))?;
        for path in [&json, &yaml] {
            let rebuilt = Model::load(path)?;
            let classes: Vec<&str> = rebuilt.layers.iter().map(|l| l.layer.keras_class()).collect();
            println!(
                "{}: {} layers ({})",
                path.display(),
                rebuilt.layers.len(),
                classes.join(", ")
            );
            self.record("architecture, rebuilt", Some(path), None);
        }
        Ok(json)
    }

    /// Step 4: weights saved, loaded into the rebuilt architecture (returned) and by name
    /// into a model with a new head.
    fn weights(&mut self, model: &Model, json: &Path, seed: u64) -> Result<Model> {
        self.heading("Weights only: save_weights, load_weights, and by_name into another model");
        let weights = self.path("my_model_weights.h5");
        model.save_weights(&weights)?;
        let mut rebuilt = Model::load(json)?;
        rebuilt.load_weights(&weights, LoadWeights::default())?;
        rebuilt.compile(Compile::default());
        let accuracy = self.test_accuracy(&rebuilt)?;
        self.record("save_weights, load_weights", Some(&weights), Some(accuracy));
        let mut transfer = Model::from_spec("784,50,sigmoid,20,sigmoid,10,softmax", seed)?;
        if let Some(head) = transfer.layers.iter_mut().rfind(|l| l.layer.has_weights()) {
            head.name = "new_head".into();
        }
        let by_name = LoadWeights {
            by_name: true,
            skip_mismatch: false,
        };
        let loaded = transfer.load_weights(&weights, by_name)?;
        println!(
            "load_weights(by_name=True) into a model with a new head: loaded {}",
            loaded.loaded.join(", ")
        );
        for (layer, why) in &loaded.skipped {
            println!("  {layer} left as initialised: {why}");
        }
        Ok(rebuilt)
    }

    /// Step 5: the rebuilt model compiled anew and trained.
    fn retrain(&mut self, rebuilt: &mut Model, seed: u64) -> Result<()> {
        self.heading("Rebuild from architecture + weights, compile anew, train 3 epochs");
        self.options.seed = seed;
        self.fit(rebuilt)?;
        let accuracy = self.test_accuracy(rebuilt)?;
        let retrained_h5 = self.path("my_model_retrained.h5");
        rebuilt.save(&retrained_h5)?;
        self.record(
            "architecture + weights, compiled anew, 3 epochs",
            Some(&retrained_h5),
            Some(accuracy),
        );
        Ok(())
    }

    /// Step 6: plot_model and the training history's curves; returns the model's test
    /// accuracy.
    fn pictures(&mut self, model: &Model, history: Vec<EpochRecord>) -> Result<f64> {
        self.heading(
            "Pictures: plot_model(show_shapes=True, show_layer_names=False) and the training history",
        );
        let picture = self.path("model.png");
        let options = DiagramOptions {
            show_shapes: true,
            show_layer_names: false,
            ..DiagramOptions::default()
        };
        write_diagram(&picture, &model_layers(model), &options)?;
        let chart = self.path("history.png");
        let test_score = model.evaluate(&self.test)?;
        write_history_png(
            &chart,
            &History {
                epochs: history,
                test: Some(test_score),
            },
            &ChartOptions::default(),
        )?;
        println!("wrote {} and {}", picture.display(), chart.display());
        self.record("plot_model", Some(&picture), None);
        self.record("training history", Some(&chart), None);
        Ok(test_score.accuracy)
    }

    /// Step 7: the device format, the last 2 Dense layers trainable; returns the file.
    fn convert(&mut self, model: &Model, accuracy: f64) -> Result<PathBuf> {
        self.heading("Convert to the device format (last 2 Dense layers trainable on the device)");
        let mdl = self.path("my_model.mdl");
        let bytes = to_mdl(
            model,
            &ExportOptions {
                with_training_state: true,
                trainable_layers: Some(2),
            },
        )?;
        microdense::atomic::write(&mdl, &bytes).with_context(|| super::cannot_write(&mdl))?;
        println!("{}", inspect(&bytes, 32));
        self.record("device format", Some(&mdl), Some(accuracy));
        Ok(mdl)
    }

    /// The closing table: each step, the file it wrote, its size and test accuracy.
    fn print_summary(&self) {
        println!("\n== Summary");
        println!("{:<48} {:<34} {:>10} {:>9}", "step", "file", "bytes", "accuracy");
        for row in &self.rows {
            let (name, size) = match &row.file {
                Some(p) => (
                    p.file_name()
                        .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                    std::fs::metadata(p).map_or(String::from("-"), |m| m.len().to_string()),
                ),
                None => (String::from("-"), String::from("-")),
            };
            let accuracy = row.accuracy.map_or(String::from("-"), |a| format!("{a:.4}"));
            println!("{:<48} {:<34} {:>10} {:>9}", row.step, name, size, accuracy);
        }
    }
}

/// Why the device part cannot run here, with how to enable it; `None` when it can.
fn device_unavailable(firmware: &Path, no_device: bool) -> Option<String> {
    if no_device {
        return Some("--no-device".into());
    }
    let qemu = std::process::Command::new("qemu-system-arm")
        .arg("--version")
        .output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        return Some("qemu-system-arm is not installed (scripts/firmware-build.sh installs it as root, or: apt-get install qemu-system-arm)".into());
    }
    if !firmware.exists() {
        return Some(format!(
            "no firmware image at {} (build it with scripts/firmware-build.sh --release, or pass --firmware ELF)",
            firmware.display()
        ));
    }
    None
}

/// Runs `microdense device …` (this same program) with the demo's data and firmware
/// and returns its standard output.
fn device_command(data: &LoadedMnist, firmware: &Path, model: &Path, args: &[&str]) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("device")
        .arg("--qemu")
        .arg("--model")
        .arg(model)
        .arg("--firmware")
        .arg(firmware);
    command.args(args).arg("--data").arg(&data.path);
    if data.is_normalized() {
        command.arg("--normalize");
    }
    println!(
        "$ microdense device --qemu --model {} {}",
        model.display(),
        args.join(" ")
    );
    let out = command.output().context("cannot run microdense device")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "microdense device {} failed:\n{stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// The accuracy in the final `--json` line of `device evaluate`.
fn json_accuracy(stdout: &str) -> Result<f64> {
    stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .and_then(|v| v["accuracy"].as_f64())
        .with_context(|| format!("device evaluate printed no JSON result:\n{stdout}"))
}

/// Evaluates `mdl` on the device, fine-tunes its last 2 Dense layers there, pulls the
/// tuned model, evaluates it on the device again and saves it for Keras as `tuned.h5`.
fn device_part(
    demo: &mut Demo<'_>,
    data: &LoadedMnist,
    mdl: &Path,
    firmware: &Path,
    images: usize,
) -> Result<()> {
    let before = json_accuracy(&device_command(data, firmware, mdl, &["evaluate", "--json"])?)?;
    println!(
        "device test accuracy: {before:.4} (the host's: {:.4})",
        demo.rows.last().and_then(|r| r.accuracy).unwrap_or(0.0)
    );
    demo.record("device evaluate (10,000 test images)", Some(mdl), Some(before));
    let tuned_mdl = demo.path("tuned.mdl");
    let limit = images.to_string();
    let tuned = tuned_mdl.to_string_lossy().into_owned();
    let args = [
        "finetune", "--layers", "2", "--epochs", "1", "--limit", &limit, "-o", &tuned,
    ];
    print!("{}", device_command(data, firmware, mdl, &args)?);
    // The host computes exactly what the device computes (same kernels, same order of
    // operations; the device tests check it image by image), so the tuned model is scored
    // here rather than by streaming the test set over the slow emulated UART again.
    let tuned_model = Model::load(&tuned_mdl)?;
    let after = tuned_model.evaluate(&demo.test)?.accuracy;
    println!(
        "test accuracy after fine-tuning on {images} images on the device: {after:.4} (before: {before:.4})"
    );
    demo.record(
        "device finetune last 2 layers, pull",
        Some(&tuned_mdl),
        Some(after),
    );
    let tuned_h5 = demo.path("tuned.h5");
    tuned_model.save(&tuned_h5)?;
    println!("saved the device's weights for Keras: {}", tuned_h5.display());
    demo.record("tuned weights back in Keras format", Some(&tuned_h5), Some(after));
    Ok(())
}
