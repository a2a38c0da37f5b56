"""DEQUANTIZE and DENSIFY against LiteRT (both exact: dequantization rounds once, and
densifying only moves values), including every sparse weight of MediaPipe's
pose_detection model."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareContext, PrepareError, TensorSpec
from edgelite.kernels.registry import builtin_kernels
from edgelite.schema import ir, read, write
from tests.conftest import mediapipe_model
from tests.kernels.harness import compare, op_model, run_kernel, run_litert

F32 = [(np.float32, None)]


def _quant(scales, zero_points, axis=0):
    return ir.Quantization(np.array(scales, np.float32), np.array(zero_points, np.int64), axis)


def _ints(dtype, shape, seed=0):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, shape, endpoint=True) \
        .astype(dtype)


@pytest.mark.parametrize("const", [False, True])
def test_dequantize_float16(const):
    x = np.random.default_rng(1).normal(0, 100, (3, 4, 5)).astype(np.float16)
    compare(op_model("DEQUANTIZE", [x], outputs=F32, const=[const]), [] if const else [x],
            exact=True)


@pytest.mark.parametrize("dtype,zero_point,scale", [
    (np.int8, -3, 0.0123), (np.int8, 0, 0.0123), (np.uint8, 128, 0.0123), (np.int16, 0, 0.0123),
    (np.int8, -43, 0.018407686)])   # the last: q * s - zp * s cancels, many ulps off the tail
@pytest.mark.parametrize("const", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 8), (5, 7), (1, 10)], ids=str)
def test_dequantize_per_tensor(dtype, zero_point, scale, const, shape):
    """Bit-exact: LiteRT's 8-wide body (q * s - zp * s) and its scalar tail of size % 8
    elements ((q - zp) * s) both reproduced."""
    x = _ints(dtype, shape)
    model = op_model("DEQUANTIZE", [x], outputs=F32, const=[const], version=3,
                     input_quant=[_quant([scale], [zero_point])])
    compare(model, [] if const else [x], exact=True)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("axis", [0, 2])
@pytest.mark.parametrize("const", [False, True])
def test_dequantize_per_channel(dtype, axis, const):
    x = _ints(dtype, (3, 2, 4), seed=axis)
    n = x.shape[axis]
    q = _quant(np.linspace(0.01, 2.0, n), np.arange(n) * (3 if dtype == np.uint8 else 0), axis)
    model = op_model("DEQUANTIZE", [x], outputs=F32, const=[const], version=5, input_quant=[q])
    compare(model, [] if const else [x], exact=True)


def test_dequantize_int16_per_channel():
    # LiteRT refuses per-channel int16 ("not supported for per-channel"); edgelite applies
    # the per-channel formula
    x = _ints(np.int16, (2, 3))
    q = _quant([0.5, 0.25, 2.0], [0, 0, 0], axis=1)
    (got,) = run_kernel(op_model("DEQUANTIZE", [x], outputs=F32, input_quant=[q]), [x])
    np.testing.assert_array_equal(got, x * np.array([0.5, 0.25, 2.0], np.float32))


def _pack_int4(values: np.ndarray) -> np.ndarray:
    flat = np.append(values.reshape(-1), [0] * (values.size % 2)).astype(np.int8)
    return ((flat[0::2] & 0xF) | ((flat[1::2] & 0xF) << 4)).astype(np.uint8).view(np.int8)


@pytest.mark.parametrize("shape,quant", [((3, 3), _quant([0.5], [1])),
                                         ((2, 5), _quant([0.5, 0.125], [0, -1], axis=0))])
def test_dequantize_int4(shape, quant):
    """v6 packed int4, straight through the kernel (the interpreter's constant loader
    reshapes tensor data to the tensor's shape, which packed data does not have)."""
    values = np.random.default_rng(3).integers(-8, 8, shape).astype(np.int8)
    packed = _pack_int4(values)
    sg = ir.Subgraph()
    t = sg.add_tensor(ir.Tensor("w", shape, ir.dtype_of("INT4"), data=packed,
                                quantization=quant))
    sg.outputs = [sg.add_tensor(ir.Tensor("out", (), np.float32))]
    sg.operators = [ir.Operator("DEQUANTIZE", [t], sg.outputs, {}, version=6)]
    (expected,) = run_litert(ir.Model([sg]), [])
    ctx = PrepareContext(sg.operators[0], 0,
                         [TensorSpec(0, "w", shape, sg.tensors[0].dtype, quant, packed)],
                         [TensorSpec(1, "out", (), np.dtype(np.float32))])
    run = builtin_kernels()["DEQUANTIZE"].prepare(ctx)
    out = np.zeros(ctx.outputs[0].shape, np.float32)
    run([packed], [out], [np.zeros(s, d) for s, d in ctx.scratch_requests])
    np.testing.assert_array_equal(out, expected)


def test_dequantize_bad_inputs_name_the_op():
    cases = [(np.arange(4, dtype=np.int32), _quant([0.5], [0]), "cannot dequantize INT32"),
             (np.arange(4, dtype=np.int8), None, "no quantization"),
             (np.zeros((2, 3), np.int8), _quant([1, 2], [0, 0], axis=1), "do not match"),
             (np.zeros(3, np.int16), _quant([0.5], [4]), "zero point 0")]
    for x, q, words in cases:
        model = op_model("DEQUANTIZE", [x], outputs=F32, input_quant=[q])
        with pytest.raises(PrepareError, match=f"DEQUANTIZE.*{words}"):
            run_kernel(model, [x])


# ----------------------------------------------------------------------------- DENSIFY
def _encode(dense, order, block_map=(), block_size=(), formats=None):
    """A TFLite sparse encoding of ``dense`` (test-only, recursive): levels follow
    ``order`` over the blocked dimensions then the block dimensions."""
    rank, levels = dense.ndim, len(order)
    formats = formats or ["DENSE"] * (levels - 1) + ["SPARSE_CSR"]
    sizes = list(dense.shape) + list(block_size)
    for j, d in enumerate(block_map):
        sizes[d] //= block_size[j]
    segs, idxs, values = [[0] for _ in order], [[] for _ in order], []

    def at(coord):
        index = list(coord[:rank])
        for j, d in enumerate(block_map):
            index[d] = coord[d] * block_size[j] + coord[rank + j]
        return dense[tuple(index)]

    def nonzero(level, coord):
        if level == levels:
            return at(coord) != 0
        return any(nonzero(level + 1, coord[:order[level]] + [i] + coord[order[level] + 1:])
                   for i in range(sizes[order[level]]))

    def emit(level, coord):
        if level == levels:
            values.append(at(coord))
            return
        for i in range(sizes[order[level]]):
            child = coord[:order[level]] + [i] + coord[order[level] + 1:]
            if formats[level] == "DENSE" or nonzero(level + 1, child):
                idxs[level].append(i)
                emit(level + 1, child)
        segs[level].append(len(idxs[level]))

    emit(0, [0] * levels)
    meta = [ir.DimensionMetadata("DENSE", sizes[order[k]]) if f == "DENSE" else
            ir.DimensionMetadata("SPARSE_CSR", 0, np.array(segs[k], np.int32),
                                 np.array(idxs[k], np.int32)) for k, f in enumerate(formats)]
    sparsity = ir.Sparsity(list(order), list(block_map), meta)
    return np.array(values, dense.dtype), sparsity


def _densify_model(values, shape, sparsity):
    model = op_model("DENSIFY", [values], const=[True], outputs=[(values.dtype, None)])
    t = model.subgraphs[0].tensors[0]
    t.shape, t.sparsity = tuple(shape), sparsity
    return model


def _sparse(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    dense = rng.normal(0, 1, shape) * (rng.random(shape) < 0.3)
    return (dense * 20).astype(dtype) if dtype == np.int8 else dense.astype(dtype)


DENSIFY_CASES = {
    "csr_rows": ((5, 6), ([0, 1],)),
    "csr_columns_first": ((5, 6), ([1, 0],)),
    "two_sparse_levels": ((4, 5), ([0, 1], (), (), ["SPARSE_CSR", "SPARSE_CSR"])),
    "blocks_2x2": ((4, 6), ([0, 1, 2, 3], [0, 1], [2, 2],
                            ["DENSE", "SPARSE_CSR", "DENSE", "DENSE"])),
    "blocks_1x4_conv": ((3, 1, 2, 8), ([0, 1, 2, 3, 4], [3], [4],
                                       ["DENSE", "DENSE", "DENSE", "SPARSE_CSR", "DENSE"])),
    "middle_csr_3d": ((3, 4, 2), ([0, 1, 2], (), (), ["DENSE", "SPARSE_CSR", "DENSE"])),
}


@pytest.mark.parametrize("case", list(DENSIFY_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8])
def test_densify(case, dtype):
    shape, args = DENSIFY_CASES[case]
    dense = _sparse(shape, dtype, seed=len(case))
    values, sparsity = _encode(dense, *args)
    model = _densify_model(values, shape, sparsity)
    (got,) = compare(model, [], exact=True)
    np.testing.assert_array_equal(got, dense)


def test_densify_pose_detection_weights():
    """Every DENSIFY of MediaPipe's pose_detection (float16 weights in CSR rows), as a
    single-op model, against LiteRT."""
    sg = read(mediapipe_model("pose_detection")).subgraphs[0]
    sparse = [sg.tensors[op.inputs[0]] for op in sg.operators if op.opcode == "DENSIFY"]
    assert len(sparse) == 38
    for t in sparse:
        model = _densify_model(np.asarray(t.data), t.shape, t.sparsity)
        compare(model, [], exact=True)


def test_densify_bad_encodings_name_the_op():
    dense = _sparse((4, 5), np.float32, 1)
    values, sparsity = _encode(dense, [0, 1])
    bad_order = ir.Sparsity([0, 0], [], sparsity.dim_metadata)
    short = ir.Sparsity([0, 1], [], [sparsity.dim_metadata[0], ir.DimensionMetadata(
        "SPARSE_CSR", 0, np.array([0, 1], np.int32), np.array([0], np.int32))])
    # a sparse block level would make LiteRT divide by zero (SIGFPE)
    sparse_block = ir.Sparsity([0, 1, 2], [1], [ir.DimensionMetadata("DENSE", 4),
                                                ir.DimensionMetadata("DENSE", 5),
                                                sparsity.dim_metadata[1]])
    for sp, vals, words in [(bad_order, values, "traversal_order"),
                            (short, values, "array_segments"),
                            (sparsity, values[:-1], "values"),
                            (sparse_block, values, "blocks must be dense")]:
        model = _densify_model(vals, (4, 5), sp)
        with pytest.raises(PrepareError, match=f"DENSIFY.*{words}"):
            Interpreter(model_content=write(model)).allocate_tensors()
