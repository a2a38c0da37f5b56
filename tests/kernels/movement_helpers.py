"""Helpers shared by the data-movement kernel tests (reshape, layout, slicing, pad, gather,
reduce, resize, where): run one op in LiteRT and edgelite and compare, expect a prepare
or invoke failure naming the op, and measure what an invoke allocates."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

# every dtype the data-movement ops are asked about
DTYPES = [np.float32, np.int32, np.int64, np.bool_, np.int8, np.uint8, np.int16]


def values(rng: np.random.Generator, shape, dtype, lo: float = -9, hi: float = 9) -> np.ndarray:
    """Distinct-ish random values of ``dtype`` (bool: coin flips)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind == "f":
        return rng.uniform(lo, hi, shape).astype(dtype)
    if dtype.kind == "u":
        lo = max(lo, 0)
    return rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)


def feeds_of(inputs: list, const: list) -> list:
    return [v for v, c in zip(inputs, const) if v is not None and not c]


def model_of(opcode: str, inputs: list, options: dict | None = None, const=None,
             **kwargs) -> ir.Model:
    return op_model(opcode, inputs, options, const=list(const or [False] * len(inputs)),
                    **kwargs)


def run_op(opcode: str, inputs: list, options: dict | None = None, const=None,
           rtol: float = 1e-5, atol: float = 1e-6, **kwargs) -> list:
    """Compare one op in both runtimes; ``const`` marks the inputs that are constants,
    the rest are fed (so their values are only known at invoke)."""
    const = list(const or [False] * len(inputs))
    model = model_of(opcode, inputs, options, const, **kwargs)
    return compare(model, feeds_of(inputs, const), rtol=rtol, atol=atol)


def prepare_fails(opcode: str, inputs: list, options: dict | None = None, match: str = "",
                  const=None, litert_too: bool = True, **kwargs) -> None:
    """LiteRT refuses the model, and edgelite's prepare fails naming the op."""
    const = list(const or [False] * len(inputs))
    model = model_of(opcode, inputs, options, const, **kwargs)
    if litert_too:
        with pytest.raises((RuntimeError, ValueError)):
            run_litert(model, feeds_of(inputs, const))
    with pytest.raises(PrepareError, match=rf"operator 0 \({opcode}\): .*{match}"):
        Interpreter(model_content=write(model)).allocate_tensors()


def _invoke(interp: Interpreter, feeds: list) -> list:
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], v)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def invoke_fails(opcode: str, inputs: list, options: dict | None = None, match: str = "",
                 const=None, **kwargs) -> None:
    """Both runtimes prepare the model but fail its invoke; edgelite names the op."""
    const = list(const or [False] * len(inputs))
    model = model_of(opcode, inputs, options, const, **kwargs)
    feeds = feeds_of(inputs, const)
    with pytest.raises(RuntimeError):
        run_litert(model, feeds)
    interp = Interpreter(model_content=write(model))
    with pytest.raises(RuntimeError, match=rf"operator 0 \({opcode}\): .*{match}"):
        _invoke(interp, feeds)


def invoke_peak_bytes(opcode: str, inputs: list, options: dict | None = None, const=None,
                      **kwargs) -> int:
    """Peak bytes Python allocates during a second invoke (the first compiles numba)."""
    const = list(const or [False] * len(inputs))
    interp = Interpreter(model_content=write(model_of(opcode, inputs, options, const,
                                                      **kwargs)))
    _invoke(interp, feeds_of(inputs, const))
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def quant(scale: float, zero_point: int) -> ir.Quantization:
    return ir.Quantization(scales=np.array([scale], np.float32),
                           zero_points=np.array([zero_point], np.int64))
