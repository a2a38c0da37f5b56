"""TRANSPOSE_CONV (v1-5, float32) and MediaPipe's custom ``Convolution2DTransposeBias``.

A transposed convolution scatters every input pixel through the filter:
``out[n, iy*sh - ph + ky, ix*sw - pw + kx, oc] += in[n, iy, ix, ic] * w[oc, ky, kx, ic]``.
It runs as one GEMM per block of input pixels into an arena scratch buffer,
``col[pixel, (ky, kx, oc)] = in[pixel, :] @ W`` with the weights repacked once in prepare
to ``[cin, kh*kw*cout]``, followed by a col2im loop adding each column into its output
cell (channels innermost); then bias + fused activation in one pass.

TRANSPOSE_CONV's inputs are (output_shape, weights OHWI, input, optional bias); the
fused activation is an option since v4-v5. Padding follows TFLite: the padding of the
forward convolution from an ``output_shape`` image down to the input.

MediaPipe's op takes (input, weights OHWI, bias); its custom options are not a
flexbuffer but a packed ``TfLiteTransposeConvParams`` C struct: ``padding`` (TfLitePadding
enum, 1 = SAME, 2 = VALID), ``stride_width``, ``stride_height``, three little-endian
int32s. Its output is ``in * stride`` (SAME) or ``(in - 1) * stride + kernel`` (VALID), as
XNNPACK (LiteRT's only implementation of it) computes.
"""

from __future__ import annotations

import struct

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .conv import epilogue, float_operand
from .padding import out_size, pad_before

_COL_BLOCK_FLOATS = 1 << 22   # GEMM block: 16 MiB of columns, most layers in one GEMM
_PADDING_ENUM = {1: "SAME", 2: "VALID"}


@njit(cache=True)
def _col2im(col, out, row0, h, w, kh, kw, sh, sw, ph, pw):
    """Add rows ``row0 ..`` of ``col`` (input pixels x (ky, kx, oc)) into ``out``."""
    _, oh, ow, cout = out.shape
    for r in range(col.shape[0]):
        q = row0 + r
        ix = q % w
        q //= w
        iy = q % h
        n = q // h
        for ky in range(kh):
            oy = iy * sh - ph + ky
            if oy < 0 or oy >= oh:
                continue
            for kx in range(kw):
                ox = ix * sw - pw + kx
                if ox < 0 or ox >= ow:
                    continue
                k = (ky * kw + kx) * cout
                dst = out[n, oy, ox]
                for oc in range(cout):
                    dst[oc] += col[r, k + oc]


def _scatter_gemm(ctx: PrepareContext, x_index: int, w_index: int, bias_index: int,
                  out_hw: tuple, padding: str, sh: int, sw: int) -> Run:
    """Set the output shape and return run() for a transposed convolution."""
    x = float_operand(ctx, x_index, "input", 4)
    w = float_operand(ctx, w_index, "weights", 4)
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_w = w.shape
    ctx.check(cin == cin_w, f"input has {cin} channels, weights expect {cin_w}")
    ctx.check(sh > 0 and sw > 0, f"strides {sh}x{sw} must be > 0")
    oh, ow = out_hw
    ctx.set_output(0, (n, oh, ow, cout), np.float32)
    # the forward conv from an (oh, ow) image must give back the input; it fixes the pads
    forward = (out_size(padding, oh, kh, sh), out_size(padding, ow, kw, sw))
    ctx.check(forward == (h, wd), f"a {padding} {kh}x{kw} stride {sh}x{sw} convolution of "
                                  f"the {oh}x{ow} output gives {forward[0]}x{forward[1]}, "
                                  f"not the {h}x{wd} input")
    ph, pw = pad_before(padding, oh, kh, sh, 1, h), pad_before(padding, ow, kw, sw, 1, wd)
    finish = epilogue(ctx, bias_index, cout)
    k = kh * kw * cout
    rows = n * h * wd
    packed = None if w.data is None else _pack(np.asarray(w.data, np.float32))
    wbuf = None if packed is not None else ctx.scratch((cin, k), np.float32)
    block = max(1, min(rows, _COL_BLOCK_FLOATS // max(k, 1)))
    col = ctx.scratch((block, k), np.float32)
    geometry = (h, wd, kh, kw, sh, sw, ph, pw)

    def run(ins, outs, scratch):
        wm = packed
        if wm is None:   # weights known only now: repack into scratch (no allocation)
            wm = scratch[wbuf]
            np.copyto(wm.reshape(cin, kh, kw, cout), ins[w_index].transpose(3, 1, 2, 0))
        x2d, out = ins[x_index].reshape(rows, cin), outs[0]
        out.fill(0.0)
        for r0 in range(0, rows, block):
            r1 = min(rows, r0 + block)
            cols = scratch[col][:r1 - r0]
            np.matmul(x2d[r0:r1], wm, out=cols)
            _col2im(cols, out, r0, *geometry)
        if finish is not None:
            finish(ins, out.reshape(-1, cout))
    return run


def _pack(w: np.ndarray) -> np.ndarray:
    """OHWI weights -> ``[cin, kh*kw*cout]`` with columns ordered (ky, kx, oc)."""
    return np.ascontiguousarray(w.transpose(3, 1, 2, 0)).reshape(w.shape[3], -1)


def prepare_transpose_conv(ctx: PrepareContext) -> Run:
    shape = ctx.input(0)
    ctx.check(shape is not None and shape.dtype in (np.int32, np.int64)
              and shape.size == 4, "output_shape must be 4 int32 values")
    ctx.check(shape.data is not None,
              "output_shape is only known at run time: a dynamic output is not supported yet")
    n, oh, ow, oc = (int(v) for v in np.asarray(shape.data).reshape(-1))
    x, w = ctx.input(2), ctx.input(1)
    ctx.check(x is not None and w is not None, "needs weights and input")
    ctx.check(n == x.shape[0] and len(w.shape) > 0 and oc == w.shape[0],
              f"output_shape {[n, oh, ow, oc]} does not match batch {x.shape[0]} and "
              f"{w.shape[0] if w.shape else 0} filters")
    o = ctx.options
    padding = o.get("padding", "SAME")
    ctx.check(padding in ("SAME", "VALID"), f"unknown padding {padding}")
    return _scatter_gemm(ctx, 2, 1, 3, (oh, ow), padding, int(o.get("stride_h", 1)),
                         int(o.get("stride_w", 1)))


def prepare_transpose_conv_bias(ctx: PrepareContext) -> Run:
    raw = bytes(ctx.op.custom_options or b"")
    ctx.check(len(raw) >= 12,
              f"custom options hold {len(raw)} bytes, not the 12 of TfLiteTransposeConvParams")
    code, sw, sh = struct.unpack_from("<iii", raw)
    ctx.check(code in _PADDING_ENUM, f"padding enum {code} is neither SAME (1) nor VALID (2)")
    ctx.check(ctx.input(2) is not None, "needs input, weights and bias")
    padding = _PADDING_ENUM[code]
    x = float_operand(ctx, 0, "input", 4)
    w = float_operand(ctx, 1, "weights", 4)
    if padding == "SAME":
        out_hw = (x.shape[1] * sh, x.shape[2] * sw)
    else:
        out_hw = ((x.shape[1] - 1) * sh + w.shape[1], (x.shape[2] - 1) * sw + w.shape[2])
    return _scatter_gemm(ctx, 0, 1, 2, out_hw, padding, sh, sw)


KERNELS = {"TRANSPOSE_CONV": KernelDef(prepare_transpose_conv, 5)}
CUSTOM_KERNELS = {"Convolution2DTransposeBias": KernelDef(prepare_transpose_conv_bias)}
