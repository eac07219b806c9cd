"""Train small models with real Keras and save them in every format Keras has.

Usage: python make_fixtures.py OUTDIR [--predict N] [--train N] [--epochs N]

Run it with the interpreter scripts/keras-venv.sh prints (tensorflow-cpu 2.21,
tf_keras 2.21, Keras 3, h5py). MNIST's gzipped IDX files are read from
$MNIST_DIR (default: data/mnist in the repository; the Rust tests set it).

Written under OUTDIR (file names are stable; manifest.json lists them all):

  x_test.npy                      float32 (N, 784): the first N test images / 255
  x_train.npy, y_train.npy        float32 (T, 784) training images / 255 and their
                                  class numbers (float32 (T,)): what every model trained on
  tf_keras/<model>.h5             tf_keras model.save("x.h5")
  tf_keras/<model>_weights.h5     tf_keras model.save_weights("w.h5")
  tf_keras/<model>.json           tf_keras model.to_json()
  tf_keras/<model>_pred.npy       tf_keras predictions on x_test, float32 (N, 10)
  tf_keras/<model>_summary.txt    tf_keras model.summary() of the model loaded from .h5
  keras3/<model>.h5               Keras 3 model.save("x.h5") (legacy HDF5)
  keras3/<model>.keras            Keras 3 model.save("x.keras")
  keras3/<model>.weights.h5       Keras 3 model.save_weights("x.weights.h5")
  keras3/<model>.json             Keras 3 model.to_json()
  keras3/<model>_pred.npy         Keras 3 predictions on x_test
  keras2_legacy/tutorial.h5       a Keras 2.0-2.2-era whole-model file, derived
                                  from tf_keras/tutorial.h5 with h5py (see
                                  write_keras2_legacy)
  keras2_legacy/tutorial_pred.npy its predictions (the same weights)

Every model is trained for a short while on a slice of MNIST with fixed seeds,
so the optimizer state (iteration count, momentum buffers) is not trivial. Each
whole-model file (tf_keras .h5, Keras 3 .keras) is then loaded again and trained one
more epoch in order (batch 32, shuffle off): its mean loss, `continued_loss` in the
manifest, is what microdense's resumed epoch must land near.
"""

import argparse
import gzip
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import h5py  # noqa: E402
import numpy as np  # noqa: E402

SEED = 1234
CLASSES = 10


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_idx(path):
    """Read a gzipped IDX file (LeCun's MNIST format) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=start)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} bytes of data, header says {dims}")
    return arr.reshape(dims)


def load_mnist(n_train, n_test):
    d = os.environ.get("MNIST_DIR") or os.path.join(repo_root(), "data", "mnist")
    x_train = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:n_train]
    y_train = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:n_train]
    x_test = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))[:n_test]
    x_train = (x_train.reshape(len(x_train), 784) / 255.0).astype(np.float32)
    x_test = (x_test.reshape(len(x_test), 784) / 255.0).astype(np.float32)
    y_train = np.eye(CLASSES, dtype=np.float32)[y_train]
    return x_train, y_train, x_test


# The models. Each builder gets the Keras module (tf_keras or keras) and returns
# (model, optimizer); the same code builds the same architecture in both.


def tutorial(k):
    """The Keras tutorial's network: 784 -> 50 -> 20 -> 10 with separate activations."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Dense(50),
            k.layers.Activation("sigmoid"),
            k.layers.Dense(20),
            k.layers.Activation("sigmoid"),
            k.layers.Dense(10),
            k.layers.Activation("softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.01)


def fused(k):
    """Dense layers with their activation fused in, SGD with momentum."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Dense(32, activation="relu"),
            k.layers.Dense(16, activation="tanh"),
            k.layers.Dense(10, activation="softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def nobias_dropout(k):
    """use_bias=False and Dropout, SGD with Nesterov momentum."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Dense(40, activation="sigmoid", use_bias=False),
            k.layers.Dropout(0.2),
            k.layers.Dense(10, use_bias=False),
            k.layers.Activation("softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.1, momentum=0.8, nesterov=True)


def functional(k):
    """A Functional model that is a plain chain, starting with Flatten of 28x28 images."""
    inputs = k.Input(shape=(28, 28), name="pixels")
    x = k.layers.Flatten()(inputs)
    x = k.layers.Dense(24, activation="relu")(x)
    x = k.layers.Dropout(0.1)(x)
    outputs = k.layers.Dense(10, activation="softmax", name="probs")(x)
    model = k.Model(inputs=inputs, outputs=outputs, name="chain")
    return model, k.optimizers.SGD(learning_rate=0.02, momentum=0.5)


def bn_relu(k):
    """Issue 12's first model: Dense -> BatchNormalization -> relu, SGD with momentum."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Dense(48),
            k.layers.BatchNormalization(),
            k.layers.Activation("relu"),
            k.layers.Dense(10, activation="softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def preprocessing(k):
    """Issue 12's second model: Rescaling, LeakyReLU and a Softmax layer."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Rescaling(2.0, offset=-1.0),
            k.layers.Dense(32),
            k.layers.LeakyReLU(0.2),
            k.layers.Dense(10),
            k.layers.Softmax(),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.05)


def zoo(k):
    """Every other deterministic layer of issue 12 in one chain; `train` adapts the
    Normalization. The
    ReLU has no threshold: with one it jumps by the threshold there, and float roundoff
    on either side of it is no longer roundoff in the predictions (our own zoo model,
    which Keras loads, has one)."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.Normalization(),
            k.layers.LayerNormalization(),
            k.layers.Dense(32),
            k.layers.PReLU(),
            k.layers.Dense(24),
            k.layers.ELU(alpha=0.5),
            k.layers.ReLU(max_value=6.0, negative_slope=0.1),
            k.layers.Identity(),
            k.layers.Reshape((24,)),
            k.layers.ActivityRegularization(l1=0.0001, l2=0.001),
            k.layers.BatchNormalization(momentum=0.9, epsilon=0.01),
            k.layers.Dense(10, activation="softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.02, momentum=0.5, nesterov=True)


def noise(k):
    """The noise layers (active in training only): GaussianNoise, AlphaDropout, GaussianDropout."""
    model = k.Sequential(
        [
            k.Input(shape=(784,)),
            k.layers.GaussianNoise(0.05),
            k.layers.Dense(32, activation="selu"),
            k.layers.AlphaDropout(0.05),
            k.layers.Dense(24, activation="relu"),
            k.layers.GaussianDropout(0.05),
            k.layers.Dense(10, activation="softmax"),
        ]
    )
    return model, k.optimizers.SGD(learning_rate=0.05, momentum=0.5)


def residual(k):
    """A residual MLP: Dense -> Dense -> Add with the skip -> Dense, SGD with momentum."""
    inputs = k.Input(shape=(784,))
    h = k.layers.Dense(32, activation="relu")(inputs)
    r = k.layers.Dense(32, activation="relu")(h)
    x = k.layers.Add()([r, h])
    outputs = k.layers.Dense(10, activation="softmax")(x)
    model = k.Model(inputs=inputs, outputs=outputs, name="residual")
    return model, k.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def wide_deep(k):
    """Wide and deep: a linear branch and a deep branch from one input, concatenated."""
    inputs = k.Input(shape=(784,))
    wide = k.layers.Dense(10)(inputs)
    deep = k.layers.Dense(32, activation="relu")(inputs)
    deep = k.layers.Dense(16, activation="relu")(deep)
    x = k.layers.Concatenate()([wide, deep])
    outputs = k.layers.Dense(10, activation="softmax")(x)
    model = k.Model(inputs=inputs, outputs=outputs, name="wide_deep")
    return model, k.optimizers.SGD(learning_rate=0.05)


def merges(k):
    """Every other merge: Subtract, Multiply, Average (of three), Maximum, Minimum."""
    inputs = k.Input(shape=(784,))
    a = k.layers.Dense(16, activation="tanh")(inputs)
    b = k.layers.Dense(16, activation="sigmoid")(inputs)
    c = k.layers.Dense(16, activation="relu")(inputs)
    s = k.layers.Subtract()([a, b])
    m = k.layers.Multiply()([a, c])
    avg = k.layers.Average()([s, m, b])
    hi = k.layers.Maximum()([avg, a])
    lo = k.layers.Minimum()([hi, c])
    outputs = k.layers.Dense(10, activation="softmax")(lo)
    model = k.Model(inputs=inputs, outputs=outputs, name="merges")
    return model, k.optimizers.SGD(learning_rate=0.05, momentum=0.5)


MODELS = {
    "tutorial": (tutorial, (784,)),
    "fused": (fused, (784,)),
    "nobias_dropout": (nobias_dropout, (784,)),
    "functional": (functional, (28, 28)),
    "bn_relu": (bn_relu, (784,)),
    "preprocessing": (preprocessing, (784,)),
    "zoo": (zoo, (784,)),
    "noise": (noise, (784,)),
    "residual": (residual, (784,)),
    "wide_deep": (wide_deep, (784,)),
    "merges": (merges, (784,)),
}


def train(k, builder, input_shape, x_train, y_train, epochs):
    """Build, compile and briefly train one model with fixed seeds."""
    k.backend.clear_session()  # layer names restart at dense, dense_1, ...
    k.utils.set_random_seed(SEED)
    model, optimizer = builder(k)
    x = x_train.reshape((len(x_train),) + input_shape)
    for layer in model.layers:
        if isinstance(layer, k.layers.Normalization):
            # Pixels that are 0 in every training image would get variance 0 (and be divided
            # by epsilon at test time): adapt on the images with a little noise.
            noise = np.random.default_rng(SEED).uniform(0.0, 0.05, x.shape).astype(np.float32)
            layer.adapt(x + noise)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y_train, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    return model


def continued_loss(k, path, input_shape, x_train, y_train):
    """The mean loss of one more epoch of the saved file, batches of 32 in order."""
    model = k.models.load_model(path)
    x = x_train.reshape((len(x_train),) + input_shape)
    history = model.fit(x, y_train, batch_size=32, epochs=1, shuffle=False, verbose=0)
    return float(history.history["loss"][0])


def predict(model, input_shape, x_test):
    x = x_test.reshape((len(x_test),) + input_shape)
    return model.predict(x, batch_size=250, verbose=0).astype(np.float32)


def save_tf_keras(outdir, name, model, input_shape, x_test, entry):
    import tf_keras

    d = os.path.join(outdir, "tf_keras")
    files = {
        "h5": f"tf_keras/{name}.h5",
        "weights_h5": f"tf_keras/{name}_weights.h5",
        "json": f"tf_keras/{name}.json",
        "pred": f"tf_keras/{name}_pred.npy",
        "summary": f"tf_keras/{name}_summary.txt",
    }
    model.save(os.path.join(d, f"{name}.h5"))
    model.save_weights(os.path.join(d, f"{name}_weights.h5"))
    with open(os.path.join(d, f"{name}.json"), "w") as f:
        f.write(model.to_json())
    np.save(os.path.join(d, f"{name}_pred.npy"), predict(model, input_shape, x_test))
    lines = []
    tf_keras.models.load_model(os.path.join(d, f"{name}.h5")).summary(print_fn=lambda line, *_: lines.append(line))
    with open(os.path.join(d, f"{name}_summary.txt"), "w") as f:
        f.write("".join(line + "\n" for line in lines))
    entry["tf_keras"] = files


def save_keras3(outdir, name, model, input_shape, x_test, entry):
    d = os.path.join(outdir, "keras3")
    files = {
        "h5": f"keras3/{name}.h5",
        "keras": f"keras3/{name}.keras",
        "weights_h5": f"keras3/{name}.weights.h5",
        "json": f"keras3/{name}.json",
        "pred": f"keras3/{name}_pred.npy",
    }
    # The .keras archive first: Keras 3's legacy-h5 save pops the optimizer from the
    # model's compile config, so a .keras saved after an .h5 has no optimizer.
    model.save(os.path.join(d, f"{name}.keras"))
    model.save(os.path.join(d, f"{name}.h5"))
    model.save_weights(os.path.join(d, f"{name}.weights.h5"))
    with open(os.path.join(d, f"{name}.json"), "w") as f:
        f.write(model.to_json())
    np.save(os.path.join(d, f"{name}_pred.npy"), predict(model, input_shape, x_test))
    entry["keras3"] = files


# Keras 2.0-2.2 (the tutorial's era) numbered layers from 1 and wrote every
# string attribute as fixed-length bytes.
LEGACY_NAMES = {
    "dense": "dense_1",
    "dense_1": "dense_2",
    "dense_2": "dense_3",
    "activation": "activation_1",
    "activation_1": "activation_2",
    "activation_2": "activation_3",
}
LEGACY_VERSION = "2.1.6"


def legacy_layer_config(layer, first):
    """One layer's config as Keras 2.1 wrote it (no module/registered_name/build_config)."""
    cls = layer["class_name"]
    src = layer["config"]
    name = LEGACY_NAMES[src["name"]]
    if cls == "Dense":
        cfg = {"name": name, "trainable": True}
        if first:
            cfg["batch_input_shape"] = [None, 784]
            cfg["dtype"] = "float32"
        cfg.update(
            {
                "units": src["units"],
                "activation": src["activation"],
                "use_bias": src["use_bias"],
                "kernel_initializer": {
                    "class_name": "VarianceScaling",
                    "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None},
                },
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "kernel_constraint": None,
                "bias_constraint": None,
            }
        )
    elif cls == "Activation":
        cfg = {"name": name, "trainable": True, "activation": src["activation"]}
    else:
        raise ValueError(f"legacy fixture: unexpected layer class {cls}")
    return {"class_name": cls, "config": cfg}


def fixed(s):
    """A string as the fixed-length byte string old Keras/h5py stored."""
    return np.bytes_(s.encode("utf8"))


def fixed_list(items):
    return np.array([s.encode("utf8") for s in items], dtype=np.bytes_)


def write_keras2_legacy(src_path, dst_path):
    """Derive a Keras 2.1-era whole-model file from a tf_keras 2.21 one.

    Differences from the source, each as Keras 2.0-2.2 wrote them: the
    Sequential config is a bare list of layers, the first of which carries
    batch_input_shape (no InputLayer); the optimizer config says "lr" (plus the
    old "decay"); the metric is "acc"; layers are numbered from 1
    (dense_1/kernel:0); every string attribute is a fixed-length byte string;
    optimizer weights are named SGD/iterations:0 and training/SGD/Variable_i:0
    in the order [iterations, moment of each weight].
    """
    with h5py.File(src_path, "r") as src, h5py.File(dst_path, "w") as dst:
        config = json.loads(src.attrs["model_config"])
        layers = [l for l in config["config"]["layers"] if l["class_name"] != "InputLayer"]
        legacy_layers = [legacy_layer_config(l, i == 0) for i, l in enumerate(layers)]
        training = json.loads(src.attrs["training_config"])
        sgd = training["optimizer_config"]["config"]
        legacy_training = {
            "optimizer_config": {
                "class_name": "SGD",
                "config": {
                    "lr": float(np.float32(sgd["learning_rate"])),
                    "momentum": float(sgd["momentum"]),
                    "decay": 0.0,
                    "nesterov": bool(sgd["nesterov"]),
                },
            },
            "loss": "categorical_crossentropy",
            "metrics": ["acc"],
            "sample_weight_mode": None,
            "loss_weights": None,
        }
        dst.attrs["keras_version"] = fixed(LEGACY_VERSION)
        dst.attrs["backend"] = fixed("tensorflow")
        dst.attrs["model_config"] = fixed(json.dumps({"class_name": "Sequential", "config": legacy_layers}))
        dst.attrs["training_config"] = fixed(json.dumps(legacy_training))

        mw_src = src["model_weights"]
        mw = dst.create_group("model_weights")
        old_names = [n.decode() if isinstance(n, bytes) else n for n in mw_src.attrs["layer_names"]]
        new_names = [LEGACY_NAMES[n] for n in old_names]
        mw.attrs["layer_names"] = fixed_list(new_names)
        mw.attrs["backend"] = fixed("tensorflow")
        mw.attrs["keras_version"] = fixed(LEGACY_VERSION)
        moments = []
        for old, new in zip(old_names, new_names):
            g = mw.create_group(new)
            weights = []
            for wn in mw_src[old].attrs["weight_names"]:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                leaf = wn.split("/")[-1]  # kernel:0 / bias:0
                weights.append((f"{new}/{leaf}", mw_src[old][wn][()]))
            if weights:
                g.attrs["weight_names"] = fixed_list([w for w, _ in weights])
            else:
                g.attrs["weight_names"] = np.array([], dtype=np.float64)
            for wname, value in weights:
                g.create_dataset(wname, data=value)
                opt_old = f"SGD/m/{old}/{wname.split('/')[-1]}"
                moments.append(src["optimizer_weights"][opt_old][()])

        ow = dst.create_group("optimizer_weights")
        names = ["SGD/iterations:0"] + [
            f"training/SGD/Variable{'' if i == 0 else '_' + str(i)}:0" for i in range(len(moments))
        ]
        ow.attrs["weight_names"] = fixed_list(names)
        ow.create_dataset(names[0], data=np.int64(src["optimizer_weights"]["iteration:0"][()]))
        for n, m in zip(names[1:], moments):
            ow.create_dataset(n, data=m)


def check_legacy_loads(tf_keras, path, x_test, expected):
    """The synthesized file must be one tf_keras itself accepts as a Keras 2 file."""
    model = tf_keras.models.load_model(path, compile=False)
    got = predict(model, (784,), x_test)
    if not np.array_equal(got, expected):
        raise RuntimeError(f"{path}: tf_keras predicts differently from the file it was derived from")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--predict", type=int, default=10000, help="test images to predict (default all 10000)")
    ap.add_argument("--train", type=int, default=3000, help="training images (default 3000)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs (default 2)")
    args = ap.parse_args()
    start = time.time()

    outdir = os.path.abspath(args.outdir)
    for sub in ("tf_keras", "keras3", "keras2_legacy"):
        os.makedirs(os.path.join(outdir, sub), exist_ok=True)
    x_train, y_train, x_test = load_mnist(args.train, args.predict)
    np.save(os.path.join(outdir, "x_test.npy"), x_test)
    np.save(os.path.join(outdir, "x_train.npy"), x_train)
    np.save(os.path.join(outdir, "y_train.npy"), y_train.argmax(axis=1).astype(np.float32))

    # Explicit selection: tf_keras is Keras 2 (the tf.keras of TF <= 2.15),
    # `keras` is Keras 3.
    import tf_keras
    import keras

    manifest = {
        "tf_keras_version": tf_keras.__version__,
        "keras3_version": keras.__version__,
        "h5py_version": h5py.__version__,
        "seed": SEED,
        "train_images": args.train,
        "epochs": args.epochs,
        "batch_size": 32,
        "x_test": "x_test.npy",
        "models": {},
    }
    for name, (builder, input_shape) in MODELS.items():
        entry = {"input_shape": list(input_shape)}
        model = train(tf_keras, builder, input_shape, x_train, y_train, args.epochs)
        save_tf_keras(outdir, name, model, input_shape, x_test, entry)
        entry["tf_keras"]["continued_loss"] = continued_loss(
            tf_keras, os.path.join(outdir, entry["tf_keras"]["h5"]), input_shape, x_train, y_train
        )
        model = train(keras, builder, input_shape, x_train, y_train, args.epochs)
        save_keras3(outdir, name, model, input_shape, x_test, entry)
        entry["keras3"]["continued_loss"] = continued_loss(
            keras, os.path.join(outdir, entry["keras3"]["keras"]), input_shape, x_train, y_train
        )
        manifest["models"][name] = entry

    legacy = os.path.join(outdir, "keras2_legacy", "tutorial.h5")
    write_keras2_legacy(os.path.join(outdir, "tf_keras", "tutorial.h5"), legacy)
    pred = np.load(os.path.join(outdir, "tf_keras", "tutorial_pred.npy"))
    check_legacy_loads(tf_keras, legacy, x_test, pred)
    np.save(os.path.join(outdir, "keras2_legacy", "tutorial_pred.npy"), pred)
    manifest["models"]["tutorial"]["keras2_legacy"] = {
        "h5": "keras2_legacy/tutorial.h5",
        "pred": "keras2_legacy/tutorial_pred.npy",
        "keras_version": LEGACY_VERSION,
    }

    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"make_fixtures: wrote {outdir} in {time.time() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
