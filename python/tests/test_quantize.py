"""int8 from Python: ``Model.quantize`` gives the CLI's ``microdense quantize`` file byte for
byte, keeps the float model's accuracy, and the emulated device classifies as it does."""

import json

import numpy as np
import pytest

import microdense as md

from conftest import train_briefly, tutorial_model


@pytest.fixture(scope="module")
def float_model(tf_keras, mnist):
    return md.from_keras(train_briefly(tf_keras, tutorial_model(tf_keras), mnist))


@pytest.mark.parametrize("k", [0, 1])
def test_quantize_matches_the_cli_and_keeps_accuracy(float_model, mnist, cli, tmp_path, k):
    (x_train, _), (x_test, y_test) = mnist
    q = float_model.quantize(x_train[:500].reshape(-1, 784), trainable_layers=k)
    assert (q.int8_layers, q.float_layers) == (3 - k, k)
    q.save(tmp_path / "py.mdl")

    float_model.save(tmp_path / "m.h5")
    cli("quantize", tmp_path / "m.h5", tmp_path / "cli.mdl", "--calibrate", 500, "--trainable-layers", k)
    assert (tmp_path / "py.mdl").read_bytes() == (tmp_path / "cli.mdl").read_bytes() == q.to_mdl()

    x = x_test.reshape(-1, 784)
    int8_accuracy = q.evaluate(x, y_test)[1]
    float_accuracy = float_model.evaluate(x, y_test)[1]
    assert abs(int8_accuracy - float_accuracy) <= 0.005, (int8_accuracy, float_accuracy)
    scores = q.predict(x[:100])
    assert scores.shape == (100, 10) and scores.dtype == np.float32

    # A float copy for Keras files scores what the int8 model scores, within its
    # quantisation error.
    back_accuracy = q.dequantized().evaluate(x, y_test)[1]
    assert abs(back_accuracy - int8_accuracy) <= 0.01, (back_accuracy, int8_accuracy)


def test_quantized_models_are_saved_as_mdl_only(float_model, mnist, tmp_path):
    (x_train, _), _ = mnist
    q = float_model.quantize(x_train[:100].reshape(-1, 784))
    with pytest.raises(md.FormatError, match=r"\.mdl"):
        q.save(tmp_path / "q.h5")
    with pytest.raises(md.TrainingError, match="calibration"):
        float_model.quantize(x_train[:0].reshape(-1, 784))
    with pytest.raises(md.FormatError, match="no Dense layer"):
        float_model.quantize(x_train[:100].reshape(-1, 784), trainable_layers=3)


def test_the_device_runs_the_quantized_model_as_the_host_does(float_model, mnist, firmware):
    (x_train, _), (x_test, y_test) = mnist
    q = float_model.quantize(x_train[:500].reshape(-1, 784))
    x = x_test[:300].reshape(-1, 784)
    with md.Device(qemu=True, model=q, firmware=firmware) as device:
        result = device.evaluate(x, y_test[:300], return_dict=True)
    assert np.array_equal(result["predictions"], q.predict(x).argmax(axis=1))


def test_md_load_reads_an_int8_mdl_as_a_quantized_model(float_model, mnist, tmp_path, cli):
    _, (x_test, _) = mnist
    float_model.save(tmp_path / "m.h5")
    cli("quantize", tmp_path / "m.h5", tmp_path / "q.mdl", "--calibrate", 500, "--trainable-layers", 1)
    q = md.load(tmp_path / "q.mdl")
    assert isinstance(q, md.QuantizedModel) and (q.int8_layers, q.float_layers) == (2, 1)
    assert q.to_mdl() == (tmp_path / "q.mdl").read_bytes()
    x = x_test[:1000].reshape(-1, 784)
    assert np.mean(q.predict(x).argmax(axis=1) == float_model.predict(x).argmax(axis=1)) > 0.95
    expected = json.loads(cli("evaluate", tmp_path / "q.mdl", "--json").stdout.strip().splitlines()[-1])
    assert q.evaluate(x_test, mnist[1][1]) == [expected["loss"], expected["accuracy"]]
