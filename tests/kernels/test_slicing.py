"""Slicing, splitting, tiling and indexing ops vs LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.harness import compare, op_model

X = np.random.default_rng(0).uniform(-5, 5, (2, 5, 4)).astype(np.float32)
I32 = np.int32


def _c(*values):
    return np.array(values, I32)


@pytest.mark.parametrize("begin,size", [((0, 1, 1), (2, 3, -1)), ((1, 0, 2), (1, 5, 2))])
def test_slice(begin, size):
    compare(op_model("SLICE", [X, _c(*begin), _c(*size)], const=[False, True, True]), [X])


@pytest.mark.parametrize("begin,end,strides,options", [
    ((0, 1, 0), (2, 5, 4), (1, 2, 1), {}),
    ((1, -1, 3), (2, 0, 0), (1, -1, -1), {}),
    ((0, 0, 0), (0, 3, 0), (1, 1, 1), {"begin_mask": 5, "end_mask": 5}),
    ((1, 0, 0), (2, 2, 4), (1, 1, 1), {"shrink_axis_mask": 1}),
    ((0, 0, 0), (1, 2, 1), (1, 1, 1), {"new_axis_mask": 2}),
    ((1, 1, 0), (1, 2, 2), (1, 1, 1), {"offset": True}),
    ((0, 1), (0, 3), (1, 1), {"ellipsis_mask": 1})])
def test_strided_slice(begin, end, strides, options):
    model = op_model("STRIDED_SLICE", [X, _c(*begin), _c(*end), _c(*strides)], options,
                     const=[False, True, True, True], version=5 if options.get("offset") else 1)
    compare(model, [X])


def test_split_and_split_v():
    y = X.reshape(2, 5, 4)
    model = op_model("SPLIT", [_c(2), y], {"num_splits": 2}, const=[True, False],
                     outputs=[(np.float32, None)] * 2)
    compare(model, [y])
    model = op_model("SPLIT_V", [y, _c(1, -1, 2), _c(1)], {"num_splits": 3},
                     const=[False, True, True], outputs=[(np.float32, None)] * 3)
    compare(model, [y])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_pack_unpack(axis):
    a, b = X[0], X[1]
    compare(op_model("PACK", [a, b], {"values_count": 2, "axis": axis}), [a, b])
    n = X.shape[axis]
    compare(op_model("UNPACK", [X], {"num": n, "axis": axis},
                     outputs=[(np.float32, None)] * n), [X])


def test_tile_broadcast_reverse_mirror_pad():
    compare(op_model("TILE", [X, _c(2, 1, 3)], const=[False, True]), [X])
    y = X[:1, :1]
    compare(op_model("BROADCAST_TO", [y, _c(3, 2, 5, 4)], const=[False, True], version=2), [y])
    compare(op_model("REVERSE_V2", [X, _c(1, 2)], const=[False, True]), [X])
    for mode in ("REFLECT", "SYMMETRIC"):
        compare(op_model("MIRROR_PAD", [X, np.array([[0, 1], [2, 1], [1, 0]], I32)],
                         {"mode": mode}, const=[False, True]), [X])


def test_shape_fill_range():
    compare(op_model("SHAPE", [X], {"out_type": "INT32"}, outputs=[(I32, None)]), [X])
    v = np.array(1.5, np.float32)
    compare(op_model("FILL", [_c(2, 3), v], const=[True, False]), [v])
    start = np.array(2, I32)
    compare(op_model("RANGE", [start, np.array(11, I32), np.array(3, I32)],
                     const=[False, True, True]), [start])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gather(axis):
    idx = np.array([[0, 1], [1, 0]], I32)
    compare(op_model("GATHER", [X, idx], {"axis": axis}, const=[False, False]), [X, idx])


def test_gather_nd_embedding_one_hot():
    idx = np.array([[0, 4], [1, 2]], I32)
    compare(op_model("GATHER_ND", [X, idx]), [X, idx])
    ids = np.array([1, 0, 1], I32)
    table = X.reshape(10, 4)[:2]
    compare(op_model("EMBEDDING_LOOKUP", [ids, table], outputs=[(np.float32, None)]),
            [ids, table])
    labels = np.array([0, 2, 1, 3], I32)
    on, off = np.array(5.0, np.float32), np.array(-1.0, np.float32)
    compare(op_model("ONE_HOT", [labels, _c(4), on, off], {"axis": -1},
                     const=[False, True, True, True], outputs=[(np.float32, None)]), [labels])


@pytest.mark.parametrize("opcode", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("axis", [0, 2])
def test_arg(opcode, axis):
    compare(op_model(opcode, [X, _c(axis)], {"output_type": "INT32"}, const=[False, True],
                     outputs=[(I32, None)]), [X])


@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True),
                                               (True, True)])
def test_cumsum(exclusive, reverse):
    compare(op_model("CUMSUM", [X, _c(1)], {"exclusive": exclusive, "reverse": reverse},
                     const=[False, True]), [X], rtol=1e-5, atol=1e-5)


def test_topk():
    x = np.array([[3, 1, 3, 2, 5], [0, 0, 1, 1, 0]], np.float32)
    compare(op_model("TOPK_V2", [x, _c(3)], const=[False, True],
                     outputs=[(np.float32, None), (I32, None)]), [x])


def test_scatter_nd_and_where():
    idx = np.array([[0, 1], [1, 3], [0, 1]], I32)
    upd = np.array([1.0, 2.0, 3.0], np.float32)
    compare(op_model("SCATTER_ND", [idx, upd, _c(2, 4)], const=[False, False, True],
                     outputs=[(np.float32, None)]), [idx, upd])
    cond = X > 2
    compare(op_model("WHERE", [cond], outputs=[(np.int64, None)]), [cond])
