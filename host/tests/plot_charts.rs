//! Training-history charts, history JSON parsing, confusion matrices and metrics.

use std::path::PathBuf;

use microdense::history::HistoryError;
use microdense::plot::{render_history_png, write_history_png, ChartOptions, ConfusionMatrix, History};

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plot_charts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Decodes a PNG, returning its size and RGB pixels.
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("valid PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Number of pixels of exactly this colour.
fn count_color(pixels: &[u8], rgb: [u8; 3]) -> usize {
    pixels.chunks_exact(3).filter(|p| *p == rgb).count()
}

const TUTORIAL_JSON: &str = r#"{"epochs": [
  {"epoch": 1, "loss": 1.98, "accuracy": 0.41, "seconds": 0.08},
  {"epoch": 2, "loss": 1.46, "accuracy": 0.68, "seconds": 0.07},
  {"epoch": 3, "loss": 1.09, "accuracy": 0.80, "seconds": 0.07}],
  "test": {"loss": 0.95, "accuracy": 0.833}, "extra": "ignored"}"#;

#[test]
fn history_reads_train_json_and_its_captured_stdout() {
    let history = History::from_json(TUTORIAL_JSON).unwrap();
    assert_eq!(history.epochs.len(), 3);
    assert_eq!(history.epochs[2].epoch, 3);
    assert_eq!(history.epochs[1].loss, 1.46);
    assert_eq!(history.epochs[0].seconds, Some(0.08));
    assert!(!history.has_validation());
    assert_eq!(history.test.unwrap().accuracy, 0.833);

    // A whole captured stdout: epoch lines, then the JSON line last.
    let stdout = format!(
        "Epoch 1/3\n938/938 - 0s - loss: 1.98\n{}\n",
        TUTORIAL_JSON.replace('\n', " ")
    );
    assert_eq!(History::from_json(&stdout).unwrap(), history);

    let path = out_dir().join("history.json");
    std::fs::write(&path, TUTORIAL_JSON).unwrap();
    assert_eq!(History::read_json(&path).unwrap(), history);
}

#[test]
fn history_errors_name_the_problem() {
    let err = History::from_json(r#"{"epochs": []}"#).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = History::from_json(r#"{"epochs": [{"epoch": 1}]}"#).unwrap_err();
    assert!(err.to_string().contains("loss"), "{err}");
    let err = History::from_json("Epoch 1/3\nno json here").unwrap_err();
    assert!(matches!(err, HistoryError::Json { .. }), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the JSON error is kept as the source"
    );
    let missing = out_dir().join("no-such-history.json");
    let err = History::read_json(&missing).unwrap_err();
    assert!(err.to_string().contains("no-such-history.json"), "{err}");
    assert!(matches!(err, HistoryError::Io { .. }), "{err}");
}

#[test]
fn history_with_validation_and_a_diverged_epoch() {
    let json = r#"{"epochs": [
      {"epoch": 1, "loss": 0.9, "accuracy": 0.7, "val_loss": 0.8, "val_accuracy": 0.72},
      {"epoch": 2, "loss": null, "accuracy": 0.75, "val_loss": 0.6, "val_accuracy": 0.8}]}"#;
    let history = History::from_json(json).unwrap();
    assert!(history.has_validation());
    assert!(history.epochs[1].loss.is_nan());
    let path = out_dir().join("history_validation.png");
    write_history_png(&path, &history, &ChartOptions::default()).unwrap();
    let (width, height, pixels) = decode(&std::fs::read(&path).unwrap());
    assert_eq!((width, height), (1200, 480));
    // Both series are drawn: matplotlib blue (training) and orange (validation).
    assert!(count_color(&pixels, [31, 119, 180]) > 200);
    assert!(count_color(&pixels, [255, 127, 14]) > 200);
}

#[test]
fn chart_png_has_the_requested_size_and_training_curves_only() {
    let history = History::from_json(TUTORIAL_JSON).unwrap();
    let path = out_dir().join("history.png");
    write_history_png(&path, &history, &ChartOptions::default()).unwrap();
    let (width, height, pixels) = decode(&std::fs::read(&path).unwrap());
    assert_eq!((width, height), (1200, 480));
    assert!(count_color(&pixels, [31, 119, 180]) > 500);
    assert_eq!(count_color(&pixels, [255, 127, 14]), 0);

    let small = ChartOptions {
        width: 800,
        height: 300,
    };
    let (width, height, _) = decode(&render_history_png(&history, &small).unwrap());
    assert_eq!((width, height), (800, 300));

    let tiny = ChartOptions {
        width: 10,
        height: 10,
    };
    assert!(render_history_png(&history, &tiny).is_err());
}

#[test]
fn many_epochs_render() {
    let epochs: Vec<String> = (1..=60)
        .map(|e| {
            let loss = 2.0 / e as f64;
            format!(
                r#"{{"epoch": {e}, "loss": {loss}, "accuracy": {}}}"#,
                1.0 - loss / 2.5
            )
        })
        .collect();
    let json = format!(r#"{{"epochs": [{}]}}"#, epochs.join(","));
    let history = History::from_json(&json).unwrap();
    write_history_png(
        &out_dir().join("history60.png"),
        &history,
        &ChartOptions::default(),
    )
    .unwrap();
}

/// A hand-made 3-class example.
///
/// true\pred  0  1  2
///     0      5  1  0
///     1      2  3  1
///     2      0  0  4
fn hand_made() -> ConfusionMatrix {
    let mut pairs = Vec::new();
    for (truth, predicted, times) in [(0, 0, 5), (0, 1, 1), (1, 0, 2), (1, 1, 3), (1, 2, 1), (2, 2, 4)] {
        pairs.extend(std::iter::repeat_n((truth, predicted), times));
    }
    ConfusionMatrix::from_pairs(3, pairs).unwrap()
}

#[test]
fn precision_and_recall_on_a_hand_made_example() {
    let m = hand_made();
    assert_eq!(m.total(), 16);
    assert_eq!(m.count(1, 0), 2);
    assert_eq!(m.accuracy(), Some(12.0 / 16.0));
    let metrics = m.class_metrics();
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
    // Class 0: predicted 7 times, 5 right; 6 samples.
    assert!(close(metrics[0].precision, 5.0 / 7.0));
    assert!(close(metrics[0].recall, 5.0 / 6.0));
    assert!(close(
        metrics[0].f1,
        2.0 * (5.0 / 7.0) * (5.0 / 6.0) / (5.0 / 7.0 + 5.0 / 6.0)
    ));
    // Class 1: predicted 4 times, 3 right; 6 samples.
    assert!(close(metrics[1].precision, 3.0 / 4.0));
    assert!(close(metrics[1].recall, 3.0 / 6.0));
    // Class 2: predicted 5 times, 4 right; 4 samples.
    assert!(close(metrics[2].precision, 4.0 / 5.0));
    assert!(close(metrics[2].recall, 1.0));
    assert_eq!(metrics.iter().map(|m| m.support).collect::<Vec<_>>(), [6, 6, 4]);
    let report = m.report();
    assert!(report.contains("0.7143"), "{report}");
    assert!(report.contains("accuracy"), "{report}");
}

#[test]
fn undefined_ratios_and_bad_labels() {
    // Class 2 never occurs and is never predicted.
    let m = ConfusionMatrix::from_pairs(3, [(0, 0), (1, 0)]).unwrap();
    let metrics = m.class_metrics();
    assert_eq!(metrics[1].precision, None);
    assert_eq!(metrics[1].recall, Some(0.0));
    assert_eq!(metrics[2].precision, None);
    assert_eq!(metrics[2].recall, None);
    assert_eq!(metrics[2].f1, None);
    let err = ConfusionMatrix::from_pairs(10, [(1, 1), (3, 10)]).unwrap_err();
    assert!(err.to_string().contains("pair 1"), "{err}");
    assert!(ConfusionMatrix::new(0).is_err());
    assert_eq!(ConfusionMatrix::new(2).unwrap().accuracy(), None);
}

#[test]
fn confusion_png_decodes_with_expected_size_and_dark_diagonal() {
    // A 10-class matrix shaped like an MNIST evaluation.
    let mut pairs = Vec::new();
    for class in 0..10usize {
        pairs.extend(std::iter::repeat_n((class, class), 900 + class * 20));
        pairs.extend(std::iter::repeat_n((class, (class + 3) % 10), 40 + class * 3));
        pairs.extend(std::iter::repeat_n((class, (class + 7) % 10), 5));
    }
    let m = ConfusionMatrix::from_pairs(10, pairs).unwrap();
    let path = out_dir().join("confusion.png");
    m.write_png(&path).unwrap();
    let (width, height, pixels) = decode(&std::fs::read(&path).unwrap());
    assert_eq!((width, height), m.png_size());
    assert!(width >= 600 && height >= 600, "{width}x{height}");
    // The darkest colour-map end fills the largest cell (class 9's diagonal).
    assert!(count_color(&pixels, [8, 48, 107]) > 500);

    let small = ConfusionMatrix::from_pairs(2, [(0, 0), (1, 1), (1, 0)]).unwrap();
    let (width, height, _) = decode(&small.render_png().unwrap());
    assert_eq!((width, height), small.png_size());
    assert!(width < m.png_size().0);
}
