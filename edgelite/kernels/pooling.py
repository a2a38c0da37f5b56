"""AVERAGE_POOL_2D and MAX_POOL_2D (v1-3), float32 / int8 / uint8 / int16 NHWC, with the
fused activation.

Both are numba loops over output pixels with the channels innermost: every window cell
maxes (or adds) a whole channel row into the output pixel (or an accumulator row), which
vectorizes. Only
window cells inside the input count: SAME padding never contributes zeros to a maximum,
and an average divides by the number of cells actually inside the input, as TFLite does.
Sums accumulate in float64 (an arena scratch row): a global average over thousands of
cells summed in float32 drifts from LiteRT's (blocked, XNNPACK) sums by more than
rounding, while a float64 sum stays within rounding of every float32 order.

Integer pooling (int8, uint8, int16) works on the stored values: LiteRT never
requantizes here (the output is expected to share the input's scale and zero point; only
the fused activation clamp is computed from the output's). A maximum starts at the dtype's
lowest value; an average sums the cells inside the input in int32 and divides by their
count rounding half away from zero (``(acc +- count / 2) / count`` truncated), then
clamps, exactly as both LiteRT's reference and its optimized integer kernels do.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .conv import activation_bounds, float_operand
from .padding import out_size, pad_before
from .quant import output_activation_range

_INT_TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))

_LOWEST = np.float32(np.finfo(np.float32).min)   # TFLite's start value for a maximum


@njit(cache=True)
def _max_pool(x, out, kh, kw, sh, sw, ph, pw, lo, hi):
    _, h, w, _ = x.shape
    n_, oh, ow, c = out.shape
    for n in range(n_):
        for oy in range(oh):
            y0 = oy * sh - ph
            ys, ye = max(y0, 0), min(y0 + kh, h)
            for ox in range(ow):
                x0 = ox * sw - pw
                xs, xe = max(x0, 0), min(x0 + kw, w)
                dst = out[n, oy, ox]
                dst[:] = _LOWEST
                for iy in range(ys, ye):
                    for ix in range(xs, xe):
                        row = x[n, iy, ix]
                        for ch in range(c):
                            dst[ch] = max(dst[ch], row[ch])   # a NaN input loses, as in TFLite
                for ch in range(c):
                    dst[ch] = min(max(dst[ch], lo), hi)


@njit(cache=True, inline="always")
def _window_sum(x, n, ys, ye, xs, xe, acc):
    """acc[c] = sum of x[n, ys:ye, xs:xe, c], in acc's type (float, or int32 for ints)."""
    acc[:] = 0
    for iy in range(ys, ye):
        for ix in range(xs, xe):
            row = x[n, iy, ix]
            for ch in range(acc.shape[0]):
                acc[ch] += row[ch]


@njit(cache=True)
def _average_pool(x, out, acc, kh, kw, sh, sw, ph, pw, lo, hi, integer):
    _, h, w, _ = x.shape
    n_, oh, ow, c = out.shape
    for n in range(n_):
        for oy in range(oh):
            y0 = oy * sh - ph
            ys, ye = max(y0, 0), min(y0 + kh, h)
            for ox in range(ow):
                x0 = ox * sw - pw
                xs, xe = max(x0, 0), min(x0 + kw, w)
                _window_sum(x, n, ys, ye, xs, xe, acc)
                count = max((ye - ys) * (xe - xs), 1)
                dst = out[n, oy, ox]
                if integer:   # rounded to nearest, ties away from zero (C division)
                    half = count // 2
                    for ch in range(c):
                        a = acc[ch]
                        q = (a + half) // count if a > 0 else -((half - a) // count)
                        dst[ch] = min(max(q, lo), hi)
                else:
                    for ch in range(c):
                        dst[ch] = min(max(acc[ch] / count, lo), hi)   # NaN passes, as TFLite


@njit(cache=True)
def _max_pool_int(x, out, kh, kw, sh, sw, ph, pw, lowest, lo, hi):
    _, h, w, _ = x.shape
    n_, oh, ow, c = out.shape
    for n in range(n_):
        for oy in range(oh):
            y0 = oy * sh - ph
            ys, ye = max(y0, 0), min(y0 + kh, h)
            for ox in range(ow):
                x0 = ox * sw - pw
                xs, xe = max(x0, 0), min(x0 + kw, w)
                dst = out[n, oy, ox]
                for ch in range(c):
                    best = lowest
                    for iy in range(ys, ye):
                        for ix in range(xs, xe):
                            v = np.int32(x[n, iy, ix, ch])
                            if v > best:
                                best = v
                    dst[ch] = min(max(best, lo), hi)


def _int_pool(ctx: PrepareContext, x, args) -> Run:
    out = ctx.outputs[0]
    ctx.check(out.dtype == x.dtype, f"output is {out.dtype}, not {x.dtype} like the input")
    lo, hi = output_activation_range(ctx, out)
    if ctx.opcode == "MAX_POOL_2D":
        lowest = int(np.iinfo(x.dtype).min)

        def run_max(ins, outs, scratch):
            _max_pool_int(ins[0], outs[0], *args, lowest, lo, hi)
        return run_max
    acc = ctx.scratch((x.shape[3],), np.int32)

    def run(ins, outs, scratch):
        _average_pool(ins[0], outs[0], scratch[acc], *args, lo, hi, True)
    return run


def prepare_pool(ctx: PrepareContext) -> Run:
    x = ctx.input(0)
    ctx.check(x is not None, "needs its input (input 0)")
    integer = x.dtype in _INT_TYPES and not (x.dtype.metadata or {}).get("tflite_type")
    if integer:
        ctx.check(len(x.shape) == 4, f"input must be 4-D, got shape {list(x.shape)}")
    else:
        x = float_operand(ctx, 0, "input", 4)
    o = ctx.options
    kh, kw = int(o.get("filter_height", 0)), int(o.get("filter_width", 0))
    sh, sw = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
    ctx.check(min(kh, kw, sh, sw) > 0,
              f"filter {kh}x{kw} and strides {sh}x{sw} must be > 0")
    padding = o.get("padding", "SAME")
    ctx.check(padding in ("SAME", "VALID"), f"unknown padding {padding}")
    n, h, w, c = x.shape
    oh, ow = out_size(padding, h, kh, sh), out_size(padding, w, kw, sw)
    ph, pw = pad_before(padding, h, kh, sh, 1, oh), pad_before(padding, w, kw, sw, 1, ow)
    if integer:
        ctx.set_output(0, (n, oh, ow, c), x.dtype)
        return _int_pool(ctx, x, (kh, kw, sh, sw, ph, pw))
    ctx.set_output(0, (n, oh, ow, c), np.float32)
    lo, hi = activation_bounds(ctx)
    args = (kh, kw, sh, sw, ph, pw, lo, hi)
    if ctx.opcode == "MAX_POOL_2D":
        def run_max(ins, outs, scratch):
            _max_pool(ins[0], outs[0], *args)
        return run_max
    acc = ctx.scratch((c,), np.float64)

    def run(ins, outs, scratch):
        _average_pool(ins[0], outs[0], scratch[acc], *args, False)
    return run


KERNELS = {
    "AVERAGE_POOL_2D": KernelDef(prepare_pool, 3),
    "MAX_POOL_2D": KernelDef(prepare_pool, 3),
}
