"""Real Keras loads the models microdense trained and saved with each optimizer,
predicts what microdense predicted and resumes training from microdense's state.

Usage: python check_optimizers.py DIR

DIR/manifest.json (written by host/tests/keras_optimizers.rs) lists per case and Keras
the file microdense saved (tf_keras: .h5, Keras 3: .keras), microdense's predictions
on DIR/x_test.npy and the optimizer class. DIR/x_train.npy and y_train.npy are the
training data. Prints one JSON line: per case and Keras, the largest prediction
difference, the optimizer class and iteration count Keras restored, and the mean loss
of one more epoch (batches of 32 in order).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_optimizers import epoch  # noqa: E402


def main():
    d = sys.argv[1]
    import tf_keras
    import keras

    manifest = json.load(open(os.path.join(d, "manifest.json")))
    x = np.load(os.path.join(d, "x_train.npy"))
    y = np.load(os.path.join(d, "y_train.npy")).astype(np.int64)
    t = np.load(os.path.join(d, "x_test.npy"))
    out = {}
    for name, flavours in manifest.items():
        for flavour, entry in flavours.items():
            k = tf_keras if flavour == "tf_keras" else keras
            k.backend.clear_session()
            model = k.models.load_model(os.path.join(d, entry["file"]))
            ours = np.load(os.path.join(d, entry["pred"]))
            diff = float(np.max(np.abs(model.predict(t, verbose=0) - ours)))
            optimizer = type(model.optimizer).__name__
            iterations = int(model.optimizer.iterations.numpy())
            out.setdefault(name, {})[flavour] = {
                "max_diff": diff,
                "optimizer": optimizer,
                "iterations": iterations,
                "continued_loss": epoch(model, x, y),
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
