"""Check that real Keras loads, compiles, predicts and evaluates the models microdense saved.

Usage: python check_loss_models.py JOBS.json

JOBS.json: {"x": X.npy, "y": Y.npy (labels as float32), "models": [{"file", "pred"
(microdense's outputs on X, .npy), "loss" (microdense's evaluate loss), "sparse"}]}.
Each file is loaded with load_model (compile=True) by the Keras that writes its format
(.h5: tf_keras, .keras: Keras 3). Its outputs must equal microdense's within 1e-5 and
model.evaluate's loss (targets one-hot unless sparse) microdense's within 1e-4
(relative). Prints one line per file; exits 1 if any differs.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    import keras
    import tf_keras

    x = np.load(jobs["x"])
    labels = np.load(jobs["y"]).astype(np.int64)
    failed = False
    for m in jobs["models"]:
        k = tf_keras if m["file"].endswith(".h5") else keras
        model = k.models.load_model(m["file"])
        diff = float(np.max(np.abs(model.predict(x, verbose=0) - np.load(m["pred"]))))
        y = labels if m["sparse"] else np.eye(10, dtype=np.float32)[labels]
        loss = float(model.evaluate(x, y, verbose=0)[0])
        rel = abs(loss - m["loss"]) / max(1.0, abs(loss))
        ok = diff <= 1e-5 and rel <= 1e-4
        failed |= not ok
        line = f"{'ok' if ok else 'DIFFERS'} {m['file']}: outputs {diff:.2e}, loss {loss:.6f} vs {m['loss']:.6f}"
        print(line)
        if not ok:
            print(line, file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
