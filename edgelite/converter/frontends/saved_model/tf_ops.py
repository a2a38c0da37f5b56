"""One rule per TF op with a run-time input: ``rule(b, node, inputs) -> list[Value]``.

TF is NHWC like TFLite, so most rules are one builtin; constant operands (weights read
from variables, shapes) arrive as numpy-backed Values. Conv and pooling ops must be
NHWC (``data_format``); Keras' bias adds and batch-norm arithmetic after a convolution
come out as MUL / ADD by channel constants, which the passes fold into the layer.
"""

from __future__ import annotations

import numpy as np

from ..nhwc_builder import Builder, Value
from .const_ops import strided_slice_index


def _const(b: Builder, v: Value, what: str) -> np.ndarray:
    if v.const is None:
        raise b.error(f"{what} must be known at conversion")
    return np.asarray(v.const)


def _nhwc(b, node):
    fmt = node.attrs.get("data_format", "NHWC")
    if fmt not in ("NHWC", "NDHWC"):
        raise b.error(f"data_format {fmt} is not supported (NHWC only)")


def _padding(b, node, x, kernel, strides, dilations):
    pad = node.attrs.get("padding", "VALID")
    if pad != "EXPLICIT":
        return x, pad
    p = list(node.attrs.get("explicit_paddings", []))
    pads = [(p[2 * i], p[2 * i + 1]) for i in range(4)]
    return b.pad(x, pads), "VALID"


def conv2d(b, node, ins):
    _nhwc(b, node)
    x, w = ins
    s, d = node.attrs.get("strides", [1] * 4), node.attrs.get("dilations", [1] * 4)
    x, pad = _padding(b, node, x, None, s, d)
    return [b.conv2d(x, _const(b, w, "the filter").astype(np.float32), None, (s[1], s[2]),
                     pad, (d[1], d[2]))]


def depthwise(b, node, ins):
    _nhwc(b, node)
    x, w = ins
    s, d = node.attrs.get("strides", [1] * 4), node.attrs.get("dilations", [1] * 4)
    x, pad = _padding(b, node, x, None, s, d)
    return [b.depthwise(x, _const(b, w, "the filter").astype(np.float32), None, (s[1], s[2]),
                        pad, (d[1], d[2]))]


def pool(opcode):
    def rule(b, node, ins):
        _nhwc(b, node)
        k, s = node.attrs["ksize"], node.attrs["strides"]
        return [b.pool(opcode, ins[0], (k[1], k[2]), (s[1], s[2]), node.attrs["padding"])]
    return rule


def binary(opcode):
    def rule(b, node, ins):
        return [b.binary(opcode, ins[0], ins[1])]
    return rule


def unary(opcode, options=None):
    def rule(b, node, ins):
        return [b.unary(opcode, ins[0], options)]
    return rule


def matmul(b, node, ins):
    x, w = ins
    ta = node.attrs.get("transpose_a") or node.attrs.get("adj_x")
    tb = node.attrs.get("transpose_b") or node.attrs.get("adj_y")
    if w.const is not None and not ta and (x.rank == 2 or w.rank == 2):
        w_io = np.asarray(w.const, np.float32)
        return [b.dense(x, w_io.T if tb else w_io)]
    return [b.batch_matmul(x, w, bool(ta), bool(tb))]


def einsum(b, node, ins):
    """``x . W`` with a constant W contracting x's trailing and W's leading axes (Keras'
    EinsumDense: ``abc,cde->abde``, ``abcd,cde->abe``): RESHAPEs around one FC."""
    eq = node.attrs["equation"].replace(" ", "")
    lhs, out = eq.split("->")
    a, w_sub = lhs.split(",")
    x, w = ins
    if w.const is None or x.const is not None:
        return [_einsum_batch_matmul(b, eq, a, w_sub, out, x, w)]
    shared = [c for c in a if c in w_sub]
    n = len(shared)
    if a[len(a) - n:] != "".join(shared) or w_sub[:n] != "".join(shared) or \
            out != a[:len(a) - n] + w_sub[n:]:
        raise b.error(f"Einsum {eq!r} is not a dense contraction edgelite can convert")
    k = int(np.prod(x.shape[len(a) - n:]))
    wm = np.asarray(w.const, np.float32).reshape(k, -1)
    lead = x.shape[:len(a) - n]
    y = b.dense(b.reshape(x, lead + (k,)), wm)
    return [b.reshape(y, lead + tuple(w.shape[n:]))]


def _arrange(b, v, sub, groups):
    """``v`` (axes labelled ``sub``) as [batch..., g1, g2] (a group of several axes merged
    into one), or as [batch..., g2, g1] with adj=True when that needs no TRANSPOSE."""
    batch, g1, g2 = groups
    sub = list(sub)
    adj = sub == batch + g2 + g1 and sub != batch + g1 + g2
    order = batch + g2 + g1 if adj else batch + g1 + g2
    y = b.transpose(v, [sub.index(c) for c in order])
    dims = dict(zip(sub, v.shape))
    first, second = (g2, g1) if adj else (g1, g2)
    shape = [dims[c] for c in batch] + [int(np.prod([dims[c] for c in first])),
                                        int(np.prod([dims[c] for c in second]))]
    return b.reshape(y, shape), adj


def _einsum_batch_matmul(b, eq, a_sub, w_sub, out, x, w):
    """A two-operand einsum as TRANSPOSE / RESHAPE around one BATCH_MATMUL."""
    if len(set(a_sub)) != len(a_sub) or len(set(w_sub)) != len(w_sub):
        raise b.error(f"Einsum {eq!r} (repeated labels) is not supported")
    batch = [c for c in out if c in a_sub and c in w_sub]
    con = [c for c in a_sub if c in w_sub and c not in out]
    fa = [c for c in a_sub if c not in w_sub]
    fb = [c for c in w_sub if c not in a_sub]
    if sorted(batch + fa + fb) != sorted(out):
        raise b.error(f"Einsum {eq!r} is not a batched matrix product")
    xa, adj_x = _arrange(b, x, a_sub, (batch, fa, con))
    wb, adj_y = _arrange(b, w, w_sub, (batch, con, fb))
    y = b.batch_matmul(xa, wb, adj_x, adj_y)
    dims = {**dict(zip(a_sub, x.shape)), **dict(zip(w_sub, w.shape))}
    have = batch + fa + fb
    y = b.reshape(y, [dims[c] for c in have])
    return b.transpose(y, [have.index(c) for c in out])


def reduce(opcode):
    def rule(b, node, ins):
        axes = _const(b, ins[1], "the axes").reshape(-1)
        return [b.reduce(opcode, ins[0], axes, bool(node.attrs.get("keep_dims", False)))]
    return rule


def reshape(b, node, ins):
    return [b.reshape(ins[0], _const(b, ins[1], "the shape").reshape(-1))]


def squeeze(b, node, ins):
    x = ins[0]
    dims = node.attrs.get("squeeze_dims") or [i for i, d in enumerate(x.shape) if d == 1]
    dims = {int(d) % x.rank for d in dims}
    return [b.reshape(x, [d for i, d in enumerate(x.shape) if i not in dims])]


def expand_dims(b, node, ins):
    x = ins[0]
    axis = int(_const(b, ins[1], "the axis")) % (x.rank + 1)
    return [b.reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])]


def transpose(b, node, ins):
    return [b.transpose(ins[0], _const(b, ins[1], "the permutation").reshape(-1))]


def concat(b, node, ins):
    return [b.concat(ins[:-1], int(_const(b, ins[-1], "the axis")))]


def pad(b, node, ins):
    pads = _const(b, ins[1], "the paddings")
    if node.op == "MirrorPad":
        mode = node.attrs.get("mode", "REFLECT")
        shape = [d + int(p0) + int(p1) for d, (p0, p1) in zip(ins[0].shape, pads)]
        return [b.op1("MIRROR_PAD", [ins[0], b.ints(pads)], shape, ins[0].dtype,
                      {"mode": mode})]
    value = float(_const(b, ins[2], "the pad value")) if len(ins) > 2 else None
    return [b.pad(ins[0], pads, value)]


def strided_slice(b, node, ins):
    x = ins[0]
    begin, end, strides = (_const(b, v, "the slice bounds").reshape(-1) for v in ins[1:4])
    shape = np.empty(x.shape, np.bool_)[strided_slice_index(x.shape, begin, end, strides,
                                                            node.attrs)].shape
    if np.all(strides == 1) and int(np.prod(shape)) == int(np.prod(x.shape)):
        return [b.reshape(x, shape)]   # every element in order: only axes of size 1 change
    opts = {k: int(node.attrs.get(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                                   "new_axis_mask", "shrink_axis_mask")}
    opts["offset"] = False
    return [b.op1("STRIDED_SLICE", [x, b.ints(begin), b.ints(end), b.ints(strides)], shape,
                  x.dtype, opts)]


def slice_(b, node, ins):
    return [b.slice(ins[0], [int(v) for v in _const(b, ins[1], "begin")],
                    [int(v) for v in _const(b, ins[2], "size")])]


def pack(b, node, ins):
    axis = int(node.attrs.get("axis", 0)) % (ins[0].rank + 1)
    shape = ins[0].shape[:axis] + (len(ins),) + ins[0].shape[axis:]
    return [b.op1("PACK", ins, shape, ins[0].dtype, {"values_count": len(ins), "axis": axis})]


def unpack(b, node, ins):
    x = ins[0]
    axis = int(node.attrs.get("axis", 0)) % x.rank
    shape = x.shape[:axis] + x.shape[axis + 1:]
    n = x.shape[axis]
    return b.op("UNPACK", [x], [shape] * n, [x.dtype] * n, {"num": n, "axis": axis})


def split(b, node, ins):
    axis_v, x = ins
    axis = int(_const(b, axis_v, "the axis")) % x.rank
    n = int(node.attrs["num_split"])
    shape = list(x.shape)
    shape[axis] //= n
    return b.op("SPLIT", [axis_v, x], [shape] * n, [x.dtype] * n, {"num_splits": n})


def gather(b, node, ins):
    params, indices = ins[0], ins[1]
    axis = int(_const(b, ins[2], "the axis")) % params.rank if len(ins) > 2 else 0
    shape = params.shape[:axis] + indices.shape + params.shape[axis + 1:]
    if indices.dtype != np.int32:
        indices = b.op1("CAST", [indices], indices.shape, np.int32) if indices.const is None \
            else b.const(np.asarray(indices.const, np.int32))
    return [b.op1("GATHER", [params, indices], shape, params.dtype,
                  {"axis": axis, "batch_dims": int(node.attrs.get("batch_dims", 0))})]


def resize(opcode):
    def rule(b, node, ins):
        x = ins[0]
        size = _const(b, ins[1], "the size").reshape(-1)
        return [b.op1(opcode, [x, b.ints(size)], (x.shape[0], int(size[0]), int(size[1]),
                                                  x.shape[3]), x.dtype,
                      {"align_corners": bool(node.attrs.get("align_corners", False)),
                       "half_pixel_centers": bool(node.attrs.get("half_pixel_centers",
                                                                 False))})]
    return rule


def fused_batch_norm(b, node, ins):
    if node.attrs.get("is_training", False):
        raise b.error("FusedBatchNorm in training mode is not supported")
    _nhwc(b, node)
    x, scale, offset, mean, var = ins[:5]
    s = _const(b, scale, "scale").astype(np.float64) / np.sqrt(
        _const(b, var, "variance").astype(np.float64) + float(node.attrs.get("epsilon", 1e-3)))
    shift = _const(b, offset, "offset") - _const(b, mean, "mean") * s
    y = b.binary("ADD", b.binary("MUL", x, b.const(s.astype(np.float32))),
                 b.const(shift.astype(np.float32)))
    return [y] + [None] * 5


def cast(b, node, ins):
    from .messages import np_dtype

    x = ins[0]
    dt = np_dtype(node.attrs["DstT"])
    if dt == x.dtype:
        return [x]
    return [b.op1("CAST", [x], x.shape, dt)]


def softmax(b, node, ins):
    return [b.softmax(ins[0])]


def square(b, node, ins):
    return [b.binary("MUL", ins[0], ins[0])]


def leaky_relu(b, node, ins):
    return [b.unary("LEAKY_RELU", ins[0], {"alpha": float(node.attrs.get("alpha", 0.2))})]


def selu(b, node, ins):
    from ..keras.layers.activations import _selu

    return [_selu(b, ins[0])]


def tile(b, node, ins):
    x = ins[0]
    m = _const(b, ins[1], "multiples").reshape(-1)
    return [b.op1("TILE", [x, b.ints(m)], [d * int(k) for d, k in zip(x.shape, m)], x.dtype)]


def broadcast_to(b, node, ins):
    shape = [int(d) for d in _const(b, ins[1], "the shape").reshape(-1)]
    return [b.op1("BROADCAST_TO", [ins[0], b.ints(shape)], shape, ins[0].dtype)]


def shape_of(b, node, ins):
    """Shapes are static after the batch dimension is fixed: Shape is a constant."""
    from .messages import np_dtype

    x = ins[0]
    if node.op == "Shape":
        return [b.const(np.array(x.shape, np_dtype(node.attrs.get("out_type", 3))))]
    if node.op == "Size":
        return [b.const(np.array(int(np.prod(x.shape)), np.int32))]
    return [b.const(np.array(x.rank, np.int32))]


def identity_n(b, node, ins):
    return list(ins)


def passthrough(b, node, ins):
    return [ins[0]]


RULES = {
    "Conv2D": conv2d, "DepthwiseConv2dNative": depthwise,
    "MaxPool": pool("MAX_POOL_2D"), "AvgPool": pool("AVERAGE_POOL_2D"),
    "AddV2": binary("ADD"), "Add": binary("ADD"), "BiasAdd": binary("ADD"),
    "Sub": binary("SUB"), "Mul": binary("MUL"), "RealDiv": binary("DIV"),
    "Div": binary("DIV"), "Maximum": binary("MAXIMUM"), "Minimum": binary("MINIMUM"),
    "SquaredDifference": binary("SQUARED_DIFFERENCE"), "Pow": binary("POW"),
    "Relu": unary("RELU"), "Relu6": unary("RELU6"), "Elu": unary("ELU"),
    "Sigmoid": unary("LOGISTIC"), "Tanh": unary("TANH"), "Rsqrt": unary("RSQRT"),
    "Sqrt": unary("SQRT"), "Exp": unary("EXP"), "Log": unary("LOG"), "Neg": unary("NEG"),
    "Abs": unary("ABS"), "LogSoftmax": unary("LOG_SOFTMAX"), "Softmax": softmax,
    "Square": square, "LeakyRelu": leaky_relu, "Selu": selu,
    "MatMul": matmul, "BatchMatMulV2": matmul, "BatchMatMulV3": matmul, "Einsum": einsum,
    "Mean": reduce("MEAN"), "Sum": reduce("SUM"), "Max": reduce("REDUCE_MAX"),
    "Min": reduce("REDUCE_MIN"), "Prod": reduce("REDUCE_PROD"),
    "Reshape": reshape, "Squeeze": squeeze, "ExpandDims": expand_dims,
    "Transpose": transpose, "ConcatV2": concat, "Pad": pad, "PadV2": pad, "MirrorPad": pad,
    "StridedSlice": strided_slice, "Slice": slice_, "Pack": pack, "Unpack": unpack,
    "Split": split, "GatherV2": gather,
    "ResizeBilinear": resize("RESIZE_BILINEAR"),
    "ResizeNearestNeighbor": resize("RESIZE_NEAREST_NEIGHBOR"),
    "FusedBatchNormV3": fused_batch_norm, "FusedBatchNorm": fused_batch_norm,
    "Cast": cast, "Tile": tile, "BroadcastTo": broadcast_to,
    "Identity": passthrough, "StopGradient": passthrough, "Snapshot": passthrough,
    "IdentityN": identity_n, "Shape": shape_of, "Size": shape_of, "Rank": shape_of,
}
