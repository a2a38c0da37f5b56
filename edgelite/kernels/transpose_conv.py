"""TRANSPOSE_CONV (v1-5, float32) and MediaPipe's custom ``Convolution2DTransposeBias``.

Integer TRANSPOSE_CONV (``_quantized``): int8 x int8 per-channel, uint8 x uint8
per-tensor (legacy float32 scale product), int16 x int8 per-channel with an int64 bias
(or int32 with ``quantized_bias_type`` INT32). Accumulators are exact integer sums
(int64 here; int32 wrap-around reproduced), requantized as LiteRT's builtin kernels do:
its vector loops (output channels in blocks of 8 for int8/int16, flat blocks of 16 for
uint8) round ties half up, its scalar tails as ``mul_by_qm``; the int64-bias int16 path
uses TFLite's int64 multiply (16-bit multiplier, one rounding, wrapped to int32).
Hybrid (float input, int8 weights) is not supported.

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
from .fixed_point import mul_by_qm
from .padding import out_size, pad_before
from .quant import (
    is_quantized,
    output_activation_range,
    per_channel_multipliers,
    per_tensor_conv_multiplier,
)

_INT_TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))

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


@njit(cache=True, inline="always")
def _mul_by_qm_lanes(x, multiplier, shift):
    """LiteRT's 4-lane (NEON, or SSE-emulated) requantization: wrapping left shift,
    doubling high multiply rounding half up, rounding right shift rounding half up."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    a = np.int64(np.int32(np.int64(x) << left))
    r = (2 * a * np.int64(multiplier) + (np.int64(1) << 31)) >> 32
    if right > 0:
        r = (r + (np.int64(1) << (right - 1))) >> right
    return r


@njit(cache=True)
def _requantize32(acc, bias, mult, shift, vec_channels, vec_flat, out_zp, lo, hi, out):
    """int32 accumulators (+ int32 bias, wrapping) -> clamped outputs, (rows, cout).
    Channels below ``vec_channels`` and flat positions below ``vec_flat`` round as the
    vector code does, the rest as ``mul_by_qm``."""
    cout = acc.shape[1]
    for r in range(acc.shape[0]):
        for c in range(cout):
            a = np.int32(acc[r, c])
            if bias.size:
                a = np.int32(np.int64(a) + np.int64(bias[c]))
            if c < vec_channels or r * cout + c < vec_flat:
                v = _mul_by_qm_lanes(a, mult[c], shift[c])
            else:
                v = np.int64(mul_by_qm(a, mult[c], shift[c]))
            out[r, c] = min(max(v + out_zp, lo), hi)


@njit(cache=True)
def _requantize64(acc, bias, mult, shift, lo, hi, out):
    """int64 accumulators + int64 bias, TFLite's int64 ``MultiplyByQuantizedMultiplier``
    (multiplier rounded to 16 bits, one rounding shift, result wrapped to int32)."""
    for r in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            a = acc[r, c]
            if bias.size:
                a += np.int64(bias[c])
            m = mult[c]
            reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
            total = 15 - shift[c]
            v = np.int64(np.int32((a * reduced + (np.int64(1) << (total - 1))) >> total))
            out[r, c] = min(max(v, lo), hi)


def _quantized(ctx: PrepareContext, x_index: int, w_index: int, bias_index: int,
               out_hw: tuple, padding: str, sh: int, sw: int) -> Run:
    """Integer TRANSPOSE_CONV: int8 x int8 (per-channel), uint8 x uint8 (per-tensor),
    int16 x int8 (per-channel, int64 or int32 bias), as LiteRT's builtin kernels."""
    x, w, b, out = (ctx.input(x_index), ctx.input(w_index), ctx.input(bias_index),
                    ctx.outputs[0])
    ctx.check(len(x.shape) == 4 and len(w.shape) == 4, "input and weights must be 4-D")
    want_w = np.uint8 if x.dtype == np.uint8 else np.int8
    ctx.check(w.dtype == want_w, f"{x.dtype} input needs {np.dtype(want_w)} weights, "
                                 f"not {w.dtype}")
    ctx.check(out.dtype == x.dtype, f"output is {out.dtype}, not {x.dtype}")
    for spec, what in ((x, "input"), (w, "weights"), (out, "output")):
        ctx.check(is_quantized(spec), f"the {what} tensor is not quantized")
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_w = w.shape
    ctx.check(cin == cin_w, f"input has {cin} channels, weights expect {cin_w}")
    ctx.check(sh > 0 and sw > 0, f"strides {sh}x{sw} must be > 0")
    w_scales = np.asarray(w.quantization.scales, np.float32).reshape(-1)
    ctx.check(w_scales.size in (1, cout),
              f"weights have {w_scales.size} scales for {cout} output channels")
    int16 = x.dtype == np.int16
    if int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output need zero points 0")
    bias_type = ctx.options.get("quantized_bias_type")
    wide = int16 and bias_type != "INT32"
    if b is not None:
        ctx.check(b.size == cout, f"bias has {b.size} values for {cout} output channels")
        if int16:
            ctx.check(b.dtype == (np.int64 if wide else np.int32),
                      f"int16 input needs an int64 bias (or int32 with quantized_bias_type "
                      f"INT32), not {b.dtype}")
        else:
            ctx.check(b.dtype == np.int32, f"{x.dtype} input needs an int32 bias, "
                                           f"not {b.dtype}")
    oh, ow = out_hw
    ctx.set_output(0, (n, oh, ow, cout), x.dtype)
    forward = (out_size(padding, oh, kh, sh), out_size(padding, ow, kw, sw))
    ctx.check(forward == (h, wd), f"a {padding} {kh}x{kw} stride {sh}x{sw} convolution of "
                                  f"the {oh}x{ow} output gives {forward[0]}x{forward[1]}, "
                                  f"not the {h}x{wd} input")
    ph, pw = pad_before(padding, oh, kh, sh, 1, h), pad_before(padding, ow, kw, sw, 1, wd)
    lo, hi = output_activation_range(ctx, out)
    if x.dtype == np.uint8:
        m, s = per_tensor_conv_multiplier(x.scale, float(w_scales[0]), out.scale)
        mult, shift = np.full(cout, m, np.int32), np.full(cout, s, np.int32)
        w_zp = w.zero_point
    else:
        mult, shift = per_channel_multipliers(x.scale, np.broadcast_to(w_scales, (cout,)),
                                              out.scale)
        w_zp = 0    # LiteRT ignores the weights' zero point for int8 weights
    in_zp, out_zp = (0, 0) if int16 else (x.zero_point, out.zero_point)
    rows, k = n * h * wd, kh * kw * cout
    total = n * oh * ow * cout
    # which outputs LiteRT's vector loops requantize (the rest are scalar)
    vec_channels, vec_flat = (0, total // 16 * 16) if x.dtype == np.uint8 else \
        ((cout // 8 * 8, 0) if not wide and not (int16 and w.zero_point) else (0, 0))
    no_bias = np.zeros(0, np.int64)
    packed = None if w.data is None else \
        _pack(np.asarray(w.data, np.int64) - w_zp)
    wbuf = None if packed is not None else ctx.scratch((cin, k), np.int64)
    xbuf = ctx.scratch((rows, cin), np.int64)
    col = ctx.scratch((rows, k), np.int64)
    acc = ctx.scratch((n, oh, ow, cout), np.int64)
    geometry = (h, wd, kh, kw, sh, sw, ph, pw)

    def run(ins, outs, scratch):
        wm = packed
        if wm is None:
            wm = scratch[wbuf]
            np.copyto(wm.reshape(cin, kh, kw, cout), ins[w_index].transpose(3, 1, 2, 0))
            np.subtract(wm, w_zp, out=wm)
        xs = scratch[xbuf]
        np.copyto(xs, ins[x_index].reshape(rows, cin))
        np.subtract(xs, in_zp, out=xs)
        np.matmul(xs, wm, out=scratch[col])
        total_acc = scratch[acc]
        total_acc.fill(0)
        _col2im(scratch[col], total_acc, 0, *geometry)
        bias = no_bias if b is None else ins[bias_index].reshape(-1)
        a2, o2 = total_acc.reshape(-1, cout), outs[0].reshape(-1, cout)
        if wide:
            _requantize64(a2, bias, mult, shift, lo, hi, o2)
        else:
            _requantize32(a2, bias, mult, shift, vec_channels, vec_flat, out_zp, lo, hi, o2)
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
    if x.dtype in _INT_TYPES:
        return _quantized(ctx, 2, 1, 3, (oh, ow), padding, int(o.get("stride_h", 1)),
                          int(o.get("stride_w", 1)))
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
