"""MNIST models whose Dense layers use every initializer microdense reads, trained and saved by
real Keras (tf_keras .h5, Keras 3 .keras), for the interop suite.

Usage: python make_initializer_models.py OUTDIR

Run it with the interpreter scripts/keras-venv.sh prints; MNIST from $MNIST_DIR as
make_loss_models.py reads it. Two models per Keras: "objects" gives the initializers as
objects with settings, "names" as the strings Keras accepts. Each is fitted 1 epoch
(batch 50, Adam) on the first 1,000 training images / 255, then saved.

Written under OUTDIR:

  x_test.npy                 the first 500 test images / 255 (float32 (500, 784))
  <flavour>/<case>.<ext>     the trained model
  <flavour>/<case>_pred.npy  its outputs on x_test
  manifest.json              (last) {"models": [{"case", "flavour", "file", "pred",
                             "initializers": {layer: {"kernel": {class_name, config},
                             "bias": ...}}}]}, the configs without their seeds
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_loss_models import load_mnist  # noqa: E402


def layers(k, case):
    """(units, activation, kernel initializer, bias initializer) per Dense layer."""
    i = k.initializers
    if case == "objects":
        return [
            (32, "relu", i.RandomNormal(mean=0.0, stddev=0.05), i.Constant(0.1)),
            (32, "relu", i.TruncatedNormal(mean=0.0, stddev=0.1), i.RandomUniform(-0.01, 0.01)),
            (32, "tanh", i.Orthogonal(gain=0.5), "zeros"),
            (32, "relu", i.Identity(gain=1.0), "zeros"),
            (16, "selu", i.VarianceScaling(scale=0.5, mode="fan_out", distribution="uniform"), "zeros"),
            (16, "selu", i.VarianceScaling(scale=2.0, mode="fan_avg", distribution="untruncated_normal"), "zeros"),
            (10, "softmax", i.RandomUniform(minval=-0.1, maxval=0.1), "ones"),
        ]
    return [
        (32, "relu", "random_normal", "zeros"),
        (32, "relu", "truncated_normal", "random_uniform"),
        (32, "tanh", "orthogonal", "zeros"),
        (32, "relu", "identity", "zeros"),
        (16, "selu", "lecun_normal", "zeros"),
        (16, "selu", "variance_scaling", "zeros"),
        (10, "softmax", "random_uniform", "ones"),
    ]


def without_seed(init):
    config = dict(init.get_config())
    config.pop("seed", None)
    return {"class_name": type(init).__name__, "config": config}


def main():
    outdir = os.path.abspath(sys.argv[1])
    x_train, y_train, x_test, _ = load_mnist()
    import keras
    import tf_keras

    models = []
    for flavour, k, ext in [("tf_keras", tf_keras, "h5"), ("keras3", keras, "keras")]:
        os.makedirs(os.path.join(outdir, flavour), exist_ok=True)
        for seed, case in enumerate(["objects", "names"], start=1):
            k.backend.clear_session()
            k.utils.set_random_seed(seed)
            dense = [
                k.layers.Dense(units, activation=act, kernel_initializer=kernel, bias_initializer=bias)
                for units, act, kernel, bias in layers(k, case)
            ]
            model = k.models.Sequential([k.Input(shape=(784,))] + dense)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_train, y_train, epochs=1, batch_size=50, verbose=0)
            file = f"{flavour}/{case}.{ext}"
            model.save(os.path.join(outdir, file))
            pred = f"{flavour}/{case}_pred.npy"
            np.save(os.path.join(outdir, pred), model.predict(x_test, verbose=0))
            initializers = {
                d.name: {"kernel": without_seed(d.kernel_initializer), "bias": without_seed(d.bias_initializer)}
                for d in model.layers
            }
            models.append(
                {"case": case, "flavour": flavour, "file": file, "pred": pred, "initializers": initializers}
            )
    np.save(os.path.join(outdir, "x_test.npy"), x_test)
    manifest = {"tf_keras_version": tf_keras.__version__, "keras3_version": keras.__version__, "models": models}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
