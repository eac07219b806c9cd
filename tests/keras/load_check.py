"""Check that real Keras loads rewritten copies of the fixtures exactly.

Usage: python load_check.py FIXTURES COPIES

FIXTURES is a directory made by make_fixtures.py; COPIES holds files written by
microdense at the same relative paths (tf_keras/tutorial.h5, ...). For every
model in FIXTURES/manifest.json and every HDF5 file present in COPIES:

  whole-model .h5   load_model(copy) predicts exactly what Keras predicted
                    before saving, and its optimizer iteration count equals
                    the one load_model(original) restores
  weights .h5       load_model(original), weights zeroed, then
                    load_weights(copy) predicts exactly the saved predictions

tf_keras files are loaded with tf_keras, keras3 files with Keras 3, the
Keras 2.1-era file with tf_keras (compile=False: tf_keras itself cannot
restore that era's optimizer state). Prints one line per check; exits 1 if
any fails or if COPIES holds none of the files.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402


def main():
    fixtures, copies = sys.argv[1], sys.argv[2]
    with open(os.path.join(fixtures, "manifest.json")) as f:
        manifest = json.load(f)
    x = np.load(os.path.join(fixtures, manifest["x_test"]))

    import tf_keras
    import keras

    modules = {"tf_keras": tf_keras, "keras3": keras, "keras2_legacy": tf_keras}
    failures = []
    checked = 0

    def report(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    for name, entry in manifest["models"].items():
        xs = x.reshape((len(x),) + tuple(entry["input_shape"]))
        for flavour, k in modules.items():
            files = entry.get(flavour)
            if not files:
                continue
            expected = np.load(os.path.join(fixtures, files["pred"]))
            original = os.path.join(fixtures, files["h5"])
            legacy = flavour == "keras2_legacy"
            copy = os.path.join(copies, files["h5"])
            if os.path.exists(copy):
                checked += 1
                model = k.models.load_model(copy, compile=not legacy)
                same = np.array_equal(model.predict(xs, batch_size=250, verbose=0), expected)
                report(same, f"{flavour} load_model({files['h5']}) predicts identically")
                if not legacy:
                    ref = k.models.load_model(original)
                    a = int(model.optimizer.iterations.numpy())
                    b = int(ref.optimizer.iterations.numpy())
                    report(a == b and a > 0, f"{flavour} {files['h5']} restores iteration {a} (original {b})")
                    for va, vb in zip(model.optimizer.variables, ref.optimizer.variables):
                        same = np.array_equal(np.asarray(va), np.asarray(vb))
                        report(same, f"{flavour} {files['h5']} optimizer variable {va.name} identical")
            weights = files.get("weights_h5")
            if weights and os.path.exists(os.path.join(copies, weights)):
                checked += 1
                model = k.models.load_model(original)
                # Zero the weights first, so only the copy can restore them.
                model.set_weights([np.zeros_like(w) for w in model.get_weights()])
                model.load_weights(os.path.join(copies, weights))
                same = np.array_equal(model.predict(xs, batch_size=250, verbose=0), expected)
                report(same, f"{flavour} load_weights({weights}) predicts identically")

    if checked == 0:
        print(f"no rewritten fixtures found under {copies}", file=sys.stderr)
        sys.exit(1)
    if failures:
        print(f"{len(failures)} of the checks failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
