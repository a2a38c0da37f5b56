"""Slice and Pad whose parameters (starts, ends, axes, steps, pads) are known only at run
time: the parameters are turned into full-rank int32 tensors by small integer ops and fed
to TFLite ops that take them as inputs.

The output shape must still be known at conversion (ONNX shape inference, or the graph's
declared output), so the data-dependent part is only *which* elements land where.

Slice: ONNX's per-axis lists are scattered into full-rank begin/end/strides vectors
(SCATTER_ND of the axes; unnamed axes keep 0 / dim / 1) for STRIDED_SLICE, whose clamping
of negative and out-of-range values is numpy's, as in onnx's reference implementation and
the constant-parameter lowering. (A start below ``-dim`` with a negative step selects
nothing there; onnxruntime, following the spec's wording, clamps it to 0.)

Pad: for every axis, output position ``i`` reads input position ``i - pad_begin``, mapped
into range by the mode (clamped for edge, modulo for wrap, mirrored for reflect); constant
mode gathers the clamped position and selects the pad value where it fell outside. One
GATHER per axis does any mode and negative pads (cropping) alike.
"""

from __future__ import annotations

import numpy as np

from ._common import out_info
from .elementwise import binary, scalar, select, unary
from .movement import _positive_indices, as_int32

_I32_MAX = 2 ** 31 - 1


def _known_shape(ctx, what: str) -> tuple:
    shape, _ = out_info(ctx)
    if shape is None:
        raise ctx.error(f"{what} known only at run time need a statically known output "
                        f"shape (pass input_shapes, or declare the output's shape)")
    return tuple(shape)


def _int32(ctx, v):
    """An int64/int32 value as int32, saturating values beyond int32's range."""
    if v.dtype == np.int32:
        return v
    if v.const is not None:
        c = np.clip(np.asarray(v.const).astype(np.int64), -_I32_MAX, _I32_MAX)
        return ctx.const_value(c.astype(np.int32))
    v = binary(ctx, "MINIMUM", v, scalar(ctx, _I32_MAX, v.dtype))
    v = binary(ctx, "MAXIMUM", v, scalar(ctx, -_I32_MAX, v.dtype))
    return unary(ctx, "CAST", v, dtype=np.int32)


def _full(ctx, coords, values, default: np.ndarray, hit):
    """A rank-length int32 vector: ``values`` at ``coords``, ``default`` elsewhere."""
    shape_t = ctx.constant_index(np.array(default.shape, np.int32))
    scattered = ctx.emit("SCATTER_ND", [coords, ctx.logical(values), shape_t],
                         [default.shape], [np.int32])[0]
    return select(ctx, hit, scattered, ctx.const_value(default))


def slice_runtime(ctx, x, starts, ends, axes, steps):
    """STRIDED_SLICE of ``x`` with any of the ONNX Slice parameters known only at run time."""
    shape = _known_shape(ctx, "Slice parameters")
    n = starts.shape[0]
    rank = x.rank
    if axes is None:
        axes = ctx.const_value(np.arange(n, dtype=np.int32))
    axes = _positive_indices(ctx, axes, rank)
    coords = ctx.physical(axes, None) if axes.const is None else \
        ctx.constant_index(np.asarray(axes.const).astype(np.int32))
    coords = ctx.emit("RESHAPE", [coords, ctx.constant_index(np.array([n, 1], np.int32))],
                      [(n, 1)], [np.int32], {"new_shape": [n, 1]})[0].index
    shape_t = ctx.constant_index(np.array([rank], np.int32))
    ones = ctx.constant_index(np.ones(n, np.int32))
    hits = ctx.emit("SCATTER_ND", [coords, ones, shape_t], [(rank,)], [np.int32])[0]
    hit = binary(ctx, "GREATER", hits, scalar(ctx, 0, np.int32))
    dims = np.array(x.shape, np.int32)
    begin = _full(ctx, coords, _int32(ctx, starts), np.zeros(rank, np.int32), hit)
    end = _full(ctx, coords, _int32(ctx, ends), dims, hit)
    stride = ctx.const_value(np.ones(rank, np.int32)) if steps is None else \
        _full(ctx, coords, _int32(ctx, steps), np.ones(rank, np.int32), hit)
    opts = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
            "shrink_axis_mask": 0, "offset": False}
    return ctx.emit("STRIDED_SLICE", [ctx.logical(x)] + [as_int32(ctx, v) for v in
                                                         (begin, end, stride)],
                    [shape], [x.dtype], opts, version=4 if rank > 4 else 1)[0]


def _axis_source(ctx, mode: str, begin, dim: int, size: int):
    """(int32 input positions for the ``size`` outputs of one axis, in-range mask or None)."""
    pos = binary(ctx, "SUB", ctx.const_value(np.arange(size, dtype=np.int32)), begin)
    if mode == "wrap":
        return binary(ctx, "FLOOR_MOD", pos, scalar(ctx, dim, np.int32)), None
    if mode == "reflect":
        if dim == 1:
            return ctx.const_value(np.zeros(size, np.int32)), None
        period = 2 * (dim - 1)
        m = binary(ctx, "FLOOR_MOD", pos, scalar(ctx, period, np.int32))
        return binary(ctx, "MINIMUM", m, binary(ctx, "SUB", scalar(ctx, period, np.int32),
                                                m)), None
    clamped = binary(ctx, "MINIMUM", binary(ctx, "MAXIMUM", pos, scalar(ctx, 0, np.int32)),
                     scalar(ctx, dim - 1, np.int32))
    if mode == "edge":
        return clamped, None
    return clamped, binary(ctx, "EQUAL", clamped, pos)


def pad_runtime(ctx, x, pads, value, axes, mode: str):
    """ONNX Pad (opset >= 11) with pads (and possibly axes or value) known at run time."""
    shape = _known_shape(ctx, "Pad's pads")
    if mode not in ("constant", "edge", "wrap", "reflect"):
        raise ctx.error(f"Pad mode {mode!r} is not supported")
    pads = _int32(ctx, pads)
    if axes is not None and axes.const is None:
        # which axes are padded is known at run time only: scatter the begin pads into a
        # full-rank vector (0 elsewhere) and visit every axis
        n = axes.shape[0]
        coords = _positive_indices(ctx, axes, x.rank)
        coords = ctx.emit("RESHAPE", [ctx.logical(coords), ctx.constant_index(
            np.array([n, 1], np.int32))], [(n, 1)], [np.int32], {"new_shape": [n, 1]})[0]
        begins = ctx.emit("STRIDED_SLICE", [ctx.logical(pads)] + [ctx.constant_index(
            np.array([v], np.int32)) for v in (0, n, 1)], [(n,)], [np.int32],
            {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
             "shrink_axis_mask": 0, "offset": False})[0]
        pads = ctx.emit("SCATTER_ND", [coords.index, begins.index, ctx.constant_index(
            np.array([x.rank], np.int32))], [(x.rank,)], [np.int32])[0]
        axes = list(range(x.rank))
    else:
        axes = [int(a) % x.rank for a in np.asarray(axes.const).reshape(-1)] \
            if axes is not None else list(range(x.rank))
    y, keep = x, None
    for k, a in enumerate(axes):
        if x.shape[a] == 0:
            raise ctx.error("padding an empty axis is not supported")
        begin = ctx.emit("GATHER", [ctx.logical(pads), ctx.constant_index(np.array(k, np.int32))],
                         [()], [np.int32], {"axis": 0, "batch_dims": 0})[0]
        src, ok = _axis_source(ctx, mode, begin, x.shape[a], shape[a])
        y = ctx.emit("GATHER", [ctx.logical(y), ctx.logical(src)],
                     [y.shape[:a] + (shape[a],) + y.shape[a + 1:]], [x.dtype],
                     {"axis": a, "batch_dims": 0})[0]
        if ok is not None:
            ok = ctx.emit("RESHAPE", [ok.index, ctx.constant_index(
                np.array([shape[a] if i == a else 1 for i in range(x.rank)], np.int32))],
                [tuple(shape[a] if i == a else 1 for i in range(x.rank))], [np.bool_])[0]
            keep = ok if keep is None else binary(ctx, "LOGICAL_AND", keep, ok)
    if keep is None:
        return y
    if value is None:
        value = scalar(ctx, 0, x.dtype)
    elif value.shape != ():
        value = ctx.emit("RESHAPE", [ctx.logical(value), ctx.constant_index(
            np.zeros(0, np.int32))], [()], [value.dtype], {"new_shape": []})[0]
    return select(ctx, keep, y, value)
