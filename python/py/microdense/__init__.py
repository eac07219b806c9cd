"""microdense for Python: train, convert and deploy Keras dense models to a microcontroller.

The engine is the Rust workspace's ``microdense`` library (the CLI's), loaded as the
extension module ``microdense._native``.
"""

from ._native import (
    Device,
    DeviceError,
    Diagram,
    Error,
    FormatError,
    Model,
    PlotError,
    QuantizedModel,
    ShapeError,
    TrainingError,
    load,
    mnist,
)
from ._keras import from_keras
from ._progress import History

__all__ = [
    "Device", "DeviceError", "Diagram", "Error", "FormatError", "History", "Model",
    "PlotError", "QuantizedModel", "ShapeError", "TrainingError", "from_keras", "load", "mnist",
]
