"""AVERAGE_POOL_2D and MAX_POOL_2D (v1-3), float32, NHWC.

Averages divide by the number of window cells inside the input (padding cells do not
count), as TFLite does. The fused activation is applied in the same loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import fused_activation
from .api import KernelDef, PrepareContext
from .padding import out_size, pad_before


@njit(cache=True)
def _pool(x, out, kh, kw, sh, sw, ph, pw, is_max, lo, hi):
    n_, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    for n in range(n_):
        for oy in range(oh):
            y0 = oy * sh - ph
            ys, ye = max(y0, 0), min(y0 + kh, h)
            for ox in range(ow):
                x0 = ox * sw - pw
                xs, xe = max(x0, 0), min(x0 + kw, w)
                count = (ye - ys) * (xe - xs)
                for ch in range(c):
                    acc = -np.inf if is_max else 0.0
                    for iy in range(ys, ye):
                        for ix in range(xs, xe):
                            v = x[n, iy, ix, ch]
                            if is_max:
                                acc = max(acc, v)
                            else:
                                acc += v
                    if not is_max:
                        acc = acc / count if count > 0 else 0.0
                    out[n, oy, ox, ch] = min(max(acc, lo), hi)


def prepare_pool(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None and len(x.shape) == 4, "input must be 4-D NHWC")
    ctx.check(x.dtype == np.float32, f"{x.dtype} input is not supported yet")
    o = ctx.options
    kh, kw, sh, sw = o["filter_height"], o["filter_width"], o["stride_h"], o["stride_w"]
    ctx.check(min(kh, kw, sh, sw) > 0, "filter size and strides must be > 0")
    pad = o.get("padding", "SAME")
    n, h, w, c = x.shape
    oh, ow = out_size(pad, h, kh, sh), out_size(pad, w, kw, sw)
    ph, pw = pad_before(pad, h, kh, sh, 1, oh), pad_before(pad, w, kw, sw, 1, ow)
    ctx.set_output(0, (n, oh, ow, c), np.float32)
    bounds = fused_activation.float_bounds(ctx, o.get("fused_activation_function", "NONE")) \
        or (-np.inf, np.inf)
    is_max = ctx.opcode == "MAX_POOL_2D"

    def run(ins, outs, scratch):
        _pool(ins[0], outs[0], kh, kw, sh, sw, ph, pw, is_max, bounds[0], bounds[1])

    return run


KERNELS = {
    "AVERAGE_POOL_2D": KernelDef(prepare_pool, 3),
    "MAX_POOL_2D": KernelDef(prepare_pool, 3),
}
