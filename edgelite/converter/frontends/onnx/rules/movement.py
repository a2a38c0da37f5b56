"""Data movement: Expand, Tile, Slice, Split, Gather(ND), Pad, DepthToSpace, SpaceToDepth,
Range, ConstantOfShape, Dropout; all in the logical layout unless noted."""

from __future__ import annotations

import numpy as np

from ._common import int_array, norm_axis, out_info, out_shape
from .elementwise import binary, scalar, select, unary


def as_int32(ctx, v):
    """An int32 IR tensor of an index/shape value (constant or computed)."""
    if v.const is not None:
        return ctx.constant_index(np.asarray(v.const).astype(np.int32))
    if v.dtype == np.int32:
        return ctx.logical(v)
    return ctx.emit("CAST", [ctx.logical(v)], [v.shape], [np.int32])[0].index


def _expand(ctx, node, ins, attrs):
    x, shape_v = ins
    shape = out_shape(ctx, np.broadcast_shapes(
        x.shape, tuple(int_array(shape_v, "Expand's shape", ctx))) if shape_v.const is not None
        else x.shape)
    if tuple(shape) == x.shape:
        return [x]
    target = ctx.constant_index(np.array(shape, np.int32))
    # LiteRT registers BROADCAST_TO from version 2 on
    return ctx.emit("BROADCAST_TO", [ctx.logical(x), target], [shape], [x.dtype], version=2)


def _tile(ctx, node, ins, attrs):
    x, reps = ins
    shape = out_shape(ctx, [d * int(r) for d, r in zip(x.shape, reps.const)]
                      if reps.const is not None else x.shape)
    return ctx.emit("TILE", [ctx.logical(x), as_int32(ctx, reps)], [shape], [x.dtype])


def _slice(ctx, node, ins, attrs):
    x = ins[0]
    if ctx.opset < 10:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    elif any(v is not None and v.const is None for v in ins[1:5]):
        from .runtime_args import slice_runtime

        opt = (list(ins) + [None, None])[3:5]
        return [slice_runtime(ctx, x, ins[1], ins[2], opt[0], opt[1])]
    else:
        starts = list(int_array(ins[1], "Slice starts", ctx))
        ends = list(int_array(ins[2], "Slice ends", ctx))
        axes = list(int_array(ins[3], "Slice axes", ctx)) if len(ins) > 3 and ins[3] \
            is not None else list(range(len(starts)))
        steps = list(int_array(ins[4], "Slice steps", ctx)) if len(ins) > 4 and ins[4] \
            is not None else [1] * len(starts)
    begin, end, stride = [0] * x.rank, list(x.shape), [1] * x.rank
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = norm_axis(int(a), x.rank, ctx)
        lo, hi, _ = slice(int(s), int(e), int(st)).indices(x.shape[a])
        begin[a], end[a], stride[a] = lo, hi, int(st)
    shape = tuple(len(range(b, e, s)) for b, e, s in zip(begin, end, stride))
    # an end of -1 with a negative stride means "through index 0": TFLite needs end_mask
    end_mask = sum(1 << a for a in range(x.rank) if stride[a] < 0 and end[a] < 0)
    end = [0 if e < 0 else e for e in end]
    idx = [ctx.constant_index(np.array(v, np.int32)) for v in (begin, end, stride)]
    opts = {"begin_mask": 0, "end_mask": end_mask, "ellipsis_mask": 0, "new_axis_mask": 0,
            "shrink_axis_mask": 0, "offset": False}
    return ctx.emit("STRIDED_SLICE", [ctx.logical(x)] + idx, [shape], [x.dtype], opts,
                    version=4 if x.rank > 4 else 1)


def _split(ctx, node, ins, attrs):
    x = ins[0]
    axis = norm_axis(int(attrs.get("axis", 0)), x.rank, ctx)
    n = len(node.output)
    if ctx.opset >= 13 and len(ins) > 1 and ins[1] is not None and ins[1].const is None:
        # sizes known only at run time: the outputs' inferred shapes hold them
        known = [out_info(ctx, k)[0] for k in range(n)]
        if any(s is None for s in known):
            raise ctx.error("Split sizes known only at run time need statically known "
                            "output shapes")
        sizes = [int(s[axis]) for s in known]
    elif ctx.opset >= 13 and len(ins) > 1 and ins[1] is not None:
        sizes = [int(s) for s in int_array(ins[1], "Split sizes", ctx)]
    elif "split" in attrs:
        sizes = [int(s) for s in attrs["split"]]
    else:
        total = x.shape[axis]
        if ctx.opset >= 18 and "num_outputs" in attrs:
            n = int(attrs["num_outputs"])
        chunk = -(-total // n)
        sizes = [min(chunk, total - i * chunk) for i in range(n)]
    shapes = [x.shape[:axis] + (s,) + x.shape[axis + 1:] for s in sizes]
    axis_t = ctx.constant_index(np.array(axis, np.int32))
    sizes_t = ctx.constant_index(np.array(sizes, np.int32))
    return ctx.emit("SPLIT_V", [ctx.logical(x), sizes_t, axis_t], shapes,
                    [x.dtype] * len(sizes), {"num_splits": len(sizes)})


def _positive_indices(ctx, idx, dim):
    """ONNX allows negative indices; TFLite does not: add ``dim`` where negative."""
    if idx.const is not None:
        c = np.asarray(idx.const).astype(np.int64)
        return ctx.const_value(np.where(c < 0, c + dim, c).astype(np.int32))
    i32 = idx if idx.dtype == np.int32 else \
        ctx.emit("CAST", [ctx.logical(idx)], [idx.shape], [np.int32])[0]
    neg = binary(ctx, "LESS", i32, scalar(ctx, 0, np.int32))
    return select(ctx, neg, binary(ctx, "ADD", i32, scalar(ctx, dim, np.int32)), i32)


def _gather(ctx, node, ins, attrs):
    x, idx = ins
    axis = norm_axis(int(attrs.get("axis", 0)), x.rank, ctx)
    idx = _positive_indices(ctx, idx, x.shape[axis])
    shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    return ctx.emit("GATHER", [ctx.logical(x), ctx.logical(idx)], [shape], [x.dtype],
                    {"axis": axis, "batch_dims": 0})


def _gather_nd(ctx, node, ins, attrs):
    x, idx = ins
    if attrs.get("batch_dims", 0):
        raise ctx.error("GatherND with batch_dims > 0 is not supported")
    shape = out_shape(ctx, idx.shape[:-1] + x.shape[idx.shape[-1]:])
    return ctx.emit("GATHER_ND", [ctx.logical(x), as_int32(ctx, idx)], [shape], [x.dtype])


def _pad(ctx, node, ins, attrs):
    x = ins[0]
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if ctx.opset < 11:
        pads = [int(p) for p in attrs["pads"]]
        value = float(attrs.get("value", 0.0))
        axes = list(range(x.rank))
    elif any(v is not None and v.const is None for v in ins[1:4]):
        from .runtime_args import pad_runtime

        opt = (list(ins) + [None, None])[2:4]
        return [pad_runtime(ctx, x, ins[1], opt[0], opt[1], mode)]
    else:
        pads = [int(p) for p in int_array(ins[1], "Pad pads", ctx)]
        value = ins[2].const if len(ins) > 2 and ins[2] is not None and \
            ins[2].const is not None else 0
        axes = [norm_axis(int(a), x.rank, ctx) for a in int_array(ins[3], "Pad axes", ctx)] \
            if len(ins) > 3 and ins[3] is not None else list(range(x.rank))
    n = len(axes)
    widths = [[0, 0] for _ in range(x.rank)]
    for k, a in enumerate(axes):
        widths[a] = [pads[k], pads[k + n]]
    if any(w < 0 for pair in widths for w in pair):
        raise ctx.error("negative pads (cropping) are not supported")
    shape = tuple(d + b + e for d, (b, e) in zip(x.shape, widths))
    w_t = ctx.constant_index(np.array(widths, np.int32))
    if mode == "constant":
        if np.asarray(value).item() == 0:
            return ctx.emit("PAD", [ctx.logical(x), w_t], [shape], [x.dtype])
        c = ctx.constant_index(np.array(np.asarray(value).item(), x.dtype))
        return ctx.emit("PADV2", [ctx.logical(x), w_t, c], [shape], [x.dtype])
    if mode == "reflect":
        return ctx.emit("MIRROR_PAD", [ctx.logical(x), w_t], [shape], [x.dtype],
                        {"mode": "REFLECT"})
    if mode == "edge":
        # repeat the border: gather with clamped indices along each padded axis
        v = x
        for a, (b, e) in enumerate(widths):
            if b or e:
                index = np.clip(np.arange(-b, v.shape[a] + e), 0, v.shape[a] - 1)
                v = _gather(ctx, node, [v, ctx.const_value(index.astype(np.int32))],
                            {"axis": a})[0]
        return [v]
    raise ctx.error(f"Pad mode {mode!r} is not supported")


def _depth_to_space(ctx, node, ins, attrs):
    from ..context import channels_last

    x = ins[0]
    bs = int(attrs["blocksize"])
    mode = attrs.get("mode", b"DCR")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    n, c, h, w = x.shape
    shape = (n, c // (bs * bs), h * bs, w * bs)
    if mode == "CRD":
        # CRD orders the input channels (c', b_h, b_w); DCR's are (b_h, b_w, c'): permute
        # the channels first, which TFLite's DEPTH_TO_SPACE (DCR in NHWC) then undoes
        if x.const is not None:
            raise ctx.error("DepthToSpace on a constant is not supported")
        cp = c // (bs * bs)
        order = np.arange(c).reshape(cp, bs, bs).transpose(1, 2, 0).reshape(-1)
        x = _gather(ctx, node, [x, ctx.const_value(order.astype(np.int32))], {"axis": 1})[0]
    xi = ctx.physical(x, channels_last(4))
    return ctx.emit("DEPTH_TO_SPACE", [xi], [shape], [x.dtype], {"block_size": bs},
                    perm=channels_last(4))


def _space_to_depth(ctx, node, ins, attrs):
    from ..context import channels_last

    x = ins[0]
    bs = int(attrs["blocksize"])
    mode = attrs.get("mode", b"DCR")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    n, c, h, w = x.shape
    shape = (n, c * bs * bs, h // bs, w // bs)
    xi = ctx.physical(x, channels_last(4))
    y = ctx.emit("SPACE_TO_DEPTH", [xi], [shape], [x.dtype], {"block_size": bs},
                 perm=channels_last(4))
    if mode == "CRD":
        # TFLite orders the output channels (b_h, b_w, c); CRD wants (c, b_h, b_w)
        order = np.arange(c * bs * bs).reshape(bs * bs, c).T.reshape(-1)
        y = _gather(ctx, node, [y[0], ctx.const_value(order.astype(np.int32))], {"axis": 1})
    return y


def _range(ctx, node, ins, attrs):
    start, limit, delta = ins
    shape = out_shape(ctx, [0])
    idx = [ctx.logical(v) for v in ins]
    return ctx.emit("RANGE", idx, [shape], [start.dtype])


def _constant_of_shape(ctx, node, ins, attrs):
    from onnx import numpy_helper

    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else \
        np.zeros(1, np.float32)
    shape = out_shape(ctx, [])
    return ctx.emit("FILL", [as_int32(ctx, ins[0]),
                             ctx.constant_index(value.reshape(()))], [shape], [value.dtype])


def _dropout(ctx, node, ins, attrs):
    x = ins[0]
    outs = [x]
    if len(node.output) > 1 and node.output[1]:
        outs.append(ctx.const_value(np.ones(x.shape, np.bool_)))
    return outs


def _swish(ctx, node, ins, attrs):
    x = ins[0]
    alpha = float(attrs.get("alpha", 1.0))
    s = x if alpha == 1.0 else binary(ctx, "MUL", x, scalar(ctx, alpha, x.dtype))
    return [binary(ctx, "MUL", x, unary(ctx, "LOGISTIC", s))]


RULES = {"Expand": _expand, "Tile": _tile, "Slice": _slice, "Split": _split,
         "Gather": _gather, "GatherND": _gather_nd, "Pad": _pad,
         "DepthToSpace": _depth_to_space, "SpaceToDepth": _space_to_depth, "Range": _range,
         "ConstantOfShape": _constant_of_shape, "Dropout": _dropout, "Swish": _swish}
