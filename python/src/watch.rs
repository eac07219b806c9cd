//! Long calls with the GIL released: the work runs on a thread of its own while the
//! calling thread shows its progress and checks for Ctrl-C (`Python::check_signals`,
//! which only the main thread can see) every [`TICK`].

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How often the calling thread looks for signals while it waits.
pub const TICK: Duration = Duration::from_millis(100);

/// What the work can see: the stop flag, set after Ctrl-C, and a sender for its progress.
pub struct Job<'a, E> {
    stop: &'a AtomicBool,
    events: mpsc::Sender<E>,
}

impl<E> Job<'_, E> {
    /// True once the user pressed Ctrl-C: the work should return at its next step.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The stop flag, for host functions that check it themselves.
    pub fn stop_flag(&self) -> &AtomicBool {
        self.stop
    }

    /// Sends a progress event to the calling thread.
    pub fn report(&self, event: E) {
        // The receiver lives until the work ends; a failed send is not possible then.
        let _ = self.events.send(event);
    }
}

/// Runs `work` on a new thread with the GIL released and passes its events to `show`
/// (with the GIL) on this thread. On Ctrl-C the stop flag is set, the work is awaited and
/// the `KeyboardInterrupt` is raised; an error from `show` is raised likewise after the
/// work is stopped. A panic in the work is raised as pyo3's `PanicException`.
pub fn run<E, R, W, S>(py: Python<'_>, work: W, mut show: S) -> PyResult<R>
where
    E: Send,
    R: Send,
    W: FnOnce(&Job<'_, E>) -> R + Send,
    S: FnMut(Python<'_>, E) -> PyResult<()> + Send,
{
    let stop = AtomicBool::new(false);
    let mut raised: Option<PyErr> = None;
    let outcome = py.detach(|| {
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| {
            let stop = &stop;
            let worker = scope.spawn(move || {
                let job = Job { stop, events: sender };
                work(&job)
            });
            loop {
                let event = match receiver.recv_timeout(TICK) {
                    Ok(event) => Some(event),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                Python::attach(|py| {
                    if raised.is_some() {
                        return;
                    }
                    let shown = match event {
                        Some(event) => show(py, event),
                        None => Ok(()),
                    };
                    if let Err(e) = shown.and_then(|()| py.check_signals()) {
                        stop.store(true, Ordering::Relaxed);
                        raised = Some(e);
                    }
                });
            }
            worker.join()
        })
    });
    let result = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match raised {
        Some(e) => Err(e),
        None => Ok(result),
    }
}
