"""RESIZE_BILINEAR (v1-4) and RESIZE_NEAREST_NEIGHBOR (v1-4), float32 NHWC, honouring
``align_corners`` and ``half_pixel_centers`` as TFLite computes source coordinates.
Sampling positions and weights are computed once in prepare."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext


def _scale(src: int, dst: int, align: bool) -> float:
    return (src - 1) / (dst - 1) if align and dst > 1 else src / dst


def _bilinear_axis(src: int, dst: int, align: bool, half: bool):
    scale = _scale(src, dst, align)
    lo, hi, frac = (np.zeros(dst, np.int64), np.zeros(dst, np.int64),
                    np.zeros(dst, np.float32))
    for i in range(dst):
        pos = (i + 0.5) * scale - 0.5 if half else i * scale
        lo[i] = max(math.floor(pos), 0)
        hi[i] = min(math.ceil(pos), src - 1)
        frac[i] = pos - lo[i]
    return lo, hi, frac


def _nearest_axis(src: int, dst: int, align: bool, half: bool):
    scale = _scale(src, dst, align)
    idx = np.zeros(dst, np.int64)
    for i in range(dst):
        pos = (i + 0.5) * scale if half else i * scale
        j = int(round(pos)) if align else int(math.floor(pos))
        idx[i] = min(max(j, 0), src - 1)
    return idx


@njit(cache=True)
def _bilinear(x, out, y0, y1, fy, x0, x1, fx):
    n_, oh, ow, c = out.shape
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                a, b = y0[i], y1[i]
                p, q = x0[j], x1[j]
                wy, wx = fy[i], fx[j]
                for ch in range(c):
                    top = x[n, a, p, ch] * (1 - wx) + x[n, a, q, ch] * wx
                    bot = x[n, b, p, ch] * (1 - wx) + x[n, b, q, ch] * wx
                    out[n, i, j, ch] = top * (1 - wy) + bot * wy


def prepare_resize(ctx: PrepareContext):
    x, size = ctx.input(0), ctx.input(1)
    ctx.check(x is not None and len(x.shape) == 4, "input must be 4-D NHWC")
    ctx.check(size is not None and size.data is not None, "size must be constant")
    oh, ow = (int(v) for v in np.asarray(size.data).reshape(-1)[:2])
    ctx.check(oh > 0 and ow > 0, f"output size {oh}x{ow} must be positive")
    n, h, w, c = x.shape
    ctx.set_output(0, (n, oh, ow, c), x.dtype)
    align = bool(ctx.options.get("align_corners", False))
    half = bool(ctx.options.get("half_pixel_centers", False))
    if ctx.opcode == "RESIZE_NEAREST_NEIGHBOR":
        rows, cols = _nearest_axis(h, oh, align, half), _nearest_axis(w, ow, align, half)

        def run(ins, outs, scratch):
            np.copyto(outs[0], ins[0][:, rows][:, :, cols])
        return run
    ctx.check(x.dtype == np.float32, f"{x.dtype} bilinear resize is not supported yet")
    ys, xs = _bilinear_axis(h, oh, align, half), _bilinear_axis(w, ow, align, half)

    def run(ins, outs, scratch):
        _bilinear(ins[0], outs[0], ys[0], ys[1], ys[2], xs[0], xs[1], xs[2])
    return run


KERNELS = {
    "RESIZE_BILINEAR": KernelDef(prepare_resize, 4),
    "RESIZE_NEAREST_NEIGHBOR": KernelDef(prepare_resize, 4),
}
