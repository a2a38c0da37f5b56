"""Image resizing, NHWC, output size from a [2] int32 input (height, width).

    op                        dtypes                            versions
    RESIZE_BILINEAR           f32 u8 i8 i16                     1-4
    RESIZE_NEAREST_NEIGHBOR   f16 f32 i8 u8 i16 u16 i32 u32     1-4
                              bool

Both honour ``align_corners`` (corner pixels map onto corners: scale (in-1)/(out-1)) and
``half_pixel_centers`` (pixel centres at +0.5), with TFLite's arithmetic, because the
sampling positions decide which input pixels are read:

* bilinear float32 and uint8: float32 source positions ``y * scale`` (or
  ``(y + 0.5) * scale - 0.5``), neighbours floor/ceil clamped into the image, the four
  products summed in TFLite's order; uint8 adds 0.5 and truncates;
* bilinear int8/int16: TFLite's fixed point, scales with 10 fractional bits, products
  with 20, rounded half away from zero;
* nearest: float32 positions floored (rounded half away from zero with align_corners),
  except 8-bit types without either option, which TFLite computes with 16-bit fixed
  point ``(y * ((in << 16) // out + 1)) >> 16``.

Sampling tables are built at prepare; quantized tensors are resampled as stored, whatever
the output's quantization (TFLite does not check it). A size only known at invoke makes
the output dynamic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .shape_args import (
    INT32,
    BadArgs,
    Plan,
    arg_input,
    as_bytes,
    data_input,
    ints,
    planned,
    same_output,
)

_BILINEAR_TYPES = dtypes("float32 uint8 int8 int16")
_NEAREST_TYPES = dtypes("float16 float32 int8 uint8 int16 uint16 int32 uint32 bool")
_F32 = np.float32


def _float_scale(src: int, dst: int, align: bool) -> np.float32:
    if align and dst > 1:
        return _F32(src - 1) / _F32(dst - 1)
    return _F32(src) / _F32(dst)


def _bilinear_axis(src: int, dst: int, align: bool, half: bool):
    """Lower/upper neighbours and their float32 weights for each output row."""
    scale = _float_scale(src, dst, align)
    steps = np.arange(dst, dtype=_F32)
    pos = (steps + _F32(0.5)) * scale - _F32(0.5) if half else steps * scale
    lo = np.maximum(np.floor(pos), 0).astype(np.int64)
    hi = np.minimum(np.ceil(pos), src - 1).astype(np.int64)
    w_hi = (pos - lo.astype(_F32)).astype(_F32)
    return lo, hi, (_F32(1) - w_hi).astype(_F32), w_hi


@njit(cache=True)
def _bilinear(x, out, y0, y1, wy0, wy1, x0, x1, wx0, wx1, rounding):
    for n in range(out.shape[0]):
        for i in range(out.shape[1]):
            a, b = y0[i], y1[i]
            for j in range(out.shape[2]):
                p, q = x0[j], x1[j]
                s00, s01 = wy0[i] * wx0[j], wy0[i] * wx1[j]
                s10, s11 = wy1[i] * wx0[j], wy1[i] * wx1[j]
                for c in range(out.shape[3]):
                    acc = np.float32(0)   # TFLite sums into a zeroed output
                    acc += np.float32(x[n, a, p, c]) * s00
                    acc += np.float32(x[n, a, q, c]) * s01
                    acc += np.float32(x[n, b, p, c]) * s10
                    acc += np.float32(x[n, b, q, c]) * s11
                    out[n, i, j, c] = acc + rounding


def _fixed_axis(src: int, dst: int, align: bool, half: bool):
    """TFLite's integer bilinear positions: (scaled position << 10, lower, upper)."""
    if align and dst > 1:
        scale = ((1 << 10) * (src - 1) + (dst - 1) // 2) // (dst - 1)
    else:
        scale = ((1 << 10) * src + dst // 2) // dst
    pos = np.arange(dst, dtype=np.int64) * scale
    if half:
        pos += scale // 2 - (1 << 9)
    lo = np.maximum(pos // (1 << 10), 0)
    hi = np.minimum((pos + (1 << 10) - 1) // (1 << 10), src - 1)
    return pos, lo, hi


@njit(cache=True)
def _bilinear_fixed(x, out, py, y0, y1, px, x0, x1):
    one = 1 << 10
    for n in range(out.shape[0]):
        for i in range(out.shape[1]):
            a, b = y0[i], y1[i]
            dy = py[i] - one * a
            for j in range(out.shape[2]):
                p, q = x0[j], x1[j]
                dx = px[j] - one * p
                for c in range(out.shape[3]):
                    v = (np.int64(x[n, a, p, c]) * (one - dy) * (one - dx)
                         + np.int64(x[n, b, p, c]) * dy * (one - dx)
                         + np.int64(x[n, a, q, c]) * (one - dy) * dx
                         + np.int64(x[n, b, q, c]) * dy * dx)
                    half = (1 << 19) if v > 0 else -(1 << 19)
                    t = v + half
                    q20 = t // (1 << 20)
                    if t < 0 and q20 * (1 << 20) != t:   # C division truncates
                        q20 += 1
                    out[n, i, j, c] = q20


def _size_plan(ctx: PrepareContext, x, make_body, positive: bool) -> Run:
    n, h, w, c = x.shape

    def plan(size: np.ndarray) -> Plan:
        oh, ow = ints(size)
        if min(oh, ow) < (1 if positive else 0):
            raise BadArgs(f"output size {oh}x{ow} must be positive")
        return Plan([(n, oh, ow, c)], make_body(h, w, oh, ow))
    return planned(ctx, [1], plan, [x.dtype])


def _resize_input(ctx: PrepareContext, allowed: frozenset):
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (input, size)")
    x = data_input(ctx, 0, allowed)
    same_output(ctx, x, typed_by_input=True, raw=True)
    ctx.check(len(x.shape) == 4, f"input must be 4-D NHWC, not {list(x.shape)}")
    arg_input(ctx, 1, "size", INT32, rank=1, size=2)
    return x, bool(ctx.options.get("align_corners")), bool(ctx.options.get(
        "half_pixel_centers"))


def prepare_resize_bilinear(ctx: PrepareContext) -> Run:
    x, align, half = _resize_input(ctx, _BILINEAR_TYPES)
    ctx.check(not (align and half), "align_corners and half_pixel_centers are exclusive")
    if x.dtype in (np.int8, np.int16):
        def fixed_body(h, w, oh, ow):
            ys, xs = _fixed_axis(h, oh, align, half), _fixed_axis(w, ow, align, half)

            def body(ins, outs, scratch):
                _bilinear_fixed(ins[0], outs[0], *ys, *xs)
            return body
        return _size_plan(ctx, x, fixed_body, positive=True)
    rounding = _F32(0.5) if x.dtype == np.uint8 else _F32(0)

    def float_body(h, w, oh, ow):
        y0, y1, wy0, wy1 = _bilinear_axis(h, oh, align, half)
        x0, x1, wx0, wx1 = _bilinear_axis(w, ow, align, half)

        def body(ins, outs, scratch):
            _bilinear(ins[0], outs[0], y0, y1, wy0, wy1, x0, x1, wx0, wx1, rounding)
        return body
    return _size_plan(ctx, x, float_body, positive=True)


def _nearest_axis(src: int, dst: int, align: bool, half: bool, fixed: bool) -> np.ndarray:
    if fixed:
        scale = (src << 16) // max(dst, 1) + 1
        return np.minimum((np.arange(dst, dtype=np.int64) * scale) >> 16, src - 1)
    pos = (np.arange(dst, dtype=_F32) + _F32(0.5 if half else 0)) * _float_scale(
        src, dst, align)
    idx = np.floor(pos + _F32(0.5)) if align else np.floor(pos)   # positions are >= 0
    idx = np.minimum(idx.astype(np.int64), src - 1)
    return np.maximum(idx, 0) if half else idx


@njit(cache=True)
def _nearest(src, rows, cols, out):
    for n in range(out.shape[0]):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[n, i, j, :] = src[n, rows[i], cols[j], :]


def prepare_resize_nearest(ctx: PrepareContext) -> Run:
    x, align, half = _resize_input(ctx, _NEAREST_TYPES)
    fixed = x.dtype.itemsize == 1 and not align and not half
    n, c = x.shape[0], x.shape[3]

    def make_body(h, w, oh, ow):
        rows = _nearest_axis(h, oh, align, half, fixed)
        cols = _nearest_axis(w, ow, align, half, fixed)

        def body(ins, outs, scratch):
            _nearest(as_bytes(ins[0], (n, h, w, c)), rows, cols,
                     as_bytes(outs[0], (n, oh, ow, c)))
        return body
    return _size_plan(ctx, x, make_body, positive=False)


KERNELS = {
    "RESIZE_BILINEAR": KernelDef(prepare_resize_bilinear, 4),
    "RESIZE_NEAREST_NEIGHBOR": KernelDef(prepare_resize_nearest, 4),
}
