//! Training speed: seconds per epoch of three dense MNIST models in microdense (1 thread
//! and all threads), tf_keras 2.21 and PyTorch (CPU, eager) in the same run, each with
//! its GFLOP/s beside the machine's measured single-precision GEMM peak.
//!
//! `cargo bench -p microdense --bench train_speed`. Keras comes from
//! `scripts/keras-venv.sh`, PyTorch from `scripts/torch-venv.sh` (a separate venv); a
//! framework that is unavailable is skipped with a note. Every figure is the median of
//! three runs (seeds 1–3) of the second epoch (the first warms caches and thread pools).
//! The runs are interleaved, round by round (seed 1 of every trainer, then seed 2, ...),
//! so that a slow spell of a shared machine falls on all the trainers a ratio compares,
//! not on one of them.

use microdense::dataset::{Dataset, Features};
use microdense::fit::{available_threads, FitOptions};
use microdense::mnist::Mnist;
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::{keras_python, mnist_dir, repo_root};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Runs (rounds) per setting, and epochs per run (the last one timed).
const RUNS: usize = 3;
const EPOCHS: usize = 2;

/// A benchmarked model: its name, microdense's `--model` spec, and whether the pixels
/// are normalised to 0–1 (else raw 0–255, as the tutorial).
struct Case {
    name: &'static str,
    spec: &'static str,
    normalize: bool,
}

const CASES: [Case; 3] = [
    Case {
        name: "tutorial 784-50-20-10 sigmoid, raw pixels",
        spec: TUTORIAL_SPEC,
        normalize: false,
    },
    Case {
        name: "784-128-10 relu, normalised",
        spec: "784,128,relu,10,softmax",
        normalize: true,
    },
    Case {
        name: "784-512-512-10 relu, normalised",
        spec: "784,512,relu,512,relu,10,softmax",
        normalize: true,
    },
];

/// A trainer's seconds per epoch and the GEMM peak its GFLOP/s are compared with, or why
/// it could not be measured.
type Row = Result<(f64, f64), String>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Floating-point operations of one training epoch on `samples` samples, before
/// zero-skipping: per Dense layer of `i` inputs and `o` outputs, `2·i·o` for the forward
/// product, as many for the weight gradient, and as many again for the input gradient
/// (not for the first layer).
fn epoch_flops(spec: &str, samples: usize) -> f64 {
    // The input width, then each layer's units (every other entry after it).
    let parts: Vec<&str> = spec.split(',').collect();
    let widths: Vec<usize> = std::iter::once(parts[0])
        .chain(parts[1..].iter().step_by(2).copied())
        .map(|w| w.parse().unwrap())
        .collect();
    let per_sample: usize = widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| 2 * w[0] * w[1] * if l == 0 { 2 } else { 3 })
        .sum();
    (per_sample * samples) as f64
}

/// The CPU's model name and its SIMD-relevant features, from /proc/cpuinfo.
fn cpu() -> (String, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map_or(String::from("unknown"), |(_, v)| v.trim().to_string())
    };
    let flags = field("flags");
    let simd: Vec<&str> = flags
        .split_whitespace()
        .filter(|f| f.starts_with("sse") || f.starts_with("avx") || f.starts_with("fma") || *f == "f16c")
        .collect();
    let features = if simd.is_empty() {
        field("Features")
    } else {
        simd.join(" ")
    };
    (field("model name"), features)
}

/// The best GFLOP/s of `matrixmultiply`'s SGEMM on 1024³ products over five tries, on
/// one thread and on `threads` threads at once (one product each).
fn gemm_peak(threads: usize) -> (f64, f64) {
    const N: usize = 1024;
    let a = vec![0.5f32; N * N];
    let b = vec![0.25f32; N * N];
    let once = |c: &mut [f32]| {
        // SAFETY: `a`, `b` and `c` are row-major N × N matrices.
        unsafe {
            matrixmultiply::sgemm(
                N,
                N,
                N,
                1.0,
                a.as_ptr(),
                N as isize,
                1,
                b.as_ptr(),
                N as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                N as isize,
                1,
            )
        }
    };
    let flops = 2.0 * (N * N * N) as f64;
    let mut best = (0.0f64, 0.0f64);
    for _ in 0..5 {
        let mut c = vec![0.0f32; N * N];
        let start = Instant::now();
        once(&mut c);
        best.0 = best.0.max(flops / start.elapsed().as_secs_f64() / 1e9);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| once(&mut vec![0.0f32; N * N]));
            }
        });
        best.1 = best
            .1
            .max(threads as f64 * flops / start.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// A trainer the benchmark times: microdense on some threads, or a Python framework
/// (`keras` or `torch`) run by its venv's python.
enum Trainer<'a> {
    Microdense {
        threads: usize,
    },
    Python {
        framework: &'static str,
        python: &'a PathBuf,
    },
}

impl Trainer<'_> {
    /// Seconds of the last epoch of one run from `seed`, and the threads it used.
    fn run(&self, case: &Case, train: &Dataset<'_>, seed: u64) -> Result<(f64, u64), String> {
        match *self {
            Trainer::Microdense { threads } => Ok((microdense(case, train, threads, seed), threads as u64)),
            Trainer::Python {
                framework,
                python: venv,
            } => python(venv, framework, case, seed),
        }
    }
}

/// microdense's seconds for the last epoch of a run from `seed` on `threads` threads.
fn microdense(case: &Case, train: &Dataset<'_>, threads: usize, seed: u64) -> f64 {
    let mut model = Model::from_spec(case.spec, seed).unwrap();
    model.compile(Compile::default());
    let options = FitOptions {
        epochs: EPOCHS,
        threads,
        seed,
        ..FitOptions::default()
    };
    let history = model.fit(train, None, &options, &mut |_| {}).unwrap();
    history[EPOCHS - 1].seconds.unwrap()
}

/// The seconds of the last epoch of `framework` (`keras` or `torch`) in one run from
/// `seed`, and its thread count, from `host/benches/train_speed.py` run by `python`.
fn python(python: &PathBuf, framework: &str, case: &Case, seed: u64) -> Result<(f64, u64), String> {
    let mut command = Command::new(python);
    command
        .arg(repo_root().join("host/benches/train_speed.py"))
        .args([framework, "--spec", case.spec, "--epochs", &EPOCHS.to_string()])
        .args(["--runs", "1", "--seed", &seed.to_string()])
        .env("MNIST_DIR", mnist_dir());
    if case.normalize {
        command.arg("--normalize");
    }
    let out = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(line).map_err(|_| {
        format!(
            "{framework} run failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        )
    })?;
    let seconds = parsed["runs"]
        .as_array()
        .and_then(|runs| runs.first()?.as_array()?.last()?.as_f64())
        .ok_or_else(|| format!("{framework} printed no timings"))?;
    Ok((seconds, parsed["threads"].as_u64().unwrap_or(0)))
}

/// PyTorch's venv python, made by `scripts/torch-venv.sh`.
fn torch_python() -> Result<PathBuf, String> {
    let script = repo_root().join("scripts/torch-venv.sh");
    let out = Command::new(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().last() {
        Some(path) if out.status.success() => Ok(PathBuf::from(path)),
        _ => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
    }
}

fn main() {
    let threads = available_threads();
    let (model_name, features) = cpu();
    println!("CPU: {model_name}; {threads} threads available");
    println!("SIMD features: {features}");
    println!(
        "microdense's zero-skipping product: {} (MICRODENSE_SIMD may name a lower one of {})",
        microdense::gemm::Simd::chosen().name(),
        microdense::gemm::Simd::NAMES.join(", ")
    );
    let (peak_1, peak_all) = gemm_peak(threads);
    println!(
        "measured SGEMM peak (matrixmultiply, 1024³, best of 5): {peak_1:.1} GFLOP/s on 1 thread, \
         {peak_all:.1} GFLOP/s on {threads}"
    );
    let keras = keras_python().ok_or_else(|| "real Keras unavailable (scripts/keras-venv.sh)".to_string());
    let torch = torch_python();
    for (framework, found) in [("Keras", &keras), ("PyTorch", &torch)] {
        if let Err(e) = found {
            println!("note: {framework} rows skipped: {e}");
        }
    }

    let mnist = Mnist::load(&mnist_dir()).expect("MNIST (set MNIST_DIR)");
    let labels: Vec<u32> = mnist.train.labels.iter().map(|&l| l as u32).collect();
    println!();
    println!("| model | trainer | s/epoch | GFLOP/s (% of SGEMM peak) | microdense, all threads, is |");
    println!("|---|---|---|---|---|");
    for case in &CASES {
        let scale = if case.normalize { 1.0 / 255.0 } else { 1.0 };
        let features = Features::U8 {
            data: &mnist.train.images,
            scale,
        };
        let train = Dataset::new(features, 784, &labels).unwrap();
        let flops = epoch_flops(case.spec, train.len());
        let mut trainers = vec![
            (
                "microdense, 1 thread(s)".to_string(),
                Trainer::Microdense { threads: 1 },
            ),
            (
                format!("microdense, {threads} thread(s)"),
                Trainer::Microdense { threads },
            ),
        ];
        for (name, framework, venv) in [
            ("tf_keras 2.21", "keras", &keras),
            ("PyTorch 2.15, eager", "torch", &torch),
        ] {
            if let Ok(python) = venv {
                trainers.push((name.to_string(), Trainer::Python { framework, python }));
            }
        }
        // Each trainer's seconds per round and threads, or why it failed.
        let mut runs: Vec<Result<(Vec<f64>, u64), String>> =
            trainers.iter().map(|_| Ok((Vec::new(), 0))).collect();
        for seed in 1..=RUNS as u64 {
            for ((_, trainer), times) in trainers.iter().zip(&mut runs) {
                let Ok((seconds, used)) = times else { continue };
                match trainer.run(case, &train, seed) {
                    Ok((s, t)) => {
                        seconds.push(s);
                        *used = t;
                    }
                    Err(e) => *times = Err(e),
                }
            }
        }
        // GFLOP/s against the peak of as many threads as the trainer used.
        let rows: Vec<(String, Row)> = trainers
            .into_iter()
            .zip(runs)
            .map(|((name, _), times)| {
                let row = times.map(|(seconds, used)| {
                    let peak = if used <= 1 { peak_1 } else { peak_all };
                    (median(seconds), peak)
                });
                (name, row)
            })
            .collect();
        let ours = match &rows[1].1 {
            Ok((secs, _)) => *secs,
            Err(_) => f64::NAN,
        };
        for (name, row) in rows {
            match row {
                Ok((secs, peak)) => {
                    let gflops = flops / secs / 1e9;
                    println!(
                        "| {} | {name} | {secs:.3} | {gflops:.1} ({:.0}%) | {:.2}× as fast |",
                        case.name,
                        100.0 * gflops / peak,
                        secs / ours
                    );
                }
                Err(e) => println!("| {} | {name} | failed: {e} | | |", case.name),
            }
        }
    }
    println!();
    println!(
        "GFLOP/s count the dense arithmetic of an epoch ({:.1} GFLOP for the tutorial) before \
         zero-skipping; the peak is 1 thread's for 1-thread runs, all threads' otherwise.",
        epoch_flops(TUTORIAL_SPEC, 60_000) / 1e9
    );
}
