"""TRANSPOSE_CONV (v1-4, float32) and MediaPipe's custom ``Convolution2DTransposeBias``.

Both scatter each input pixel through the filter into the output (``out[y*s + ky - pad]
+= in[y] * w[ky]``), then add the bias. TRANSPOSE_CONV's inputs are (output_shape,
weights OHWI, input, optional bias); MediaPipe's are (input, weights, bias) with
padding/strides in its custom options, a packed struct of three int32s (TfLitePadding
enum: 1 = SAME, 2 = VALID; stride_width; stride_height).
"""

from __future__ import annotations

import struct

import numpy as np
from numba import njit

from . import fused_activation
from .api import KernelDef, PrepareContext


@njit(cache=True)
def _scatter(x, w, bias, out, sh, sw, ph, pw, lo, hi):
    n_, h, wd, cin = x.shape
    _, oh, ow, cout = out.shape
    _, kh, kw, _ = w.shape
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(cout):
                    out[n, oy, ox, oc] = bias[oc]
        for iy in range(h):
            for ix in range(wd):
                for ky in range(kh):
                    oy = iy * sh + ky - ph
                    if oy < 0 or oy >= oh:
                        continue
                    for kx in range(kw):
                        ox = ix * sw + kx - pw
                        if ox < 0 or ox >= ow:
                            continue
                        for oc in range(cout):
                            acc = 0.0
                            for ic in range(cin):
                                acc += x[n, iy, ix, ic] * w[oc, ky, kx, ic]
                            out[n, oy, ox, oc] += acc
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(cout):
                    out[n, oy, ox, oc] = min(max(out[n, oy, ox, oc], lo), hi)


def _plan(ctx, x, w, bias_spec, out_hw, padding, sh, sw, activation="NONE"):
    ctx.check(x.dtype == np.float32 and w.dtype == np.float32,
              f"{x.dtype} x {w.dtype} is not supported yet")
    ctx.check(w.data is not None, "weights must be constant")
    cout, kh, kw, cin = w.shape
    ctx.check(x.shape[3] == cin, f"input has {x.shape[3]} channels, weights expect {cin}")
    oh, ow = out_hw
    ph = max((x.shape[1] - 1) * sh + kh - oh, 0) // 2 if padding == "SAME" else 0
    pw = max((x.shape[2] - 1) * sw + kw - ow, 0) // 2 if padding == "SAME" else 0
    ctx.set_output(0, (x.shape[0], oh, ow, cout), np.float32)
    bias = np.zeros(cout, np.float32) if bias_spec is None else \
        np.ascontiguousarray(bias_spec.data, np.float32).reshape(-1)
    bounds = fused_activation.float_bounds(ctx, activation) or (-np.inf, np.inf)
    weights = np.ascontiguousarray(w.data, np.float32)
    lo, hi = np.float32(bounds[0]), np.float32(bounds[1])
    return weights, bias, ph, pw, lo, hi


def prepare_transpose_conv(ctx: PrepareContext):
    shape_spec, w, x, b = (ctx.input(i) for i in range(4))
    ctx.check(shape_spec is not None and shape_spec.data is not None,
              "output_shape must be constant")
    out_shape = np.asarray(shape_spec.data).reshape(-1).tolist()
    o = ctx.options
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    weights, bias, ph, pw, lo, hi = _plan(ctx, x, w, b, out_shape[1:3], o.get("padding"),
                                          sh, sw, o.get("fused_activation_function", "NONE"))

    def run(ins, outs, scratch):
        _scatter(ins[2], weights, bias, outs[0], sh, sw, ph, pw, lo, hi)
    return run


def prepare_transpose_conv_bias(ctx: PrepareContext):
    x, w, b = (ctx.input(i) for i in range(3))
    raw = ctx.op.custom_options or b""
    ctx.check(len(raw) >= 12, "custom options must hold padding, stride_w and stride_h")
    padding_code, sw, sh = struct.unpack_from("<iii", raw)
    ctx.check(padding_code in (1, 2) and sw > 0 and sh > 0,
              f"bad options: padding {padding_code}, strides {sw}x{sh}")
    padding = "SAME" if padding_code == 1 else "VALID"
    _, kh, kw, _ = w.shape
    h, wd = x.shape[1], x.shape[2]
    out_hw = (h * sh, wd * sw) if padding == "SAME" else ((h - 1) * sh + kh, (wd - 1) * sw + kw)
    weights, bias, ph, pw, lo, hi = _plan(ctx, x, w, b, out_hw, padding, sh, sw)

    def run(ins, outs, scratch):
        _scatter(ins[0], weights, bias, outs[0], sh, sw, ph, pw, lo, hi)
    return run


KERNELS = {"TRANSPOSE_CONV": KernelDef(prepare_transpose_conv, 4)}
CUSTOM_KERNELS = {"Convolution2DTransposeBias": KernelDef(prepare_transpose_conv_bias)}
