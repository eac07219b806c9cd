"""Every loss microdense computes, evaluated by real Keras: values and gradients.

Usage: python make_losses.py OUTDIR

Run it with the interpreter scripts/keras-venv.sh prints. For each loss object (class,
from_logits, label_smoothing, delta) in tf_keras and in Keras 3, on a fixed batch of
8 samples x 5 outputs, it writes to OUTDIR/losses.json:

  flavour   "tf_keras" or "keras3"
  config    keras.losses.serialize(loss), as that Keras writes it in a training config
  kwargs    the constructor's arguments (Keras 3's Huber leaves `delta` out of its config)
  y_true    the targets (rows of values, or class indices when "sparse")
  y_pred    the model outputs
  values    loss.call(y_true, y_pred): the unreduced per-sample losses
  grad      d loss(y_true, y_pred) / d y_pred, Keras's mean over the batch (GradientTape)

and OUTDIR/manifest.json last.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

BATCH, OUTPUTS = 8, 5


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def inputs(rng, pred, true):
    """(y_true, y_pred, sparse) drawn as the loss expects them."""
    shape = (BATCH, OUTPUTS)
    y_pred = {
        "probabilities": lambda: softmax(rng.normal(size=shape) * 1.5),
        "unit": lambda: rng.uniform(0.05, 0.95, size=shape),
        "logits": lambda: rng.normal(size=shape) * 2.0,
        "positive": lambda: rng.uniform(0.05, 2.0, size=shape),
        "real": lambda: rng.normal(size=shape),
    }[pred]()
    classes = rng.integers(0, OUTPUTS, size=BATCH)
    y_true = {
        "one_hot": lambda: np.eye(OUTPUTS)[classes],
        "classes": lambda: classes,
        "unit": lambda: rng.uniform(0.0, 1.0, size=shape),
        "distribution": lambda: softmax(rng.normal(size=shape)),
        "binary": lambda: rng.integers(0, 2, size=shape).astype(np.float64),
        "signed": lambda: rng.uniform(-1.0, 1.0, size=shape),
        "positive": lambda: rng.uniform(0.0, 2.0, size=shape),
        "real": lambda: rng.normal(size=shape),
    }[true]()
    dtype = np.int64 if true == "classes" else np.float32
    return y_true.astype(dtype), y_pred.astype(np.float32), true == "classes"


# (class, constructor arguments, y_pred kind, y_true kind)
CASES = [
    ("CategoricalCrossentropy", {}, "probabilities", "one_hot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "logits", "one_hot"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "probabilities", "one_hot"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "logits", "one_hot"),
    ("SparseCategoricalCrossentropy", {}, "probabilities", "classes"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "logits", "classes"),
    ("BinaryCrossentropy", {}, "unit", "unit"),
    ("BinaryCrossentropy", {"from_logits": True}, "logits", "unit"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "unit", "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "logits", "binary"),
    ("MeanSquaredError", {}, "real", "real"),
    ("MeanAbsoluteError", {}, "real", "real"),
    ("MeanSquaredLogarithmicError", {}, "positive", "positive"),
    ("Huber", {}, "real", "real"),
    ("Huber", {"delta": 0.5}, "real", "real"),
    ("LogCosh", {}, "real", "real"),
    ("KLDivergence", {}, "probabilities", "distribution"),
    ("Poisson", {}, "positive", "positive"),
    ("Hinge", {}, "real", "binary"),
    ("Hinge", {}, "real", "signed"),
    ("SquaredHinge", {}, "real", "binary"),
    ("SquaredHinge", {}, "real", "signed"),
    ("CategoricalHinge", {}, "real", "one_hot"),
]


def evaluate(k, flavour, seed):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out = []
    for class_name, kwargs, pred, true in CASES:
        loss = getattr(k.losses, class_name)(**kwargs)
        y_true, y_pred, sparse = inputs(rng, pred, true)
        values = loss.call(tf.constant(y_true), tf.constant(y_pred)).numpy()
        variable = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            total = loss(tf.constant(y_true), variable)
        grad = tape.gradient(total, variable).numpy()
        out.append(
            {
                "flavour": flavour,
                "config": k.losses.serialize(loss),
                "kwargs": kwargs,
                "y_true": y_true.tolist(),
                "y_pred": y_pred.tolist(),
                "sparse": sparse,
                "values": values.astype(np.float32).tolist(),
                "grad": grad.astype(np.float32).tolist(),
            }
        )
    return out


def main():
    outdir = os.path.abspath(sys.argv[1])
    os.makedirs(outdir, exist_ok=True)
    import keras
    import tf_keras

    cases = evaluate(tf_keras, "tf_keras", 1) + evaluate(keras, "keras3", 2)
    with open(os.path.join(outdir, "losses.json"), "w") as f:
        json.dump(cases, f)
    manifest = {"tf_keras_version": tf_keras.__version__, "keras3_version": keras.__version__, "cases": len(cases)}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
