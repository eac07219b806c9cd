"""Load every file `microdense demo` wrote with real Keras and score it on MNIST's test set.

Usage: python check_demo.py DIR

Whole models (my_model*.h5, tuned.h5 when present) are loaded with tf_keras and Keras 3
`load_model`; the JSON and YAML architectures are rebuilt with tf_keras
(`model_from_json`, `yaml.safe_load` + `model_from_config`) and given the weights of
my_model_weights.h5 with `load_weights`. Prints one JSON line: {file: {"tf_keras": acc,
"keras3": acc, "layers": n}}; exits non-zero if anything fails to load.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402
from make_fixtures import read_idx, repo_root  # noqa: E402


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=1000, verbose=0), axis=1) == y))


def main():
    out = sys.argv[1]
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "data", "mnist")
    x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype("float32")
    y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    report = {}
    for name in ["my_model.h5", "my_model_resumed.h5", "my_model_retrained.h5", "tuned.h5"]:
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        tk = tf_keras.models.load_model(path)
        k3 = keras.models.load_model(path)
        report[name] = {"tf_keras": accuracy(tk, x, y), "keras3": accuracy(k3, x, y), "layers": len(tk.layers)}
    with open(os.path.join(out, "my_model_arch.json")) as f:
        from_json = tf_keras.models.model_from_json(f.read())
    with open(os.path.join(out, "my_model_arch.yaml")) as f:
        from_yaml = tf_keras.models.model_from_config(yaml.safe_load(f))
    for name, model in [("my_model_arch.json", from_json), ("my_model_arch.yaml", from_yaml)]:
        model.load_weights(os.path.join(out, "my_model_weights.h5"))
        report[name] = {"tf_keras": accuracy(model, x, y), "layers": len(model.layers)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
