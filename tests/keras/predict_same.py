"""Check that real Keras predicts from each file exactly what it predicted from another.

Usage: python predict_same.py X.npy FILE EXPECTED.npy [FILE EXPECTED.npy ...]

Each FILE (a whole-model .h5) is loaded with tf_keras and with Keras 3 `load_model`; its
predictions on X.npy (reshaped to the model's input) must equal EXPECTED.npy within 1e-6.
Prints one line per file and check; exits 1 if any differs.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402


def main():
    x = np.load(sys.argv[1])
    failed = False
    pairs = sys.argv[2:]
    for path, expected_path in zip(pairs[::2], pairs[1::2]):
        expected = np.load(expected_path)
        for name, module in [("tf_keras", tf_keras), ("keras3", keras)]:
            model = module.models.load_model(path, compile=False)
            shape = (len(x),) + tuple(model.input_shape[1:])
            # The batch size make_fixtures.py predicted with: the same float32 blocking.
            pred = model.predict(x.reshape(shape), batch_size=250, verbose=0)
            diff = float(np.max(np.abs(pred - expected)))
            ok = diff <= 1e-6
            failed |= not ok
            print(f"{'ok' if ok else 'FAIL'} {name} {os.path.basename(path)}: max difference {diff:.3g}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
