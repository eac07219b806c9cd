//! Finding and loading MNIST for commands, and turning it into [`Dataset`]s.

use anyhow::{anyhow, bail, Context, Result};
use microdense::dataset::{Dataset, Features};
use microdense::mnist::{Lookup, Mnist, Split, CLASSES};
use microdense::model::Model;
use std::path::PathBuf;

/// The `--data` and `--normalize` options shared by commands that read MNIST.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// MNIST: a directory with the four IDX files (gzipped or not) or a Keras mnist.npz.
    /// Default: $MNIST_DIR, then data/mnist, then the download cache.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Divide pixels by 255 (the tutorial feeds raw 0–255 values).
    #[arg(long)]
    pub normalize: bool,
    /// Download Keras's mnist.npz into the cache when MNIST is not found.
    #[arg(long)]
    pub download: bool,
}

/// MNIST with labels widened for the engine.
pub struct LoadedMnist {
    /// The data set as read.
    pub mnist: Mnist,
    /// Where it was read from (a directory or an `.npz` file).
    pub path: PathBuf,
    train_labels: Vec<u32>,
    test_labels: Vec<u32>,
    scale: f32,
}

/// Refuses a model whose output is not one score per MNIST class, as Keras refuses the
/// shape mismatch between a model's output and its targets.
pub fn check_output_width(model: &Model) -> Result<()> {
    let width = model.with_network(|net| Ok(net.output_width()))?;
    if width == CLASSES {
        return Ok(());
    }
    Err(anyhow!(
        "the model's output has {width} values but MNIST has {CLASSES} classes: its last layer must have {CLASSES} units"
    ))
}

impl DataArgs {
    /// Finds and reads MNIST as the options say.
    pub fn load(&self) -> Result<LoadedMnist> {
        let mut lookup = Lookup::from_env(self.data.as_deref());
        if self.download && lookup.find().is_err() {
            let download = microdense::mnist::Download::from_env();
            println!("Downloading data from {}", download.url());
            lookup = lookup.with_download(Some(download));
        }
        let (mnist, source) = lookup.load()?;
        let widen = |s: &Split| s.labels.iter().map(|&l| l as u32).collect::<Vec<u32>>();
        Ok(LoadedMnist {
            path: source.path,
            train_labels: widen(&mnist.train),
            test_labels: widen(&mnist.test),
            scale: if self.normalize { 1.0 / 255.0 } else { 1.0 },
            mnist,
        })
    }
}

impl LoadedMnist {
    /// Whether pixels are divided by 255.
    pub fn is_normalized(&self) -> bool {
        self.scale != 1.0
    }

    /// The 60,000 training images.
    pub fn train(&self) -> Result<Dataset<'_>> {
        self.dataset("training", &self.mnist.train, &self.train_labels)
    }

    /// The 10,000 test images.
    pub fn test(&self) -> Result<Dataset<'_>> {
        self.dataset("test", &self.mnist.test, &self.test_labels)
    }

    fn dataset<'a>(&self, which: &str, split: &'a Split, labels: &'a [u32]) -> Result<Dataset<'a>> {
        if labels.is_empty() {
            bail!("MNIST in {}: the {which} set has no images", self.path.display());
        }
        let features = Features::U8 {
            data: &split.images,
            scale: self.scale,
        };
        Dataset::new(features, split.rows * split.cols, labels).context("MNIST")
    }
}
