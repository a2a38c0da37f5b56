"""CONV_2D (v1-6) and DEPTHWISE_CONV_2D (v1-7), float32.

CONV_2D is im2col into an arena scratch buffer followed by one GEMM written straight into
the output (a 1x1 stride-1 convolution skips im2col); weights are repacked once in prepare
to ``[kh*kw*cin, cout]``. DEPTHWISE_CONV_2D is a numba loop with channels innermost. Bias
and the fused activation are applied in place afterwards.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import fused_activation
from .api import KernelDef, PrepareContext
from .padding import out_size, pad_before


def _float_only(ctx: PrepareContext) -> None:
    x, w = ctx.input(0), ctx.input(1)
    ctx.check(x is not None and w is not None, "needs input and filter")
    ctx.check(x.dtype == np.float32,
              f"{x.dtype} input is not supported yet (quantized kernels come later)")
    ctx.check(w.dtype == np.float32, f"{w.dtype} filter is not supported yet")
    ctx.check(len(x.shape) == 4 and len(w.shape) == 4,
              f"input and filter must be 4-D, got {list(x.shape)} and {list(w.shape)}")


def _geometry(ctx: PrepareContext, kh: int, kw: int):
    o = ctx.options
    _, h, w, _ = ctx.input(0).shape
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    dh, dw = o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)
    ctx.check(sh > 0 and sw > 0 and dh > 0 and dw > 0, "strides and dilations must be > 0")
    pad = o.get("padding", "SAME")
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    ph, pw = pad_before(pad, h, kh, sh, dh, oh), pad_before(pad, w, kw, sw, dw, ow)
    return oh, ow, sh, sw, dh, dw, ph, pw


def _bias(ctx: PrepareContext, channels: int) -> np.ndarray | None:
    b = ctx.input(2)
    if b is None:
        return None
    ctx.check(b.data is not None, "a non-constant bias is not supported")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    return np.ascontiguousarray(b.data, np.float32).reshape(-1)


@njit(cache=True)
def _im2col(x, col, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow):
    n_, h, w, c = x.shape
    row = 0
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                k = 0
                for i in range(kh):
                    iy = oy * sh - ph + i * dh
                    for j in range(kw):
                        ix = ox * sw - pw + j * dw
                        if 0 <= iy < h and 0 <= ix < w:
                            for ch in range(c):
                                col[row, k + ch] = x[n, iy, ix, ch]
                        else:
                            for ch in range(c):
                                col[row, k + ch] = 0.0
                        k += c
                row += 1


def prepare_conv2d(ctx: PrepareContext):
    _float_only(ctx)
    x, w = ctx.input(0), ctx.input(1)
    cout, kh, kw, cin = w.shape
    ctx.check(x.shape[3] == cin, f"input has {x.shape[3]} channels, filter expects {cin} "
                                 f"(grouped convolution is not supported yet)")
    oh, ow, sh, sw, dh, dw, ph, pw = _geometry(ctx, kh, kw)
    n = x.shape[0]
    ctx.set_output(0, (n, oh, ow, cout), np.float32)
    bias = _bias(ctx, cout)
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE"))
    direct = kh == kw == 1 and sh == sw == 1 and ph == pw == 0
    if w.data is not None:
        packed = np.ascontiguousarray(np.asarray(w.data, np.float32).reshape(cout, -1).T)
    else:
        packed = None
    col = None if direct else ctx.scratch((n * oh * ow, kh * kw * cin), np.float32)
    rows = n * oh * ow

    def run(ins, outs, scratch):
        weights = packed if packed is not None else ins[1].reshape(cout, -1).T
        out2d = outs[0].reshape(rows, cout)
        if direct:
            np.matmul(ins[0].reshape(rows, cin), weights, out=out2d)
        else:
            _im2col(ins[0], scratch[col], kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
            np.matmul(scratch[col], weights, out=out2d)
        if bias is not None:
            np.add(out2d, bias, out=out2d)
        fused_activation.apply_float(outs[0], bounds)

    return run


@njit(cache=True)
def _depthwise(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi):
    n_, h, wd, cin = x.shape
    _, oh, ow, cout = out.shape
    _, kh, kw, _ = w.shape
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(cout):
                    out[n, oy, ox, oc] = bias[oc]
                for i in range(kh):
                    iy = oy * sh - ph + i * dh
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * sw - pw + j * dw
                        if ix < 0 or ix >= wd:
                            continue
                        for ic in range(cin):
                            v = x[n, iy, ix, ic]
                            for m in range(mult):
                                oc = ic * mult + m
                                out[n, oy, ox, oc] += v * w[0, i, j, oc]
                for oc in range(cout):
                    v = out[n, oy, ox, oc]
                    out[n, oy, ox, oc] = min(max(v, lo), hi)


def prepare_depthwise(ctx: PrepareContext):
    _float_only(ctx)
    x, w = ctx.input(0), ctx.input(1)
    _, kh, kw, cout = w.shape
    cin = x.shape[3]
    ctx.check(w.shape[0] == 1 and cout % cin == 0,
              f"filter {list(w.shape)} does not fit {cin} input channels")
    mult = cout // cin
    oh, ow, sh, sw, dh, dw, ph, pw = _geometry(ctx, kh, kw)
    ctx.set_output(0, (x.shape[0], oh, ow, cout), np.float32)
    bias = _bias(ctx, cout)
    bias = np.zeros(cout, np.float32) if bias is None else bias
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE")) or (-np.inf, np.inf)
    lo, hi = np.float32(bounds[0]), np.float32(bounds[1])
    weights = None if w.data is None else np.ascontiguousarray(w.data, np.float32)

    def run(ins, outs, scratch):
        _depthwise(ins[0], weights if weights is not None else ins[1], bias, outs[0], mult,
                   sh, sw, dh, dw, ph, pw, lo, hi)

    return run


KERNELS = {
    "CONV_2D": KernelDef(prepare_conv2d, 6),
    "DEPTHWISE_CONV_2D": KernelDef(prepare_depthwise, 7),
}
