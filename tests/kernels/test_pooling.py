"""AVERAGE_POOL_2D and MAX_POOL_2D against LiteRT's builtin kernels: filter sizes,
strides, SAME/VALID padding (averages count only the cells inside the input), fused
activations, batch > 1, windows as large as the input; prepare errors; the versions
claimed; an allocation-free invoke.

Float tolerance is rtol 1e-5 / atol 1e-6: edgelite sums averages in float64, LiteRT's
builtin kernel in float32, so they differ by float32 rounding of the sum.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import pooling
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

TOL = {"rtol": 1e-5, "atol": 1e-6}
OPS = sorted(pooling.KERNELS)


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def pool_options(size, stride, padding="SAME", activation="NONE"):
    return {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
            "filter_height": size[0], "filter_width": size[1],
            "fused_activation_function": activation}


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("size,stride,padding", [
    ((2, 2), (2, 2), "VALID"), ((3, 3), (2, 2), "SAME"), ((3, 3), (1, 1), "SAME"),
    ((2, 2), (3, 3), "VALID"), ((3, 2), (1, 2), "SAME"), ((5, 5), (2, 2), "SAME"),
    ((1, 1), (2, 2), "SAME"), ((4, 1), (3, 1), "SAME"), ((9, 8), (1, 1), "VALID"),
    ((9, 8), (9, 8), "SAME")], ids=str)
def test_pool_geometry(opcode, size, stride, padding):
    x = rand((2, 9, 8, 5), 1)
    compare(op_model(opcode, [x], pool_options(size, stride, padding)), [x], **TOL)


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_pool_fused_activation(opcode, activation):
    x = rand((1, 7, 6, 16), 2) * 8   # values well past the clamps
    compare(op_model(opcode, [x], pool_options((3, 3), (2, 2), "SAME", activation)), [x],
            **TOL)


def test_average_pool_counts_only_cells_inside_the_input():
    """All ones: every SAME-padded average is exactly 1 (padding cells do not count)."""
    x = np.ones((1, 5, 5, 2), np.float32)
    got = compare(op_model("AVERAGE_POOL_2D", [x], pool_options((3, 3), (2, 2))), [x], **TOL)
    np.testing.assert_array_equal(got[0], np.ones((1, 3, 3, 2), np.float32))


def test_global_average_pool_sums_accurately():
    """A 64x64 window (selfie_segmentation's global pooling): within 1e-5 of LiteRT's
    float32 sum and within 1e-6 of the exact mean."""
    x = np.random.default_rng(4).uniform(0, 1, (2, 64, 64, 16)).astype(np.float32)
    got = compare(op_model("AVERAGE_POOL_2D", [x], pool_options((64, 64), (64, 64), "VALID")),
                  [x], **TOL)
    exact = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got[0], exact, rtol=1e-6)


def test_max_pool_ignores_padding_cells_for_negative_inputs():
    x = -1 - rand((1, 4, 4, 3), 3) ** 2   # all < -1: a zero pad cell would win the max
    got = compare(op_model("MAX_POOL_2D", [x], pool_options((3, 3), (1, 1))), [x], **TOL)
    assert (got[0] < -1).all()


@pytest.mark.parametrize("opcode", OPS)
def test_nan_inputs_match_litert(opcode):
    """A NaN never wins a maximum (TFLite's std::max keeps the running value); it poisons
    an average."""
    x = rand((1, 6, 6, 3), 5)
    x[0, 2, 2, 1] = np.nan
    got = compare(op_model(opcode, [x], pool_options((3, 3), (2, 2), "SAME", "RELU")), [x],
                  **TOL)
    assert np.isnan(got[0]).any() == (opcode == "AVERAGE_POOL_2D")


def prepare_error(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


@pytest.mark.parametrize("opcode", OPS)
def test_bad_inputs_are_prepare_errors(opcode):
    x = rand((1, 4, 4, 3), 0)
    prepare_error(op_model(opcode, [x], pool_options((0, 2), (1, 1))),
                  rf"{opcode}\).*filter 0x2 and strides 1x1 must be > 0")
    prepare_error(op_model(opcode, [rand((4, 4, 3), 0)], pool_options((2, 2), (1, 1))),
                  rf"{opcode}\).*input must be 4-D")
    prepare_error(op_model(opcode, [np.zeros((1, 4, 4, 3), np.int32)],
                           pool_options((2, 2), (1, 1))),
                  rf"{opcode}\).*int32 input is not supported")


@pytest.mark.parametrize("opcode", OPS)
def test_litert_registers_the_versions_claimed(opcode):
    """The newest version claimed is one LiteRT runs, and the next is not."""
    x, top = rand((1, 4, 4, 3), 0), pooling.KERNELS[opcode].max_version
    options = pool_options((2, 2), (2, 2))
    compare(op_model(opcode, [x], options, version=top), [x], **TOL)
    with pytest.raises(ValueError, match=f"version '{top + 1}'"):
        run_litert(op_model(opcode, [x], options, version=top + 1), [x])


@pytest.mark.parametrize("opcode", OPS)
def test_invoke_allocates_nothing(opcode):
    x = rand((1, 32, 32, 16), 0)
    interp = Interpreter(model_content=write(op_model(
        opcode, [x], pool_options((3, 3), (1, 1), "SAME", "RELU"))))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024, f"{opcode} invoke allocated {peak} bytes (output is 64 KiB)"
