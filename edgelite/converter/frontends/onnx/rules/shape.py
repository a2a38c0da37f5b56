"""Shape and axis ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Softmax,
reductions, Split, Slice, Gather, Tile, Expand, Pad, ArgMax/ArgMin.

Ops that take axes work in their input's stored layout (the axes are remapped, nothing is
transposed); ops that rearrange elements (Reshape, Flatten) need the logical layout.
"""

from __future__ import annotations

import numpy as np

from ..context import Value
from ._common import int_array, norm_axis, out_info, out_shape, physical_axis
from .nn import _reshape_logical, _transpose_logical


def _reshape(ctx, node, ins, attrs):
    x = ins[0]
    if ctx.opset >= 5 and ins[1].const is None:
        # shape computed at run time: TFLite's RESHAPE takes it as a tensor; ONNX's 0 =
        # "copy this dim" (allowzero=0) becomes a SELECT against the known input dims
        from .elementwise import binary, scalar, select
        from .movement import as_int32

        shape = out_shape(ctx, [])
        target = ins[1]
        if not attrs.get("allowzero", 0) and target.rank == 1:
            n = target.shape[0]
            dims = np.array([x.shape[i] if i < x.rank else 0 for i in range(n)], np.int32)
            v = target if target.dtype == np.int32 else \
                ctx.emit("CAST", [ctx.logical(target)], [target.shape], [np.int32])[0]
            zero = binary(ctx, "EQUAL", v, scalar(ctx, 0, np.int32))
            target = select(ctx, zero, ctx.const_value(dims), v)
        return ctx.emit("RESHAPE", [ctx.logical(x), as_int32(ctx, target)], [shape],
                        [x.dtype])
    shape = out_shape(ctx, _onnx_reshape_shape(ctx, x, ins, attrs))
    return [_reshape_logical(ctx, x, shape)]


def _onnx_reshape_shape(ctx, x, ins, attrs):
    target = [int(d) for d in int_array(ins[1], "Reshape's shape", ctx)]
    allowzero = attrs.get("allowzero", 0)
    out = [x.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        out[out.index(-1)] = int(np.prod(x.shape)) // max(known, 1)
    return out


def _flatten(ctx, node, ins, attrs):
    x = ins[0]
    axis = int(attrs.get("axis", 1))
    axis = axis + x.rank if axis < 0 else axis      # in [-rank, rank]
    if not 0 <= axis <= x.rank:
        raise ctx.error(f"Flatten axis {attrs.get('axis')} is out of range for rank {x.rank}")
    shape = (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))
    return [_reshape_logical(ctx, x, shape)]


def _squeeze(ctx, node, ins, attrs):
    x = ins[0]
    shape = out_shape(ctx, [d for d in x.shape if d != 1])
    return [_reshape_logical(ctx, x, shape)]


def _unsqueeze(ctx, node, ins, attrs):
    x = ins[0]
    if ctx.opset >= 13 and ins[1] is not None and ins[1].const is None:
        # axes known only at run time: the inferred output shape says where the 1s go
        shape, _ = out_info(ctx)
        if shape is None:
            raise ctx.error("Unsqueeze axes known only at run time need a statically "
                            "known output shape")
        return [_reshape_logical(ctx, x, shape)]
    axes = attrs.get("axes") if ctx.opset < 13 else int_array(ins[1], "Unsqueeze axes", ctx)
    rank = x.rank + len(axes)
    axes = sorted(norm_axis(int(a), rank, ctx) for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return [_reshape_logical(ctx, x, out_shape(ctx, shape))]


def _transpose(ctx, node, ins, attrs):
    x = ins[0]
    perm = tuple(int(p) for p in attrs.get("perm", range(x.rank - 1, -1, -1)))
    if x.const is not None:
        return [_transpose_logical(ctx, x, perm)]
    # No data moves here: the output is x's storage with a new logical order, recorded as
    # the output's layout; a TRANSPOSE appears only if a consumer needs another layout.
    out_logical = tuple(x.shape[p] for p in perm)
    where = {a: i for i, a in enumerate(perm)}      # x's logical axis -> output axis
    stored = tuple(where[a] for a in (x.perm or range(x.rank)))
    identity = stored == tuple(range(len(stored)))
    return [Value(out_logical, x.dtype, index=x.index, perm=None if identity else stored)]


def _concat(ctx, node, ins, attrs):
    vals = [v for v in ins if v is not None and (v.const is None or v.const.size or
                                                 v.rank > 1)]
    rank = vals[0].rank
    axis = norm_axis(int(attrs["axis"]), rank, ctx)
    perm = next((v.perm for v in vals if v.const is None and v.perm is not None), None)
    idx = [ctx.physical(v, perm) for v in vals]
    shape = out_shape(ctx, [])
    pa = axis if perm is None else perm.index(axis)
    return ctx.emit("CONCATENATION", idx, [shape], [vals[0].dtype],
                    {"axis": pa, "fused_activation_function": "NONE"}, perm=perm)


def _softmax(opcode):
    def rule(ctx, node, ins, attrs):
        x = ins[0]
        default = -1 if ctx.opset >= 13 else 1
        axis = norm_axis(int(attrs.get("axis", default)), x.rank, ctx)
        opts = {"beta": 1.0} if opcode == "SOFTMAX" else {}
        if ctx.opset < 13 and axis != x.rank - 1:
            # legacy semantics: softmax over the flattened trailing block
            flat = _reshape_logical(ctx, x, (int(np.prod(x.shape[:axis])),
                                             int(np.prod(x.shape[axis:]))))
            y = ctx.emit(opcode, [flat.index], [flat.shape], [x.dtype], opts)[0]
            return [_reshape_logical(ctx, y, x.shape)]
        if physical_axis(x, axis) == x.rank - 1 and x.const is None:
            return ctx.emit(opcode, [x.index], [x.shape], [x.dtype], opts, perm=x.perm)
        # move the axis last, softmax, move it back
        perm = tuple(a for a in range(x.rank) if a != axis) + (axis,)
        xi = ctx.physical(x, perm)
        return ctx.emit(opcode, [xi], [x.shape], [x.dtype], opts, perm=perm)
    return rule


_REDUCERS = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX",
             "ReduceMin": "REDUCE_MIN", "ReduceProd": "REDUCE_PROD"}


def _reduce_axes(ctx, node, ins, attrs, x):
    axes_from_input = node.op_type == "ReduceSum" and ctx.opset >= 13 or ctx.opset >= 18
    if axes_from_input:
        if len(ins) > 1 and ins[1] is not None and ins[1].const is None:
            if ins[1].shape == (0,):       # statically empty: "all axes" (or no-op)
                return None if attrs.get("noop_with_empty_axes", 0) else \
                    list(range(x.rank))
            return ins[1]          # known only at run time
        axes = int_array(ins[1], "reduction axes", ctx) if len(ins) > 1 and ins[1] is not None \
            else None
    else:
        axes = attrs.get("axes")
    if axes is None or len(axes) == 0:
        if attrs.get("noop_with_empty_axes", 0):
            return None
        axes = range(x.rank)
    return sorted({norm_axis(int(a), x.rank, ctx) for a in axes})


def _reducer(opcode):
    def rule(ctx, node, ins, attrs):
        x = ins[0]
        axes = _reduce_axes(ctx, node, ins, attrs, x)
        if axes is None:
            return [x]
        if x.dtype == np.bool_ and opcode in ("REDUCE_MAX", "REDUCE_MIN"):
            # logical any/all as the max/min of 0/1 integers
            from .elementwise import unary
            y = rule(ctx, node, [unary(ctx, "CAST", x, dtype=np.int32)] + list(ins[1:]),
                     attrs)[0]
            return [unary(ctx, "CAST", y, dtype=np.bool_)]
        if not isinstance(axes, list):      # a run-time axes tensor
            return [reduce_runtime(ctx, opcode, x, axes, attrs)]
        return [reduce(ctx, opcode, x, axes, bool(attrs.get("keepdims", 1)))]
    return rule


def reduce_runtime(ctx, opcode, x, axes, attrs):
    """A reduction over axes known only at run time (logical layout)."""
    from .movement import as_int32

    if attrs.get("noop_with_empty_axes", 0):
        raise ctx.error("run-time reduction axes with noop_with_empty_axes=1 are not "
                        "supported")
    keep = bool(attrs.get("keepdims", 1))
    shape = out_shape(ctx, [])
    return ctx.emit(opcode, [ctx.logical(x), as_int32(ctx, axes)], [shape], [x.dtype],
                    {"keep_dims": keep})[0]


def reduce(ctx, opcode, x, axes, keep):
    shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape)) if keep else \
        tuple(d for a, d in enumerate(x.shape) if a not in axes)
    if keep:
        perm = x.perm if x.const is None else None
        phys = [a if perm is None else perm.index(a) for a in axes]
        src = x.index if x.const is None else ctx.logical(x)
    else:
        perm, phys, src = None, list(axes), ctx.logical(x)
    axes_t = ctx.constant_index(np.array(sorted(phys), np.int32))
    return ctx.emit(opcode, [src, axes_t], [shape], [x.dtype], {"keep_dims": keep},
                    perm=perm)[0]


def _argminmax(opcode):
    def rule(ctx, node, ins, attrs):
        x = ins[0]
        axis = norm_axis(int(attrs.get("axis", 0)), x.rank, ctx)
        last = bool(attrs.get("select_last_index", 0))
        keep = bool(attrs.get("keepdims", 1))
        reduced = tuple(d for a, d in enumerate(x.shape) if a != axis)
        axis_t = ctx.constant_index(np.array([axis], np.int32))
        src = ctx.logical(x)
        if last:    # the first extremum of the reversed axis is the last one
            src = ctx.emit("REVERSE_V2", [src, axis_t], [x.shape], [x.dtype])[0].index
        y = ctx.emit(opcode, [src, axis_t], [reduced], [np.int64],
                     {"output_type": "INT64"})[0]
        if last:
            from .elementwise import binary, scalar
            y = binary(ctx, "SUB", scalar(ctx, x.shape[axis] - 1, np.int64), y)
        if keep:
            y = _reshape_logical(ctx, y, x.shape[:axis] + (1,) + x.shape[axis + 1:])
        return [y]
    return rule


RULES = {
    "Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Transpose": _transpose, "Concat": _concat, "Softmax": _softmax("SOFTMAX"),
    "LogSoftmax": _softmax("LOG_SOFTMAX"), "ArgMax": _argminmax("ARG_MAX"),
    "ArgMin": _argminmax("ARG_MIN"),
}
RULES.update({op: _reducer(tfl) for op, tfl in _REDUCERS.items()})
