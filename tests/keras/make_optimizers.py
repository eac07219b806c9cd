"""Every optimizer and learning-rate schedule microdense trains with, trained and saved
by real Keras, with the loss Keras gets continuing each saved file.

Usage: python make_optimizers.py OUTDIR

Per case (an optimizer config) and Keras (tf_keras 2.21 saves .h5, Keras 3 saves
.keras): a 784 -> Dense(32, relu) -> Dense(10, softmax) model trained one epoch
(shuffle off, batch 32) on the first TRAIN MNIST images, saved, its predictions on the
first PREDICT test images, then the saved file loaded again and trained one more epoch
the same way: its mean loss is what microdense's resumed epoch must land near.

Written under OUTDIR: x_train.npy (TRAIN, 784) float32, y_train.npy (TRAIN,) float32
labels, x_test.npy, <keras>/<case>.{h5,keras}, <keras>/<case>_pred.npy, manifest.json
(case -> keras -> {file, pred, continued_loss}).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_idx, repo_root  # noqa: E402

TRAIN = 640
PREDICT = 500
SEED = 4321


def cases(k):
    o, s = k.optimizers, k.optimizers.schedules
    return {
        "adam": o.Adam(learning_rate=0.002),
        "adam_amsgrad": o.Adam(amsgrad=True),
        "adamw_clipnorm": o.AdamW(learning_rate=0.002, weight_decay=0.01, clipnorm=0.5),
        "nadam": o.Nadam(learning_rate=0.002),
        "rmsprop": o.RMSprop(),
        "rmsprop_momentum_centered_clipvalue": o.RMSprop(momentum=0.5, centered=True, clipvalue=0.01),
        "adagrad": o.Adagrad(learning_rate=0.05),
        "sgd_exponential_global_clipnorm": o.SGD(
            learning_rate=s.ExponentialDecay(0.1, 20, 0.5), momentum=0.9, global_clipnorm=1.0
        ),
        "sgd_piecewise": o.SGD(learning_rate=s.PiecewiseConstantDecay([15, 30], [0.2, 0.1, 0.05])),
        "sgd_inverse_time": o.SGD(learning_rate=s.InverseTimeDecay(0.2, 10, 0.5, staircase=True)),
        "adam_cosine_warmup": o.Adam(
            learning_rate=s.CosineDecay(0.001, 40, alpha=0.1, warmup_target=0.003, warmup_steps=10)
        ),
        "sgd_polynomial": o.SGD(learning_rate=s.PolynomialDecay(0.2, 15, end_learning_rate=0.01, power=2.0, cycle=True)),
    }


def load_mnist():
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "..", "shared", "data", "mnist")
    x = (read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:TRAIN].reshape(TRAIN, 784) / 255.0).astype(np.float32)
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:TRAIN].astype(np.int64)
    t = (read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))[:PREDICT].reshape(PREDICT, 784) / 255.0).astype(np.float32)
    return x, y, t


def epoch(model, x, y):
    """One epoch as microdense runs it: batches of 32 in order; the mean loss."""
    onehot = np.eye(10, dtype=np.float32)[y]
    return float(model.fit(x, onehot, batch_size=32, epochs=1, shuffle=False, verbose=0).history["loss"][0])


def main():
    outdir = os.path.abspath(sys.argv[1])
    x, y, t = load_mnist()
    import tf_keras
    import keras

    os.makedirs(outdir, exist_ok=True)
    np.save(os.path.join(outdir, "x_train.npy"), x)
    np.save(os.path.join(outdir, "y_train.npy"), y.astype(np.float32))
    np.save(os.path.join(outdir, "x_test.npy"), t)
    manifest = {}
    for flavour, k, ext in (("tf_keras", tf_keras, "h5"), ("keras3", keras, "keras")):
        os.makedirs(os.path.join(outdir, flavour), exist_ok=True)
        for name in cases(k):
            k.backend.clear_session()
            k.utils.set_random_seed(SEED)
            model = k.Sequential([k.Input(shape=(784,)), k.layers.Dense(32, activation="relu"), k.layers.Dense(10, activation="softmax")])
            model.compile(optimizer=cases(k)[name], loss="categorical_crossentropy", metrics=["accuracy"])
            epoch(model, x, y)
            path = os.path.join(outdir, flavour, f"{name}.{ext}")
            model.save(path)
            pred = os.path.join(outdir, flavour, f"{name}_pred.npy")
            np.save(pred, model.predict(t, verbose=0).astype(np.float32))
            continued = epoch(k.models.load_model(path), x, y)
            manifest.setdefault(name, {})[flavour] = {
                "file": os.path.relpath(path, outdir),
                "pred": os.path.relpath(pred, outdir),
                "continued_loss": continued,
            }
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
