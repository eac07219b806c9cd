"""Live Keras models in and out: ``from_keras`` reads a tf_keras 2.x or Keras 3 model's
architecture, weights and compile settings in memory; ``Model.to_keras`` builds one."""

import json
import sys
import warnings

import numpy as np

from . import _native


def _plain(value):
    """JSON for NumPy scalars and arrays inside Keras configs."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _named(obj):
    """A Keras object (optimizer, loss, metric) as its config, a name as itself."""
    if obj is None or isinstance(obj, (str, dict)):
        return obj
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(obj, "__name__", str(obj))


def training_config_json(optimizer=None, loss=None, metrics=None):
    """``compile``'s arguments as a Keras ``training_config`` in JSON (what the host reads
    from ``.h5`` files): the optimizer (default ``"sgd"``), the loss (default
    ``"categorical_crossentropy"``) and the metrics (default ``["accuracy"]``)."""
    if isinstance(optimizer, str) and optimizer.lstrip().startswith("{"):
        optimizer = json.loads(optimizer)
    config = {
        "optimizer_config": _named("sgd" if optimizer is None else optimizer),
        "loss": _named("categorical_crossentropy" if loss is None else loss),
        "metrics": [_named(m) for m in (["accuracy"] if metrics is None else metrics)],
    }
    return json.dumps(config, default=_plain)


def _is_compiled(model):
    if getattr(model, "optimizer", None) is None:
        return False
    return bool(getattr(model, "compiled", getattr(model, "_is_compiled", False)))


def _compile_config(model):
    """The live model's compile settings as the host reads them, or None."""
    if not _is_compiled(model):
        return None
    config = dict(model.get_compile_config() or {}) if hasattr(model, "get_compile_config") else {}
    config.setdefault("loss", _named(model.loss))
    # The live optimizer, not the config's copy: Keras 3's legacy .h5 saving removes that.
    config["optimizer"] = _named(model.optimizer)
    return config


def from_keras(model, compile=True):
    """A ``microdense.Model`` from a live tf_keras 2.x or Keras 3 model: its architecture
    (``to_json()``), weights (``get_weights()``) and, with ``compile=True`` when the model
    is compiled, its loss, SGD settings and step count. No file is written. Layers
    microdense does not have raise ``FormatError`` naming them; compile settings it cannot
    train with are dropped with a ``UserWarning`` (as ``load_model(compile=False)``)."""
    architecture = json.loads(model.to_json())
    architecture.pop("compile_config", None)
    m = _native.Model.from_json(json.dumps(architecture))
    m.set_weights(model.get_weights())
    config = _compile_config(model) if compile else None
    if config is not None:
        try:
            m.compile_json(json.dumps(config, default=_plain))
        except _native.FormatError as e:
            # As md.load and the CLI: the model loads for inference without its training setup.
            warnings.warn(f"the model is taken without its training setup: {e}", UserWarning, stacklevel=2)
            return m
        m.iterations = int(np.asarray(model.optimizer.iterations))
    return m


def _keras_module(keras):
    """The Keras to build with: a module, ``"keras"``, ``"tf_keras"``, or (None) tf_keras
    when the session imported it, else Keras 3, else tf_keras."""
    if keras is None:
        if "tf_keras" in sys.modules:
            return sys.modules["tf_keras"]
        try:
            import keras as keras3
        except ImportError:
            keras3 = None
        if keras3 is not None and int(keras3.__version__.split(".")[0]) >= 3:
            return keras3
        import tf_keras
        return tf_keras
    if isinstance(keras, str):
        if keras not in ("keras", "tf_keras"):
            raise _native.Error(f'keras={keras!r}: use "keras" (Keras 3), "tf_keras" or a module')
        import importlib
        return importlib.import_module(keras)
    return keras


def to_keras(m, keras=None):
    """A live Keras model with ``m``'s architecture, weights and compile settings (SGD,
    loss, metrics; the optimizer's momentum and step count are not carried)."""
    k = _keras_module(keras)
    is_keras3 = k.__name__ == "keras" and int(k.__version__.split(".")[0]) >= 3
    if is_keras3:
        architecture = json.loads(m.to_json_keras3())
        architecture.pop("compile_config", None)
        model = k.models.model_from_json(json.dumps(architecture))
    else:
        model = k.models.model_from_json(m.to_json())
    model.set_weights(m.get_weights())
    config = m.training_config
    if config is not None:
        optimizer = k.optimizers.SGD(
            learning_rate=config["learning_rate"],
            momentum=config["momentum"],
            nesterov=config["nesterov"],
        )
        model.compile(optimizer=optimizer, loss=config["loss"], metrics=config["metrics"] or None)
    return model
