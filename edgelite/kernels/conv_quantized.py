"""Integer (int8, int16x8, legacy uint8) and hybrid CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED, computed as LiteRT's builtin kernels compute them.

The float modules (conv.py, fully_connected.py) dispatch here when an operand is quantized.

Integer GEMMs run as *exact* float GEMMs: every product of an input value and a weight is
an integer, and BLAS sums them exactly as long as every partial sum fits the float's
mantissa — so a layer whose ``K * max|x| * max|w|`` stays below 2**24 multiplies in
float32, any other in float64 (2**53). The input is unrolled with padding cells set to the
input zero point, the raw GEMM ``sum(x * w)`` is corrected by ``- zp_in * sum(w)`` per
output channel (folded into the bias once, in prepare), and one numba pass requantizes each
accumulator, adds the output zero point and clamps.

Requantization modes (``Requant.mode``), chosen as LiteRT chooses them:

* ``Q31``: int32 accumulator, ``fixed_point.mul_by_qm`` (int8, uint8, int16 with an int32
  bias) — except that where LiteRT requantizes in a ruy GEMM (CONV_2D without groups,
  FULLY_CONNECTED) or in SIMD blocks of 8 channels (int8 DEPTHWISE_CONV_2D), ties round
  toward +inf (``mul_by_qm_ruy``) instead of away from zero; ``Requant.ruy_channels`` says
  for how many leading channels (the tie-heavy tests in test_conv_int.py pin this down);
* ``Q15``: int64 accumulator, ``fixed_point.mul_by_qm_int64`` (int16 activations with an
  int64 bias: the 16x8 conv kernels);
* ``DOUBLE``: ``round(acc * in_scale * w_scale / out_scale)`` in double precision, ties away
  from zero (LiteRT's int16 FULLY_CONNECTED).

Multipliers: per-channel ``double(in) * double(w[c]) / double(out)`` for int8/int16 convs
and per-channel FC; the legacy float32 product ``in * w`` for uint8 and for per-tensor int8
FULLY_CONNECTED (both go through LiteRT's GetQuantizedConvolutionMultipler).

Hybrid ops (float32 input and output, int8 weights) quantize the input per batch (CONV_2D
and DEPTHWISE_CONV_2D) or per row (FULLY_CONNECTED) to int8 — symmetric, or asymmetric
with a zero point (per-channel hybrid convs always; FULLY_CONNECTED when
``asymmetric_quantize_inputs``) — multiply in integers and rescale by
``input scale * weight scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import quant
from .api import PrepareContext, Run, TensorSpec
from .fixed_point import mul_by_qm, mul_by_qm_int64

Q31, Q15, DOUBLE = 0, 1, 2
_INT_INPUTS = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))
_COL_BLOCK = 1 << 21     # im2col values per block (8 or 16 MiB)


# --------------------------------------------------------------------------- operands
def is_integer_op(ctx: PrepareContext) -> bool:
    """True when the op's input is an integer tensor (the integer kernels apply)."""
    x = ctx.input(0)
    return x is not None and x.dtype in _INT_INPUTS


def is_hybrid_op(ctx: PrepareContext) -> bool:
    """Float32 input with int8 weights: the dynamic-range kernels."""
    x, w = ctx.input(0), ctx.input(1)
    return (x is not None and w is not None and x.dtype == np.float32
            and w.dtype in (np.dtype(np.int8), np.dtype(np.uint8)))


def _channel_values(ctx, values, channels: int, what: str) -> np.ndarray:
    values = np.asarray(values).reshape(-1)
    if values.size == 1:
        return np.repeat(values, channels)
    ctx.check(values.size == channels,
              f"{what} has {values.size} values for {channels} output channels")
    return values


def _weight_scales(ctx: PrepareContext, w: TensorSpec, channels: int) -> np.ndarray:
    ctx.check(quant.is_quantized(w), f"{w.dtype} weights {w.name!r} carry no quantization")
    return _channel_values(ctx, quant.scales(w), channels, f"weights {w.name!r} scale")


@dataclass
class Requant:
    """Everything the requantizing epilogue needs, per output channel."""

    bias: np.ndarray        # int64[c]: bias, minus zp_in * sum(w) for the GEMM paths
    mult: np.ndarray        # int32[c]
    shift: np.ndarray       # int32[c]
    scale: np.ndarray       # float64[c] (DOUBLE mode)
    mode: int
    ruy_channels: int       # Q31 mode: channels below this round as ruy does
    zp_out: int
    lo: int
    hi: int


def _check_int_operands(ctx: PrepareContext, x: TensorSpec, w: TensorSpec,
                        out: TensorSpec) -> None:
    ctx.check(out.dtype == x.dtype,
              f"output {out.name!r} is {out.dtype}, the input {x.dtype}")
    for spec in (x, out):
        ctx.check(quant.is_quantized(spec),
                  f"{spec.dtype} tensor {spec.name!r} carries no quantization")
    if x.dtype == np.uint8:
        ctx.check(w.dtype == np.uint8, f"uint8 input needs uint8 weights, got {w.dtype}")
        ctx.check(len(quant.scales(w)) == 1,
                  "uint8 weights must be quantized per tensor")
    else:
        ctx.check(w.dtype == np.int8,
                  f"{x.dtype} input needs int8 weights, got {w.dtype}")
        ctx.check(not np.any(quant.zero_points(w)),
                  f"int8 weights {w.name!r} must have zero points 0")
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output must have zero point 0")


def _bias_values(ctx: PrepareContext, x: TensorSpec, channels: int):
    """(bias dtype expected, int64 constant bias or None when absent/run-time, present)."""
    b = ctx.input(2)
    if b is None:
        return None, False
    if x.dtype == np.int16:
        ok = (np.dtype(np.int64), np.dtype(np.int32))
    else:
        ok = (np.dtype(np.int32),)
    ctx.check(b.dtype in ok, f"{x.dtype} input needs a bias of type "
                             f"{' or '.join(str(t) for t in ok)}, got {b.dtype}")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    return (None if b.data is None else np.asarray(b.data, np.int64).reshape(-1)), True


def integer_requant(ctx: PrepareContext, w_scales: np.ndarray, channels: int, *,
                    legacy_multiplier: bool, fully_connected: bool = False) -> Requant:
    """The epilogue parameters of an integer conv/FC op (bias not yet corrected)."""
    x, out = ctx.input(0), ctx.outputs[0]
    in_scale, out_scale = x.scale, out.scale
    ctx.check(out_scale > 0, f"output {out.name!r} has scale {out_scale}")
    if legacy_multiplier:
        m, s = quant.per_tensor_conv_multiplier(in_scale, float(w_scales[0]), out_scale)
        mult, shift = np.full(channels, m, np.int32), np.full(channels, s, np.int32)
    else:
        mult, shift = quant.per_channel_multipliers(in_scale, w_scales, out_scale)
    scale = (np.float64(np.float32(in_scale)) * w_scales.astype(np.float32).astype(np.float64)
             / np.float64(np.float32(out_scale)))
    mode = Q31
    b = ctx.input(2)
    if x.dtype == np.int16:
        if fully_connected:
            mode = DOUBLE
        elif b is None or b.dtype == np.int64:
            mode = Q15
        else:
            ctx.check(ctx.options.get("quantized_bias_type") == "INT32",
                      "an int32 bias with int16 input needs quantized_bias_type INT32")
    lo, hi = quant.output_activation_range(ctx, out)
    return Requant(np.zeros(channels, np.int64), mult, shift, scale, mode, 0,
                   out.zero_point, lo, hi)


@njit(cache=True, inline="always")
def mul_by_qm_ruy(a, multiplier, shift):
    """The multiplier as ruy's x86 kernels apply it (LiteRT's int8 GEMMs): after the left
    shift, ``(x * m + 2**30) >> 31``, then a right shift rounding half *up* — both ties go
    toward +inf, where ``fixed_point.mul_by_qm`` rounds ties away from zero."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    x = np.int64(np.int32(np.int64(a) << left))
    v = (x * np.int64(multiplier) + (np.int64(1) << 30)) >> 31
    if right > 0:
        nudge = np.int64(1) << (right - 1)
        if v > 2147483647 - nudge:
            return np.int64(1) << (31 - right)
        v = (v + nudge) >> right
    return v


@njit(cache=True, inline="always")
def _requant_one(a, c, mode, mult, shift, scale, ruy_channels):
    if mode == 0:
        if c < ruy_channels:
            return mul_by_qm_ruy(a, mult[c], shift[c])
        return np.int64(mul_by_qm(np.int32(a), mult[c], shift[c]))
    if mode == 1:
        return np.int64(mul_by_qm_int64(a, mult[c], shift[c]))
    v = np.float64(a) * scale[c]
    r = np.floor(abs(v))
    if abs(v) - r >= 0.5:   # C round(): ties away from zero
        r += 1.0
    if v < 0:
        r = -r
    if not (-2147483648.0 <= r <= 2147483647.0):
        return np.int64(-2147483648)
    return np.int64(r)


@njit(cache=True)
def _q31_params(mult, shift):
    """Per-channel int64 multiplier, left shift, right shift and ruy's rounding nudge."""
    m = mult.astype(np.int64)
    left = np.maximum(shift, 0).astype(np.int64)
    right = np.maximum(-shift, 0).astype(np.int64)
    return m, left, right, (np.int64(1) << right) >> 1


@njit(cache=True, inline="always")
def _q31_row(acc, bias, q, mult, shift, ruy_channels, zp, lo, hi, out):
    """One output row of the int8/uint8 epilogue, ``_requant_one``'s mode 0 written
    without branches so that LLVM vectorizes it: ruy's rounding (ties up; saturating
    as ``min(v + nudge, 2**31) >> right``) on the first ``ruy_channels`` channels,
    gemmlowp's (ties away from zero) on the rest. ``q``: ``_q31_params``. The sum with
    the bias wraps in int32, as LiteRT's int32 accumulators do."""
    m, left, right, nudge = q
    for c in range(ruy_channels):
        x = np.int64(np.int32(np.int64(np.int32(acc[c])) + bias[c]) << left[c])
        v = (np.int64(np.int32(x)) * m[c] + (np.int64(1) << 30)) >> 31
        v = min(v + nudge[c], np.int64(1) << 31) >> right[c]
        out[c] = min(max(v + zp, lo), hi)
    for c in range(ruy_channels, out.shape[0]):
        a = np.int32(np.int64(np.int32(acc[c])) + bias[c])
        out[c] = min(max(mul_by_qm(a, mult[c], shift[c]) + zp, lo), hi)


@njit(cache=True)
def _requantize_rows(acc, bias, mult, shift, scale, mode, ruy_channels, zp, lo, hi, out):
    """``out[r, c] = clamp(requant(int(acc[r, c]) + bias[c]) + zp)``."""
    if mode == 0:
        q = _q31_params(mult, shift)
        for r in range(acc.shape[0]):
            _q31_row(acc[r], bias, q, mult, shift, ruy_channels, zp, lo, hi, out[r])
        return
    for r in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            a = np.int64(acc[r, c]) + bias[c]
            v = _requant_one(a, c, mode, mult, shift, scale, ruy_channels) + zp
            out[r, c] = min(max(v, lo), hi)


def tile_q31(rq: Requant, bias: np.ndarray, pixels: int) -> tuple:
    """Per-channel epilogue parameters (bias, multiplier, left/right shift, nudge) tiled
    over ``pixels`` output pixels, for ``_q31_flat``; only for ruy's rounding on every
    channel."""
    m, left, right, nudge = _q31_params(rq.mult, rq.shift)
    # int32 keeps them small (they stay in cache); the bias wraps as LiteRT's sum does
    bias32 = ((np.asarray(bias, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)
    return tuple(np.tile(a.astype(np.int32), pixels) for a in (bias32, m, left, right,
                                                               nudge))


@njit(cache=True)
def _q31_flat(acc, bias, m, left, right, nudge, zp, lo, hi, out):
    """``_q31_row`` (all channels ruy-rounded) over a flat run of whole pixels, in chunks
    of the tiled parameters' length: long loops, so few runtime alias checks."""
    chunk = m.shape[0]
    n = out.shape[0]
    for start in range(0, n, chunk):
        length = min(chunk, n - start)
        a = acc[start:start + length]
        o = out[start:start + length]
        for k in range(length):
            x = np.int64(np.int32(np.int64(np.int32(a[k])) + bias[k]) << left[k])
            v = (np.int64(np.int32(x)) * np.int64(m[k]) + (np.int64(1) << 30)) >> 31
            v = min(v + nudge[k], np.int64(1) << 31) >> right[k]
            o[k] = min(max(v + zp, lo), hi)


# --------------------------------------------------------------------------- GEMM engine
@njit(cache=True)
def _im2col(x, col, row0, c0, cg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, pad):
    """Rows ``row0 ..`` of the unrolled NHWC input (one batch item), channels
    ``c0 .. c0+cg``; cells outside the image hold ``pad``."""
    _, h, w, _ = x.shape
    for r in range(col.shape[0]):
        q = row0 + r
        ox = q % ow
        oy = q // ow
        k = 0
        for i in range(kh):
            iy = oy * sh - ph + i * dh
            for j in range(kw):
                ix = ox * sw - pw + j * dw
                if 0 <= iy < h and 0 <= ix < w:
                    for ch in range(cg):
                        col[r, k + ch] = x[0, iy, ix, c0 + ch]
                else:
                    for ch in range(cg):
                        col[r, k + ch] = pad
                k += cg


def gemm_dtype(k: int, x_dtype, w_max: int):
    """float32 when every partial sum of a K-deep integer dot product is exact in it."""
    x_max = {np.dtype(np.int8): 128, np.dtype(np.uint8): 255,
             np.dtype(np.int16): 32768}[np.dtype(x_dtype)]
    return np.float32 if k * x_max * max(w_max, 1) < 2**24 else np.float64


class ConvGemm:
    """An NHWC convolution as blocks of (im2col, GEMM), one batch item at a time.

    ``weights``: int matrix ``[groups, K, cout_g]`` (zero point already subtracted);
    ``block(ins, scratch, n, r0, r1, pad)`` returns the float accumulators
    ``[r1 - r0, cout]`` of output rows ``r0 .. r1`` of batch item ``n``."""

    def __init__(self, ctx: PrepareContext, x_shape, kernel, strides, dilations, pads,
                 outs, weights: np.ndarray, x_dtype):
        self.n, self.h, self.w, self.cin = x_shape
        self.groups, self.k, self.cout_g = weights.shape
        self.cout = self.groups * self.cout_g
        self.cin_g = self.cin // self.groups
        self.rows = int(outs[0] * outs[1])
        self.dtype = gemm_dtype(self.k, x_dtype, int(np.max(np.abs(weights), initial=0)))
        self.wmat = np.ascontiguousarray(weights, self.dtype)
        self.colsum = weights.astype(np.int64).sum(axis=1).reshape(-1)   # [cout]
        self.direct = tuple(kernel) == (1, 1) and tuple(strides) == (1, 1)
        self.block_rows = max(1, min(self.rows, _COL_BLOCK // max(self.k, 1)))
        self.col = ctx.scratch((self.block_rows, self.k), self.dtype)
        self.acc = ctx.scratch((self.block_rows, self.cout), self.dtype)
        self.geometry = (*kernel, *strides, *dilations, *pads, *outs)

    def blocks(self):
        for r0 in range(0, self.rows, self.block_rows):
            yield r0, min(self.rows, r0 + self.block_rows)

    def block(self, x, scratch, n, r0, r1, pad):
        col = scratch[self.col][:r1 - r0]
        acc = scratch[self.acc][:r1 - r0]
        xn = x[n:n + 1]
        for g in range(self.groups):
            c0 = g * self.cin_g
            if self.direct:
                src = xn.reshape(self.rows, self.cin)[r0:r1, c0:c0 + self.cin_g]
                np.copyto(col, src, casting="unsafe")
            else:
                _im2col(xn, col, r0, c0, self.cin_g, *self.geometry, pad)
            np.matmul(col, self.wmat[g], out=acc[:, g * self.cout_g:(g + 1) * self.cout_g])
        return acc


def _lean_pointwise(gemm: ConvGemm, bias: np.ndarray, rq: Requant) -> Run:
    """A 1x1, stride-1, ungrouped CONV_2D on one batch item in one block (most of a
    MobileNet): cast, GEMM and requantize with nothing else per invoke."""
    rows, cin, cout = gemm.rows, gemm.cin, gemm.cout
    col_i, acc_i, wmat = gemm.col, gemm.acc, gemm.wmat[0]
    tiled = tile_q31(rq, bias, max(1, min(rows, _TILE // cout)))
    tail = (rq.zp_out, rq.lo, rq.hi)

    def run(ins, outs, scratch):
        col, acc = scratch[col_i], scratch[acc_i]
        np.copyto(col, ins[0].reshape(rows, cin), casting="unsafe")
        np.matmul(col, wmat, out=acc)
        _q31_flat(acc.reshape(-1), *tiled, *tail, outs[0].reshape(-1))
    return run


_TILE = 256   # elements of tiled epilogue parameters


# --------------------------------------------------------------------------- CONV_2D
def prepare_conv2d_quantized(ctx: PrepareContext, geometry) -> Run:
    """Integer or hybrid CONV_2D. ``geometry``: (kernel, strides, dilations, pads, outs)
    as the float prepare computed them."""
    x, w = ctx.input(0), ctx.input(1)
    kernel, strides, dilations, pads, outs = geometry
    cout, kh, kw, cin_g = w.shape
    groups = x.shape[3] // cin_g
    ctx.check(w.data is not None, f"quantized weights {w.name!r} must be constant")
    wq = np.asarray(w.data).astype(np.int32) - int(quant.zero_points(w)[0])
    packed = wq.reshape(groups, cout // groups, kh * kw * cin_g).transpose(0, 2, 1)
    if is_hybrid_op(ctx):
        return _hybrid_conv2d(ctx, geometry, packed, cout)
    out = ctx.outputs[0]
    _check_int_operands(ctx, x, w, out)
    ctx.set_output(0, (x.shape[0], *outs, cout), x.dtype)
    w_scales = _weight_scales(ctx, w, cout)
    rq = integer_requant(ctx, w_scales, cout, legacy_multiplier=x.dtype == np.uint8)
    if groups == 1:   # LiteRT: a ruy GEMM; grouped convolutions run its reference kernel
        rq.ruy_channels = cout
    gemm = ConvGemm(ctx, x.shape, kernel, strides, dilations, pads, outs, packed, x.dtype)
    bias, has_bias = _bias_values(ctx, x, cout)
    correction = -x.zero_point * gemm.colsum
    fixed = (bias if bias is not None else 0) + correction
    zp_in = float(x.zero_point)
    if (gemm.n == 1 and gemm.groups == 1 and gemm.direct and gemm.block_rows == gemm.rows
            and rq.mode == Q31 and rq.ruy_channels == cout
            and (bias is not None or not has_bias)):
        return _lean_pointwise(gemm, fixed, rq)

    blocks = list(gemm.blocks())
    if (rq.mode == Q31 and rq.ruy_channels == cout
            and (bias is not None or not has_bias)):
        tiled = tile_q31(rq, fixed, max(1, min(gemm.rows, _TILE // cout)))
        tail = (rq.zp_out, rq.lo, rq.hi)

        def run_tiled(ins, outs_, scratch):
            out2d = outs_[0].reshape(gemm.n, gemm.rows, cout)
            for n in range(gemm.n):
                for r0, r1 in blocks:
                    acc = gemm.block(ins[0], scratch, n, r0, r1, zp_in)
                    _q31_flat(acc.reshape(-1), *tiled, *tail, out2d[n, r0:r1].reshape(-1))
        return run_tiled

    def run(ins, outs_, scratch):
        b = fixed if (bias is not None or not has_bias) else \
            ins[2].reshape(-1).astype(np.int64) + correction
        out2d = outs_[0].reshape(gemm.n, gemm.rows, cout)
        for n in range(gemm.n):
            for r0, r1 in blocks:
                acc = gemm.block(ins[0], scratch, n, r0, r1, zp_in)
                _requantize_rows(acc, b, rq.mult, rq.shift, rq.scale, rq.mode,
                                 rq.ruy_channels, rq.zp_out, rq.lo, rq.hi, out2d[n, r0:r1])
    return run


@njit(cache=True)
def _hybrid_rows(acc, correction, wscale, sf, bias, lo, hi, out):
    """Hybrid epilogue: ``out = clamp((acc + correction[c]) * sf * wscale[c] + bias[c])``."""
    for r in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            v = np.float32(acc[r, c] + correction[c]) * np.float32(wscale[c] * sf) + bias[c]
            out[r, c] = min(max(v, lo), hi)


def _float_bias(ctx: PrepareContext, channels: int):
    b = ctx.input(2)
    if b is None:
        return np.zeros(channels, np.float32), False
    ctx.check(b.dtype == np.float32, f"hybrid ops need a float32 bias, got {b.dtype}")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    if b.data is None:
        return None, True
    return np.array(b.data, np.float32).reshape(-1), True


def _float_activation(ctx: PrepareContext):
    from .conv import activation_bounds
    return activation_bounds(ctx)


def _hybrid_conv2d(ctx: PrepareContext, geometry, packed, cout) -> Run:
    x, w = ctx.input(0), ctx.input(1)
    kernel, strides, dilations, pads, outs = geometry
    ctx.check(w.dtype == np.int8, f"hybrid CONV_2D needs int8 weights, got {w.dtype}")
    ctx.set_output(0, (x.shape[0], *outs, cout), np.float32)
    scales = _weight_scales(ctx, w, cout).astype(np.float32)
    per_channel = bool(np.any(scales != scales[0]))
    gemm = ConvGemm(ctx, x.shape, kernel, strides, dilations, pads, outs, packed, np.int8)
    bias, _ = _float_bias(ctx, cout)
    lo, hi = _float_activation(ctx)
    per_item = x.size // max(x.shape[0], 1)
    xq = ctx.scratch((x.shape[0], per_item), np.int8)
    colsum = gemm.colsum.astype(np.float64)
    zeros = np.zeros(cout, np.float64)
    unit = np.ones(cout, np.float32)

    def run(ins, outs_, scratch):
        b = bias if bias is not None else ins[2].reshape(-1)
        q = scratch[xq]
        flat = ins[0].reshape(gemm.n, per_item)
        out2d = outs_[0].reshape(gemm.n, gemm.rows, cout)
        for n in range(gemm.n):
            if per_channel:
                sf, offset = asymmetric_quantize(flat[n], q[n])
                correction, wscale = -offset * colsum, scales
            else:
                sf, offset = symmetric_quantize(flat[n], q[n]), 0
                sf = float(np.float32(sf) * scales[0])
                correction, wscale = zeros, unit
            qn = q.reshape(ins[0].shape)
            for r0, r1 in gemm.blocks():
                acc = gemm.block(qn, scratch, n, r0, r1, float(offset))
                _hybrid_rows(acc, correction, wscale, np.float32(sf), b, lo, hi,
                             out2d[n, r0:r1])
    return run


# --------------------------------------------------------------------------- input quantizers
@njit(cache=True)
def _symmetric(values, out):
    lo, hi = np.float32(np.inf), np.float32(-np.inf)
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    rng = max(abs(lo), abs(hi))
    if values.size == 0 or rng == 0:
        out[:] = 0
        return np.float32(1.0)
    inv = np.float32(127.0) / rng
    for i in range(values.size):
        p = values[i] * inv
        r = np.floor(abs(p) + np.float32(0.5))   # round half away from zero
        q = int(r) if p >= 0 else -int(r)
        out[i] = min(127, max(-127, q))
    return rng / np.float32(127.0)


@njit(cache=True)
def _asymmetric(values, out):
    lo, hi = np.float32(np.inf), np.float32(-np.inf)
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    rmin = np.float64(min(np.float32(0.0), lo))
    rmax = np.float64(max(np.float32(0.0), hi))
    if rmin == rmax:
        out[:] = 0
        return np.float32(1.0), 0
    scale = (rmax - rmin) / 255.0
    zp_min, zp_max = -128.0 - rmin / scale, 127.0 - rmax / scale
    err_min, err_max = 128.0 + abs(rmin / scale), 127.0 + abs(rmax / scale)
    zp = zp_min if err_min < err_max else zp_max
    if zp <= -128.0:
        offset = -128
    elif zp >= 127.0:
        offset = 127
    else:
        offset = int(np.floor(abs(zp) + 0.5)) * (1 if zp >= 0 else -1)
    sf = np.float32(scale)
    inv = np.float32(1.0) / sf
    for i in range(values.size):
        p = np.float32(offset) + values[i] * inv
        r = np.floor(abs(p) + np.float32(0.5))
        q = int(r) if p >= 0 else -int(r)
        out[i] = min(127, max(-128, q))
    return sf, offset


def symmetric_quantize(values: np.ndarray, out: np.ndarray) -> float:
    """LiteRT's SymmetricQuantizeFloats: int8 in [-127, 127], returns the scale."""
    return float(_symmetric(values.reshape(-1), out.reshape(-1)))


def asymmetric_quantize(values: np.ndarray, out: np.ndarray) -> tuple[float, int]:
    """LiteRT's AsymmetricQuantizeFloats: (scale, zero point) of the int8 values."""
    sf, offset = _asymmetric(values.reshape(-1), out.reshape(-1))
    return float(sf), int(offset)


# --------------------------------------------------------------------------- DEPTHWISE
@njit(cache=True)
def _pad_offset(x, n, zp_in, mult, ph, pw, xp):
    """``xp`` = batch item ``n`` of ``x`` minus its zero point, each input channel
    repeated ``mult`` times, at offset (ph, pw) in a zero border (a padded cell is the
    zero point, so it adds nothing)."""
    _, h, w, cin = x.shape
    hp, wp, _ = xp.shape
    xp[:ph] = 0
    xp[ph + h:] = 0
    for y in range(h):
        row = xp[y + ph]
        row[:pw] = 0
        row[pw + w:] = 0
        for xx in range(w):
            src = x[n, y, xx]
            dst = row[xx + pw]
            if mult == 1:
                for c in range(cin):
                    dst[c] = src[c] - zp_in
            else:
                for c in range(cin):
                    v = src[c] - zp_in
                    for k in range(mult):
                        dst[c * mult + k] = v


@njit(cache=True)
def _depthwise_int(x, w, bias, zp_in, mult, sh, sw, dh, dw, ph, pw, acc, xp,
                   rmult, rshift, rscale, mode, ruy_channels, zp_out, lo, hi, out):
    """Integer depthwise over a zero-bordered, offset copy of the input: the inner loop
    is a plain multiply-add over contiguous channels (``acc``/``xp``/``w`` share one
    integer dtype wide enough for the sums)."""
    n_, oh, ow, cout = out.shape
    kh, kw, _ = w.shape
    q = _q31_params(rmult, rshift)
    for n in range(n_):
        _pad_offset(x, n, zp_in, mult, ph, pw, xp)
        for oy in range(oh):
            for ox in range(ow):
                acc[:] = 0
                for i in range(kh):
                    row = xp[oy * sh + i * dh]
                    for j in range(kw):
                        xr = row[ox * sw + j * dw]
                        wr = w[i, j]
                        for c in range(cout):
                            acc[c] += xr[c] * wr[c]
                o = out[n, oy, ox]
                if mode == 0:
                    _q31_row(acc, bias, q, rmult, rshift, ruy_channels, zp_out, lo, hi, o)
                    continue
                for c in range(cout):
                    v = _requant_one(np.int64(acc[c]) + bias[c], c, mode, rmult, rshift,
                                     rscale, ruy_channels) + zp_out
                    o[c] = min(max(v, lo), hi)


@njit(cache=True)
def _depthwise_int_rows(x, w, zp_in, mult, sh, sw, dh, dw, ph, pw, acc, xp, tiled, zp_out,
                        lo, hi, out):
    """``_depthwise_int`` for ruy rounding on every channel: one output row is
    accumulated into ``acc`` (``ow * cout``) and requantized in one ``_q31_flat`` pass."""
    n_, oh, ow, cout = out.shape
    kh, kw, _ = w.shape
    bias, m, left, right, nudge = tiled
    for n in range(n_):
        _pad_offset(x, n, zp_in, mult, ph, pw, xp)
        for oy in range(oh):
            for ox in range(ow):
                a = acc[ox]
                a[:] = 0
                for i in range(kh):
                    row = xp[oy * sh + i * dh]
                    for j in range(kw):
                        xr = row[ox * sw + j * dw]
                        wr = w[i, j]
                        for c in range(cout):
                            a[c] += xr[c] * wr[c]
            _q31_flat(acc.reshape(-1), bias, m, left, right, nudge, zp_out, lo, hi,
                      out[n, oy].reshape(-1))


@njit(cache=True)
def _depthwise_hybrid(x, w, bias, zp_in, mult, sh, sw, dh, dw, ph, pw, acc, wscale, sf,
                      lo, hi, out, n):
    _, h, wd, _ = x.shape
    _, oh, ow, cout = out.shape
    kh, kw, _ = w.shape
    for oy in range(oh):
        for ox in range(ow):
            for c in range(cout):
                acc[c] = 0
            for i in range(kh):
                iy = oy * sh - ph + i * dh
                if iy < 0 or iy >= h:
                    continue
                for j in range(kw):
                    ix = ox * sw - pw + j * dw
                    if ix < 0 or ix >= wd:
                        continue
                    xr, wr = x[n, iy, ix], w[i, j]
                    for c in range(cout):
                        acc[c] += (np.int64(xr[c // mult]) - zp_in) * wr[c]
            o = out[n, oy, ox]
            for c in range(cout):
                v = np.float32(acc[c]) * np.float32(wscale[c] * sf) + bias[c]
                o[c] = min(max(v, lo), hi)


def prepare_depthwise_quantized(ctx: PrepareContext, geometry) -> Run:
    x, w = ctx.input(0), ctx.input(1)
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    cout = w.shape[3]
    ctx.check(w.data is not None, f"quantized weights {w.name!r} must be constant")
    wq = (np.asarray(w.data).astype(np.int64)
          - int(quant.zero_points(w)[0])).reshape(kh, kw, cout)
    args = (mult, sh, sw, dh, dw, ph, pw)
    if is_hybrid_op(ctx):
        acc = ctx.scratch((cout,), np.int64)
        ctx.check(w.dtype == np.int8, f"hybrid DEPTHWISE_CONV_2D needs int8 weights, "
                                      f"got {w.dtype}")
        ctx.set_output(0, (x.shape[0], oh, ow, cout), np.float32)
        scales = _weight_scales(ctx, w, cout).astype(np.float32)
        bias, _ = _float_bias(ctx, cout)
        lo, hi = _float_activation(ctx)
        per_item = x.size // max(x.shape[0], 1)
        xq = ctx.scratch((x.shape[0], per_item), np.int8)

        def run_hybrid(ins, outs, scratch):
            b = bias if bias is not None else ins[2].reshape(-1)
            q = scratch[xq]
            for n in range(x.shape[0]):
                sf, offset = asymmetric_quantize(ins[0][n], q[n])
                _depthwise_hybrid(q.reshape(x.shape), wq, b, offset, *args, scratch[acc],
                                  scales, np.float32(sf), lo, hi, outs[0], n)
        return run_hybrid
    out = ctx.outputs[0]
    _check_int_operands(ctx, x, w, out)
    ctx.set_output(0, (x.shape[0], oh, ow, cout), x.dtype)
    ctx.check(x.dtype != np.int16 or ctx.input(2) is None or ctx.input(2).dtype == np.int64,
              "int16 DEPTHWISE_CONV_2D needs an int64 bias")
    rq = integer_requant(ctx, _weight_scales(ctx, w, cout), cout,
                         legacy_multiplier=x.dtype == np.uint8)
    if x.dtype == np.int8:
        # LiteRT's int8 depthwise requantizes channels in SIMD blocks of 8 (NEON code
        # emulated on x86: rounding as ruy does) and the remaining channels one by one
        # (gemmlowp rounding).
        rq.ruy_channels = cout // 8 * 8
    bias, has_bias = _bias_values(ctx, x, cout)
    zeros = np.zeros(cout, np.int64)
    tail = (rq.mult, rq.shift, rq.scale, rq.mode, rq.ruy_channels, rq.zp_out, rq.lo, rq.hi)
    # the padded, offset input: float32 arithmetic (exact, and the fastest here) where
    # every sum stays below 2**24, else int32, else int64
    x_max = max(abs(int(v) - x.zero_point) for v in quant.dtype_range(x.dtype))
    bound = kh * kw * x_max * int(np.max(np.abs(wq), initial=0))
    dtype = np.float32 if bound < 2**24 else np.int32 if bound < 2**31 else np.int64
    w_k = np.ascontiguousarray(wq, dtype)
    hp, wp = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    xp = ctx.scratch((max(hp, x.shape[1] + ph), max(wp, x.shape[2] + pw), cout), dtype)
    acc32 = ctx.scratch((cout,), dtype)
    if rq.mode == Q31 and rq.ruy_channels == cout and (bias is not None or not has_bias):
        tiled = tile_q31(rq, bias if bias is not None else zeros,
                         max(1, min(ow, _TILE // cout)))
        acc_row = ctx.scratch((ow, cout), dtype)
        fixed = (x.zero_point, *args, )

        def run_rows(ins, outs, scratch):
            _depthwise_int_rows(ins[0], w_k, *fixed, scratch[acc_row], scratch[xp], tiled,
                                rq.zp_out, rq.lo, rq.hi, outs[0])
        return run_rows

    def run(ins, outs, scratch):
        b = bias if bias is not None else ins[2].reshape(-1).astype(np.int64) \
            if has_bias else zeros
        _depthwise_int(ins[0], w_k, b, x.zero_point, *args, scratch[acc32], scratch[xp],
                       *tail, outs[0])
    return run


# --------------------------------------------------------------------------- FULLY_CONNECTED
@njit(cache=True)
def _int_gemm_rows32(x, w, acc):
    """``acc[r, u] = sum_k x[r, k] * w[u, k]`` in int32 (the caller checked the range):
    for a few rows this beats a float GEMM over 4x-8x larger weights."""
    for r in range(x.shape[0]):
        xr = x[r]
        for u in range(w.shape[0]):
            wr = w[u]
            s = np.int32(0)
            for k in range(xr.shape[0]):
                s += np.int32(xr[k]) * np.int32(wr[k])
            acc[r, u] = s


@njit(cache=True)
def _int_gemm_rows64(x, w, acc):
    for r in range(x.shape[0]):
        xr = x[r]
        for u in range(w.shape[0]):
            wr = w[u]
            s = np.int64(0)
            for k in range(xr.shape[0]):
                s += np.int64(xr[k]) * np.int64(wr[k])
            acc[r, u] = s


_FEW_ROWS = 4   # up to this many rows, FULLY_CONNECTED runs as an integer GEMV


def prepare_fully_connected_quantized(ctx: PrepareContext, rows: int, units: int,
                                      depth: int) -> Run:
    """Integer or hybrid FULLY_CONNECTED; the float prepare already set the output shape
    (its dtype is fixed here)."""
    x, w = ctx.input(0), ctx.input(1)
    ctx.check(w.data is not None, f"quantized weights {w.name!r} must be constant")
    ctx.check(w.sparsity is None, "sparse quantized weights are not supported")
    wq = np.asarray(w.data).astype(np.int32).reshape(units, depth) \
        - quant.zero_points(w)[:1].astype(np.int32)
    ctx.set_output(0, ctx.outputs[0].shape, np.float32 if is_hybrid_op(ctx) else x.dtype)
    if is_hybrid_op(ctx):
        return _hybrid_fc(ctx, wq, rows, units, depth)
    out = ctx.outputs[0]
    _check_int_operands(ctx, x, w, out)
    scales = _weight_scales(ctx, w, units)
    per_channel = len(quant.scales(w)) > 1
    rq = integer_requant(ctx, scales, units, fully_connected=True,
                         legacy_multiplier=not per_channel)
    rq.ruy_channels = units   # LiteRT: a ruy GEMM
    w_max = int(np.max(np.abs(wq), initial=0))
    colsum = wq.astype(np.int64).sum(axis=1)
    bias, has_bias = _bias_values(ctx, x, units)
    correction = -x.zero_point * colsum
    fixed = (bias if bias is not None else 0) + correction
    tail = (rq.mult, rq.shift, rq.scale, rq.mode, rq.ruy_channels, rq.zp_out, rq.lo, rq.hi)
    if rows <= _FEW_ROWS:
        x_max = max(abs(v) for v in quant.dtype_range(x.dtype))
        narrow = depth * x_max * w_max < 2**31
        gemm = _int_gemm_rows32 if narrow else _int_gemm_rows64
        w_int = np.ascontiguousarray(wq, np.int8 if w_max <= 127 else np.int16)
        acc_i = ctx.scratch((rows, units), np.int32 if narrow else np.int64)

        def run_few(ins, outs, scratch):
            b = fixed if (bias is not None or not has_bias) else \
                ins[2].reshape(-1).astype(np.int64) + correction
            a = scratch[acc_i]
            gemm(ins[0].reshape(rows, depth), w_int, a)
            _requantize_rows(a, b, *tail, outs[0].reshape(rows, units))
        return run_few
    dtype = gemm_dtype(depth, x.dtype, w_max)
    wmat = np.ascontiguousarray(wq.T, dtype)
    xf = ctx.scratch((rows, depth), dtype)
    acc = ctx.scratch((rows, units), dtype)

    def run(ins, outs, scratch):
        b = fixed if (bias is not None or not has_bias) else \
            ins[2].reshape(-1).astype(np.int64) + correction
        a, xm = scratch[acc], scratch[xf]
        np.copyto(xm, ins[0].reshape(rows, depth), casting="unsafe")
        np.matmul(xm, wmat, out=a)
        _requantize_rows(a, b, *tail, outs[0].reshape(rows, units))
    return run


def _hybrid_fc(ctx: PrepareContext, wq, rows, units, depth) -> Run:
    w = ctx.input(1)
    ctx.check(w.dtype == np.int8, f"hybrid FULLY_CONNECTED needs int8 weights, got {w.dtype}")
    scales = _weight_scales(ctx, w, units).astype(np.float32)
    asymmetric = bool(ctx.options.get("asymmetric_quantize_inputs", False))
    dtype = gemm_dtype(depth, np.int8, int(np.max(np.abs(wq), initial=0)))
    wmat = np.ascontiguousarray(wq.T, dtype)
    colsum = wq.astype(np.float64).sum(axis=1)
    bias, _ = _float_bias(ctx, units)
    lo, hi = _float_activation(ctx)
    xq = ctx.scratch((rows, depth), np.int8)
    xf = ctx.scratch((rows, depth), dtype)
    acc = ctx.scratch((rows, units), dtype)
    zeros = np.zeros(units, np.float64)

    def run(ins, outs, scratch):
        b = bias if bias is not None else ins[2].reshape(-1)
        q, a = scratch[xq], scratch[acc]
        x2d = ins[0].reshape(rows, depth)
        out2d = outs[0].reshape(rows, units)
        factors = []
        for r in range(rows):
            if asymmetric:
                factors.append(asymmetric_quantize(x2d[r], q[r]))
            else:
                factors.append((symmetric_quantize(x2d[r], q[r]), 0))
        np.copyto(scratch[xf], q, casting="unsafe")
        np.matmul(scratch[xf], wmat, out=a)
        for r, (sf, offset) in enumerate(factors):
            correction = -offset * colsum if offset else zeros
            _hybrid_rows(a[r:r + 1], correction, scales, np.float32(sf), b, lo, hi,
                         out2d[r:r + 1])
    return run


# --------------------------------------------------------------------------- BATCH_MATMUL
def prepare_batch_matmul_quantized(ctx: PrepareContext, adj_x: bool, adj_y: bool) -> Run:
    """int8 x int8 -> int8 or int32, int16 x int16/int8 -> int16 (LiteRT's reference
    kernels: one per-tensor multiplier from the float32 scale product, no activation).
    The int32 output is the plain sum of products, zero points ignored, as in LiteRT."""
    a, b, out = ctx.input(0), ctx.input(1), ctx.outputs[0]
    ok = {(np.dtype(np.int8), np.dtype(np.int8)), (np.dtype(np.int16), np.dtype(np.int16)),
          (np.dtype(np.int16), np.dtype(np.int8))}
    ctx.check((a.dtype, b.dtype) in ok, f"{a.dtype} x {b.dtype} operands are not supported")
    for spec, what in ((a, "lhs"), (b, "rhs")):
        ctx.check(2 <= len(spec.shape) <= 5,
                  f"{what} must have rank 2 to 5, got {list(spec.shape)}")
    m, k = a.shape[-2:][::-1] if adj_x else a.shape[-2:]
    k2, n = b.shape[-2:][::-1] if adj_y else b.shape[-2:]
    ctx.check(k == k2, f"inner dimensions differ: {list(a.shape)} (adj_x={adj_x}) x "
                       f"{list(b.shape)} (adj_y={adj_y})")
    try:
        batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    except ValueError:
        raise ctx.error(f"batch dimensions of {list(a.shape)} and {list(b.shape)} "
                        f"do not broadcast") from None
    int32_out = a.dtype == np.int8 and out.dtype == np.int32
    out_dtype = np.int32 if int32_out else a.dtype
    ctx.set_output(0, batch + (m, n), out_dtype)
    za = 0 if int32_out else a.zero_point
    zb = 0 if int32_out else b.zero_point
    shape = batch + (m, n)
    fa = ctx.scratch(a.shape, np.float64)
    fb = ctx.scratch(b.shape, np.float64)
    acc = ctx.scratch(shape, np.float64)
    if int32_out:
        def run_int32(ins, outs, scratch):
            _float_matmul(ins, scratch, fa, fb, acc, za, zb, adj_x, adj_y)
            np.copyto(outs[0], scratch[acc], casting="unsafe")
        return run_int32
    for spec in (a, b, out):
        ctx.check(quant.is_quantized(spec),
                  f"{spec.dtype} tensor {spec.name!r} carries no quantization")
    if a.dtype == np.int16:
        ctx.check(a.zero_point == 0 and b.zero_point == 0 and out.zero_point == 0,
                  "int16 operands and output must have zero point 0")
    mult, shift = quant.per_tensor_conv_multiplier(a.scale, b.scale, out.scale)
    lo, hi = quant.dtype_range(out_dtype)
    mode = Q15 if a.dtype == np.int16 else Q31
    mults, shifts = np.full(n, mult, np.int32), np.full(n, shift, np.int32)
    zeros, unit = np.zeros(n, np.int64), np.ones(n, np.float64)
    rows = int(np.prod(shape)) // max(n, 1)

    def run(ins, outs, scratch):
        _float_matmul(ins, scratch, fa, fb, acc, za, zb, adj_x, adj_y)
        _requantize_rows(scratch[acc].reshape(rows, n), zeros, mults, shifts, unit, mode, 0,
                         out.zero_point, lo, hi, outs[0].reshape(rows, n))
    return run


def _float_matmul(ins, scratch, fa, fb, acc, za, zb, adj_x, adj_y):
    """``(a - za) @ (b - zb)`` exactly, in float64 (int16 x int16 products stay < 2**31)."""
    x, y = scratch[fa], scratch[fb]
    np.subtract(ins[0], za, out=x, dtype=np.float64)   # not in int8: it would wrap
    np.subtract(ins[1], zb, out=y, dtype=np.float64)
    np.matmul(np.swapaxes(x, -1, -2) if adj_x else x,
              np.swapaxes(y, -1, -2) if adj_y else y, out=scratch[acc])
