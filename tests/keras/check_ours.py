"""Check that real Keras loads the files microdense wrote, exactly.

Usage: python check_ours.py DIR

DIR/manifest.json (written by host/tests/keras_interop.rs) lists, per model, the files
microdense saved (whole model .h5 and .keras, Keras 3 .weights.h5, Keras 2 weights .h5,
JSON and YAML architectures), microdense's predictions on DIR/x.npy, its optimizer
settings and iteration count, and its layers. Checks, with tf_keras 2.21 and Keras 3:

  .h5          tf_keras and Keras 3 load_model: predictions within 1e-6, same SGD
               settings, iteration count restored; tf_keras: momentum buffers equal
               the file's, one fit step works and the count continues (Keras 3.15 builds
               a legacy-h5 optimizer over no variables, so fit after loading an .h5 with
               optimizer state fails for Keras 3's own files too: not attempted)
  .keras       Keras 3 load_model: predictions, settings, iteration count, momentum
               buffers, one fit step continues the count
  .weights.h5  Keras 3: the .keras model with zeroed weights, load_weights: predictions
               and iteration count
  _weights.h5  tf_keras: model_from_json(our JSON), load_weights: predictions
  .json        tf_keras model_from_json rebuilds the same layers (class, units)
  .k3.json     Keras 3 model_from_json (Keras 3-style JSON) rebuilds the same layers
  .yaml        yaml.safe_load + tf_keras model_from_config rebuild the same layers

Prints one line per check ("ok ..." / "FAIL ...") and a final JSON summary line;
exits 1 if any check fails.
"""

import io
import json
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

TOLERANCE = 1e-6
failures = []
passed = 0


def report(ok, what):
    global passed
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if ok:
        passed += 1
    else:
        print("FAIL " + what, file=sys.stderr, flush=True)
        failures.append(what)


def check(what, fn):
    """Run one check; an exception is a failure naming it."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every error is a failed check
        report(False, f"{what}: {type(e).__name__}: {e}")


def variables(optimizer):
    v = optimizer.variables
    return list(v() if callable(v) else v)


def sgd_settings(optimizer):
    config = optimizer.get_config()
    lr = config["learning_rate"]
    return (np.float32(lr), np.float32(config.get("momentum", 0.0)), bool(config.get("nesterov", False)))


def layers_of(model):
    out = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "InputLayer":
            continue
        out.append([name, getattr(layer, "units", None)])
    return out


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "manifest.json")) as f:
        manifest = json.load(f)
    x_flat = np.load(os.path.join(d, manifest["x"]))

    import tf_keras
    import keras

    for name, m in manifest["models"].items():
        files = {k: os.path.join(d, v) for k, v in m["files"].items()}
        x = x_flat.reshape((len(x_flat),) + tuple(m["input_shape"]))
        expected = np.load(os.path.join(d, m["pred"]))
        settings = (np.float32(m["learning_rate"]), np.float32(m["momentum"]), m["nesterov"])
        iterations = m["iterations"]
        step_x = x[:32]
        step_y = np.eye(expected.shape[1], dtype=np.float32)[np.argmax(expected[:32], axis=1)]

        def same_predictions(model, what):
            diff = float(np.max(np.abs(model.predict(x, verbose=0) - expected)))
            tolerance = m.get("tolerance", TOLERANCE)
            report(diff <= tolerance, f"{what} predicts like microdense (max diff {diff:.2e})")

        def restores_optimizer(model, what):
            got = sgd_settings(model.optimizer)
            report(got == settings, f"{what} SGD settings {got} (ours {settings})")
            count = int(model.optimizer.iterations.numpy())
            report(count == iterations, f"{what} restores iteration {count} (ours {iterations})")

        def same_buffers(model, saved, what):
            vs = [np.asarray(v) for v in variables(model.optimizer) if len(v.shape) > 0]
            same = len(vs) == len(saved) and all(np.array_equal(a, b) for a, b in zip(vs, saved))
            report(same, f"{what} momentum buffers equal the file's ({len(vs)} of {len(saved)})")

        def resumes(model, what):
            model.fit(step_x, step_y, batch_size=32, epochs=1, verbose=0)
            count = int(model.optimizer.iterations.numpy())
            report(count == iterations + 1, f"{what} fit continues at iteration {count} (ours {iterations} + 1)")

        def h5_tf_keras():
            what = f"tf_keras load_model({name}.h5)"
            model = tf_keras.models.load_model(files["h5"])
            same_predictions(model, what)
            restores_optimizer(model, what)
            with h5py.File(files["h5"], "r") as f:
                g = f["optimizer_weights"]
                saved = [g[n][()] for n in g.attrs["weight_names"] if g[n].shape != ()]
            if settings[1] != 0:
                same_buffers(model, saved, what)
            resumes(model, what)

        def h5_keras3():
            what = f"Keras 3 load_model({name}.h5)"
            model = keras.models.load_model(files["h5"])
            same_predictions(model, what)
            restores_optimizer(model, what)

        def keras_archive():
            what = f"Keras 3 load_model({name}.keras)"
            model = keras.models.load_model(files["keras"])
            same_predictions(model, what)
            restores_optimizer(model, what)
            with zipfile.ZipFile(files["keras"]) as z:
                with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                    g = f["optimizer/vars"]
                    saved = [g[str(i)][()] for i in range(2, len(g))]
            if settings[1] != 0:
                same_buffers(model, saved, what)
            resumes(model, what)

        def weights_keras3():
            what = f"Keras 3 load_weights({name}.weights.h5)"
            model = keras.models.load_model(files["keras"])
            model.set_weights([np.zeros_like(w) for w in model.get_weights()])
            model.load_weights(files["weights_h5"])
            same_predictions(model, what)
            count = int(model.optimizer.iterations.numpy())
            report(count == iterations, f"{what} restores iteration {count} (ours {iterations})")

        def weights_tf_keras():
            what = f"tf_keras model_from_json + load_weights({name}_weights.h5)"
            with open(files["json"]) as f:
                model = tf_keras.models.model_from_json(f.read())
            model.load_weights(files["keras2_weights"])
            same_predictions(model, what)

        def json_arch():
            with open(files["json"]) as f:
                model = tf_keras.models.model_from_json(f.read())
            got = layers_of(model)
            report(got == m["layers"], f"tf_keras model_from_json({name}.json) layers {got}")

        def json_keras3():
            with open(files["json_keras3"]) as f:
                model = keras.models.model_from_json(f.read())
            got = layers_of(model)
            report(got == m["layers"], f"Keras 3 model_from_json({name}.k3.json) layers {got}")

        def yaml_arch():
            with open(files["yaml"]) as f:
                config = yaml.safe_load(f)
            model = tf_keras.models.model_from_config(config)
            got = layers_of(model)
            report(got == m["layers"], f"yaml.safe_load + tf_keras model_from_config({name}.yaml) layers {got}")

        for what, fn in [
            (f"{name}.h5 in tf_keras", h5_tf_keras),
            (f"{name}.h5 in Keras 3", h5_keras3),
            (f"{name}.keras in Keras 3", keras_archive),
            (f"{name}.weights.h5 in Keras 3", weights_keras3),
            (f"{name}_weights.h5 in tf_keras", weights_tf_keras),
            (f"{name}.json in tf_keras", json_arch),
            (f"{name}.k3.json in Keras 3", json_keras3),
            (f"{name}.yaml in tf_keras", yaml_arch),
        ]:
            check(what, fn)

    print(json.dumps({"passed": passed, "failed": len(failures)}))
    if failures:
        print(f"{len(failures)} checks failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
