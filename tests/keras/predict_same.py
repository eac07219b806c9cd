"""Check that real Keras predicts from each file exactly what it predicted from another.

Usage: python predict_same.py X.npy FILE EXPECTED.npy MAKER [FILE EXPECTED.npy MAKER ...]

Each FILE (a whole-model .h5) is loaded with tf_keras and with Keras 3 `load_model`; its
predictions on X.npy (reshaped to the model's input) must equal EXPECTED.npy, which MAKER
(`tf_keras` or `keras3`) predicted from the original file: within 1e-6 in MAKER itself,
within 1e-5 in the other framework, whose kernels sum in other orders (seen: 1.6e-6 on an
Intel Xeon with AVX-512, where oneDNN picks other kernels for the two). Prints one line
per file and check; exits 1 if any differs.
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
    triples = sys.argv[2:]
    if len(triples) % 3:
        sys.exit("arguments after X.npy come in threes: FILE EXPECTED.npy MAKER")
    for path, expected_path, maker in zip(triples[::3], triples[1::3], triples[2::3]):
        expected = np.load(expected_path)
        for name, module in [("tf_keras", tf_keras), ("keras3", keras)]:
            model = module.models.load_model(path, compile=False)
            shape = (len(x),) + tuple(model.input_shape[1:])
            # The batch size make_fixtures.py predicted with: the same float32 blocking.
            pred = model.predict(x.reshape(shape), batch_size=250, verbose=0)
            diff = float(np.max(np.abs(pred - expected)))
            limit = 1e-6 if name == maker else 1e-5
            ok = diff <= limit
            failed |= not ok
            print(
                f"{'ok' if ok else 'FAIL'} {name} {os.path.basename(path)}: "
                f"max difference {diff:.3g} (limit {limit:g}, expected from {maker})"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
