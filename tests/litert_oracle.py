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
