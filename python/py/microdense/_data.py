"""Labels and arrays as the native module takes them."""

import numpy as np

from . import _native


def class_labels(y, n, classes):
    """``y`` as ``uint32`` class labels: integer labels ``(n,)`` (or ``(n, 1)``) or
    one-hot rows ``(n, classes)``; anything else raises ``ShapeError`` naming the problem."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        if y.shape != (n, classes):
            raise _native.ShapeError(
                f"y has shape {y.shape}; one-hot labels for {n} samples of a model with "
                f"{classes} outputs have shape ({n}, {classes})")
        ones = y == 1
        if not (np.all(ones | (y == 0)) and np.all(ones.sum(axis=1) == 1)):
            raise _native.ShapeError(
                "y has rows that are not one-hot: microdense trains on class labels "
                "(integers, or rows with a single 1)")
        y = ones.argmax(axis=1)
    elif y.ndim != 1 or y.shape[0] != n:
        raise _native.ShapeError(
            f"y has shape {y.shape}; {n} samples need labels of shape ({n},) or ({n}, {classes})")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y) & (y == np.round(y))):
            raise _native.ShapeError("y holds labels that are not whole numbers")
    elif y.dtype.kind not in "iub":
        raise _native.ShapeError(f"y has dtype {y.dtype}; labels are integers")
    limit = max(classes, 2)  # one sigmoid output: labels 0 and 1
    if y.size and (y.min() < 0 or y.max() >= limit):
        raise _native.ShapeError(
            f"y holds labels from {y.min()} to {y.max()}; the model takes 0..{limit - 1}")
    return np.ascontiguousarray(y, dtype=np.uint32)
