"""Run a model in LiteRT (ai-edge-litert), the compatibility oracle."""

from __future__ import annotations

import numpy as np
import pytest


def litert():
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        pytest.fail("LiteRT is the test oracle: pip install -e '.[test]' "
                    "(or pip install ai-edge-litert==2.3.0)")
    return interpreter


def random_inputs(details: list[dict], seed: int = 0) -> list[np.ndarray]:
    """Deterministic inputs matching each input's dtype and shape."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        dtype, shape = np.dtype(d["dtype"]), d["shape"]
        if dtype.kind == "f":
            out.append(rng.uniform(-1, 1, shape).astype(dtype))
        elif dtype == np.bool_:
            out.append(rng.integers(0, 2, shape).astype(np.bool_))
        else:
            info = np.iinfo(dtype)
            out.append(rng.integers(max(info.min, -128), min(info.max, 127) + 1, shape,
                                    dtype=dtype))
    return out


def run(model, inputs=None, builtin_only: bool = False, seed: int = 0):
    """Outputs of ``model`` (path or bytes) in LiteRT; ``inputs`` default to random ones."""
    lite = litert()
    kwargs = {"model_path": str(model)} if not isinstance(model, (bytes, bytearray)) \
        else {"model_content": bytes(model)}
    if builtin_only:
        kwargs["experimental_op_resolver_type"] = \
            lite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = lite.Interpreter(**kwargs)
    interp.allocate_tensors()
    details = interp.get_input_details()
    if inputs is None:
        inputs = random_inputs(details, seed)
    for d, x in zip(details, inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def run_all_tensors(make, blob: bytes, inputs: list) -> tuple[list, dict]:
    """Outputs and every tensor's value (index -> (name, copy)) after one invoke of an
    interpreter made by ``make(model_content=..., experimental_preserve_all_tensors=True)``
    (LiteRT's or edgelite's class: same API)."""
    interp = make(model_content=blob, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    outs = [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]
    tensors = {}
    for d in interp.get_tensor_details():
        try:
            tensors[d["index"]] = (d["name"], interp.get_tensor(d["index"]).copy())
        except ValueError:   # LiteRT: tensors without data (e.g. empty optional)
            pass
    return outs, tensors


def litert_builtin(**kwargs):
    """A LiteRT Interpreter on its builtin kernels (no XNNPACK): the bit-exactness oracle."""
    lite = litert()
    return lite.Interpreter(
        experimental_op_resolver_type=lite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        **kwargs)
