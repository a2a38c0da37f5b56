"""GATHER, GATHER_ND, SCATTER_ND, EMBEDDING_LOOKUP and ONE_HOT against LiteRT: axes
incl. negative, batch_dims, index dtypes, ranks 1-6, constant or fed indices, duplicate
scatter indices, hybrid lookups, depth known at prepare or only at invoke, and the errors
(out-of-range indices fail the invoke naming the op)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.movement_helpers import (
    DTYPES,
    invoke_fails,
    invoke_peak_bytes,
    prepare_fails,
    quant,
    run_op,
    values,
)

I32 = np.int32
RNG = np.random.default_rng(13)
SHAPES = [(5,), (4, 3), (2, 3, 4), (2, 3, 1, 4), (2, 1, 3, 2, 3), (1, 2, 2, 3, 1, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("idx_shape", [(), (3,), (2, 2)], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_gather(shape, idx_shape, const):
    x = values(RNG, shape, np.float32)
    for axis in range(-len(shape), len(shape)):
        idx = RNG.integers(0, shape[axis], idx_shape).astype(I32)
        run_op("GATHER", [x, idx], {"axis": axis}, const=[False, const])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
@pytest.mark.parametrize("idx_type", [np.int16, np.int32, np.int64])
def test_gather_dtypes(dtype, idx_type):
    x = values(RNG, (4, 3), dtype)
    run_op("GATHER", [x, np.array([3, 0, 0, 2], idx_type)], {"axis": 0}, const=[False, True])


@pytest.mark.parametrize("x_shape,idx_shape,axis,batch_dims", [
    ((2, 4, 3), (2, 5), 1, 1), ((2, 4, 3), (2, 2), 2, 1), ((2, 3, 4, 2), (2, 3, 2), 2, 2),
    ((2, 3, 4), (2, 3), -1, -1), ((3, 2, 5), (3, 4, 2), 2, 1), ((2, 3, 4), (2, 3), 2, 2)])
def test_gather_batch_dims(x_shape, idx_shape, axis, batch_dims):
    x = values(RNG, x_shape, np.float32)
    idx = RNG.integers(0, x_shape[axis], idx_shape).astype(I32)
    run_op("GATHER", [x, idx], {"axis": axis, "batch_dims": batch_dims})


def test_gather_quantized_int8():
    q = quant(0.05, -2)
    x = values(RNG, (5, 4), np.int8, -128, 127)
    run_op("GATHER", [x, np.array([4, 1], I32)], {"axis": 0}, const=[False, True],
           input_quant=[q, None], outputs=[(np.int8, q)])


@pytest.mark.parametrize("index", [5, -1])
def test_gather_index_out_of_range_fails_the_invoke(index):
    x = values(RNG, (5, 2), np.float32)
    invoke_fails("GATHER", [x, np.array([0, index], I32)], {"axis": 0}, match="out of range")


def test_gather_errors():
    x = np.zeros((2, 3), np.float32)
    prepare_fails("GATHER", [x, np.array([0], I32)], {"axis": 2}, match="out of range")
    prepare_fails("GATHER", [x, np.array([[0]], I32)], {"axis": 1, "batch_dims": 2},
                  match="batch_dims")
    prepare_fails("GATHER", [x, np.zeros((3, 1), I32)], {"axis": 1, "batch_dims": 1},
                  match="batch dimensions")
    prepare_fails("GATHER", [x, np.array([0.0], np.float32)], {"axis": 0},
                  match="indices must be")


@pytest.mark.parametrize("x_shape,idx", [
    ((4, 3), [[1], [3]]), ((4, 3), [[1, 2], [3, 0], [0, 0]]), ((2, 3, 4), [[1, 2]]),
    ((2, 3, 4), [[[1, 2, 3]], [[0, 0, 0]]]), ((5,), [[4], [0], [2]]),
    ((2, 2, 3, 2, 2), [[1, 0, 2], [0, 1, 1]]), ((2, 1, 2, 2, 1, 3), [[1], [0]])], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_gather_nd(x_shape, idx, const):
    x = values(RNG, x_shape, np.float32)
    run_op("GATHER_ND", [x, np.array(idx, I32)], const=[False, const])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
@pytest.mark.parametrize("idx_type", [np.int16, np.int32, np.int64])
def test_gather_nd_dtypes(dtype, idx_type):
    x = values(RNG, (3, 2, 2), dtype)
    run_op("GATHER_ND", [x, np.array([[2, 1], [0, 0]], idx_type)], const=[False, True])


@pytest.mark.parametrize("idx", [[[0, 3]], [[-1, 0]], [[2, 0]]])
def test_gather_nd_out_of_range_fails_the_invoke(idx):
    invoke_fails("GATHER_ND", [np.zeros((2, 3), np.float32), np.array(idx, I32)],
                 match="out of range")


def test_gather_nd_deeper_than_params():
    prepare_fails("GATHER_ND", [np.zeros((2, 3), np.float32), np.zeros((1, 3), I32)],
                  match="index depth")


@pytest.mark.parametrize("idx,shape", [([[1], [3]], (4, 3)), ([[1, 2], [0, 0]], (2, 3)),
                                       ([[1], [1], [0]], (3, 2, 2)), ([[0, 1, 1]], (1, 2, 3)),
                                       ([[[2]], [[0]]], (4,))], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_scatter_nd(idx, shape, const):
    idx = np.array(idx, I32)
    nd = idx.shape[-1]
    updates = values(RNG, idx.shape[:-1] + shape[nd:], np.float32)
    run_op("SCATTER_ND", [idx, updates, np.array(shape, I32)], const=[True, False, const])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8,
                                   np.bool_])
def test_scatter_nd_dtypes_and_duplicates(dtype):
    idx = np.array([[1], [3], [1], [1]], I32)
    updates = values(RNG, (4, 2), dtype, 0, 100)
    run_op("SCATTER_ND", [idx, updates, np.array([5, 2], I32)], const=[False, False, True])


def test_scatter_nd_errors():
    idx, updates = np.array([[1], [5]], I32), np.ones((2, 3), np.float32)
    invoke_fails("SCATTER_ND", [idx, updates, np.array([4, 3], I32)], const=[False, False, True],
                 match="out of range")
    prepare_fails("SCATTER_ND", [idx, updates, np.array([4, 2], I32)],
                  const=[False, False, True], match="do not fit")


@pytest.mark.parametrize("table_shape", [(5, 3), (4, 2, 3), (6, 1, 2, 2)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_embedding_lookup(table_shape, dtype):
    table = values(RNG, table_shape, dtype)
    ids = np.array([0, table_shape[0] - 1, 1, 1], I32)
    run_op("EMBEDDING_LOOKUP", [ids, table], const=[False, True], outputs=[(dtype, None)])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("per_row", [False, True])
def test_embedding_lookup_hybrid(dtype, per_row):
    table = values(RNG, (4, 3), dtype, -128, 255)
    scales = np.array([0.5, 0.25, 2.0, 0.125] if per_row else [0.3], np.float32)
    q = ir_quant(scales)
    run_op("EMBEDDING_LOOKUP", [np.array([3, 0, 2], I32), table], const=[False, True],
           input_quant=[None, q], outputs=[(np.float32, None)])


def ir_quant(scales):
    from edgelite.schema import ir
    return ir.Quantization(scales=scales, zero_points=np.zeros(len(scales), np.int64))


def test_embedding_lookup_row_out_of_range():
    invoke_fails("EMBEDDING_LOOKUP", [np.array([0, 4], I32), np.ones((4, 2), np.float32)],
                 const=[False, True], outputs=[(np.float32, None)], match="out of range")


@pytest.mark.parametrize("idx_shape", [(3,), (2, 3), (2, 1, 3), (2, 2, 1, 2)], ids=str)
@pytest.mark.parametrize("idx_type", [np.int32, np.int64])
@pytest.mark.parametrize("const", [True, False])
def test_one_hot(idx_shape, idx_type, const):
    idx = RNG.integers(-1, 5, idx_shape).astype(idx_type)
    on, off = np.array(2.5, np.float32), np.array(-1, np.float32)
    for axis in [-1, *range(len(idx_shape) + 1)]:
        run_op("ONE_HOT", [idx, np.array(4, I32), on, off], {"axis": axis},
               const=[False, const, True, False], outputs=[(np.float32, None)])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8,
                                   np.bool_])
def test_one_hot_dtypes(dtype):
    on, off = np.array(1, dtype), np.array(0, dtype)
    run_op("ONE_HOT", [np.array([0, 2, 1], I32), np.array(3, I32), on, off], {"axis": -1},
           const=[False, True, True, True], outputs=[(dtype, None)])


def test_one_hot_errors():
    idx, on, off = np.array([0, 1], I32), np.array(1, np.float32), np.array(0, np.float32)
    prepare_fails("ONE_HOT", [idx, np.array(3, I32), on, off], {"axis": -2},
                  const=[False, True, True, True], outputs=[(np.float32, None)],
                  match="out of range")
    prepare_fails("ONE_HOT", [idx, np.array(-3, I32), on, off], {"axis": -1},
                  const=[False, True, True, True], outputs=[(np.float32, None)],
                  match="non-negative")


@pytest.mark.parametrize("opcode,inputs,options,const", [
    ("GATHER", [np.ones((64, 128, 32), np.float32), np.arange(0, 128, 2, dtype=I32)],
     {"axis": 1}, [False, False]),
    ("GATHER", [np.ones((8, 128, 32), np.float32), np.zeros((8, 16), I32)],
     {"axis": 1, "batch_dims": 1}, [False, True]),
    ("GATHER_ND", [np.ones((64, 64, 32), np.float32), np.zeros((40, 2), I32)], {},
     [False, True]),
    ("SCATTER_ND", [np.zeros((40, 1), I32), np.ones((40, 64, 32), np.float32),
                    np.array([64, 64, 32], I32)], {}, [True, False, True]),
    ("ONE_HOT", [np.zeros((64, 64), I32), np.array(32, I32), np.array(1.0, np.float32),
                 np.array(0.0, np.float32)], {"axis": -1}, [False, True, True, True])])
def test_invoke_allocates_no_tensor_memory(opcode, inputs, options, const):
    out = [(np.float32, None)]
    peak = invoke_peak_bytes(opcode, inputs, options, const, outputs=out)
    assert peak < 40 * 1024, f"{opcode} invoke allocated {peak} bytes"
