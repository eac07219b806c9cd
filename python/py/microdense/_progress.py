"""Keras-style training progress: ``Epoch 1/3``, a bar, the epoch line; a live bar in Jupyter."""

import sys


def _in_notebook():
    """True inside a Jupyter kernel (where ``\\r`` does not redraw a line)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _bar(step, steps):
    filled = 30 * step // max(steps, 1)
    return "[" + "".join("=" if i < filled else ">" if i == filled else "." for i in range(30)) + "]"


class FitProgress:
    """Shows ``fit`` events as Keras's ``verbose`` does: 0 nothing, 1 a bar (live on a
    terminal and in Jupyter, the epoch line otherwise), 2 one line per epoch."""

    def __init__(self, verbose=1, out=None):
        self.verbose = verbose
        self.out = out if out is not None else sys.stdout
        self.notebook = verbose == 1 and _in_notebook()
        self.live = verbose == 1 and not self.notebook and getattr(self.out, "isatty", lambda: False)()
        self.handle = None
        self.steps = 0

    def _line(self, step, steps, loss, accuracy):
        width = len(str(steps))
        return f"{step:>{width}}/{steps} {_bar(step, steps)} - loss: {loss:.4f} - accuracy: {accuracy:.4f}"

    def epoch_start(self, epoch, epochs, steps):
        self.steps = steps
        if self.verbose:
            print(f"Epoch {epoch}/{epochs}", file=self.out, flush=True)
        if self.notebook:
            from IPython.display import display
            self.handle = display(_Text(self._line(0, steps, 0.0, 0.0)), display_id=True)

    def batch(self, step, steps, loss, accuracy):
        if self.notebook and self.handle is not None:
            self.handle.update(_Text(self._line(step, steps, loss, accuracy)))
        elif self.live:
            self.out.write("\r" + self._line(step, steps, loss, accuracy))
            self.out.flush()

    def epoch_end(self, epoch, loss, accuracy, seconds, val_loss, val_accuracy):
        if not self.verbose:
            return
        steps = self.steps
        seconds = seconds or 0.0
        line = (f"{steps}/{steps} {_bar(1, 1)} - {seconds:.2f}s {1000 * seconds / max(steps, 1):.2f}ms/step"
                f" - loss: {loss:.4f} - accuracy: {accuracy:.4f}")
        if val_loss is not None:
            line += f" - val_loss: {val_loss:.4f} - val_accuracy: {val_accuracy:.4f}"
        if self.notebook and self.handle is not None:
            self.handle.update(_Text(line))
            self.handle = None
        else:
            print(("\r" if self.live else "") + line, file=self.out, flush=True)


class _Text:
    """Plain text for IPython's display (a bar that updates in place)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


class History:
    """What ``fit`` and ``Device.finetune`` return, as Keras's ``History``: ``history``
    maps ``loss``, ``accuracy`` (and ``val_loss``, ``val_accuracy``) to per-epoch lists."""

    def __init__(self, history, epoch):
        self.history = history
        self.epoch = epoch

    def __repr__(self):
        return f"<microdense.History epochs={len(self.epoch)} {self.history}>"
