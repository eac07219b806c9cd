"""TensorFlow's beginner quickstart trained by real Keras 3 for 5 epochs, 5 seeds,
each from a model file saved before fitting, so microdense can train the same runs.

Usage: python make_quickstart_runs.py OUTDIR [--epochs N] [--seeds N]

Run it with the interpreter scripts/keras-venv.sh prints. MNIST's gzipped IDX files
are read from $MNIST_DIR, as make_fixtures.py does.

The model and training are https://www.tensorflow.org/tutorials/quickstart/beginner's:
Flatten(28x28) -> Dense(128, relu) -> Dropout(0.2) -> Dense(10) (logits), compiled with
optimizer="adam", SparseCategoricalCrossentropy(from_logits=True) and
metrics=["accuracy"], fitted on all 60,000 training images / 255 (batch 32, shuffled),
then evaluated on the 10,000 test images / 255.

Written under OUTDIR:

  seed<S>.keras    the compiled model of seed S before fitting (its initial weights)
  manifest.json    (last) {"epochs", "runs": [{"seed", "file", "test_accuracy",
                   "test_loss", "loss": [per epoch], "accuracy": [per epoch]}], versions}
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_idx, repo_root  # noqa: E402


def load_mnist():
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "..", "shared", "data", "mnist")

    def part(name):
        return read_idx(os.path.join(d, name))

    x_train = (part("train-images-idx3-ubyte.gz") / 255.0).astype(np.float32)
    x_test = (part("t10k-images-idx3-ubyte.gz") / 255.0).astype(np.float32)
    y_train = part("train-labels-idx1-ubyte.gz").astype(np.int64)
    y_test = part("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return x_train, y_train, x_test, y_test


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    outdir = os.path.abspath(args.outdir)
    os.makedirs(outdir, exist_ok=True)
    x_train, y_train, x_test, y_test = load_mnist()

    import keras

    runs = []
    for seed in range(1, args.seeds + 1):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = keras.models.Sequential(
            [
                keras.Input(shape=(28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(10),
            ]
        )
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
        name = f"seed{seed}.keras"
        model.save(os.path.join(outdir, name))
        history = model.fit(x_train, y_train, epochs=args.epochs, verbose=0)
        test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
        runs.append(
            {
                "seed": seed,
                "file": name,
                "test_accuracy": float(test_accuracy),
                "test_loss": float(test_loss),
                "loss": [float(v) for v in history.history["loss"]],
                "accuracy": [float(v) for v in history.history["accuracy"]],
            }
        )
        print(f"seed {seed}: test accuracy {test_accuracy:.4f}", file=sys.stderr)
    manifest = {"keras3_version": keras.__version__, "epochs": args.epochs, "runs": runs}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
