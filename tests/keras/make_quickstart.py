"""TensorFlow's beginner quickstart, trained and saved by real Keras.

Usage: python make_quickstart.py OUTDIR [--train N] [--predict N]

Run it with the interpreter scripts/keras-venv.sh prints. MNIST's gzipped IDX
files are read from $MNIST_DIR, as make_fixtures.py does.

The model is the one of https://www.tensorflow.org/tutorials/quickstart/beginner:
Flatten(28x28) -> Dense(128, relu) -> Dropout(0.2) -> Dense(10) (logits),
compiled with optimizer="adam", SparseCategoricalCrossentropy(from_logits=True)
and metrics=["accuracy"], trained on pixels / 255. A second variant is compiled
with Adadelta, an optimizer microdense does not train with.

Written under OUTDIR (manifest.json lists them):

  x_test.npy                         float32 (N, 28, 28): the first N test images / 255
  tf_keras/<variant>.h5              tf_keras model.save("x.h5")
  tf_keras/<variant>_pred.npy        its logits on x_test, float32 (N, 10)
  keras3/<variant>.keras             Keras 3 model.save("x.keras")
  keras3/<variant>.h5                Keras 3 model.save("x.h5") (legacy HDF5)
  keras3/<variant>_pred.npy          its logits on x_test
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

SEED = 1234


def load_mnist(n_train, n_test):
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "..", "shared", "data", "mnist")
    x_train = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:n_train] / 255.0
    y_train = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:n_train]
    x_test = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))[:n_test] / 255.0
    return x_train.astype(np.float32), y_train.astype(np.int64), x_test.astype(np.float32)


def quickstart(k, first_layer):
    """The quickstart's model, its first layer as each Keras writes the tutorial."""
    return k.models.Sequential(
        first_layer
        + [
            k.layers.Dense(128, activation="relu"),
            k.layers.Dropout(0.2),
            k.layers.Dense(10),
        ]
    )


VARIANTS = {
    "quickstart": lambda k: "adam",
    "quickstart_adadelta": lambda k: k.optimizers.Adadelta(learning_rate=1.0),
}


def trained(k, first_layer, optimizer, x_train, y_train):
    k.backend.clear_session()
    k.utils.set_random_seed(SEED)
    model = quickstart(k, first_layer(k))
    loss_fn = k.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer(k), loss=loss_fn, metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--predict", type=int, default=500)
    args = ap.parse_args()
    outdir = os.path.abspath(args.outdir)
    for sub in ("tf_keras", "keras3"):
        os.makedirs(os.path.join(outdir, sub), exist_ok=True)
    x_train, y_train, x_test = load_mnist(args.train, args.predict)
    np.save(os.path.join(outdir, "x_test.npy"), x_test)

    import tf_keras
    import keras

    manifest = {"tf_keras_version": tf_keras.__version__, "keras3_version": keras.__version__, "models": {}}
    for name, optimizer in VARIANTS.items():
        files = {}
        # tf_keras as the TensorFlow tutorial writes it: Flatten(input_shape=...).
        model = trained(
            tf_keras, lambda k: [k.layers.Flatten(input_shape=(28, 28))], optimizer, x_train, y_train
        )
        model.save(os.path.join(outdir, "tf_keras", f"{name}.h5"))
        np.save(os.path.join(outdir, "tf_keras", f"{name}_pred.npy"), model.predict(x_test, verbose=0))
        files["tf_keras"] = {"h5": f"tf_keras/{name}.h5", "pred": f"tf_keras/{name}_pred.npy"}
        # Keras 3 as its docs write it: an Input, then Flatten. The .keras archive
        # first (its legacy-h5 save pops the optimizer from the compile config).
        model = trained(keras, lambda k: [k.Input(shape=(28, 28)), k.layers.Flatten()], optimizer, x_train, y_train)
        model.save(os.path.join(outdir, "keras3", f"{name}.keras"))
        model.save(os.path.join(outdir, "keras3", f"{name}.h5"))
        np.save(os.path.join(outdir, "keras3", f"{name}_pred.npy"), model.predict(x_test, verbose=0))
        files["keras3"] = {
            "keras": f"keras3/{name}.keras",
            "h5": f"keras3/{name}.h5",
            "pred": f"keras3/{name}_pred.npy",
        }
        manifest["models"][name] = files
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
