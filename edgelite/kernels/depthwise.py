"""Float32 DEPTHWISE_CONV_2D with constant weights: whole output rows as long multiply-adds.

The input is copied once per batch item into a zero-bordered buffer whose rows hold their
columns split by phase modulo the stride (``xp[y, phase, col]`` is padded column
``col * sw + phase``; the same layout as the integer fast path in depthwise_quantized.py,
whose ``_pad_phases`` fills it). For every tap the inputs of one output row are then one
contiguous run of ``ow * cout`` floats, and so are the tap's weights tiled over the row:
an output row is a few long loops that LLVM vectorizes whatever the channel count, one
per kernel row (its 3 or 5 taps fused in one loop), starting from the bias and ending with
the fused activation's clamp. Rows are cut into chunks of about 1,024 values so a chunk
and its weights stay in L1.

Sums run in another order than LiteRT's, so results agree to float rounding, not bit for
bit (as every float kernel here).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import threads
from .depthwise_quantized import _pad_phases

_CHUNK = 1024   # output values per row chunk (rounded down to whole pixels)


@njit(cache=True, inline="always")
def _src(xp, taps, y0, t, base, n):
    """Tap ``t``'s ``n`` inputs for the output row at padded row ``y0``, from ``base``."""
    b = base + taps[t, 2]
    return xp[y0 + taps[t, 0], taps[t, 1]].reshape(-1)[b:b + n]


@njit(cache=True, inline="always", fastmath={"contract"})
def _taps3(a, xp, taps, wt, t, y0, base):
    """``a += `` taps ``t .. t+2`` (one kernel row of 3) in one loop."""
    n = a.shape[0]
    x0, x1, x2 = _src(xp, taps, y0, t, base, n), _src(xp, taps, y0, t + 1, base, n), \
        _src(xp, taps, y0, t + 2, base, n)
    w0, w1, w2 = wt[t], wt[t + 1], wt[t + 2]
    for k in range(n):
        a[k] += x0[k] * w0[k] + x1[k] * w1[k] + x2[k] * w2[k]


@njit(cache=True, inline="always", fastmath={"contract"})
def _taps5(a, xp, taps, wt, t, y0, base):
    """``a += `` taps ``t .. t+4`` (one kernel row of 5) in one loop."""
    n = a.shape[0]
    x0, x1, x2 = _src(xp, taps, y0, t, base, n), _src(xp, taps, y0, t + 1, base, n), \
        _src(xp, taps, y0, t + 2, base, n)
    x3, x4 = _src(xp, taps, y0, t + 3, base, n), _src(xp, taps, y0, t + 4, base, n)
    w0, w1, w2, w3, w4 = wt[t], wt[t + 1], wt[t + 2], wt[t + 3], wt[t + 4]
    for k in range(n):
        a[k] += (x0[k] * w0[k] + x1[k] * w1[k] + x2[k] * w2[k] + x3[k] * w3[k]
                 + x4[k] * w4[k])


@njit(cache=True, inline="always", fastmath={"contract"})
def _taps9(a, xp, taps, wt, y0, base, bias, lo, hi):
    """``a = clamp(bias + `` all 9 taps of a 3x3 kernel ``)`` in one loop."""
    n = a.shape[0]
    x0, x1, x2 = _src(xp, taps, y0, 0, base, n), _src(xp, taps, y0, 1, base, n), \
        _src(xp, taps, y0, 2, base, n)
    x3, x4, x5 = _src(xp, taps, y0, 3, base, n), _src(xp, taps, y0, 4, base, n), \
        _src(xp, taps, y0, 5, base, n)
    x6, x7, x8 = _src(xp, taps, y0, 6, base, n), _src(xp, taps, y0, 7, base, n), \
        _src(xp, taps, y0, 8, base, n)
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], \
        wt[7], wt[8]
    for k in range(n):
        v = (bias[k] + x0[k] * w0[k] + x1[k] * w1[k] + x2[k] * w2[k] + x3[k] * w3[k]
             + x4[k] * w4[k] + x5[k] * w5[k] + x6[k] * w6[k] + x7[k] * w7[k]
             + x8[k] * w8[k])
        a[k] = min(max(v, lo), hi)   # NaN passes through, as in TFLite


@njit(cache=True, inline="always", fastmath={"contract"})
def _rows(xp, taps, kw, sh, wt, bias, lo, hi, out, n, oy0, oy1):
    """Output rows ``oy0 .. oy1`` of batch item ``n`` from its padded copy ``xp``."""
    ow, cout = out.shape[2], out.shape[3]
    row_len = ow * cout
    chunk = wt.shape[1]
    kh = taps.shape[0] // kw
    for oy in range(oy0, oy1):
        o = out[n, oy].reshape(-1)
        y0 = oy * sh
        for start in range(0, row_len, chunk):
            a = o[start:start + min(chunk, row_len - start)]
            length = a.shape[0]
            if kw == 3 and kh == 3:
                _taps9(a, xp, taps, wt, y0, start, bias, lo, hi)
                continue
            a[:] = bias[:length]
            for i in range(kh):
                t = i * kw
                if kw == 3:
                    _taps3(a, xp, taps, wt, t, y0, start)
                elif kw == 5:
                    _taps5(a, xp, taps, wt, t, y0, start)
                else:
                    for j in range(kw):
                        xs, ws = _src(xp, taps, y0, t + j, start, length), wt[t + j]
                        for k in range(length):
                            a[k] += xs[k] * ws[k]
            for k in range(length):
                a[k] = min(max(a[k], lo), hi)   # NaN passes through, as in TFLite


@njit(cache=True, fastmath={"contract"})
def depthwise_rows(x, mult, ph, pw, xp, taps, kw, sh, wt, bias, lo, hi, out):
    """``out`` = the depthwise conv of ``x`` (NHWC float32). ``taps[t] = (row offset,
    phase, flat column offset)`` for tap ``t = i * kw + j``; ``wt[t]`` the tap's weights
    and ``bias`` the bias, both tiled over one chunk."""
    for n in range(out.shape[0]):
        _pad_phases(x, n, np.float32(0.0), mult, ph, pw, xp)
        _rows(xp, taps, kw, sh, wt, bias, lo, hi, out, n, 0, out.shape[1])


@njit(cache=True, parallel=True, fastmath={"contract"})
def depthwise_rows_parallel(x, mult, ph, pw, xp, taps, kw, sh, wt, bias, lo, hi, out, parts):
    """``depthwise_rows`` with the output rows split into ``parts`` ranges run by numba's
    thread pool (the padded copy is made first, by one thread)."""
    oh = out.shape[1]
    for n in range(out.shape[0]):
        _pad_phases(x, n, np.float32(0.0), mult, ph, pw, xp)
        for p in prange(parts):
            _rows(xp, taps, kw, sh, wt, bias, lo, hi, out, n, p * oh // parts,
                  (p + 1) * oh // parts)


def prepare_rows(ctx, geometry, weights, bias, lo, hi):
    """A Run for ``depthwise_rows``: ``weights`` constant ``[kh, kw, cout]`` float32,
    ``bias`` ``[cout]`` float32; geometry as prepare_depthwise computes it."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    cout = weights.shape[2]
    chunk = max(1, min(ow, _CHUNK // cout)) * cout
    taps = np.array([(i * dh, j * dw % sw, j * dw // sw * cout)
                     for i in range(kh) for j in range(kw)], np.int64)
    wt = np.ascontiguousarray(np.tile(weights.reshape(kh * kw, cout), (1, chunk // cout)))
    bt = np.ascontiguousarray(np.tile(bias, chunk // cout))
    hp = (oh - 1) * sh + (kh - 1) * dh + 1
    cols = ow + (kw - 1) * dw // sw
    xp = ctx.scratch((hp, sw, cols, cout), np.float32)
    args = (mult, ph, pw)
    parts = threads.parts(ctx, oh, oh * ow * cout * kh * kw)
    if parts > 1:
        def run_parallel(ins, outs, scratch):
            depthwise_rows_parallel(ins[0], *args, scratch[xp], taps, kw, sh, wt, bt, lo, hi,
                                    outs[0], parts)
        return run_parallel

    def run(ins, outs, scratch):
        depthwise_rows(ins[0], *args, scratch[xp], taps, kw, sh, wt, bt, lo, hi, outs[0])
    return run
