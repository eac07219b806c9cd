"""Seconds per epoch of a dense MNIST model in tf_keras 2.21 or PyTorch (CPU, eager),
for the `train_speed` benchmark: the same model, batch, loss and optimizer as microdense.

Usage: python train_speed.py keras|torch --spec 784,50,sigmoid,20,sigmoid,10,softmax
           [--normalize] [--epochs 2] [--runs 3] [--seed 1]

The spec is microdense's (`--model`): input width, then units and activation per Dense
layer. SGD(0.01), categorical cross-entropy (PyTorch: cross-entropy on the logits, the
same loss), batch 64, shuffled every epoch; run `r` (from 0) seeded with `seed + r`. Prints
one JSON line:
{"framework", "threads", "runs": [[seconds of each epoch] per run]}.
"""

import argparse
import gzip
import json
import os
import time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def layers(spec):
    parts = spec.split(",")
    return int(parts[0]), [(int(parts[i]), parts[i + 1]) for i in range(1, len(parts), 2)]


def keras_runs(x, y, spec, epochs, runs, seed):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    width, dense = layers(spec)
    y = keras.utils.to_categorical(y, 10)
    out = []
    for run in range(runs):
        keras.utils.set_random_seed(seed + run)
        model = keras.Sequential([keras.Input(shape=(width,))])
        for units, activation in dense:
            model.add(keras.layers.Dense(units))
            model.add(keras.layers.Activation(activation))
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
        timer = EpochTimer()
        model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=[timer])
        out.append(timer.seconds)
    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(), out


def torch_runs(x, y, spec, epochs, runs, seed):
    import torch

    width, dense = layers(spec)
    acts = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "linear": torch.nn.Identity}
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    out = []
    for run in range(runs):
        torch.manual_seed(seed + run)
        modules, inputs = [], width
        for i, (units, activation) in enumerate(dense):
            modules.append(torch.nn.Linear(inputs, units))
            # The last softmax belongs to the loss (cross-entropy on logits).
            if not (i == len(dense) - 1 and activation == "softmax"):
                modules.append(acts[activation]())
            inputs = units
        model = torch.nn.Sequential(*modules)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            order = torch.randperm(len(x))
            for b in range(0, len(x), 64):
                idx = order[b : b + 64]
                optimizer.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
            seconds.append(time.perf_counter() - start)
        out.append(seconds)
    return torch.get_num_threads(), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("framework", choices=["keras", "torch"])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--normalize", action="store_true")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    d = os.environ["MNIST_DIR"]
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype("float32")
    if args.normalize:
        x /= 255.0
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    run = keras_runs if args.framework == "keras" else torch_runs
    threads, runs = run(x, y, args.spec, args.epochs, args.runs, args.seed)
    print(json.dumps({"framework": args.framework, "threads": threads, "runs": runs}), flush=True)


if __name__ == "__main__":
    main()
