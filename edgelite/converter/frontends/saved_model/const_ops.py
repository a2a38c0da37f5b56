"""TF ops evaluated with numpy when all their inputs are known at conversion: variable
reads, shape arithmetic and the batch-norm / bias arithmetic Keras emits on variables.

``CONST_OPS[op](node, inputs) -> list of arrays``.
"""

from __future__ import annotations

import numpy as np

from .messages import np_dtype


def _one(fn):
    return lambda node, xs: [np.asarray(fn(node, *xs))]


def strided_slice_index(shape, begin, end, strides, attrs) -> tuple:
    """The numpy index TF's StridedSlice describes (masks as bit sets over the spec)."""
    bm, em = int(attrs.get("begin_mask", 0)), int(attrs.get("end_mask", 0))
    el, na = int(attrs.get("ellipsis_mask", 0)), int(attrs.get("new_axis_mask", 0))
    sh = int(attrs.get("shrink_axis_mask", 0))
    idx = []
    for k in range(len(begin)):
        bit = 1 << k
        if el & bit:
            idx.append(Ellipsis)
        elif na & bit:
            idx.append(None)
        elif sh & bit:
            idx.append(int(begin[k]))
        else:
            idx.append(slice(None if bm & bit else int(begin[k]),
                             None if em & bit else int(end[k]), int(strides[k])))
    return tuple(idx)


def _strided_slice(node, x, begin, end, strides):
    return np.asarray(x)[strided_slice_index(x.shape, begin, end, strides, node.attrs)]


def _reduce(fn):
    def run(node, x, axes):
        axes = tuple(int(a) for a in np.asarray(axes).reshape(-1))
        return fn(x, axis=axes, keepdims=bool(node.attrs.get("keep_dims", False)))
    return _one(run)


def _concat(node, xs):
    return [np.concatenate([np.asarray(x) for x in xs[:-1]], int(xs[-1]))]


def _pack(node, xs):
    return [np.stack([np.asarray(x) for x in xs], int(node.attrs.get("axis", 0)))]


def _unpack(node, xs):
    axis = int(node.attrs.get("axis", 0))
    return [np.take(xs[0], i, axis) for i in range(xs[0].shape[axis])]


def _split(node, xs):
    axis, x = int(xs[0]), xs[1]
    return list(np.split(x, int(node.attrs["num_split"]), axis))


def _split_v(node, xs):
    x, sizes, axis = xs
    return list(np.split(x, np.cumsum(np.asarray(sizes))[:-1], int(axis)))


def _squeeze(node, x):
    dims = node.attrs.get("squeeze_dims") or [i for i, d in enumerate(x.shape) if d == 1]
    return np.squeeze(x, tuple(int(d) % x.ndim for d in dims))


def _matmul(node, a, b):
    if node.attrs.get("transpose_a") or node.attrs.get("adj_x"):
        a = np.swapaxes(a, -1, -2)
    if node.attrs.get("transpose_b") or node.attrs.get("adj_y"):
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


def _gather(node, params, indices, axis=0):
    return np.take(params, np.asarray(indices).astype(np.int64), int(axis))


def _cast(node, x):
    return np.asarray(x).astype(np_dtype(node.attrs["DstT"]))


def _einsum(node, *xs):
    return np.einsum(node.attrs["equation"], *xs)


CONST_OPS = {
    "Identity": _one(lambda n, x: x), "StopGradient": _one(lambda n, x: x),
    "Snapshot": _one(lambda n, x: x), "IdentityN": lambda n, xs: list(xs),
    "Reshape": _one(lambda n, x, s: np.reshape(x, [int(d) for d in s])),
    "Shape": _one(lambda n, x: np.array(np.shape(x), np_dtype(n.attrs.get("out_type", 3)))),
    "Size": _one(lambda n, x: np.array(np.size(x), np.int32)),
    "Rank": _one(lambda n, x: np.array(np.ndim(x), np.int32)),
    "StridedSlice": _one(_strided_slice), "Pack": _pack, "Unpack": _unpack,
    "ConcatV2": _concat, "GatherV2": _one(_gather),
    "Prod": _reduce(np.prod), "Sum": _reduce(np.sum), "Mean": _reduce(np.mean),
    "Max": _reduce(np.max), "Min": _reduce(np.min),
    "AddV2": _one(lambda n, a, b: a + b), "Add": _one(lambda n, a, b: a + b),
    "BiasAdd": _one(lambda n, a, b: a + b), "Sub": _one(lambda n, a, b: a - b),
    "Mul": _one(lambda n, a, b: a * b),
    "RealDiv": _one(lambda n, a, b: a / b), "Div": _one(lambda n, a, b: a / b),
    "FloorDiv": _one(lambda n, a, b: a // b), "FloorMod": _one(lambda n, a, b: a % b),
    "Maximum": _one(lambda n, a, b: np.maximum(a, b)),
    "Minimum": _one(lambda n, a, b: np.minimum(a, b)),
    "SquaredDifference": _one(lambda n, a, b: (a - b) ** 2),
    "Pow": _one(lambda n, a, b: np.power(a, b)),
    "Rsqrt": _one(lambda n, x: 1 / np.sqrt(x)), "Sqrt": _one(lambda n, x: np.sqrt(x)),
    "Square": _one(lambda n, x: x * x), "Neg": _one(lambda n, x: -x),
    "Reciprocal": _one(lambda n, x: 1 / x), "Exp": _one(lambda n, x: np.exp(x)),
    "Log": _one(lambda n, x: np.log(x)), "Abs": _one(lambda n, x: np.abs(x)),
    "Transpose": _one(lambda n, x, p: np.transpose(x, [int(i) for i in p])),
    "Cast": _one(_cast), "Squeeze": _one(_squeeze),
    "ExpandDims": _one(lambda n, x, a: np.expand_dims(x, int(a))),
    "Fill": _one(lambda n, dims, v: np.full([int(d) for d in dims], v)),
    "Range": _one(lambda n, a, b, c: np.arange(a, b, c)),
    "ZerosLike": _one(lambda n, x: np.zeros_like(x)),
    "OnesLike": _one(lambda n, x: np.ones_like(x)),
    "MatMul": _one(_matmul), "BatchMatMulV2": _one(_matmul), "BatchMatMulV3": _one(_matmul),
    "Einsum": _one(_einsum), "Split": _split, "SplitV": _split_v,
    "Tile": _one(lambda n, x, m: np.tile(x, [int(d) for d in m])),
    "Slice": _one(lambda n, x, b, s: x[tuple(slice(int(i), None if int(k) == -1 else
                                                   int(i) + int(k)) for i, k in zip(b, s))]),
}
