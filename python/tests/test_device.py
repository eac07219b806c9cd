"""A QEMU device from Python: info, evaluate, finetune, pull, to_keras — against the host
and the CLI's `microdense device finetune`."""

import numpy as np
import pytest

import microdense as md

from conftest import train_briefly, tutorial_model


@pytest.fixture(scope="module")
def deployed(tf_keras, mnist):
    """A tf_keras model trained briefly in memory and its microdense copy."""
    model = train_briefly(tf_keras, tutorial_model(tf_keras), mnist)
    return model, md.from_keras(model)


def test_qemu_round_trip_finetune_pull_to_keras(deployed, mnist, firmware, tmp_path, cli, tf_keras):
    model, m = deployed
    (x_train, y_train), (x_test, y_test) = mnist
    x_train = x_train.reshape(-1, 784)
    x_test = x_test.reshape(-1, 784)
    with md.Device(qemu=True, model=m, firmware=firmware) as device:
        info = device.info()
        assert info["model_state"] == "ok"
        assert info["model"]["params"] == m.count_params() == 40480
        assert info["clock"] == "instructions"

        # The device classifies as the host does, image by image.
        result = device.evaluate(x_test[:1000], y_test[:1000], return_dict=True)
        host = m.predict(x_test[:1000]).argmax(axis=1)
        assert np.array_equal(result["predictions"], host)
        assert result["accuracy"] == pytest.approx(m.evaluate(x_test[:1000], y_test[:1000])[1], abs=1e-6)

        history = device.finetune(x_train[:1000], y_train[:1000], layers=2, epochs=1, verbose=0)
        assert len(history.history["loss"]) == 1
        tuned = device.pull()

    # The first Dense layer stayed in flash; the last two were trained.
    before, after = m.get_weights(), tuned.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[4], after[4])

    # The same fine-tuning through the CLI gives the same weights, bit for bit.
    m.save(tmp_path / "deployed.mdl")
    cli("device", "--qemu", "--model", tmp_path / "deployed.mdl", "--firmware", firmware,
        "finetune", "--layers", 2, "--epochs", 1, "--limit", 1000, "-o", tmp_path / "cli.mdl")
    for ours, theirs in zip(after, md.load(tmp_path / "cli.mdl").get_weights(), strict=True):
        assert np.array_equal(ours, theirs)

    # Back in Keras, the tuned model predicts what microdense predicts.
    back = tuned.to_keras(keras=tf_keras)
    x = x_test.astype(np.float32)
    assert np.abs(back.predict(x, verbose=0) - tuned.predict(x)).max() < 2e-6


def test_qemu_finetunes_the_float_head_of_a_quantized_model(deployed, mnist, firmware, tmp_path, cli, tf_keras):
    _, m = deployed
    (x_train, y_train), (x_test, y_test) = mnist
    x_train = x_train.reshape(-1, 784)
    x_test = x_test.reshape(-1, 784)
    q = m.quantize(x_train[:500], trainable_layers=2)
    with md.Device(qemu=True, model=q, firmware=firmware) as device:
        with pytest.raises(md.DeviceError, match="the model has 2 float32 weighted layers"):
            device.finetune(x_train[:16], y_train[:16], layers=3, verbose=0)
        device.finetune(x_train[:1000], y_train[:1000], layers=2, epochs=1, verbose=0)
        result = device.evaluate(x_test[:1000], y_test[:1000], return_dict=True)
        tuned = device.pull()

    # The same int8 body with the tuned float head: the host's integer kernels and head
    # give the device's predictions.
    assert isinstance(tuned, md.QuantizedModel)
    assert (tuned.int8_layers, tuned.float_layers) == (1, 2)
    assert np.array_equal(tuned.predict(x_test[:1000]).argmax(axis=1), result["predictions"])
    assert not np.array_equal(tuned.predict(x_test[:10]), q.predict(x_test[:10]))

    # The same fine-tuning through the CLI pulls the same file, byte for byte.
    q.save(tmp_path / "q.mdl")
    cli("device", "--qemu", "--model", tmp_path / "q.mdl", "--firmware", firmware,
        "finetune", "--layers", 2, "--epochs", 1, "--limit", 1000, "-o", tmp_path / "cli.mdl")
    assert (tmp_path / "cli.mdl").read_bytes() == tuned.to_mdl()

    # Keras gets it dequantised, with a warning, and scores what the device scores within
    # the quantisation error (the bound test_quantize.py puts on a dequantised copy).
    with pytest.warns(UserWarning, match="dequantised"):
        back = tuned.to_keras(keras=tf_keras)
    keras_classes = back.predict(x_test[:1000].astype(np.float32), verbose=0).argmax(axis=1)
    keras_accuracy = np.mean(keras_classes == y_test[:1000])
    assert abs(keras_accuracy - result["accuracy"]) <= 0.01, (keras_accuracy, result["accuracy"])


def test_device_calls_after_close_fail_cleanly(deployed, firmware):
    _, m = deployed
    device = md.Device(qemu=True, model=m, firmware=firmware)
    assert "QEMU" in repr(device)
    device.close()
    with pytest.raises(md.DeviceError, match="closed"):
        device.info()
    assert "closed" in repr(device)


def test_device_refuses_float_samples(deployed, mnist, firmware):
    _, m = deployed
    _, (x_test, y_test) = mnist
    with md.Device(qemu=True, model=m, firmware=firmware) as device:
        with pytest.raises(md.ShapeError, match="uint8"):
            device.evaluate(x_test[:10].reshape(10, 784).astype(np.float32), y_test[:10])
