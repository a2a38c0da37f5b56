"""Integer (int8, int16x8, legacy uint8) and hybrid FULLY_CONNECTED, and integer
BATCH_MATMUL, computed as LiteRT's builtin kernels compute them (fully_connected.py
dispatches here when an operand is quantized).

FULLY_CONNECTED with a few rows runs as an integer GEMV over the int8 weights (less memory
than a float copy); more rows as an exact float GEMM (conv_quantized.py's docstring) with
the requantizing epilogue of ``requantize``. Multipliers: per-channel ``double(in) *
double(w[c]) / double(out)``; per tensor the legacy float32 product ``in * w``
(GetQuantizedConvolutionMultipler). Hybrid FULLY_CONNECTED quantizes the float input per
row (symmetric, or asymmetric when ``asymmetric_quantize_inputs``).

BATCH_MATMUL: int8 x int8 -> int8 or int32, int16 x int16/int8 -> int16, LiteRT's
reference kernels (one per-tensor multiplier from the float32 scale product).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import gemm_vnni, quant
from .api import PrepareContext, Run
from .quantized_operands import (
    asymmetric_quantize,
    bias_values,
    check_int_operands,
    float_activation,
    float_bias,
    gemm_dtype,
    integer_requant,
    is_hybrid_op,
    symmetric_quantize,
    weight_scales,
)
from .requantize import Q15, Q31, hybrid_rows, q31_arrays, requantize_rows


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
    check_int_operands(ctx, x, w, out)
    scales = weight_scales(ctx, w, units)
    per_channel = len(quant.scales(w)) > 1
    rq = integer_requant(ctx, scales, units, fully_connected=True,
                         legacy_multiplier=not per_channel)
    rq.ruy_channels = units   # LiteRT: a ruy GEMM
    w_max = int(np.max(np.abs(wq), initial=0))
    colsum = wq.astype(np.int64).sum(axis=1)
    bias, has_bias = bias_values(ctx, x, units)
    correction = -x.zero_point * colsum
    fixed = (bias if bias is not None else 0) + correction
    tail = (q31_arrays(rq.mult, rq.shift), rq.mult, rq.shift, rq.scale, rq.mode,
            rq.ruy_channels, rq.zp_out, rq.lo, rq.hi)
    if rows <= _FEW_ROWS and gemm_vnni.AVAILABLE and wq.size and -128 <= wq.min() \
            and wq.max() <= 127 and x.dtype in (np.dtype(np.int8), np.dtype(np.uint8)) \
            and depth <= 60_000:
        return _few_rows_vnni(ctx, x, wq, rows, units, fixed, bias, has_bias, correction,
                              tail)
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
            requantize_rows(a, b, *tail, outs[0].reshape(rows, units))
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
        requantize_rows(a, b, *tail, outs[0].reshape(rows, units))
    return run


def _few_rows_vnni(ctx: PrepareContext, x, wq, rows, units, fixed, bias, has_bias,
                   correction, tail) -> Run:
    """A few rows on the exact AVX-512 VNNI GEMM (gemm_vnni.py): the int32 sums that
    ``_int_gemm_rows32`` computes, from 4-row tiles and single-row ones for the rest
    (MobileNet's 1280x1000 classifier, one row, in the model: 63 -> ~15 us)."""
    bp = gemm_vnni.pack(np.ascontiguousarray(wq.T).astype(np.int8))
    kp, np16 = bp.shape[1] * 4, bp.shape[0] * gemm_vnni.PANEL
    flip = np.uint8(128 if x.dtype == np.int8 else 0)
    corr = np.zeros(np16, np.int32)
    corr[:units] = int(flip) * wq.astype(np.int64).sum(axis=1)
    a_i = ctx.scratch((rows, kp), np.uint8)
    acc_i = ctx.scratch((rows, np16), np.int32)
    depth = wq.shape[1]

    def run_vnni(ins, outs, scratch):
        b = fixed if (bias is not None or not has_bias) else \
            ins[2].reshape(-1).astype(np.int64) + correction
        acc = scratch[acc_i]
        gemm_vnni.rows_u8s8(ins[0].reshape(rows, depth), scratch[a_i], flip, bp, corr, acc)
        requantize_rows(acc[:rows, :units], b, *tail, outs[0].reshape(rows, units))
    return run_vnni


def _hybrid_fc(ctx: PrepareContext, wq, rows, units, depth) -> Run:
    w = ctx.input(1)
    ctx.check(w.dtype == np.int8, f"hybrid FULLY_CONNECTED needs int8 weights, got {w.dtype}")
    scales = weight_scales(ctx, w, units).astype(np.float32)
    asymmetric = bool(ctx.options.get("asymmetric_quantize_inputs", False))
    dtype = gemm_dtype(depth, np.int8, int(np.max(np.abs(wq), initial=0)))
    wmat = np.ascontiguousarray(wq.T, dtype)
    colsum = wq.astype(np.float64).sum(axis=1)
    bias, _ = float_bias(ctx, units)
    lo, hi = float_activation(ctx)
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
            hybrid_rows(a[r:r + 1], correction, scales, np.float32(sf), b, lo, hi,
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
    q = q31_arrays(mults, shifts)
    rows = int(np.prod(shape)) // max(n, 1)

    def run(ins, outs, scratch):
        _float_matmul(ins, scratch, fa, fb, acc, za, zb, adj_x, adj_y)
        requantize_rows(scratch[acc].reshape(rows, n), zeros, q, mults, shifts, unit, mode,
                        0, out.zero_point, lo, hi, outs[0].reshape(rows, n))
    return run


def _float_matmul(ins, scratch, fa, fb, acc, za, zb, adj_x, adj_y):
    """``(a - za) @ (b - zb)`` exactly, in float64 (int16 x int16 products stay < 2**31)."""
    x, y = scratch[fa], scratch[fb]
    np.subtract(ins[0], za, out=x, dtype=np.float64)   # not in int8: it would wrap
    np.subtract(ins[1], zb, out=y, dtype=np.float64)
    np.matmul(np.swapaxes(x, -1, -2) if adj_x else x,
              np.swapaxes(y, -1, -2) if adj_y else y, out=scratch[acc])
