"""Check that real Keras loads the initializer models microdense saved, predicts what
microdense predicts, and finds in each Dense layer the initializers the original had.

Usage: python check_initializer_models.py JOBS.json

JOBS.json: {"x": X.npy, "models": [{"file", "pred" (microdense's outputs on X, .npy),
"initializers" (as make_initializer_models.py's manifest gives them)}]}. Each file is loaded
with load_model by the Keras that writes its format (.h5: tf_keras, .keras: Keras 3). Prints
one line per file; exits 1 if any differs.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_initializer_models import without_seed  # noqa: E402


def close(a, b):
    """Configs equal, numbers within float32 rounding."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-6 * max(1, abs(a))
    return a == b


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    import keras
    import tf_keras

    x = np.load(jobs["x"])
    failed = False
    for m in jobs["models"]:
        k = tf_keras if m["file"].endswith(".h5") else keras
        model = k.models.load_model(m["file"])
        diff = float(np.max(np.abs(model.predict(x, verbose=0) - np.load(m["pred"]))))
        found = {
            d.name: {"kernel": without_seed(d.kernel_initializer), "bias": without_seed(d.bias_initializer)}
            for d in model.layers
        }
        wrong = [name for name in m["initializers"] if not close(found.get(name), m["initializers"][name])]
        ok = diff <= 1e-5 and not wrong
        failed |= not ok
        line = f"{'ok' if ok else 'DIFFERS'} {m['file']}: outputs {diff:.2e}"
        for name in wrong:
            line += f"; {name}: {found.get(name)} instead of {m['initializers'][name]}"
        print(line)
        if not ok:
            print(line, file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
