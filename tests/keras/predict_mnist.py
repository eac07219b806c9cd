"""Check that real Keras predicts from a microdense-written .h5 what microdense predicted.

Usage: python predict_mnist.py MODEL.h5 EXPECTED.npy

MODEL.h5 is loaded with tf_keras and with Keras 3 `load_model`; its predictions on the
10,000 MNIST test images (raw 0-255 pixels, read from $MNIST_DIR's IDX files) must equal
EXPECTED.npy (`microdense predict` output) within 1e-5. Prints one line per Keras with
its test accuracy; exits 1 if any differs.
"""

import gzip
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402


def idx(name, offset):
    with gzip.open(os.path.join(os.environ["MNIST_DIR"], name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    path, expected = sys.argv[1], np.load(sys.argv[2])
    x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(10000, 784).astype(np.float32)
    labels = idx("t10k-labels-idx1-ubyte.gz", 8)
    failed = False
    for name, module in [("tf_keras", tf_keras), ("keras3", keras)]:
        model = module.models.load_model(path, compile=False)
        got = model.predict(x, verbose=0, batch_size=1000)
        diff = float(np.max(np.abs(got - expected)))
        accuracy = float(np.mean(np.argmax(got, axis=1) == labels))
        ok = diff <= 1e-5
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'} {name}: max difference {diff:.2e}, accuracy {accuracy:.4f}")
    sys.exit(1 if failed else 0)


main()
