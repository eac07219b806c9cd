"""The installed package: one abi3 wheel for CPython >= 3.9, the engine as one extension."""

import importlib.metadata
from pathlib import Path

import microdense as md


def test_the_installed_wheel_is_abi3_for_python_3_9_and_later():
    dist = importlib.metadata.distribution("microdense")
    tags = [line.split(": ", 1)[1] for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag: ")]
    assert tags and all(t.startswith("cp39-abi3-") for t in tags), tags
    assert dist.metadata["Requires-Python"] == ">=3.9"
    native = Path(md._native.__file__)
    assert native.name == "_native.abi3.so", native


def test_the_package_exports_what_the_readme_lists():
    assert set(md.__all__) == {
        "Device", "DeviceError", "Diagram", "Error", "FormatError", "History", "Model", "PlotError",
        "QuantizedModel", "ShapeError", "TrainingError", "from_keras", "load", "mnist",
    }
    for name in md.__all__:
        assert getattr(md, name).__module__.startswith("microdense"), name
