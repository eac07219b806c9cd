"""Long calls release the GIL (another Python thread runs meanwhile) and honour Ctrl-C
(SIGINT stops them promptly, raising KeyboardInterrupt, and the model stays usable)."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import microdense as md

from conftest import TUTORIAL

# A wide model: one predict over MNIST's 60,000 images is minutes of work.
WIDE = "784,1000,relu,1000,relu,10,softmax"


class Ticker(threading.Thread):
    """Notes the time every millisecond (as far as it gets the GIL) until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ticks = []
        self.done = False

    def run(self):
        while not self.done:
            self.ticks.append(time.monotonic())
            time.sleep(0.001)


def test_fit_predict_and_evaluate_release_the_gil(mnist):
    (x_train, y_train), _ = mnist
    m = md.Model.from_spec(TUTORIAL, seed=1)
    m.compile()
    for name, call in [("fit", lambda: m.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)),
                       ("predict", lambda: m.predict(x_train)),
                       ("evaluate", lambda: m.evaluate(x_train, y_train))]:
        ticker = Ticker()
        ticker.start()
        time.sleep(0.05)
        started = time.monotonic()
        call()
        ended = time.monotonic()
        ticker.done = True
        ticker.join()
        during = [t for t in ticker.ticks if started <= t <= ended]
        gaps = np.diff([started, *during, ended])
        print(f"{name}: {ended - started:.2f} s, {len(during)} ticks, longest gap {gaps.max():.3f} s")
        # Holding the GIL would leave one gap as long as the call.
        assert gaps.max() < 0.25 * (ended - started), (name, gaps.max(), ended - started)


def _interrupt_after(seconds):
    """Sends this process SIGINT (a Ctrl-C) after ``seconds``; returns when it was sent."""
    sent = {}

    def fire():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.start()
    return timer, sent


@pytest.mark.parametrize("call", ["fit", "predict", "evaluate"])
def test_ctrl_c_stops_long_calls_promptly_and_the_model_stays_usable(mnist, call, ctrl_c):
    (x_train, y_train), (x_test, y_test) = mnist
    m = md.Model.from_spec(WIDE, seed=1)
    m.compile()
    before = m.get_weights()
    run = {
        "fit": lambda: m.fit(x_train, y_train, epochs=100, batch_size=64, verbose=0),
        "predict": lambda: m.predict(x_train),
        "evaluate": lambda: m.evaluate(x_train, y_train),
    }[call]
    timer, sent = _interrupt_after(1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
        stopped = time.monotonic()
    finally:
        timer.cancel()
    delay = stopped - sent["at"]
    print(f"{call}: KeyboardInterrupt {delay:.3f} s after SIGINT")
    # One batch of 64 (fit) or a chunk of 256 samples per thread (predict, evaluate), not
    # the minutes the call would take (with room for a loaded machine).
    assert delay < 5.0
    changed = not all(np.array_equal(a, b) for a, b in zip(m.get_weights(), before, strict=True))
    assert changed == (call == "fit")
    # Usable afterwards.
    assert m.predict(x_test[:10]).shape == (10, 10)
    assert len(m.evaluate(x_test[:100], y_test[:100])) == 2
