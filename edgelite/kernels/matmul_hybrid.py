"""Hybrid BATCH_MATMUL (v1-4): float32 LHS, constant int8 RHS, float32 output, computed
as LiteRT's builtin hybrid kernel (batch_matmul.cc EvalHybrid + the reference hybrid
BatchMatMul) computes it.

Walk-through:

1. LiteRT first squeezes ``lhs [..., Q, R, S] x rhs [..., 1, X, Y]`` to
   ``[..., Q*R, S] x [..., X, Y]`` (without ``adj_x``); the RHS is transposed to
   ``[..., N, K]`` rows (unless ``adj_y``), the LHS to ``[..., M, K]`` rows (if ``adj_x``);
2. every LHS row of K values is quantized to int8 on its own, symmetric or (with
   ``asymmetric_quantize_inputs``) asymmetric, giving a scale and a zero point per row; a
   per-tensor RHS scale is folded into the row scales;
3. ``out[..., m, n] = float32(scale * float32(total))`` with the int32
   ``total = sum_k w[n, k] * q[m, k]``, minus ``row_sum(w[n]) * zero_point`` taken in
   float32 and truncated back to int32; ``scale`` is the row scale, times ``w_scale[n]``
   for a per-channel RHS.

The batch loops run over LiteRT's rank-5 view with its own strides for the scale / zero
point and row-sum tables (``ioff``/``woff``: one row count per non-broadcast batch
dimension), so batch shapes index those tables exactly as LiteRT does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import quant
from .api import PrepareContext, Run
from .conv_quantized import _asymmetric, _symmetric


def _extended(shape) -> tuple:
    return (1,) * (5 - len(shape)) + tuple(shape)


def _extent(shape5: tuple, x: int) -> int:
    """Elements to advance per step of batch dimension ``x``; 0 where it broadcasts."""
    return 0 if shape5[x] == 1 else int(np.prod(shape5[x + 1:], dtype=np.int64))


def _squeezed(lhs: tuple, rhs: tuple, adj_x: bool) -> tuple[tuple, tuple]:
    """LiteRT's ``[..., Q, R, S] x [..., 1, X, Y]`` -> ``[..., Q*R, S] x [..., X, Y]``."""
    if not adj_x and len(rhs) > 2 and len(lhs) > 2 and rhs[-3] == 1:
        lhs = lhs[:-3] + (lhs[-3] * lhs[-2], lhs[-1])
        rhs = rhs[:-3] + rhs[-2:]
    return lhs, rhs


def _output_shape(ctx: PrepareContext, a: tuple, b: tuple, adj_x: bool, adj_y: bool):
    rank = max(len(a), len(b))
    ea, eb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    batch = []
    for da, db in zip(ea[:-2], eb[:-2]):
        ctx.check(da == db or da == 1 or db == 1,
                  f"batch dimensions of {list(a)} and {list(b)} do not broadcast")
        batch.append(db if da == 1 else da)
    return tuple(batch) + (ea[-1] if adj_x else ea[-2], eb[-2] if adj_y else eb[-1])


@njit(cache=True)
def _quantize_rows(x, q, sf, zp, asymmetric, w_scale):
    for r in range(x.shape[0]):
        if asymmetric:
            s, z = _asymmetric(x[r], q[r])
        else:
            s, z = _symmetric(x[r], q[r]), 0
        sf[r] = s * w_scale if w_scale > 0 else s
        zp[r] = z


@njit(cache=True)
def _hybrid_batch_matmul(w, q, sf, zp, sums, pcs, per_channel, dims, w_ext, x_ext, out):
    """The reference hybrid loop over the rank-5 view (see the module doc). ``w``: flat
    int8 ``[..., N, K]``; ``q``: flat int8 ``[..., M, K]``; ``dims`` = (batch0, batch1,
    batch2, N, M, K); ``out`` flat float32."""
    bd0, bd1, bd2, n, m, k = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    for b0 in range(bd0):
        for b1 in range(bd1):
            for b2 in range(bd2):
                w0 = b0 * w_ext[0] + b1 * w_ext[1] + b2 * w_ext[2]
                x0 = b0 * x_ext[0] + b1 * x_ext[1] + b2 * x_ext[2]
                io = (b0 * (m if x_ext[0] else 0) + b1 * (m if x_ext[1] else 0)
                      + b2 * (m if x_ext[2] else 0))
                wo = (b0 * (n if w_ext[0] else 0) + b1 * (n if w_ext[1] else 0)
                      + b2 * (n if w_ext[2] else 0))
                o0 = (b0 * bd1 * bd2 + b1 * bd2 + b2) * n * m
                for j in range(m):
                    s = sf[io + j]
                    offset = np.float32(zp[io + j])
                    xr = x0 + j * k
                    for i in range(n):
                        wr = w0 + i * k
                        total = np.int32(0)
                        for c in range(k):
                            total += np.int32(w[wr + c]) * np.int32(q[xr + c])
                        total = np.int32(np.float32(total)
                                         - np.float32(sums[wo + i]) * offset)
                        scale = s * pcs[i] if per_channel else s
                        out[o0 + j * n + i] = np.float32(0.0) + scale * np.float32(total)


def _rhs_scales(ctx: PrepareContext, n: int, adj_y: bool) -> tuple[np.ndarray, bool]:
    b = ctx.input(1)
    ctx.check(quant.is_quantized(b), f"int8 rhs {b.name!r} carries no quantization")
    scales = quant.scales(b)
    if len(scales) == 1:
        return np.ones(n, np.float32), False
    axis = b.quantization.axis
    ctx.check(axis == len(b.shape) - (2 if adj_y else 1) and len(scales) == n,
              f"per-channel rhs scales must run along its {n} output columns "
              f"(axis {len(b.shape) - (2 if adj_y else 1)}), got {len(scales)} on axis {axis}")
    return scales, True


def prepare_batch_matmul_hybrid(ctx: PrepareContext, adj_x: bool, adj_y: bool) -> Run:
    """BATCH_MATMUL with a float32 LHS and a constant int8 RHS."""
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(b.dtype == np.int8, f"a float32 lhs needs an int8 rhs, got {b.dtype}")
    ctx.check(b.data is not None, f"the int8 rhs {b.name!r} must be constant")
    for spec, what in ((a, "lhs"), (b, "rhs")):
        ctx.check(2 <= len(spec.shape) <= 5,
                  f"{what} must have rank 2 to 5, got {list(spec.shape)}")
    sa, sb = tuple(a.shape), tuple(b.shape)
    k = sa[-2] if adj_x else sa[-1]
    ctx.check(k == (sb[-1] if adj_y else sb[-2]),
              f"inner dimensions differ: {list(sa)} (adj_x={adj_x}) x {list(sb)} "
              f"(adj_y={adj_y})")
    shape = _output_shape(ctx, sa, sb, adj_x, adj_y)
    ctx.set_output(0, shape, np.float32)
    n = shape[-1]
    pcs, per_channel = _rhs_scales(ctx, n, adj_y)
    w_scale = 0.0 if per_channel else float(quant.scales(b)[0])
    w = np.asarray(b.data, np.int8).reshape(sb)
    w = np.ascontiguousarray(w if adj_y else np.swapaxes(w, -1, -2))    # [..., N, K]
    sums = w.reshape(-1, k).sum(axis=1, dtype=np.int32) if k else np.zeros(0, np.int32)
    la, lb = _squeezed(sa, sb, adj_x)
    lb = lb[:-2] + (n, k)                                # rows of the transposed rhs
    la = la[:-2] + (k, la[-2] if not adj_x else la[-1])  # LiteRT's swapped lhs shape
    fs, xs = _extended(lb), _extended(la)
    dims = np.array([max(fs[x], xs[x]) for x in range(3)] + [n, xs[4], k], np.int64)
    w_ext = np.array([_extent(fs, x) for x in range(3)], np.int64)
    x_ext = np.array([_extent(xs, x) for x in range(3)], np.int64)
    rows = a.size // max(k, 1)
    asymmetric = bool(ctx.options.get("asymmetric_quantize_inputs", False))
    xt = ctx.scratch(sa[:-2] + (sa[-1], sa[-2]), np.float32) if adj_x else None
    q = ctx.scratch((rows, k), np.int8)
    sf = ctx.scratch((rows,), np.float32)
    zp = ctx.scratch((rows,), np.int32)
    flat_w = w.reshape(-1)

    def run(ins, outs, scratch):
        x = ins[0]
        if xt is not None:
            np.copyto(scratch[xt], np.swapaxes(x, -1, -2))
            x = scratch[xt]
        _quantize_rows(x.reshape(rows, k), scratch[q], scratch[sf], scratch[zp], asymmetric,
                       np.float32(w_scale))
        _hybrid_batch_matmul(flat_w, scratch[q].reshape(-1), scratch[sf], scratch[zp], sums,
                             pcs, per_channel, dims, w_ext, x_ext, outs[0].reshape(-1))
    return run
