"""Layout, reductions, resize, comparisons, dequantize and densify vs LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import PrepareError
from edgelite.kernels.dequantize import densify
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_edgelite


def _rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-4, 4, shape).astype(dtype)


@pytest.mark.parametrize("new_shape", [[6, 4], [-1, 2], [24], [2, 3, -1]])
def test_reshape(new_shape):
    x = _rand((2, 3, 4))
    compare(op_model("RESHAPE", [x, np.array(new_shape, np.int32)], const=[False, True]), [x])


def test_reshape_element_count_mismatch():
    x = _rand((2, 3))
    model = op_model("RESHAPE", [x, np.array([4, 2], np.int32)], const=[False, True])
    with pytest.raises(PrepareError, match="cannot reshape"):
        run_edgelite(model, [x])


@pytest.mark.parametrize("pads", [[[0, 0], [1, 2], [0, 3], [0, 0]], [[1, 0], [0, 0], [2, 2],
                                                                      [1, 1]]])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_pad(pads, dtype):
    x = _rand((1, 3, 4, 2), 1, dtype)
    compare(op_model("PAD", [x, np.array(pads, np.int32)], const=[False, True]), [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenation(axis):
    a, b = _rand((2, 3, 4), 2), _rand((2, 3, 4), 3)
    compare(op_model("CONCATENATION", [a, b], {"axis": axis,
                                               "fused_activation_function": "NONE"}), [a, b])


def test_depth_to_space_and_back():
    x = _rand((1, 3, 4, 8), 4)
    compare(op_model("DEPTH_TO_SPACE", [x], {"block_size": 2}), [x])
    y = _rand((1, 4, 6, 3), 5)
    compare(op_model("SPACE_TO_DEPTH", [y], {"block_size": 2}), [y])


@pytest.mark.parametrize("perm", [[0, 2, 1], [2, 0, 1], [1, 0, 2]])
def test_transpose(perm):
    x = _rand((2, 3, 4), 6)
    compare(op_model("TRANSPOSE", [x, np.array(perm, np.int32)], const=[False, True]), [x])


@pytest.mark.parametrize("opcode", ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"])
@pytest.mark.parametrize("axes,keep", [([1, 2], True), ([-1], False), ([0, 2], False)])
def test_reduce(opcode, axes, keep):
    x = _rand((2, 3, 4), 7) / 2
    compare(op_model(opcode, [x, np.array(axes, np.int32)], {"keep_dims": keep},
                     const=[False, True]), [x], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,axes,keep", [((2, 3, 4, 5), [1, 2], True),
                                             ((2, 3, 4, 5), [2, 1], False),
                                             ((3, 4, 6), [0, 1], False), ((3, 4, 6), [1], True)])
def test_mean_over_middle_axes(shape, axes, keep):
    """A float MEAN over consecutive axes before the last (global average pooling) runs
    as row sums: against LiteRT, and every output is that mean."""
    x = _rand(shape, 9)
    model = op_model("MEAN", [x, np.array(axes, np.int32)], {"keep_dims": keep},
                     const=[False, True])
    compare(model, [x], rtol=1e-5, atol=1e-6)
    got = run_edgelite(model, [x])[0]
    np.testing.assert_allclose(got, x.mean(axis=tuple(axes), keepdims=keep), rtol=1e-5)


@pytest.mark.parametrize("opcode", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("size", [(8, 10), (3, 2), (5, 5)])
@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
def test_resize(opcode, size, align, half):
    x = _rand((1, 5, 4, 2), 8)
    model = op_model(opcode, [x, np.array(size, np.int32)],
                     {"align_corners": align, "half_pixel_centers": half}, const=[False, True])
    compare(model, [x], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opcode", ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER",
                                    "GREATER_EQUAL"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_comparison(opcode, dtype):
    a = np.random.default_rng(9).integers(-3, 3, (2, 3, 4)).astype(dtype)
    b = np.random.default_rng(10).integers(-3, 3, (3, 1)).astype(dtype)
    compare(op_model(opcode, [a, b], outputs=[(np.bool_, None)]), [a, b])


def test_dequantize_float16_and_per_channel_int8():
    x16 = _rand((3, 4), 11).astype(np.float16)
    compare(op_model("DEQUANTIZE", [x16], outputs=[(np.float32, None)]), [x16])
    q = ir.Quantization(np.array([0.5, 0.25, 2.0], np.float32), np.array([0, 0, 0]), axis=1)
    x8 = np.random.default_rng(12).integers(-128, 128, (2, 3)).astype(np.int8)
    compare(op_model("DEQUANTIZE", [x8], outputs=[(np.float32, None)], input_quant=[q]), [x8])


def test_densify_expands_a_blocked_csr_tensor():
    dense = np.zeros((4, 4), np.float32)
    dense[0, 2:4] = [1, 2]       # block (0, 1)
    dense[3, 0:2] = [3, 4]       # block (1, 0)
    # 2x2 grid of 1x2 blocks: dims (row, col-block) then the block's inner column
    sp = ir.Sparsity(traversal_order=[0, 1, 2], block_map=[1], dim_metadata=[
        ir.DimensionMetadata("DENSE", 4),
        ir.DimensionMetadata("SPARSE_CSR", 0, np.array([0, 1, 1, 1, 2], np.int32),
                             np.array([1, 0], np.int32)),
        ir.DimensionMetadata("DENSE", 2)])
    values = np.array([1, 2, 3, 4], np.float32)
    np.testing.assert_array_equal(densify(values, (4, 4), sp), dense)
