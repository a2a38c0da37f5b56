"""Keras model (``.keras`` / legacy ``.h5``) -> edgelite IR.

Walk-through:
1. read the config and the weights (:mod:`.archive`);
2. list every layer, nested models included, whose class has no rule in
   :data:`.layers.RULES`, and fail with all of them at once;
3. walk the graph: a Sequential model chains its layers; a functional model calls each
   layer on the values its ``inbound_nodes`` name (``keras_history`` = layer, call,
   output), in dependency order, so shared layers and nested models work;
4. the free batch dimension becomes 1 (``input_shapes`` may give any input's full
   shape); inputs and outputs keep the Keras layer names.
Keras is channels-last, so the graph needs no transposes.
"""

from __future__ import annotations

import numpy as np

from ....schema import ir
from ...errors import ConversionError, UnsupportedPartsError
from ..nhwc_builder import Builder, Value
from .archive import Weights, load
from .layers import RULES

_MODELS = ("Functional", "Sequential", "Model")


def lower(path, *, input_shapes: dict | None = None) -> ir.Model:
    config, weights, handle = load(path)
    try:
        _check_supported(config)
        b = Builder()
        given = dict(input_shapes or {})
        inputs = _model_inputs(b, config, given)
        if given:
            raise ConversionError(f"input_shapes names unknown inputs: {sorted(given)}")
        outputs = _call_model(b, config, weights, [v for _, v in inputs])
        names = _output_names(config)
        for k, v in enumerate(outputs):
            b.where = names[k] if k < len(names) else f"output_{k}"
            b.output(v, b.where)
        for (name, _), index in zip(inputs, b.sg.inputs):
            b.sg.tensors[index].name = name
    finally:
        if handle is not None:
            handle.close()
    model = ir.Model([b.sg], description="edgelite Keras converter")
    return model


# ---------------------------------------------------------------------------- checks
def _layers(config: dict) -> list[dict]:
    inner = config.get("config", {})
    return inner.get("layers", []) if isinstance(inner, dict) else []


def _check_supported(config: dict) -> None:
    missing: list[tuple[str, str]] = []

    def visit(cfg):
        for layer in _layers(cfg):
            cls = layer.get("class_name")
            if cls in _MODELS:
                visit(layer)
            elif cls not in RULES and cls != "InputLayer":
                missing.append((layer.get("config", {}).get("name", "?"), cls))
    visit(config)
    if missing:
        raise UnsupportedPartsError("Keras layer", missing)


# ---------------------------------------------------------------------------- inputs
def _batch_shape(cfg: dict):
    c = cfg.get("config", {})
    for key in ("batch_shape", "batch_input_shape"):
        if c.get(key) is not None:
            return c[key], c.get("dtype", "float32")
    shape = (cfg.get("build_config") or {}).get("input_shape")
    return shape, c.get("dtype", "float32")


def _fix_shape(name: str, shape, given: dict) -> tuple[int, ...]:
    if name in given:
        return tuple(int(d) for d in given.pop(name))
    if shape is None:
        raise ConversionError(f"input {name!r} has no known shape: pass "
                              f"input_shapes={{'{name}': [...]}}")
    dims = []
    for k, d in enumerate(shape):
        if d is None:
            if k != 0:
                raise ConversionError(
                    f"input {name!r} has a dynamic dimension {k}: pass "
                    f"input_shapes={{'{name}': [...]}} (CLI: --input-shape {name}=...)")
            d = 1
        dims.append(int(d))
    return tuple(dims)


def _dtype(name) -> np.dtype:
    if isinstance(name, dict):   # a DTypePolicy
        name = name.get("config", {}).get("name", "float32")
    return np.dtype({"float16": "float32", "float64": "float32",
                     "int64": "int32"}.get(name, name))


def _model_inputs(b: Builder, config: dict, given: dict) -> list[tuple[str, Value]]:
    layers = _layers(config)
    if config.get("class_name") == "Sequential":
        first = layers[0] if layers else {}
        shape, dtype = _batch_shape(first)
        name = first.get("config", {}).get("name", "input")
        return [(name, b.input(name, _fix_shape(name, shape, given), _dtype(dtype)))]
    by_name = {layer["config"]["name"]: layer for layer in layers}
    refs = config["config"]["input_layers"]
    refs = [refs] if refs and isinstance(refs[0], str) else refs
    out = []
    for ref in refs:
        layer = by_name[ref[0]]
        shape, dtype = _batch_shape(layer)
        out.append((ref[0], b.input(ref[0], _fix_shape(ref[0], shape, given), _dtype(dtype))))
    return out


def _output_names(config: dict) -> list[str]:
    if config.get("class_name") == "Sequential":
        return [config.get("config", {}).get("name", "output")]
    refs = config["config"]["output_layers"]
    refs = [refs] if refs and isinstance(refs[0], str) else refs
    return [r[0] for r in refs]


# ---------------------------------------------------------------------------- the walk
def _call_layer(b: Builder, layer: dict, weights: Weights, args: list, kwargs: dict) -> list:
    cls = layer["class_name"]
    name = layer["config"].get("name", cls)
    if cls in _MODELS:
        flat = _flatten(args)
        return _call_model(b, layer, weights.layer(name), flat)
    b.where = f"layer {name!r} ({cls})"
    out = RULES[cls](b, layer["config"], args, kwargs, weights.layer(name))
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _flatten(x) -> list:
    if isinstance(x, Value):
        return [x]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    if isinstance(x, dict):
        return [v for item in x.values() for v in _flatten(item)]
    return []


def _call_model(b: Builder, config: dict, weights: Weights, inputs: list[Value]) -> list:
    layers = _layers(config)
    if config.get("class_name") == "Sequential":
        x = inputs
        for layer in layers:
            if layer["class_name"] == "InputLayer":
                continue
            x = _call_layer(b, layer, weights, [x[0]] if len(x) == 1 else [x], {})
        return x
    return _call_functional(b, config, weights, inputs)


def _resolve(obj, produced: dict):
    """Replace the ``__keras_tensor__`` references in a call's args with Values; raises
    KeyError while a referenced call has not run yet."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            layer, node, index = obj["config"]["keras_history"]
            return produced[(layer, node)][index]
        return {k: _resolve(v, produced) for k, v in obj.items()}
    if isinstance(obj, list):
        if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int) \
                and isinstance(obj[2], int):           # Keras 2: [layer, node, tensor, {}]
            return produced[(obj[0], obj[1])][obj[2]]
        return [_resolve(v, produced) for v in obj]
    return obj


def _node_call(node) -> tuple[list, dict]:
    if isinstance(node, dict):                          # Keras 3
        return node.get("args", []), node.get("kwargs", {}) or {}
    tensors = [t for t in node]                         # Keras 2: a list of refs
    kwargs = dict(tensors[0][3]) if tensors and len(tensors[0]) > 3 else {}
    return ([tensors[0]] if len(tensors) == 1 else [tensors]), kwargs


def _call_functional(b, config, weights, inputs) -> list:
    inner = config["config"]
    layers = inner["layers"]
    refs = inner["input_layers"]
    refs = [refs] if refs and isinstance(refs[0], str) else refs
    produced: dict[tuple[str, int], list] = {}
    for ref, v in zip(refs, inputs):
        produced[(ref[0], 0)] = [v]
    pending = [(layer, k, node) for layer in layers if layer["class_name"] != "InputLayer"
               for k, node in enumerate(layer.get("inbound_nodes", []))]
    while pending:
        left = []
        for layer, k, node in pending:
            args, kwargs = _node_call(node)
            try:
                args, kwargs = _resolve(args, produced), _resolve(kwargs, produced)
            except KeyError:
                left.append((layer, k, node))
                continue
            produced[(layer["config"]["name"], k)] = _call_layer(b, layer, weights, args, kwargs)
        if len(left) == len(pending):
            names = sorted({layer["config"]["name"] for layer, _, _ in left})
            raise ConversionError(f"layers {names} take inputs no layer produces")
        pending = left
    outs = inner["output_layers"]
    outs = [outs] if outs and isinstance(outs[0], str) else outs
    return [produced[(r[0], r[1])][r[2]] for r in outs]
