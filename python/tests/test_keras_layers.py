"""Live Keras models beyond the tutorial's, in both Kerases: a functional graph with merges,
BatchNormalization, LayerNormalization, an adapted Normalization, PReLU and Dropout, compiled
with Adam — through from_keras, to_keras and every file format Keras writes."""

import json

import numpy as np
import pytest

import microdense as md


def graph_model(k, x):
    """A functional model with every kind of weighted layer, trained one epoch with Adam."""
    k.utils.set_random_seed(3)
    inputs = k.Input(shape=(784,))
    norm = k.layers.Normalization()
    norm.adapt(x[:2000])
    h = norm(inputs)
    a = k.layers.Dense(32, activation="relu")(h)
    a = k.layers.BatchNormalization()(a)
    b = k.layers.Dense(32)(h)
    b = k.layers.PReLU()(b)
    s = k.layers.Add()([a, b])
    c = k.layers.Concatenate()([s, b])
    c = k.layers.LayerNormalization()(c)
    c = k.layers.Dropout(0.1)(c)
    outputs = k.layers.Dense(10, activation="softmax")(c)
    model = k.Model(inputs, outputs)
    model.compile(optimizer=k.optimizers.Adam(learning_rate=0.002), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module", params=["tf_keras", "keras3"])
def graph(request, mnist):
    """``(keras module, trained functional model, float32 test images)``."""
    k = request.getfixturevalue(request.param)
    (x_train, y_train), (x_test, _) = mnist
    x = x_train[:4000].reshape(-1, 784).astype(np.float32)
    model = graph_model(k, x)
    model.fit(x, k.utils.to_categorical(y_train[:4000], 10), batch_size=64, epochs=1, verbose=0)
    return k, model, x_test[:2000].reshape(-1, 784).astype(np.float32)


def test_from_keras_takes_a_functional_graph_with_every_weighted_layer(graph):
    k, model, x = graph
    m = md.from_keras(model)
    assert [cls for _, cls in m.layers] == [type(layer).__name__ for layer in model.layers[1:]]
    theirs = model.get_weights()
    ours = m.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)
    # Normalization's count (an int64 after mean and variance: the samples tf_keras adapted
    # on; Keras 3 leaves it 0) is carried.
    assert ours[2].dtype == np.int64 and int(ours[2]) == (2000 if k.__name__ == "tf_keras" else 0)
    difference = np.abs(m.predict(x) - model.predict(x, verbose=0)).max()
    print(f"{k.__name__}: largest difference on 2,000 images: {difference:.3g}")
    assert difference < 1e-5


def test_from_keras_takes_adam_with_its_step_count(graph):
    k, model, _ = graph
    config = md.from_keras(model).training_config
    assert config["optimizer"] == "Adam"
    assert config["learning_rate"] == pytest.approx(0.002)
    assert config["iterations"] == int(np.asarray(model.optimizer.iterations)) == 63


def test_to_keras_rebuilds_the_graph_and_the_optimizer(graph):
    k, model, x = graph
    back = md.from_keras(model).to_keras(keras=k)
    assert type(back).__module__.split(".")[0] == k.__name__
    assert [type(layer).__name__ for layer in back.layers] == [type(layer).__name__ for layer in model.layers]
    assert np.array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(back.optimizer).__name__ == "Adam"
    assert back.optimizer.get_config()["learning_rate"] == pytest.approx(0.002)
    assert int(np.asarray(back.optimizer.iterations)) == 63


def test_md_load_reads_every_file_keras_writes(graph, tmp_path, cli):
    k, model, x = graph
    expected = model.predict(x, verbose=0)
    # (.keras first: Keras 3's legacy .h5 saving drops the live model's optimizer config.)
    names = ["m.keras", "m.h5"] if k.__name__ == "keras" else ["m.h5"]
    for name in names:
        model.save(tmp_path / name)
        m = md.load(tmp_path / name)
        assert np.abs(m.predict(x) - expected).max() < 1e-5, name
        assert m.training_config["optimizer"] == "Adam", name
        # The CLI reads it to the same model.
        cli("convert", tmp_path / name, tmp_path / f"{name}.mdl", "--with-training-state")
        assert (tmp_path / f"{name}.mdl").read_bytes() == m.to_mdl(), name
    (tmp_path / "m.json").write_text(model.to_json())
    architecture = md.load(tmp_path / "m.json")
    assert architecture.layers == md.from_keras(model).layers
    assert json.loads(architecture.to_json())["class_name"] == "Functional"


@pytest.mark.parametrize("optimizer", ["Adam", "Nadam", "RMSprop", "SGD"])
@pytest.mark.parametrize("flavour", ["tf_keras", "keras3"])
def test_the_optimizer_state_goes_to_microdense_and_back(request, mnist, flavour, optimizer):
    k = request.getfixturevalue(flavour)
    (x_train, y_train), _ = mnist
    x = x_train[:1024].reshape(-1, 784).astype(np.float32) / 255
    y = k.utils.to_categorical(y_train[:1024], 10)
    k.utils.set_random_seed(1)
    settings = {"momentum": 0.9} if optimizer in ("SGD", "RMSprop") else {}
    model = k.Sequential([k.Input(shape=(784,)), k.layers.Dense(16, activation="relu"),
                          k.layers.BatchNormalization(), k.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=getattr(k.optimizers, optimizer)(**settings), loss="categorical_crossentropy")
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)

    m = md.from_keras(model)
    iterations, _, buffers = m.keras_optimizer_state()
    assert iterations == 8
    theirs = [np.asarray(v) for v in md._keras._variables(model.optimizer) if len(v.shape) > 0]
    assert len(buffers) == len(theirs) > 0
    for a, b in zip(buffers, theirs, strict=True):
        assert np.array_equal(a, b)

    back = m.to_keras(keras=k)
    assert type(back.optimizer).__name__ == optimizer
    ours = [np.asarray(v) for v in md._keras._variables(back.optimizer) if len(v.shape) > 0]
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)
    # One more epoch in Keras from the original and from the round trip: the same weights.
    for each in (model, back):
        each.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(a, b)
