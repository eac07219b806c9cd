"""Errors are microdense.Error subclasses with the CLI's messages; nothing crashes."""

import numpy as np
import pytest

import microdense as md


def test_error_classes():
    for cls in (md.FormatError, md.ShapeError, md.TrainingError, md.DeviceError, md.PlotError):
        assert issubclass(cls, md.Error) and issubclass(cls, Exception)


def test_file_errors_carry_the_cli_message(tmp_path, cli):
    for name, content in [("missing.h5", None), ("model.txt", b"x"), ("bad.h5", b"not hdf5"),
                          ("bad.mdl", b"MDL?" * 8), ("bad.json", b"{\"class_name\": \"Sequential\"")]:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(md.FormatError) as raised:
            md.load(path)
        done = cli("summary", path, check=False)
        assert done.returncode != 0
        assert str(raised.value) in done.stderr, (str(raised.value), done.stderr)


def test_unsupported_compile_settings_are_format_errors():
    m = md.Model.from_spec("4,2:softmax")
    # from_logits is computed for the cross-entropies; a loss without it refuses it.
    m.compile(loss={"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert m.compiled
    with pytest.raises(md.FormatError, match="from_logits"):
        m.compile(loss={"class_name": "MeanSquaredError", "config": {"from_logits": True}})
    with pytest.raises(md.FormatError, match="reduction"):
        m.compile(loss={"class_name": "CategoricalCrossentropy", "config": {"reduction": "sum"}})
    with pytest.raises(md.FormatError, match="loss"):
        m.compile(loss="no_such_loss")


def test_shape_errors_name_what_is_wrong():
    m = md.Model.from_spec("4,3:relu,2:softmax")
    m.compile()
    with pytest.raises(md.ShapeError, match=r"x has shape \[5, 3\]; the model takes samples of 4 values"):
        m.predict(np.zeros((5, 3), np.float32))
    with pytest.raises(md.ShapeError, match="x has shape"):
        m.predict(np.zeros(4, np.float32))
    with pytest.raises(md.ShapeError, match="labels of shape"):
        m.evaluate(np.zeros((5, 4), np.float32), np.zeros(4, np.int64))
    with pytest.raises(md.ShapeError, match="labels from 0 to 2"):
        m.fit(np.zeros((3, 4), np.float32), np.array([0, 1, 2]), verbose=0)
    with pytest.raises(md.ShapeError, match="not one-hot"):
        m.evaluate(np.zeros((2, 4), np.float32), np.full((2, 2), 0.5))
    with pytest.raises(md.ShapeError, match="float32"):
        m.predict(np.array([["a"] * 4]))


def test_training_errors():
    m = md.Model.from_spec("4,2:softmax")
    x, y = np.zeros((4, 4), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(md.TrainingError, match="compile it first"):
        m.fit(x, y, verbose=0)
    with pytest.raises(md.TrainingError, match="compile it first"):
        m.evaluate(x, y)
    m.compile()
    with pytest.raises(md.TrainingError, match="batch size"):
        m.fit(x, y, batch_size=0, verbose=0)


def test_option_errors():
    m = md.Model.from_spec("4,2:softmax")
    m.compile()
    for batch in (0, 65, 2**62):
        with pytest.raises(md.TrainingError, match=f"batch={batch}: must be from 1 to 64"):
            m.inspect(batch=batch)
    with pytest.raises(md.FormatError, match="trainable layers"):
        m.inspect(trainable_layers=5)
    with pytest.raises(md.PlotError, match="dpi 0 is outside 1..=1200"):
        m.plot(dpi=0)


def test_save_errors(tmp_path):
    m = md.Model.from_spec("4,2:softmax")
    with pytest.raises(md.FormatError, match="accepted|use|\\.h5"):
        m.save(tmp_path / "model.txt")
    with pytest.raises(md.FormatError, match="options of the .mdl format"):
        m.save(tmp_path / "m.h5", trainable_layers=1)
    with pytest.raises(md.FormatError):
        m.save(tmp_path / "no-such-dir" / "m.mdl")


def test_device_errors():
    with pytest.raises(md.DeviceError, match="say where the device is"):
        md.Device()
    with pytest.raises(md.DeviceError, match="/dev/no-such-port"):
        md.Device(port="/dev/no-such-port")
    with pytest.raises(md.DeviceError, match="firmware|no-such.elf"):
        md.Device(qemu=True, firmware="/no-such.elf")
    for seconds in (0, -1, float("nan"), float("inf")):
        with pytest.raises(md.DeviceError, match=r"timeout=\S+: give seconds above 0"):
            md.Device(port="/dev/null", timeout=seconds)


def test_device_errors_carry_the_cli_message(cli):
    with pytest.raises(md.DeviceError) as raised:
        md.Device(port="/dev/no-such-port")
    done = cli("device", "--port", "/dev/no-such-port", "info", check=False)
    assert done.returncode != 0
    assert str(raised.value) in done.stderr, (str(raised.value), done.stderr)
