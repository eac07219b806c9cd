"""Small MNIST models compiled with every loss and trained with every regularizer and
constraint microdense reads, trained and saved by real Keras (tf_keras .h5, Keras 3
.keras), for the interop suite.

Usage: python make_loss_models.py OUTDIR

Run it with the interpreter scripts/keras-venv.sh prints. MNIST's gzipped IDX files are
read from $MNIST_DIR, as make_fixtures.py does. Each model is
784 -> Dense(32, relu, with the case's regularizers and constraints) -> Dense(10, the
case's activation), fitted 1 epoch (batch 50) on the first 1,000 training images / 255
(targets one-hot, or labels for the sparse loss), then saved.

Written under OUTDIR:

  x_test.npy, y_test.npy     the first 500 test images / 255 (float32 (500, 784)), labels
  <flavour>/<case>.<ext>     the trained model (tf_keras: .h5, keras3: .keras)
  <flavour>/<case>_pred.npy  its outputs on x_test
  manifest.json              (last) {"models": [{"case", "flavour", "file", "pred",
                             "test_loss"}], versions}; test_loss is the loss
                             model.evaluate gives on x_test after load_model of the
                             file (the regularizers' penalty included; Keras 3 saves
                             Huber without its delta, so reloads it with delta 1)
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_idx, repo_root  # noqa: E402

# case: (loss class, its arguments, output activation, hidden layer's regularization)
CASES = {
    "cce_logits_smoothing": (
        "CategoricalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        None,
        {"kernel_regularizer": ("L2", {"l2": 1e-3}), "kernel_constraint": ("MaxNorm", {"max_value": 2.0})},
    ),
    "scce_logits": (
        "SparseCategoricalCrossentropy",
        {"from_logits": True},
        None,
        {"activity_regularizer": ("L1L2", {"l1": 1e-4, "l2": 1e-3})},
    ),
    "bce_logits_smoothing": (
        "BinaryCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        None,
        {"kernel_regularizer": ("L1", {"l1": 1e-4}), "bias_constraint": ("NonNeg", {})},
    ),
    "huber": (
        "Huber",
        {"delta": 0.5},
        "softmax",
        {"bias_regularizer": ("L1L2", {"l1": 1e-3, "l2": 1e-2}), "kernel_constraint": ("UnitNorm", {"axis": 1})},
    ),
    "mae": (
        "MeanAbsoluteError",
        {},
        "softmax",
        {"kernel_constraint": ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.5})},
    ),
    "msle": ("MeanSquaredLogarithmicError", {}, "softmax", {}),
    "kld": ("KLDivergence", {}, "softmax", {}),
    "poisson": ("Poisson", {}, "softmax", {"activity_regularizer": ("L2", {"l2": 1e-3})}),
    "logcosh": ("LogCosh", {}, "softmax", {}),
    "hinge": ("Hinge", {}, None, {}),
    "squared_hinge": ("SquaredHinge", {}, None, {}),
    "categorical_hinge": ("CategoricalHinge", {}, None, {}),
}


def load_mnist():
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "..", "shared", "data", "mnist")

    def part(name, n):
        return read_idx(os.path.join(d, name))[:n]

    x_train = (part("train-images-idx3-ubyte.gz", 1000).reshape(-1, 784) / 255.0).astype(np.float32)
    y_train = part("train-labels-idx1-ubyte.gz", 1000).astype(np.int64)
    x_test = (part("t10k-images-idx3-ubyte.gz", 500).reshape(-1, 784) / 255.0).astype(np.float32)
    y_test = part("t10k-labels-idx1-ubyte.gz", 500).astype(np.int64)
    return x_train, y_train, x_test, y_test


def build(k, case, seed):
    loss_class, loss_args, activation, regularization = CASES[case]
    k.backend.clear_session()
    k.utils.set_random_seed(seed)
    settings = {}
    for key, (class_name, args) in regularization.items():
        module = k.regularizers if key.endswith("regularizer") else k.constraints
        settings[key] = getattr(module, class_name)(**args)
    model = k.models.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Dense(32, activation="relu", **settings),
            k.layers.Dense(10, activation=activation),
        ]
    )
    model.compile(optimizer="adam", loss=getattr(k.losses, loss_class)(**loss_args), metrics=["accuracy"])
    return model


def main():
    outdir = os.path.abspath(sys.argv[1])
    x_train, y_train, x_test, y_test = load_mnist()
    import keras
    import tf_keras

    models = []
    for flavour, k, ext in [("tf_keras", tf_keras, "h5"), ("keras3", keras, "keras")]:
        os.makedirs(os.path.join(outdir, flavour), exist_ok=True)
        for seed, case in enumerate(CASES, start=1):
            sparse = CASES[case][0].startswith("Sparse")
            targets = (lambda y: y) if sparse else (lambda y: np.eye(10, dtype=np.float32)[y])
            model = build(k, case, seed)
            model.fit(x_train, targets(y_train), epochs=1, batch_size=50, verbose=0)
            file = f"{flavour}/{case}.{ext}"
            model.save(os.path.join(outdir, file))
            pred = f"{flavour}/{case}_pred.npy"
            np.save(os.path.join(outdir, pred), model.predict(x_test, verbose=0))
            # The loss Keras evaluates from the file (Keras 3's Huber does not save delta).
            reloaded = k.models.load_model(os.path.join(outdir, file))
            test_loss = reloaded.evaluate(x_test, targets(y_test), verbose=0)[0]
            models.append(
                {"case": case, "flavour": flavour, "file": file, "pred": pred, "test_loss": float(test_loss)}
            )
    np.save(os.path.join(outdir, "x_test.npy"), x_test)
    np.save(os.path.join(outdir, "y_test.npy"), y_test.astype(np.float32))
    manifest = {"tf_keras_version": tf_keras.__version__, "keras3_version": keras.__version__, "models": models}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
