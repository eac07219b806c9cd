"""fit, evaluate and predict against the CLI's `microdense train`, and Ctrl-C."""

import json
import _thread
import threading

import numpy as np
import pytest

import microdense as md

from conftest import TUTORIAL


def test_fit_matches_microdense_train_bit_for_bit(mnist, cli, tmp_path):
    (x_train, y_train), (x_test, y_test) = mnist
    done = cli("train", "--epochs", 2, "--seed", 3, "--out", tmp_path / "cli.h5", "--json")
    expected = json.loads(done.stdout.strip().splitlines()[-1])

    m = md.Model.from_spec(TUTORIAL, seed=3)
    m.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    history = m.fit(x_train, y_train, epochs=2, batch_size=64, seed=3, verbose=0)

    assert history.history["loss"] == [e["loss"] for e in expected["epochs"]]
    assert history.history["accuracy"] == [e["accuracy"] for e in expected["epochs"]]
    trained = md.load(tmp_path / "cli.h5")
    for ours, theirs in zip(m.get_weights(), trained.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)
    assert m.evaluate(x_test, y_test) == [expected["test"]["loss"], expected["test"]["accuracy"]]
    assert m.training_config["iterations"] == trained.training_config["iterations"] == 2 * 938


def test_float32_one_hot_and_strided_inputs_train_like_bytes(mnist):
    (x_train, y_train), _ = mnist
    x, y = x_train[:3000], y_train[:3000]
    results = []
    for xs, ys in [
        (x, y),                                          # uint8, read in place
        (x.reshape(3000, 784).astype(np.float32), y),    # float32, read in place
        (np.asfortranarray(x.astype(np.float64)), np.eye(10, dtype=np.float32)[y]),  # copied
    ]:
        m = md.Model.from_spec(TUTORIAL, seed=5)
        m.compile()
        m.fit(xs, ys, epochs=1, batch_size=32, seed=5, verbose=0)
        results.append(m.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert np.array_equal(a, b)


def test_fit_prints_keras_progress_and_validation(mnist, capsys):
    (x_train, y_train), (x_test, y_test) = mnist
    m = md.Model.from_spec(TUTORIAL, seed=1)
    m.compile()
    history = m.fit(x_train[:2000], y_train[:2000], epochs=2, batch_size=64,
                    validation_data=(x_test[:500], y_test[:500]), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "32/32 [==============================]" in out and "val_accuracy:" in out
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == [0, 1]
    assert history.history["val_loss"][1] == m.evaluate(x_test[:500], y_test[:500])[0]


def test_predict_and_evaluate_agree(mnist):
    _, (x_test, y_test) = mnist
    m = md.Model.from_spec(TUTORIAL, seed=1)
    m.compile()
    p = m.predict(x_test)
    assert p.dtype == np.float32 and p.shape == (10000, 10)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
    loss, accuracy = m.evaluate(x_test, y_test)
    assert accuracy == np.mean(p.argmax(axis=1) == y_test)
    assert m.evaluate(x_test, y_test, return_dict=True) == {"loss": loss, "accuracy": accuracy}


def test_ctrl_c_stops_fit_between_batches_and_keeps_the_steps_made(mnist):
    (x_train, y_train), _ = mnist
    m = md.Model.from_spec(TUTORIAL, seed=1)
    m.compile()
    epochs = 200
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    finally:
        timer.cancel()
    steps = m.training_config["iterations"]
    assert 0 < steps < epochs * 938
    m.fit(x_train[:64], y_train[:64], epochs=1, batch_size=64, verbose=0)
    assert m.training_config["iterations"] == steps + 1
