"""Integer (int8, int16x8, legacy uint8) and hybrid CONV_2D, computed as LiteRT's builtin
kernels compute it. Siblings: depthwise_quantized.py (DEPTHWISE_CONV_2D),
fully_connected_quantized.py (FULLY_CONNECTED, BATCH_MATMUL), requantize.py (the
epilogues), quantized_operands.py (operand checks, bias, multipliers, hybrid input
quantizers). conv.py and fully_connected.py dispatch here when an operand is quantized.

Integer GEMMs run as *exact* float GEMMs: every product of an input value and a weight is
an integer, and BLAS sums them exactly as long as every partial sum fits the float's
mantissa — so a layer whose ``K * max|x| * max|w|`` stays below 2**24 multiplies in
float32, any other in float64 (2**53). The input is unrolled with padding cells set to the
input zero point, the raw GEMM ``sum(x * w)`` is corrected by ``- zp_in * sum(w)`` per
output channel (folded into the bias once, in prepare), and one numba pass requantizes each
accumulator, adds the output zero point and clamps (``requantize``; with ruy's rounding,
as one exact float64 multiply-add where the bounds allow).

Multipliers: per-channel ``double(in) * double(w[c]) / double(out)`` for int8/int16; the
legacy float32 product ``in * w`` for uint8 (LiteRT's GetQuantizedConvolutionMultipler).

Hybrid CONV_2D (float32 input and output, int8 weights) quantizes the input per batch item
to int8 — asymmetric for per-channel weights, else symmetric — multiplies in integers and
rescales by ``input scale * weight scale``.
"""

from __future__ import annotations

import functools

import numpy as np

from . import quant
from .api import PrepareContext, Run, TensorSpec
from .depthwise_quantized import prepare_depthwise_quantized
from .fully_connected_quantized import (
    prepare_batch_matmul_quantized,
    prepare_fully_connected_quantized,
)
from .im2col import im2col, window_offsets
from .quantized_operands import (
    asymmetric_quantize,
    asymmetric_values,
    bias_values,
    check_int_operands,
    float_activation,
    float_bias,
    gemm_dtype,
    integer_requant,
    is_hybrid_op,
    is_integer_op,
    symmetric_quantize,
    symmetric_values,
    weight_scales,
)
from .requantize import (
    Q31,
    Requant,
    affine_bounds,
    exact_affine,
    hybrid_rows,
    q31_arrays,
    q31_flat,
    requantize_affine,
    requantize_rows,
    tile_q31,
)

# conv.py, fully_connected.py, matmul_hybrid.py and sequence_quantized.py import these
# from here
__all__ = ["is_hybrid_op", "is_integer_op", "prepare_batch_matmul_quantized",
           "prepare_conv2d_quantized", "prepare_depthwise_quantized",
           "prepare_fully_connected_quantized"]
_asymmetric, _symmetric = asymmetric_values, symmetric_values

_COL_BLOCK = 1 << 21     # im2col values per block (8 or 16 MiB)


# --------------------------------------------------------------------------- GEMM engine
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
        self.ctx = ctx
        self.geometry = (*kernel, *strides, *dilations, *pads, *outs)
        self.offsets = window_offsets(kernel, dilations, self.w, self.cin, self.cin_g)

    # the im2col and accumulator scratch, requested from the arena only by the paths that
    # use them (conv_gemm's fused path brings its own)
    @functools.cached_property
    def col(self) -> int:
        return self.ctx.scratch((self.block_rows, self.k), self.dtype)

    @functools.cached_property
    def acc(self) -> int:
        return self.ctx.scratch((self.block_rows, self.cout), self.dtype)

    def reserve(self) -> "ConvGemm":
        """Request the scratch (at prepare) for the paths that run ``block``."""
        _ = self.col, self.acc
        return self

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
                im2col(xn, col, r0, c0, self.cin_g, *self.geometry, pad, self.offsets)
            np.matmul(col, self.wmat[g], out=acc[:, g * self.cout_g:(g + 1) * self.cout_g])
        return acc


def ruy_epilogue(rq: Requant, fixed: np.ndarray, bias, x: TensorSpec, out: TensorSpec,
                 w_abs: np.ndarray, rows: int) -> tuple:
    """``(finish, params)`` with ``finish(acc, *params, out)`` requantizing flat runs of
    whole pixels of a GEMM's raw accumulators ``sum(x * w)`` (bias ``fixed``, ruy's
    rounding on every channel): ``requantize_affine`` where exact, else ``q31_flat``.
    ``w_abs``: per-channel ``sum |w|``; ``bias``: the op's own bias (or None)."""
    cout = len(fixed)
    lo_x, hi_x = quant.dtype_range(x.dtype)
    acc_max = w_abs * max(-lo_x, hi_x)
    dev = max(abs(lo_x - x.zero_point), abs(hi_x - x.zero_point))
    sum_max = w_abs * dev + (0 if bias is None else np.abs(bias))
    wrap = 256 if out.dtype.itemsize == 1 else 65536
    length = max(1, min(rows, _TILE // cout)) * cout
    affine = exact_affine(rq, fixed, acc_max, sum_max, wrap, length)
    if affine is not None:
        return requantize_affine, (affine, *affine_bounds(rq, wrap))
    tiled = tile_q31(rq, fixed, max(1, min(rows, _TILE // cout)))
    return q31_flat, (*tiled, rq.zp_out, rq.lo, rq.hi)


def _lean_pointwise(gemm: ConvGemm, finish, params) -> Run:
    """A 1x1, stride-1, ungrouped CONV_2D on one batch item in one block (most of a
    MobileNet): cast, GEMM and requantize with nothing else per invoke."""
    rows, cin = gemm.rows, gemm.cin
    col_i, acc_i, wmat = gemm.col, gemm.acc, gemm.wmat[0]

    def run(ins, outs, scratch):
        col, acc = scratch[col_i], scratch[acc_i]
        np.copyto(col, ins[0].reshape(rows, cin), casting="unsafe")
        np.matmul(col, wmat, out=acc)
        finish(acc.reshape(-1), *params, outs[0].reshape(-1))
    return run


_TILE = 256   # elements of tiled epilogue parameters (long loops, small enough to stay cached)


# --------------------------------------------------------------------------- CONV_2D
def _ruy_conv(gemm: ConvGemm, finish, params, zp_in: float) -> Run:
    """CONV_2D with ruy's rounding on every channel and a constant bias: GEMM blocks, each
    requantized by ``finish`` (``ruy_epilogue``). With float32 sums and the float64 affine
    epilogue, conv_gemm runs it all in one numba call (and numba's threads); with AVX-512
    VNNI, whatever the sums' size (exact int32)."""
    if finish is requantize_affine or finish is q31_flat:
        from . import conv_gemm
        run = conv_gemm.prepare_int(gemm, zp_in, finish, params)
        if run is not None:
            return run
    gemm.reserve()
    if gemm.n == 1 and gemm.direct and gemm.block_rows == gemm.rows:
        return _lean_pointwise(gemm, finish, params)
    blocks = list(gemm.blocks())
    shape = (gemm.n, gemm.rows, gemm.cout)

    def run_tiled(ins, outs, scratch):
        out3d = outs[0].reshape(shape)
        for n in range(gemm.n):
            for r0, r1 in blocks:
                acc = gemm.block(ins[0], scratch, n, r0, r1, zp_in)
                finish(acc.reshape(-1), *params, out3d[n, r0:r1].reshape(-1))
    return run_tiled


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
    check_int_operands(ctx, x, w, out)
    ctx.set_output(0, (x.shape[0], *outs, cout), x.dtype)
    w_scales = weight_scales(ctx, w, cout)
    rq = integer_requant(ctx, w_scales, cout, legacy_multiplier=x.dtype == np.uint8)
    if groups == 1:   # LiteRT: a ruy GEMM; grouped convolutions run its reference kernel
        rq.ruy_channels = cout
    gemm = ConvGemm(ctx, x.shape, kernel, strides, dilations, pads, outs, packed, x.dtype)
    bias, has_bias = bias_values(ctx, x, cout)
    correction = -x.zero_point * gemm.colsum
    fixed = (bias if bias is not None else 0) + correction
    zp_in = float(x.zero_point)
    if rq.mode == Q31 and rq.ruy_channels == cout and (bias is not None or not has_bias):
        w_abs = np.abs(packed).astype(np.int64).sum(axis=1).reshape(-1)
        return _ruy_conv(gemm, *ruy_epilogue(rq, fixed, bias, x, out, w_abs, gemm.rows),
                         zp_in)
    blocks = list(gemm.reserve().blocks())
    q = q31_arrays(rq.mult, rq.shift)

    def run(ins, outs_, scratch):
        b = fixed if (bias is not None or not has_bias) else \
            ins[2].reshape(-1).astype(np.int64) + correction
        out2d = outs_[0].reshape(gemm.n, gemm.rows, cout)
        for n in range(gemm.n):
            for r0, r1 in blocks:
                acc = gemm.block(ins[0], scratch, n, r0, r1, zp_in)
                requantize_rows(acc, b, q, rq.mult, rq.shift, rq.scale, rq.mode,
                                rq.ruy_channels, rq.zp_out, rq.lo, rq.hi, out2d[n, r0:r1])
    return run


def _hybrid_conv2d(ctx: PrepareContext, geometry, packed, cout) -> Run:
    x, w = ctx.input(0), ctx.input(1)
    kernel, strides, dilations, pads, outs = geometry
    ctx.check(w.dtype == np.int8, f"hybrid CONV_2D needs int8 weights, got {w.dtype}")
    ctx.set_output(0, (x.shape[0], *outs, cout), np.float32)
    scales = weight_scales(ctx, w, cout).astype(np.float32)
    per_channel = bool(np.any(scales != scales[0]))
    gemm = ConvGemm(ctx, x.shape, kernel, strides, dilations, pads, outs, packed,
                    np.int8).reserve()
    bias, _ = float_bias(ctx, cout)
    lo, hi = float_activation(ctx)
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
                hybrid_rows(acc, correction, wscale, np.float32(sf), b, lo, hi,
                             out2d[n, r0:r1])
    return run
