"""Fixtures of the microdense Python suite: MNIST (found as the CLI finds it), the CLI
binary, live Keras models, and QEMU with the firmware.

Environment: ``MNIST_DIR`` (MNIST), ``MICRODENSE_CLI`` (the ``microdense`` binary, built by
scripts/test-python.sh), ``MICRODENSE_REQUIRE_KERAS=1`` (a missing Keras fails instead of
skipping), ``MICRODENSE_FIRMWARE`` and ``MICRODENSE_REQUIRE_QEMU=1`` (the QEMU tests).
"""

import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

import microdense as md

REPO = Path(__file__).resolve().parents[2]


def _require(variable):
    return os.environ.get(variable) == "1"


@pytest.fixture
def ctrl_c():
    """Ctrl-C (SIGINT) raises ``KeyboardInterrupt``, as in an interactive Python, for the tests
    that send one: a test command run as a background job of a non-interactive shell (``cmd &``
    in a script, ``nohup``) inherits SIGINT ignored, and Python then installs no handler."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def mnist():
    """``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, as Keras returns them."""
    return md.mnist()


@pytest.fixture(scope="session")
def cli():
    """A function running the ``microdense`` CLI, returning its completed process."""
    binary = os.environ.get("MICRODENSE_CLI")
    candidates = [binary] if binary else [REPO / "target/debug/microdense", REPO / "target/release/microdense"]
    found = [Path(c) for c in candidates if c and Path(c).is_file()]
    if not found:
        pytest.fail(f"no microdense binary (set MICRODENSE_CLI; looked at {candidates})")

    def run(*args, check=True):
        done = subprocess.run([str(found[0]), *map(str, args)], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"microdense {' '.join(map(str, args))} failed:\n{done.stderr}")
        return done

    return run


def _import(name):
    try:
        return __import__(name)
    except ImportError as e:
        if _require("MICRODENSE_REQUIRE_KERAS"):
            pytest.fail(f"MICRODENSE_REQUIRE_KERAS=1 but {name} cannot be imported: {e}")
        pytest.skip(f"{name} is not installed (run in the Keras venv: scripts/test-python.sh)")


@pytest.fixture(scope="session")
def tf_keras():
    return _import("tf_keras")


@pytest.fixture(scope="session")
def keras3():
    keras = _import("keras")
    assert int(keras.__version__.split(".")[0]) >= 3, keras.__version__
    return keras


TUTORIAL = "784,50,sigmoid,20,sigmoid,10,softmax"


@pytest.fixture
def model():
    """The tutorial's network, fresh weights (seed 4), compiled with SGD."""
    m = md.Model.from_spec(TUTORIAL, seed=4)
    m.compile()
    return m


def tutorial_model(k, seed=1):
    """The Keras tutorial's model in Keras module ``k``, compiled with SGD(0.01)."""
    k.utils.set_random_seed(seed)
    model = k.Sequential([
        k.Input(shape=(784,)),
        k.layers.Dense(50, activation="sigmoid"),
        k.layers.Dense(20, activation="sigmoid"),
        k.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=k.optimizers.SGD(learning_rate=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def train_briefly(k, model, mnist, samples=6000):
    (x_train, y_train), _ = mnist
    x = x_train[:samples].reshape(samples, 784).astype(np.float32)
    y = k.utils.to_categorical(y_train[:samples], 10)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="session", params=["tf_keras", "keras3"])
def trained_keras(request, mnist):
    """A live, briefly trained tutorial model of each Keras flavour: ``(keras module, model)``."""
    k = request.getfixturevalue("tf_keras" if request.param == "tf_keras" else "keras3")
    return k, train_briefly(k, tutorial_model(k), mnist)


@pytest.fixture(scope="session")
def firmware():
    """The firmware ELF for QEMU, or a skip (a failure with MICRODENSE_REQUIRE_QEMU=1)."""
    elf = os.environ.get("MICRODENSE_FIRMWARE")
    problem = None
    if not elf or not Path(elf).is_file():
        problem = f"MICRODENSE_FIRMWARE is not a firmware ELF ({elf!r}; scripts/firmware-build.sh --release)"
    elif shutil.which("qemu-system-arm") is None:
        problem = "qemu-system-arm is not installed"
    if problem:
        if _require("MICRODENSE_REQUIRE_QEMU"):
            pytest.fail(f"MICRODENSE_REQUIRE_QEMU=1 but {problem}")
        pytest.skip(problem)
    return Path(elf)
