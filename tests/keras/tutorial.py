"""Run the Keras tutorial's program with real Keras (tf_keras 2.21) on full MNIST.

Usage: python tutorial.py [--seeds 1,2,3] [--epochs 3] [--normalize]

For each seed: Dense 50 -> sigmoid -> Dense 20 -> sigmoid -> Dense 10 -> softmax on raw
0-255 pixels, SGD(0.01), categorical cross-entropy, batch 64, shuffled, then the test
score. Prints one JSON line per seed in `microdense train --json`'s shape:
{"seed": s, "epochs": [{"epoch", "loss", "accuracy", "seconds"}], "test": {"loss", "accuracy"}}
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from make_fixtures import read_idx, repo_root  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["seconds"] = time.perf_counter() - self.start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--normalize", action="store_true")
    args = ap.parse_args()
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "data", "mnist")
    x_train = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    y_train = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    x_test = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    y_test = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    scale = 255.0 if args.normalize else 1.0
    x_train = x_train.reshape(-1, 784).astype("float32") / scale
    x_test = x_test.reshape(-1, 784).astype("float32") / scale
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    for seed in [int(s) for s in args.seeds.split(",")]:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [
                keras.layers.Dense(50, input_shape=(784,)),
                keras.layers.Activation("sigmoid"),
                keras.layers.Dense(20),
                keras.layers.Activation("sigmoid"),
                keras.layers.Dense(10),
                keras.layers.Activation("softmax"),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
        timer = EpochTimer()
        hist = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0, callbacks=[timer])
        loss, acc = model.evaluate(x_test, y_test, verbose=0)
        epochs = [
            {
                "epoch": i + 1,
                "loss": hist.history["loss"][i],
                "accuracy": hist.history["accuracy"][i],
                "seconds": hist.history["seconds"][i],
            }
            for i in range(args.epochs)
        ]
        print(json.dumps({"seed": seed, "epochs": epochs, "test": {"loss": loss, "accuracy": acc}}), flush=True)


if __name__ == "__main__":
    main()
