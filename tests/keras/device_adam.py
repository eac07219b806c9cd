"""The Keras side of the device's Adam round trip (host/tests/cli_device.rs).

    device_adam.py make OUT.h5     tf_keras trains the tutorial model with Adam for one
                                   epoch on 512 MNIST images (raw pixels, batch 32: 16
                                   steps) and saves it with its optimizer state.
    device_adam.py resume IN.h5    tf_keras loads a model microdense fine-tuned on the
                                   device, prints (as JSON) its optimizer's class, iteration
                                   count and the last Dense kernel's first and second
                                   moments, then resumes training for one epoch on 64 images.
"""
import gzip
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tf_keras as keras


def idx(name):
    with gzip.open(os.path.join(os.environ["MNIST_DIR"], name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(n):
    x = idx("train-images-idx3-ubyte.gz").reshape(-1, 784)[:n].astype("float32")
    y = keras.utils.to_categorical(idx("train-labels-idx1-ubyte.gz")[:n], 10)
    return x, y


mode, path = sys.argv[1], sys.argv[2]
if mode == "make":
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(50), keras.layers.Activation("sigmoid"),
        keras.layers.Dense(20), keras.layers.Activation("sigmoid"),
        keras.layers.Dense(10), keras.layers.Activation("softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = images(512)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    model.save(path)
else:
    model = keras.models.load_model(path)
    optimizer = model.optimizer
    last = model.layers[-2].kernel.name.split(":")[0]  # the last Dense layer's kernel
    moments = {
        slot: [float(v) for v in var.numpy().ravel()]
        for var in optimizer.variables()
        for slot in ("m", "v")
        if var.name.split(":")[0].endswith(f"{slot}/{last}")
    }
    report = {
        "class": type(optimizer).__name__,
        "iterations": int(optimizer.iterations.numpy()),
        "m": moments["m"],
        "v": moments["v"],
    }
    x, y = images(64)
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    report["resumed_iterations"] = int(optimizer.iterations.numpy())
    report["resumed_loss"] = float(history.history["loss"][0])
    print(json.dumps(report))
