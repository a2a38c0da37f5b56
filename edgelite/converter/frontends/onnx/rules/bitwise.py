"""BitShift on 8-, 16- and 32-bit integers, as integer arithmetic (TFLite has no shifts).

With ``p = 2 ** s`` looked up in a constant table (GATHER) by the clamped shift:
* LEFT is ``x * p`` wrapped to the type's width (FLOOR_MOD 2**W, then back to the signed
  range), computed in int32 for 8/16-bit types and in int64 for 32-bit ones;
* RIGHT is ``floor(x / p)`` (FLOOR_DIV: the arithmetic shift for signed values).
A shift outside [0, W) (negative, or at least the width) gives 0 for LEFT and for
unsigned RIGHT, and the sign fill (-1 or 0) for signed RIGHT, as ONNX's reference.
int32 RIGHT by 31 is the sign fill too (2**31 does not fit FLOOR_DIV's int32).
"""

from __future__ import annotations

import numpy as np

from .elementwise import binary, scalar, select, unary


def _cast(ctx, v, dtype):
    return v if v.dtype == dtype else unary(ctx, "CAST", v, dtype=dtype)


def _powers(ctx, s, dtype, top: int):
    """2 ** s as ``dtype``, for s already clamped to [0, top]."""
    table = ctx.const_value((2 ** np.arange(top + 1, dtype=np.int64)).astype(dtype))
    return ctx.emit("GATHER", [ctx.logical(table), ctx.logical(s)], [s.shape], [dtype],
                    {"axis": 0, "batch_dims": 0})[0]


def _bit_shift(ctx, node, ins, attrs):
    x, s = ins
    direction = attrs.get("direction", b"")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    dtype = x.dtype
    if dtype.kind not in "iu" or dtype.itemsize > 4:
        raise ctx.error(f"BitShift of {dtype} is not supported (8-, 16- and 32-bit integers)")
    width = 8 * dtype.itemsize
    signed = dtype.kind == "i"
    if direction == "RIGHT" and not signed and width == 32:
        raise ctx.error("BitShift RIGHT of uint32 is not supported")
    shape = tuple(np.broadcast_shapes(x.shape, s.shape))
    if s.shape != shape:
        s = ctx.emit("BROADCAST_TO", [ctx.logical(s), ctx.constant_index(
            np.array(shape, np.int32))], [shape], [s.dtype], version=2)[0]
    if s.dtype.itemsize > 4 or s.dtype == np.uint32:
        s = binary(ctx, "MINIMUM", s, scalar(ctx, 64, s.dtype))   # keep in int32 range
    s = _cast(ctx, s, np.dtype(np.int32))
    in_range = binary(ctx, "LOGICAL_AND", binary(ctx, "GREATER_EQUAL", s, scalar(ctx, 0, np.int32)),
                      binary(ctx, "LESS", s, scalar(ctx, width, np.int32)))
    if direction == "LEFT":
        wide = np.dtype(np.int64 if width == 32 else np.int32)
        p = _powers(ctx, select(ctx, in_range, s, scalar(ctx, 0, np.int32)), wide, width - 1)
        m = binary(ctx, "FLOOR_MOD", binary(ctx, "MUL", _cast(ctx, x, wide), p),
                   scalar(ctx, 2 ** width, wide))
        if signed:
            m = select(ctx, binary(ctx, "GREATER_EQUAL", m, scalar(ctx, 2 ** (width - 1), wide)),
                       binary(ctx, "SUB", m, scalar(ctx, 2 ** width, wide)), m)
        y = select(ctx, in_range, m, scalar(ctx, 0, wide))
        return [_cast(ctx, y, dtype)]
    if direction != "RIGHT":
        raise ctx.error(f"BitShift direction {direction!r} is not LEFT or RIGHT")
    # out of range: the sign fill for signed types (a shift by W - 1), 0 for unsigned
    shift = select(ctx, in_range, s, scalar(ctx, width - 1, np.int32))
    xi = _cast(ctx, x, np.dtype(np.int32))
    top = min(width - 1, 30)
    p = _powers(ctx, binary(ctx, "MINIMUM", shift, scalar(ctx, top, np.int32)), np.int32, top)
    y = binary(ctx, "FLOOR_DIV", xi, p)
    if signed and width == 32:
        fill = select(ctx, binary(ctx, "LESS", xi, scalar(ctx, 0, np.int32)),
                      scalar(ctx, -1, np.int32), scalar(ctx, 0, np.int32))
        y = select(ctx, binary(ctx, "EQUAL", shift, scalar(ctx, 31, np.int32)), fill, y)
    if not signed:
        y = select(ctx, in_range, y, scalar(ctx, 0, np.int32))
    return [_cast(ctx, y, dtype)]


RULES = {"BitShift": _bit_shift}
