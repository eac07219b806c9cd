"""A QEMU device from Python: info, evaluate, finetune, pull, to_keras — against the host
and the CLI's `microdense device finetune`."""

import os
import re
import signal
import socket
import threading
import time

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


def test_device_refuses_float_samples_and_bad_options(deployed, mnist, firmware):
    _, m = deployed
    _, (x_test, y_test) = mnist
    x, y = x_test[:10].reshape(10, 784), y_test[:10]
    with md.Device(qemu=True, model=m, firmware=firmware) as device:
        with pytest.raises(md.ShapeError, match="uint8"):
            device.evaluate(x.astype(np.float32), y)
        for options, message in [({"batch_size": 0}, "batch_size=0: must be from 1 to 64"),
                                 ({"batch_size": 65}, "batch_size=65: must be from 1 to 64"),
                                 ({"learning_rate": float("nan")}, "learning_rate=NaN: must be positive"),
                                 ({"learning_rate": -1.0}, "learning_rate=-1: must be positive"),
                                 ({"momentum": 1.5}, "momentum=1.5: must be from 0 to 1")]:
            with pytest.raises(md.TrainingError, match=message):
                device.finetune(x, y, verbose=0, **options)
        with pytest.raises(md.ShapeError, match="labels from 1 to 10; the model takes 0..9"):
            device.finetune(x, np.arange(10) + 1, verbose=0)
        # Nothing reached the device: its model is untouched.
        assert np.array_equal(device.pull().get_weights()[4], m.get_weights()[4])


def _bridge(pty_leader, sock):
    """Copies bytes both ways between a pty's leader side and a socket until either closes."""
    def pump(read, write):
        try:
            while True:
                data = read()
                if not data:
                    break
                write(data)
        except OSError:
            pass

    threads = [
        threading.Thread(target=pump, args=(lambda: os.read(pty_leader, 4096), sock.sendall), daemon=True),
        threading.Thread(target=pump, args=(lambda: sock.recv(4096), lambda d: os.write(pty_leader, d)),
                         daemon=True),
    ]
    for t in threads:
        t.start()
    return threads


def test_device_on_a_port_a_socket_and_a_serial_terminal(deployed, mnist, firmware, tmp_path, cli):
    """`Device(port=...)` as `microdense device --port`: the UART socket of a QEMU kept by the
    CLI, then the same device behind a real terminal (a pty bridged to that socket)."""
    _, m = deployed
    _, (x_test, y_test) = mnist
    x = x_test[:200].reshape(-1, 784)
    m.save(tmp_path / "m.mdl")
    kept = cli("device", "--qemu", "--keep", "--model", tmp_path / "m.mdl", "--firmware", firmware, "info")
    found = re.search(r"QEMU keeps running \(pid (\d+)\); connect with --port (\S+)", kept.stderr)
    assert found, kept.stderr
    pid, socket_path = int(found.group(1)), found.group(2)
    try:
        with md.Device(port=socket_path) as device:
            assert device.info()["model"]["params"] == 40480
            on_socket = device.evaluate(x, y_test[:200], return_dict=True)
        assert np.array_equal(on_socket["predictions"], m.predict(x).argmax(axis=1))

        leader, follower = os.openpty()
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(socket_path)
        _bridge(leader, sock)
        with md.Device(port=os.ttyname(follower), baud=115200) as device:
            assert device.info()["model"]["params"] == 40480
            on_serial = device.evaluate(x, y_test[:200], return_dict=True)
            device.finetune(x, y_test[:200], layers=1, epochs=1, verbose=0)
            tuned = device.pull()
        assert np.array_equal(on_serial["predictions"], on_socket["predictions"])
        assert not np.array_equal(tuned.get_weights()[4], m.get_weights()[4])
        sock.close()
        os.close(follower)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_device_takes_any_model_file(deployed, mnist, firmware, tmp_path):
    _, m = deployed
    _, (x_test, y_test) = mnist
    m.save(tmp_path / "m.keras")
    with md.Device(qemu=True, model=tmp_path / "m.keras", firmware=firmware) as device:
        assert device.info()["model"]["params"] == 40480
    with pytest.raises(md.DeviceError, match="model= takes"):
        md.Device(qemu=True, model=42, firmware=firmware)
    with pytest.raises(md.FormatError, match="no-such.h5"):
        md.Device(qemu=True, model=tmp_path / "no-such.h5", firmware=firmware)


def test_ctrl_c_stops_device_finetune_and_the_device_stays_usable(deployed, mnist, firmware, ctrl_c):
    _, m = deployed
    (x_train, y_train), (x_test, y_test) = mnist
    # 2,000 images for 3 epochs: a missed interrupt fails the test in about a minute
    # instead of running ten epochs of 60,000 on QEMU.
    x, y = x_train.reshape(-1, 784)[:2000], y_train[:2000]
    with md.Device(qemu=True, model=m, firmware=firmware) as device:
        sent = {}

        def fire():
            sent["at"] = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

        timer = threading.Timer(1.0, fire)
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                device.finetune(x, y, layers=2, epochs=3, verbose=0)
            delay = time.monotonic() - sent["at"]
        finally:
            timer.cancel()
        print(f"finetune: KeyboardInterrupt {delay:.3f} s after SIGINT")
        assert delay < 5.0  # one step of 16 samples, not the ten epochs
        # Some steps were made on the device, and it answers as before.
        tuned = device.pull()
        assert not np.array_equal(tuned.get_weights()[4], m.get_weights()[4])
        assert device.info()["model_state"] == "ok"
        assert len(device.evaluate(x_test[:100].reshape(-1, 784), y_test[:100])) == 2
