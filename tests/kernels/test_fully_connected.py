"""FULLY_CONNECTED and BATCH_MATMUL against LiteRT's builtin kernels: input ranks,
keep_num_dims, bias present / absent / run-time, constant or run-time (and sparse)
weights, fused activations; adj_x / adj_y, broadcast batch dimensions, constant operands;
prepare errors; the versions claimed; an allocation-free invoke.

Float tolerance is rtol 1e-4 / atol 1e-5: BLAS sums in a different order than LiteRT.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import fully_connected
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

TOL = {"rtol": 1e-4, "atol": 1e-5}   # summation order differs from LiteRT's


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def fc_case(x_shape, units, depth, options, *, weights="const", bias="const", version=1):
    x, w, b = rand(x_shape, 1), rand((units, depth), 2), rand((units,), 3)
    inputs = [x, w, None if bias is None else b]
    feeds = [x] + ([w] if weights == "input" else []) + ([b] if bias == "input" else [])
    return compare(op_model("FULLY_CONNECTED", inputs, options, version=version,
                            const=[False, weights == "const", bias == "const"]),
                   feeds, **TOL)


# ------------------------------------------------------------------ FULLY_CONNECTED
@pytest.mark.parametrize("x_shape,keep", [
    ((3, 10), False), ((1, 10), False), ((10,), False), ((2, 3, 10), True),
    ((2, 3, 10), False), ((4, 5), False), ((2, 2, 3, 10), True)], ids=str)
@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_fully_connected_shapes(x_shape, keep, activation):
    """``(4, 5)`` with depth 10 flattens to 2 rows, as TFLite does."""
    fc_case(x_shape, 7, 10, {"keep_num_dims": keep, "fused_activation_function": activation})


@pytest.mark.parametrize("weights,bias", [("const", None), ("input", "const"),
                                          ("input", None), ("const", "input"),
                                          ("input", "input")])
def test_fully_connected_bias_and_runtime_weights(weights, bias):
    fc_case((2, 3, 16), 9, 16, {"keep_num_dims": True, "fused_activation_function": "RELU6"},
            weights=weights, bias=bias)


def test_fully_connected_large_gemv():
    fc_case((1, 1024), 1000, 1024, {"fused_activation_function": "RELU_N1_TO_1"})


@pytest.mark.parametrize("blocked", [False, True])
def test_fully_connected_sparse_weights(blocked):
    """A CSR-sparse constant (random, or 1x4 blocks) is densified once in prepare."""
    dense = rand((4, 8), 5)
    if blocked:
        dense[:, 4:], dense[2, :4] = 0, 0
        segments, indices = [0, 1, 2, 2, 3], [0, 0, 0]
        values = np.concatenate([dense[0, :4], dense[1, :4], dense[3, :4]])
        dims = [ir.DimensionMetadata("DENSE", 4),
                ir.DimensionMetadata("SPARSE_CSR", 0, np.array(segments, np.int32),
                                     np.array(indices, np.int32)),
                ir.DimensionMetadata("DENSE", 4)]
        sparsity = ir.Sparsity([0, 1, 2], [1], dims)
    else:
        dense[np.abs(dense) < 0.5] = 0
        rows, cols = np.nonzero(dense)
        segments = np.searchsorted(rows, np.arange(5)).astype(np.int32)
        values = dense[rows, cols]
        sparsity = ir.Sparsity([0, 1], [], [
            ir.DimensionMetadata("DENSE", 4),
            ir.DimensionMetadata("SPARSE_CSR", 0, segments, cols.astype(np.int32))])
    x = rand((3, 8), 6)
    model = op_model("FULLY_CONNECTED", [x, dense, rand((4,), 7)], {},
                     const=[False, True, True], version=8)
    weights = model.subgraphs[0].tensors[model.subgraphs[0].operators[0].inputs[1]]
    weights.data, weights.sparsity = np.asarray(values, np.float32), sparsity
    got = compare(model, [x], **TOL)
    np.testing.assert_allclose(got[0], x @ dense.T + rand((4,), 7), **TOL)


# ------------------------------------------------------------------ BATCH_MATMUL
@pytest.mark.parametrize("a_shape,b_shape,adj_x,adj_y", [
    ((2, 3, 4), (2, 4, 5), False, False), ((3, 4), (2, 5, 4), False, True),
    ((2, 4, 3), (1, 4, 5), True, False), ((2, 1, 4, 3), (1, 3, 2, 4), True, True),
    ((5, 2, 3), (3, 4), False, False), ((2, 1, 3, 4), (3, 4, 2), False, False),
    ((1, 2, 1, 3, 4), (2, 1, 2, 4, 3), False, False), ((6, 7), (7, 8), False, False)],
    ids=str)
@pytest.mark.parametrize("const", [(False, False), (True, False), (False, True)], ids=str)
def test_batch_matmul(a_shape, b_shape, adj_x, adj_y, const):
    a, b = rand(a_shape, 12), rand(b_shape, 13)
    feeds = [v for v, c in zip((a, b), const) if not c]
    compare(op_model("BATCH_MATMUL", [a, b], {"adj_x": adj_x, "adj_y": adj_y},
                     const=list(const)), feeds, **TOL)


# ------------------------------------------------------------------ errors, versions, memory
def prepare_error(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


def test_bad_inputs_are_prepare_errors():
    x = rand((3, 10), 0)

    def fc(x_value, w_value, options=None, bias=None):
        return op_model("FULLY_CONNECTED", [x_value, w_value, bias], options or {},
                        const=[False, True, bias is not None])
    prepare_error(fc(x, rand((7, 10, 1), 1)), r"FULLY_CONNECTED\).*weights must be 2-D")
    prepare_error(fc(rand((3, 7), 0), rand((4, 10), 1)),
                  r"FULLY_CONNECTED\).*\[3, 7\] does not flatten to rows of 10")
    prepare_error(fc(rand((2, 10, 2), 0), rand((4, 10), 1), {"keep_num_dims": True}),
                  r"FULLY_CONNECTED\).*keep_num_dims needs .* 10")
    prepare_error(fc(x, rand((4, 10), 1), bias=rand((5,), 2)),
                  r"FULLY_CONNECTED\).*bias has 5 values for 4")
    q = ir.Quantization(np.array([0.1], np.float32), np.array([0]))
    prepare_error(op_model("FULLY_CONNECTED", [x, np.ones((4, 10), np.int16), None], {},
                           const=[False, True, False], input_quant=[None, q, None]),
                  r"FULLY_CONNECTED\).*int16 weights \(quantized\) is not supported")
    a, b = rand((2, 3, 4), 0), rand((2, 5, 6), 1)
    prepare_error(op_model("BATCH_MATMUL", [a, b], {"adj_x": False, "adj_y": False}),
                  r"BATCH_MATMUL\).*inner dimensions differ")
    prepare_error(op_model("BATCH_MATMUL", [a, rand((3, 4, 6), 1)], {}),
                  r"BATCH_MATMUL\).*batch dimensions .* do not broadcast")
    prepare_error(op_model("BATCH_MATMUL", [rand((4,), 0), rand((4, 6), 1)], {}),
                  r"BATCH_MATMUL\).*rank 2 to 5")


@pytest.mark.parametrize("opcode", sorted(fully_connected.KERNELS))
def test_litert_registers_the_versions_claimed(opcode):
    """The newest version claimed is one LiteRT runs, and the next is not."""
    top = fully_connected.KERNELS[opcode].max_version
    a, b = rand((2, 4), 0), rand((3, 4), 1)
    inputs = [a, b] if opcode == "BATCH_MATMUL" else [a, b, rand((3,), 2)]
    options = {"adj_y": True} if opcode == "BATCH_MATMUL" else {}
    const = [False, True, True][:len(inputs)]
    compare(op_model(opcode, inputs, options, const=const, version=top), [a], **TOL)
    with pytest.raises(ValueError, match=f"version '{top + 1}'"):
        run_litert(op_model(opcode, inputs, options, const=const, version=top + 1), [a])


@pytest.mark.parametrize("case", ["fc_const", "fc_input", "bmm_adj"])
def test_invoke_allocates_nothing(case):
    x, w, b = rand((16, 64), 0), rand((128, 64), 1), rand((128,), 2)
    if case == "bmm_adj":
        x, w = rand((2, 64, 16), 0), rand((2, 128, 64), 1)
        model = op_model("BATCH_MATMUL", [x, w], {"adj_x": True, "adj_y": True})
    else:
        model = op_model("FULLY_CONNECTED", [x, w, b], {"fused_activation_function": "RELU"},
                         const=[False, case == "fc_const", True])
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), [x, w]):
        interp.set_tensor(d["index"], v)
    interp.invoke()   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024, f"{case} invoke allocated {peak} bytes (output is 8 KiB+)"
