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
    is compiled, its loss, metrics and optimizer with its state (step count, momentum,
    moments). No file is written. Layers
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
        _take_optimizer_state(m, model.optimizer)
    return m


def _variables(optimizer):
    """The optimizer's variables (a property in Keras 3, a method in tf_keras)."""
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)


def _nadam_product(optimizer):
    """Nadam's running product: Keras 3's last scalar variable, tf_keras's ``_u_product``;
    None for other optimizers."""
    if type(optimizer).__name__ != "Nadam":
        return None
    if hasattr(optimizer, "_u_product"):
        return optimizer._u_product
    variables = _variables(optimizer)
    first_tensor = next((i for i, v in enumerate(variables) if len(v.shape) > 0), len(variables))
    scalars = [v for v in variables[first_tensor:] if len(v.shape) == 0]
    return scalars[-1] if scalars else None


def _take_optimizer_state(m, optimizer):
    """Copies a live Keras optimizer's step count and per-weight buffers into ``m``."""
    buffers = [np.asarray(v) for v in _variables(optimizer) if len(v.shape) > 0]
    product = _nadam_product(optimizer)
    m.set_keras_optimizer_state(int(np.asarray(optimizer.iterations)),
                                1.0 if product is None else float(np.asarray(product)), buffers)


def _give_optimizer_state(m, optimizer):
    """Copies ``m``'s optimizer state into a built live Keras optimizer."""
    iterations, product, buffers = m.keras_optimizer_state()
    tensors = [v for v in _variables(optimizer) if len(v.shape) > 0]
    # An SGD without momentum keeps no buffers here; tf_keras's keeps zeros, left as they are.
    if buffers and len(tensors) != len(buffers):
        raise _native.FormatError(
            f"the Keras {type(optimizer).__name__} keeps {len(tensors)} buffers; microdense's holds {len(buffers)}")
    for variable, values in zip(tensors, buffers):
        variable.assign(values)
    optimizer.iterations.assign(iterations)
    nadam = _nadam_product(optimizer)
    if nadam is not None:
        nadam.assign(product)


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


def _compile_args_tf_keras(k, config):
    """tf_keras's ``compile`` arguments from a ``training_config``."""
    loss = config["loss"]
    if isinstance(loss, dict):
        loss = k.losses.deserialize(loss)
    optimizer = json.loads(json.dumps(config["optimizer_config"]))
    # Without this key tf_keras builds its legacy optimizer, which keeps no variables.
    optimizer["config"]["is_legacy_optimizer"] = False
    return {
        "optimizer": k.optimizers.deserialize(optimizer),
        "loss": loss,
        "metrics": config["metrics"] or None,
    }


def to_keras(m, keras=None):
    """A live Keras model with ``m``'s architecture, weights and compile settings: the
    loss, the metrics, the optimizer with its configuration and state (step count,
    momentum, moments), so that training goes on as it would in microdense."""
    k = _keras_module(keras)
    is_keras3 = k.__name__ == "keras" and int(k.__version__.split(".")[0]) >= 3
    if is_keras3:
        architecture = json.loads(m.to_json_keras3())
        architecture.pop("compile_config", None)
        model = k.models.model_from_json(json.dumps(architecture))
    else:
        model = k.models.model_from_json(m.to_json())
    model.set_weights(m.get_weights())
    for layer in model.layers:
        # Normalization computes what it uses from its adapted weights here (as Keras
        # does when it loads a file).
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
    config = m.keras_compile_config(is_keras3)
    if config is not None:
        config = json.loads(config)
        if is_keras3:
            model.compile_from_config(config)
        else:
            model.compile(**_compile_args_tf_keras(k, config))
            model.optimizer.build(model.trainable_variables)
        _give_optimizer_state(m, model.optimizer)
    return model
