"""Pooling: MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool.

1-D and 2-D pools without dilation become TFLite's MAX_POOL_2D / AVERAGE_POOL_2D
(channels-last). Everything else — 3-D pools, dilated windows, average pools whose
asymmetric pads must not be counted — is computed by :func:`pool_by_slices`:

1. pad the input once (-inf or the dtype's lowest for max, 0 for sums) with the ONNX pads,
   extended at the end where ceil_mode needs a last partial window;
2. pooling is separable (a box max is a max of per-axis maxes; likewise sums), so for
   each spatial axis the ``k`` strided slices ``x[j*d :: s]`` (window offset ``j``,
   dilation ``d``, stride ``s``) are combined with MAXIMUM or ADD: ``sum(k)`` ops, not
   ``prod(k)``;
3. an average divides by the number of counted elements per window, a constant computed
   at conversion by running the same window sums over a 0/1 mask of the counted positions.

All of it is exact for max; sums differ from a direct sum only by float rounding order.
"""

from __future__ import annotations

import numpy as np

from ..context import channels_last
from ._common import out_shape
from .elementwise import binary, scalar, unary
from .nn import _geometry, _pad_input, _padding_mode, _reshape_logical


def _as_2d_pool(attrs: dict) -> dict:
    """A 1-D pool's attributes for the same pool over [N, C, 1, L]."""
    a = dict(attrs)
    a["kernel_shape"] = [1] + list(attrs["kernel_shape"])
    for key in ("strides", "dilations"):
        if key in attrs:
            a[key] = [1] + list(attrs[key])
    if "pads" in attrs:
        b, e = attrs["pads"]
        a["pads"] = [0, b, 0, e]
    return a


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


# --------------------------------------------------------------------------- by slices
def _axis_slice(ctx, v, axis: int, start: int, count: int, stride: int):
    """``count`` elements of logical ``axis`` from ``start`` every ``stride``, in v's layout."""
    perm = v.perm if v.const is None else None
    order = perm or tuple(range(v.rank))
    phys = order.index(axis)
    pshape = [v.shape[a] for a in order]
    begin, end, strides = [0] * v.rank, list(pshape), [1] * v.rank
    begin[phys], end[phys], strides[phys] = start, start + (count - 1) * stride + 1, stride
    shape = v.shape[:axis] + (count,) + v.shape[axis + 1:]
    idx = [ctx.constant_index(np.array(b, np.int32)) for b in (begin, end, strides)]
    opts = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
            "shrink_axis_mask": 0, "offset": False}
    return ctx.emit("STRIDED_SLICE", [ctx.physical(v, perm)] + idx, [shape], [v.dtype], opts,
                    perm=perm, version=4 if v.rank > 4 else 1)[0]


def _window_counts(size, kernel, strides, dilations, pads, ext, out, include_pad):
    """Counted elements per output window (numpy, at conversion)."""
    mask = np.zeros([s + b + e for s, (b, e) in zip(size, ext)], np.float64)
    region = tuple(slice(0 if include_pad else b, b + s + (pe if include_pad else 0))
                   for s, (b, _), (_, pe) in zip(size, ext, pads))
    mask[region] = 1.0
    for a, (k, st, d, o) in enumerate(zip(kernel, strides, dilations, out)):
        acc = 0
        for j in range(k):
            index = [slice(None)] * mask.ndim
            index[a] = slice(j * d, j * d + (o - 1) * st + 1, st)
            acc = acc + mask[tuple(index)]
        mask = acc
    return np.maximum(mask, 1.0)


def pool_by_slices(ctx, x, kind: str, kernel, strides, dilations, pads, out, include_pad):
    """``kind`` "max", "sum" or "avg" pooling of NC<spatial> ``x`` (see the module doc)."""
    size = x.shape[2:]
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out, strides, kernel, dilations)]
    ext = [(b, max(e, n - sz - b)) for (b, e), n, sz in zip(pads, need, size)]
    y = x
    if any(b or e for b, e in ext):
        perm = x.perm if x.const is None else None
        widths = [[0, 0], [0, 0]] + [list(p) for p in ext]
        order = perm or tuple(range(x.rank))
        pad_t = ctx.constant_index(np.array([widths[a] for a in order], np.int32))
        padded = x.shape[:2] + tuple(s + b + e for s, (b, e) in zip(size, ext))
        value = ctx.constant_index(np.array(_lowest(x.dtype) if kind == "max" else 0,
                                            x.dtype))
        y = ctx.emit("PADV2", [ctx.physical(x, perm), pad_t, value], [padded], [x.dtype],
                     perm=perm)[0]
    combine = "MAXIMUM" if kind == "max" else "ADD"
    for i, (k, s, d, o) in enumerate(zip(kernel, strides, dilations, out)):
        acc = None
        for j in range(k):
            piece = _axis_slice(ctx, y, 2 + i, j * d, o, s)
            acc = piece if acc is None else binary(ctx, combine, acc, piece)
        y = acc
    if kind == "avg":
        counts = _window_counts(size, kernel, strides, dilations, pads, ext, out, include_pad)
        y = binary(ctx, "DIV", y, ctx.const_value(counts.astype(x.dtype).reshape(
            (1, 1) + tuple(out))))
    return y


# --------------------------------------------------------------------------- rules
def _pool_attrs(ctx, x, attrs, shape):
    """(kernel, strides, dilations, pads) with ceil_mode's end extension folded in."""
    kernel = [int(k) for k in attrs["kernel_shape"]]
    strides, dilations, pads = _geometry(ctx, attrs, x, kernel)
    if attrs.get("ceil_mode", 0):
        # extend the end padding so the last window fits (the result is then floored)
        pads = [(b, e + max(0, (o - 1) * s + (k - 1) * d + 1 - (size + b + e)))
                for (b, e), o, s, k, d, size in zip(pads, shape[2:], strides, kernel,
                                                    dilations, x.shape[2:])]
    return kernel, strides, dilations, pads


def _builtin_pool(ctx, opcode, x, kernel, strides, pads, shape, include_pad):
    """The 2-D pool as one TFLite op (after a PAD if needed), or None if it has none."""
    xi = ctx.physical(x, channels_last(4))
    mode = _padding_mode(x.shape[2:], kernel, strides, [1, 1], pads)
    if opcode == "AVERAGE_POOL_2D" and mode == "SAME" and include_pad:
        mode = None
    if mode is None:
        if opcode == "MAX_POOL_2D":
            xi, _ = _pad_input(ctx, xi, x, pads, value=_lowest(x.dtype))
        elif include_pad:
            xi, _ = _pad_input(ctx, xi, x, pads)
        else:
            return None
        mode = "VALID"
    opts = {"padding": mode, "stride_h": strides[0], "stride_w": strides[1],
            "filter_height": kernel[0], "filter_width": kernel[1],
            "fused_activation_function": "NONE"}
    return ctx.emit(opcode, [xi], [shape], [x.dtype], opts, perm=channels_last(4))[0]


def _pool(opcode):
    def rule(ctx, node, ins, attrs, shape=None):
        x = ins[0]
        if x.rank == 3:     # 1-D pooling: a 2-D pool over height 1
            n, c, length = x.shape
            flat = out_shape(ctx, [])
            y = rule(ctx, node, [_reshape_logical(ctx, x, (n, c, 1, length))],
                     _as_2d_pool(attrs), shape=flat[:2] + (1,) + flat[2:])[0]
            return [_reshape_logical(ctx, y, flat)]
        if x.rank < 3:
            raise ctx.error(f"{node.op_type} needs an N, C, spatial... input, got shape "
                            f"{list(x.shape)}")
        shape = out_shape(ctx, []) if shape is None else shape
        kernel, strides, dilations, pads = _pool_attrs(ctx, x, attrs, shape)
        include_pad = bool(attrs.get("count_include_pad", 0))
        if x.rank == 4 and max(dilations) == 1:
            y = _builtin_pool(ctx, opcode, x, kernel, strides, pads, shape, include_pad)
            if y is not None:
                return [y]
        # the pads without ceil_mode's extension decide what an average counts
        plain = _geometry(ctx, attrs, x, kernel)[2]
        kind = "max" if opcode == "MAX_POOL_2D" else "avg"
        return [pool_by_slices(ctx, x, kind, kernel, strides, dilations, plain, shape[2:],
                               include_pad)]
    return rule


def _lp_pool(ctx, node, ins, attrs):
    """(sum over the window of |x|^p)^(1/p), the zero padding contributing nothing."""
    x = ins[0]
    p = float(attrs.get("p", 2))
    powered = binary(ctx, "POW", unary(ctx, "ABS", x), scalar(ctx, p, x.dtype))
    if x.rank == 3:
        n, c, length = x.shape
        flat = out_shape(ctx, [])
        a = _as_2d_pool(attrs)
        powered = _reshape_logical(ctx, powered, (n, c, 1, length))
        shape = flat[:2] + (1,) + flat[2:]
    else:
        a, shape = attrs, out_shape(ctx, [])
    kernel = [int(k) for k in a["kernel_shape"]]
    strides, dilations, pads = _geometry(ctx, a, powered, kernel)
    total = pool_by_slices(ctx, powered, "sum", kernel, strides, dilations, pads, shape[2:],
                           True)
    y = binary(ctx, "POW", total, scalar(ctx, 1.0 / p, x.dtype))
    return [_reshape_logical(ctx, y, flat) if x.rank == 3 else y]


def _global_pool(opcode):
    def rule(ctx, node, ins, attrs):
        x = ins[0]
        perm = channels_last(x.rank)
        xi = ctx.physical(x, perm)
        axes = ctx.constant_index(np.arange(1, x.rank - 1, dtype=np.int32))
        shape = x.shape[:2] + (1,) * (x.rank - 2)
        return ctx.emit(opcode, [xi, axes], [shape], [x.dtype], {"keep_dims": True},
                        perm=perm)
    return rule


RULES = {"MaxPool": _pool("MAX_POOL_2D"), "AveragePool": _pool("AVERAGE_POOL_2D"),
         "LpPool": _lp_pool, "GlobalAveragePool": _global_pool("MEAN"),
         "GlobalMaxPool": _global_pool("REDUCE_MAX")}
