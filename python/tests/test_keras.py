"""Live Keras models in and out: from_keras, predict against Keras, to_keras, .mdl bytes."""

import numpy as np
import pytest

import microdense as md


def _x_test(mnist):
    _, (x_test, _) = mnist
    return x_test.reshape(len(x_test), 784).astype(np.float32)


def test_from_keras_predicts_as_keras_on_the_10000_test_images(trained_keras, mnist):
    k, model = trained_keras
    m = md.from_keras(model)
    x = _x_test(mnist)
    ours = m.predict(x)
    theirs = model.predict(x, verbose=0)
    assert ours.dtype == np.float32 and ours.shape == (10000, 10)
    difference = np.abs(ours - theirs).max()
    print(f"{k.__name__}: largest difference over 10,000 x 10 outputs: {difference:.3g}")
    assert difference < 2e-6
    assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))


def test_from_keras_takes_weights_compile_settings_and_step_count(trained_keras):
    k, model = trained_keras
    m = md.from_keras(model)
    for ours, theirs in zip(m.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)
    config = m.training_config
    assert config["loss"] == "categorical_crossentropy"
    assert config["learning_rate"] == pytest.approx(0.01)
    assert config["momentum"] == 0.0
    assert config["iterations"] == int(np.asarray(model.optimizer.iterations)) == 94
    assert md.from_keras(model, compile=False).training_config is None


def test_to_keras_builds_a_live_model_that_predicts_the_same(trained_keras, mnist):
    k, model = trained_keras
    m = md.from_keras(model)
    back = m.to_keras(keras=k)
    assert type(back).__module__.split(".")[0] == k.__name__
    x = _x_test(mnist)[:2000]
    assert np.array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert back.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    assert back.loss == "categorical_crossentropy"


def test_to_keras_picks_tf_keras_or_keras_by_name(tf_keras, keras3):
    m = md.Model.from_spec("4,3:relu,2:softmax", seed=2)
    assert type(m.to_keras("tf_keras")).__module__.startswith("tf_keras")
    assert type(m.to_keras("keras")).__module__.startswith("keras")
    with pytest.raises(md.Error, match="use \"keras\""):
        m.to_keras("torch")


def test_save_mdl_equals_the_cli_convert_byte_for_byte(trained_keras, tmp_path, cli):
    k, model = trained_keras
    model.save(tmp_path / "keras.h5")
    m = md.from_keras(model)

    cli("convert", tmp_path / "keras.h5", tmp_path / "cli.mdl", "--with-training-state")
    m.save(tmp_path / "py.mdl")
    assert (tmp_path / "py.mdl").read_bytes() == (tmp_path / "cli.mdl").read_bytes()

    cli("convert", tmp_path / "keras.h5", tmp_path / "cli-plain.mdl")
    m.save(tmp_path / "py-plain.mdl", with_training_state=False)
    assert (tmp_path / "py-plain.mdl").read_bytes() == (tmp_path / "cli-plain.mdl").read_bytes()

    cli("convert", tmp_path / "keras.h5", tmp_path / "cli-2.mdl", "--trainable-layers", 2)
    m.save(tmp_path / "py-2.mdl", trainable_layers=2)
    assert (tmp_path / "py-2.mdl").read_bytes() == (tmp_path / "cli-2.mdl").read_bytes()
    assert m.to_mdl(trainable_layers=2) == (tmp_path / "cli-2.mdl").read_bytes()


def test_from_keras_refuses_a_layer_microdense_does_not_have(keras3):
    model = keras3.Sequential([
        keras3.Input(shape=(28, 28, 1)),
        keras3.layers.Conv2D(2, 3),
        keras3.layers.Flatten(),
        keras3.layers.Dense(10, activation="softmax"),
    ])
    with pytest.raises(md.FormatError, match="Conv2D"):
        md.from_keras(model)


def test_from_keras_drops_an_optimizer_microdense_cannot_train_with(keras3, tmp_path):
    model = keras3.Sequential([keras3.Input(shape=(4,)), keras3.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras3.optimizers.Adadelta(), loss="categorical_crossentropy")
    with pytest.warns(UserWarning, match="Adadelta"):
        m = md.from_keras(model)
    assert m.training_config is None
    assert m.count_params() == 10
    model.save(tmp_path / "adadelta.keras")
    with pytest.warns(UserWarning, match="Adadelta"):
        loaded = md.load(tmp_path / "adadelta.keras")
    assert "Adadelta" in loaded.dropped_training


def test_save_weights_h5_is_what_keras3_load_weights_reads(keras3, tmp_path):
    m = md.Model.from_spec("784,50,sigmoid,20,sigmoid,10,softmax", seed=3)
    m.save(tmp_path / "m.weights.h5")
    fresh = keras3.models.clone_model(m.to_keras(keras=keras3))  # new random weights
    assert not np.array_equal(fresh.get_weights()[0], m.get_weights()[0])
    fresh.load_weights(tmp_path / "m.weights.h5")
    for a, b in zip(fresh.get_weights(), m.get_weights(), strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(md.FormatError, match="weights"):
        md.load(tmp_path / "m.weights.h5")
