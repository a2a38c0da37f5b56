"""Resize and Upsample whose scales arrive only at run time (the output shape must still be
known at conversion): the sampling is computed in the graph.

ONNX's coordinate for output row ``y`` is, for every transformation, ``y * k + b`` with
``k`` and ``b`` depending on the run-time scale ``s`` only (``k = 1/s`` except for
align_corners' ``(in - 1) / (s * in - 1)``). So per resized axis a few scalar ops give
``k``, one MUL and one ADD give the coordinates, then

* nearest: the rounding mode (FLOOR / CEIL of the shifted coordinate), clamp to the axis,
  CAST to int32, GATHER the rows;
* linear: clamp to the axis, GATHER the lower and upper neighbours, blend with the
  fractional part as weights.

Scales for N and C are taken to be 1 when the output keeps those axes (no ONNX exporter
writes others). Positions are float32 here where ONNX's reference uses float64; a coordinate within
float32 rounding of a rounding tie may land on the other row.
"""

from __future__ import annotations

import numpy as np

from ._common import physical_axis
from .elementwise import binary, scalar, unary

_F32 = np.float32


def _scalar_at(ctx, v, i: int):
    """Element ``i`` of the 1-D value ``v`` as a float32 scalar value."""
    index = ctx.constant_index(np.array(i, np.int32))
    e = ctx.emit("GATHER", [ctx.logical(v), index], [()], [v.dtype],
                 {"axis": 0, "batch_dims": 0})[0]
    return e if e.dtype == _F32 else unary(ctx, "CAST", e, dtype=_F32)


def runtime_scales(ctx, op_type: str, v, sizes: bool, x, axes: list[int],
                   policy: str) -> dict:
    """Per resized logical axis, its scale as a scalar value. ``v`` holds scales, or sizes
    turned into one scale by keep_aspect_ratio_policy ``policy``."""
    if not sizes:
        return {a: _scalar_at(ctx, v, i) for i, a in enumerate(axes) if a >= 2}
    ratios = [binary(ctx, "DIV", _scalar_at(ctx, v, i), scalar(ctx, float(x.shape[a]), _F32))
              for i, a in enumerate(axes)]
    pick = "MINIMUM" if policy == "not_larger" else "MAXIMUM"
    s = ratios[0]
    for r in ratios[1:]:
        s = binary(ctx, pick, s, r)
    return {a: s for a in axes if a >= 2}


def _coords(ctx, ctm: str, s, src: int, dst: int):
    """ONNX's float32 source coordinates of the ``dst`` output rows as a 1-D value."""
    y = np.arange(dst, dtype=np.float64)
    if dst == 1 and ctm == "pytorch_half_pixel":
        raise ctx.error("Resize pytorch_half_pixel to one row with run-time scales is not "
                        "supported (whether the unfloored length is 1 is not known)")
    if dst == 1 and ctm == "align_corners":    # row 0 is sampled (0 * k), whatever k is
        return ctx.const_value(np.zeros(1, _F32))
    one = scalar(ctx, 1.0, _F32)
    if ctm == "align_corners":
        denominator = binary(ctx, "SUB", binary(ctx, "MUL", s, scalar(ctx, float(src), _F32)),
                             one)
        k = binary(ctx, "DIV", scalar(ctx, float(src - 1), _F32), denominator)
        return binary(ctx, "MUL", ctx.const_value(y.astype(_F32)), k)
    k = binary(ctx, "DIV", one, s)
    shift, offset = {"asymmetric": (0.0, 0.0), "tf_half_pixel_for_nn": (0.5, 0.0),
                     "half_pixel": (0.5, -0.5), "pytorch_half_pixel": (0.5, -0.5),
                     "half_pixel_symmetric": (0.5 - dst / 2, src / 2 - 0.5)}[ctm]
    p = binary(ctx, "MUL", ctx.const_value((y + shift).astype(_F32)), k)
    return binary(ctx, "ADD", p, scalar(ctx, offset, _F32)) if offset else p


def _clamped(ctx, p, src: int):
    p = binary(ctx, "MAXIMUM", p, scalar(ctx, 0.0, _F32))
    return binary(ctx, "MINIMUM", p, scalar(ctx, float(src - 1), _F32))


def gather_rows(ctx, x, axis: int, rows):
    """Rows ``rows`` (an int array, or an int32 value) of logical ``axis``, in x's layout."""
    if isinstance(rows, np.ndarray):
        rows = ctx.const_value(rows.astype(np.int32))
    shape = x.shape[:axis] + (rows.shape[0],) + x.shape[axis + 1:]
    return ctx.emit("GATHER", [x.index, ctx.logical(rows)], [shape], [x.dtype],
                    {"axis": physical_axis(x, axis), "batch_dims": 0}, perm=x.perm)[0]


def _gather_rows(ctx, x, axis: int, rows_f32):
    return gather_rows(ctx, x, axis, unary(ctx, "CAST", rows_f32, dtype=np.int32))


def resample_runtime(ctx, x, axis: int, s, dst: int, mode: str, ctm: str, rounding: str):
    """``x`` resized along logical ``axis`` to ``dst`` rows at run-time scale ``s``."""
    src = x.shape[axis]
    p = _coords(ctx, ctm, s, src, dst)
    if mode == "nearest":
        if rounding == "simple":      # Resize-10 / Upsample: down when enlarging, else up
            rounding = "ceil" if dst < src else "floor"
        op, shift = {"floor": ("FLOOR", 0.0), "ceil": ("CEIL", 0.0),
                     "round_prefer_floor": ("CEIL", -0.5),
                     "round_prefer_ceil": ("FLOOR", 0.5)}[rounding]
        if shift:
            p = binary(ctx, "ADD", p, scalar(ctx, shift, _F32))
        return _gather_rows(ctx, x, axis, _clamped(ctx, unary(ctx, op, p), src))
    p = _clamped(ctx, p, src)
    low = unary(ctx, "FLOOR", p)
    high = binary(ctx, "MINIMUM", binary(ctx, "ADD", low, scalar(ctx, 1.0, _F32)),
                  scalar(ctx, float(src - 1), _F32))
    shape = [1] * x.rank
    shape[axis] = dst
    w_high = binary(ctx, "SUB", p, low)
    w_high = ctx.emit("RESHAPE", [ctx.logical(w_high), ctx.constant_index(
        np.array(shape, np.int32))], [tuple(shape)], [_F32], {"new_shape": shape})[0]
    w_low = binary(ctx, "SUB", scalar(ctx, 1.0, _F32), w_high)
    a = binary(ctx, "MUL", _gather_rows(ctx, x, axis, low), w_low)
    return binary(ctx, "ADD", a, binary(ctx, "MUL", _gather_rows(ctx, x, axis, high), w_high))
