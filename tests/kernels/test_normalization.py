"""L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION against LiteRT's builtin kernels:
ranks, near-zero rows (TFLite's epsilon bounds the norm), radius/bias/alpha/beta; prepare
errors; the versions claimed; an allocation-free invoke.

Float tolerance is rtol 1e-5 / atol 1e-6 (pow and sqrt may round differently by an ulp).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import normalization
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

TOL = {"rtol": 1e-5, "atol": 1e-6}


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 3, 4, 6), (1, 1, 1, 300)],
                         ids=str)
def test_l2_normalization(shape):
    x = rand(shape, 1)
    compare(op_model("L2_NORMALIZATION", [x], {"fused_activation_function": "NONE"}), [x],
            **TOL)


def test_l2_normalization_epsilon_bounds_the_norm():
    """A row of 1e-7s has norm 2.4e-7 < 1e-6: it divides by 1e-6 (giving 0.1), not by
    sqrt(1e-6); an all-zero row stays zero."""
    x = rand((3, 6), 2)
    x[0], x[1] = 1e-7, 0.0
    got = compare(op_model("L2_NORMALIZATION", [x], {}), [x], **TOL)
    np.testing.assert_allclose(got[0][0], 0.1, rtol=1e-6)
    np.testing.assert_array_equal(got[0][1], 0.0)


@pytest.mark.parametrize("radius,bias,alpha,beta", [
    (2, 1.0, 0.5, 0.75), (0, 2.0, 1.0, 0.5), (5, 0.5, 2.0, 1.3), (1, 1.0, 1e-4, 0.75),
    (20, 1.0, 0.1, 0.5)])
def test_local_response_normalization(radius, bias, alpha, beta):
    """The window is [c - radius, c + radius] clipped to the 7 channels."""
    x = rand((2, 3, 4, 7), 3) * 2
    compare(op_model("LOCAL_RESPONSE_NORMALIZATION", [x],
                     {"radius": radius, "bias": bias, "alpha": alpha, "beta": beta}), [x],
            **TOL)


def prepare_error(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


def test_bad_inputs_are_prepare_errors():
    prepare_error(op_model("L2_NORMALIZATION", [rand((1, 2, 2, 2, 3), 0)], {}),
                  r"L2_NORMALIZATION\).*rank 1 to 4")
    prepare_error(op_model("L2_NORMALIZATION", [rand((2, 3), 0)],
                           {"fused_activation_function": "RELU"}),
                  r"L2_NORMALIZATION\).*fused activation RELU")
    prepare_error(op_model("LOCAL_RESPONSE_NORMALIZATION", [rand((2, 3), 0)], {"radius": 1}),
                  r"LOCAL_RESPONSE_NORMALIZATION\).*input must be 4-D")
    q = ir.Quantization(np.array([1 / 128], np.float32), np.array([0]))
    wrong = ir.Quantization(np.array([0.5], np.float32), np.array([0]))
    prepare_error(op_model("L2_NORMALIZATION", [np.zeros((2, 3), np.int8)], {},
                           input_quant=[q], outputs=[(np.int8, wrong)]),
                  r"L2_NORMALIZATION\).*1/128")


@pytest.mark.parametrize("opcode", sorted(normalization.KERNELS))
def test_litert_registers_the_versions_claimed(opcode):
    """The newest version claimed is one LiteRT runs, and the next is not."""
    x, top = rand((1, 2, 3, 5), 0), normalization.KERNELS[opcode].max_version
    options = {"radius": 1, "bias": 1.0, "alpha": 1.0, "beta": 0.5} \
        if opcode == "LOCAL_RESPONSE_NORMALIZATION" else {}
    compare(op_model(opcode, [x], options, version=top), [x], **TOL)
    with pytest.raises(ValueError, match=f"version '{top + 1}'"):
        run_litert(op_model(opcode, [x], options, version=top + 1), [x])


@pytest.mark.parametrize("opcode", sorted(normalization.KERNELS))
def test_invoke_allocates_nothing(opcode):
    x = rand((1, 16, 16, 32), 0)
    options = {"radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75} \
        if opcode == "LOCAL_RESPONSE_NORMALIZATION" else {}
    interp = Interpreter(model_content=write(op_model(opcode, [x], options)))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024, f"{opcode} invoke allocated {peak} bytes (output is 32 KiB)"
