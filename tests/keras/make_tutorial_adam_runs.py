"""The Keras tutorial's model compiled with Adam, trained by real Keras (tf_keras 2.21, the
tutorial's Keras) for 3 epochs, 5 seeds, each from a model file saved before fitting, so
microdense can train the same runs.

Usage: python make_tutorial_adam_runs.py OUTDIR [--epochs N] [--seeds N]

Run it with the interpreter scripts/keras-venv.sh prints; MNIST from $MNIST_DIR as
make_quickstart_runs.py reads it. The model is tutorial.py's: Dense 50 -> sigmoid ->
Dense 20 -> sigmoid -> Dense 10 -> softmax, categorical cross-entropy, batch 64, shuffled;
compiled with optimizer="adam" (learning rate 0.001) instead of SGD(0.01), on the pixels / 255
as TensorFlow's quickstart feeds Adam.

Written under OUTDIR:

  seed<S>.h5       the compiled model of seed S before fitting (its initial weights)
  manifest.json    (last) {"epochs", "runs": [{"seed", "file", "test_accuracy",
                   "test_loss", "loss": [per epoch]}], versions}
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_quickstart_runs import load_mnist  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    outdir = os.path.abspath(args.outdir)
    os.makedirs(outdir, exist_ok=True)
    x_train, y_train, x_test, y_test = load_mnist()
    x_train, x_test = x_train.reshape(-1, 784), x_test.reshape(-1, 784)
    y_train, y_test = np.eye(10, dtype=np.float32)[y_train], np.eye(10, dtype=np.float32)[y_test]

    import tf_keras as keras

    runs = []
    for seed in range(1, args.seeds + 1):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = keras.models.Sequential(
            [
                keras.Input(shape=(784,)),
                keras.layers.Dense(50),
                keras.layers.Activation("sigmoid"),
                keras.layers.Dense(20),
                keras.layers.Activation("sigmoid"),
                keras.layers.Dense(10),
                keras.layers.Activation("softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        name = f"seed{seed}.h5"
        model.save(os.path.join(outdir, name))
        history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0)
        test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
        runs.append(
            {
                "seed": seed,
                "file": name,
                "test_accuracy": float(test_accuracy),
                "test_loss": float(test_loss),
                "loss": [float(v) for v in history.history["loss"]],
            }
        )
        print(f"seed {seed}: test accuracy {test_accuracy:.4f}", file=sys.stderr)
    manifest = {"tf_keras_version": keras.__version__, "epochs": args.epochs, "runs": runs}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
