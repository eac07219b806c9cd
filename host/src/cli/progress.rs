//! Keras-style training output: `Epoch 1/3`, a live bar on terminals, the epoch line.

use microdense::fit::Progress;
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Prints [`Progress`] events the way Keras's `fit(verbose=1)` does.
pub struct ProgressPrinter {
    live: bool,
    last_draw: Option<Instant>,
    steps: usize,
}

impl Default for ProgressPrinter {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressPrinter {
    /// A printer with a live bar when stdout is a terminal.
    pub fn new() -> Self {
        ProgressPrinter {
            live: std::io::stdout().is_terminal(),
            last_draw: None,
            steps: 0,
        }
    }

    /// Prints one event.
    pub fn show(&mut self, event: &Progress) {
        let mut out = std::io::stdout().lock();
        match event {
            Progress::EpochStart { epoch, epochs, steps } => {
                self.steps = *steps;
                let _ = writeln!(out, "Epoch {epoch}/{epochs}");
            }
            Progress::Batch { step, steps, score } if self.live => {
                let due = self.last_draw.is_none_or(|t| t.elapsed().as_millis() >= 50);
                if due || step == steps {
                    let w = steps.to_string().len();
                    self.last_draw = Some(Instant::now());
                    let _ = write!(
                        out,
                        "\r{step:>w$}/{steps} {} - loss: {:.4} - accuracy: {:.4}",
                        bar(*step, *steps),
                        score.loss,
                        score.accuracy
                    );
                    let _ = out.flush();
                }
            }
            Progress::Batch { .. } => {}
            Progress::EpochEnd(record) => {
                let steps = self.steps;
                let seconds = record.seconds.unwrap_or(0.0);
                let per_step_ms = 1000.0 * seconds / steps.max(1) as f64;
                let validation = match (record.val_loss, record.val_accuracy) {
                    (Some(l), Some(a)) => format!(" - val_loss: {l:.4} - val_accuracy: {a:.4}"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{}{steps}/{steps} {} - {:.2}s {per_step_ms:.2}ms/step - loss: {:.4} - accuracy: {:.4}{validation}",
                    if self.live { "\r" } else { "" },
                    bar(1, 1),
                    seconds,
                    record.loss,
                    record.accuracy
                );
                self.last_draw = None;
            }
        }
    }
}

/// `[=====>....]` with Keras's 30 columns.
fn bar(step: usize, steps: usize) -> String {
    let filled = (30 * step) / steps.max(1);
    let mut s = String::with_capacity(32);
    s.push('[');
    for i in 0..30 {
        s.push(if i < filled {
            '='
        } else if i == filled {
            '>'
        } else {
            '.'
        });
    }
    s.push(']');
    s
}
