"""Padding ops (the conv/pool padding arithmetic lives in ``padding.py``).

    op          dtypes                          versions   parameters
    PAD         f16 f32 i8 u8 i16 i32 i64 bool  1-6        paddings [rank, 2], rank <= 5
    PADV2       f16 f32 i8 u8 i16 i32 i64 bool  1-6        paddings, constant_values
    MIRROR_PAD  any                             1-3        paddings, mode REFLECT (pad <=
                                                           n-1) or SYMMETRIC (pad <= n)

Paddings are int32/int64 (PAD/PADV2 also take int8/int16/bool, as TFLite does). PAD
fills with 0, or with the output's zero point for uint8 and quantized int8/int16 (the
stored value of real 0); PADV2's constant_values is copied as stored and, quantized,
must share the output's quantization. PAD/PADV2 copy the input as stored whatever
its quantization (TFLite does not compare it with the output's); MIRROR_PAD needs equal.
Paddings only known at invoke make the output dynamic.

Every op copies the input into the output's centre; MIRROR_PAD then fills each axis's
borders from the centre in turn (reversed views, axes done before are already whole),
so no index map is needed.
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run, TensorSpec
from .elementwise import dtypes
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    BadArgs,
    Plan,
    arg_input,
    data_input,
    planned,
    same_output,
)

_PAD_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 int64 bool")
_PADDING_TYPES = dtypes("int8 int16 int32 int64 bool")


def _paddings(values: np.ndarray, shape: tuple, limit=None) -> list[tuple[int, int]]:
    pads = [(int(a), int(b)) for a, b in np.asarray(values, np.int64).reshape(-1, 2)]
    for (a, b), n in zip(pads, shape):
        if a < 0 or b < 0 or (limit is not None and max(a, b) > limit(n)):
            raise BadArgs(f"paddings {[list(p) for p in pads]} do not fit shape "
                          f"{list(shape)}")
    return pads


def _centre(pads, shape) -> tuple:
    return tuple(slice(a, a + n) for (a, _), n in zip(pads, shape))


def _pad_value(ctx: PrepareContext, x: TensorSpec):
    """The fill value, or None when PADV2's constant_values input supplies it."""
    value = ctx.input(2) if len(ctx.inputs) > 2 else None
    out = ctx.outputs[0]
    if value is not None:
        ctx.check(value.dtype == x.dtype and value.size == 1,
                  f"constant_values must be one {x.dtype} value")
        qv, qo = value.quantization, out.quantization
        if x.dtype.kind in "iu" and qo is not None and len(qo.scales):
            ctx.check(qv is not None and np.array_equal(qv.scales, qo.scales) and
                      np.array_equal(qv.zero_points, qo.zero_points),
                      "constant_values must be quantized like the output")
        return None
    quantized = out.quantization is not None and len(out.quantization.scales)
    if x.dtype == np.uint8 or (x.dtype in (np.int8, np.int16) and quantized):
        zp = out.zero_point
        info = np.iinfo(x.dtype)
        ctx.check(info.min <= zp <= info.max, f"zero point {zp} does not fit {x.dtype}")
        return np.array(zp, x.dtype)
    return np.zeros((), x.dtype)


def prepare_pad(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) in (2, 3), "needs 2 or 3 inputs")
    x = data_input(ctx, 0, _PAD_TYPES)
    same_output(ctx, x, raw=True)
    rank = len(x.shape)
    ctx.check(rank <= 5, f"rank {rank} is over TFLite's 5")
    arg_input(ctx, 1, "paddings", _PADDING_TYPES, rank=2)
    ctx.check(ctx.input(1).shape == (rank, 2),
              f"paddings of shape {list(ctx.input(1).shape)} do not fit rank {rank}")
    fill = _pad_value(ctx, x)

    def plan(paddings: np.ndarray) -> Plan:
        pads = _paddings(paddings, x.shape)
        inner = _centre(pads, x.shape)

        def body(ins, outs, scratch):
            np.copyto(outs[0], ins[2].reshape(()) if fill is None else fill)
            np.copyto(outs[0][inner], ins[0])
        return Plan([tuple(n + a + b for n, (a, b) in zip(x.shape, pads))], body)
    return planned(ctx, [1], plan, [x.dtype])


def _mirror_copies(pads, shape, offset: int) -> list[tuple[tuple, tuple]]:
    """(destination, source) index pairs filling each axis's borders from the centre, in
    axis order: axes before ``d`` whole, axes after it only their centre."""
    copies = []
    for d, ((a, b), n) in enumerate(zip(pads, shape)):
        head = tuple(slice(None) for _ in range(d))
        tail = _centre(pads[d + 1:], shape[d + 1:])
        if a:   # out[a - 1 - k] mirrors out[a + k + offset]
            src = slice(a + a - 1 + offset, a + offset - 1 if a + offset > 0 else None, -1)
            copies.append((head + (slice(0, a),) + tail, head + (src,) + tail))
        if b:   # out[a + n + k] mirrors out[a + n - 1 - k - offset]
            top = a + n - 1 - offset
            stop = top - b
            copies.append((head + (slice(a + n, a + n + b),) + tail,
                           head + (slice(top, stop if stop >= 0 else None, -1),) + tail))
    return copies


def prepare_mirror_pad(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x)
    rank = len(x.shape)
    arg_input(ctx, 1, "paddings", INDEX_TYPES, rank=2)
    ctx.check(ctx.input(1).shape == (rank, 2),
              f"paddings of shape {list(ctx.input(1).shape)} do not fit rank {rank}")
    mode = ctx.options.get("mode", "REFLECT")
    ctx.check(mode in ("REFLECT", "SYMMETRIC"), f"unknown mode {mode}")
    offset = 1 if mode == "REFLECT" else 0

    def plan(paddings: np.ndarray) -> Plan:
        pads = _paddings(paddings, x.shape, limit=lambda n: n - offset)
        inner = _centre(pads, x.shape)
        copies = _mirror_copies(pads, x.shape, offset)

        def body(ins, outs, scratch):
            out = outs[0]
            np.copyto(out[inner], ins[0])
            for dst, src in copies:
                np.copyto(out[dst], out[src])
        return Plan([tuple(n + a + b for n, (a, b) in zip(x.shape, pads))], body)
    return planned(ctx, [1], plan, [x.dtype])


KERNELS = {
    "PAD": KernelDef(prepare_pad, 6),
    "PADV2": KernelDef(prepare_pad, 6),
    "MIRROR_PAD": KernelDef(prepare_mirror_pad, 3),
}
