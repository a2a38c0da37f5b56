"""Float32 DEPTHWISE_CONV_2D with constant weights: whole output rows as long multiply-adds.

The input is copied once per batch item into a zero-bordered buffer whose rows hold their
columns split by phase modulo the stride (``xp[y, phase, col]`` is padded column
``col * sw + phase``; the same layout as the integer fast path in depthwise_quantized.py,
whose ``phases.pad_phases`` fills it). For every tap the inputs of one output row are then one
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
from .depthwise_tiles import bordered, float_pixel_group, part_rows
from .phases import pad_phases
from .views import view1d

_CHUNK = 1024   # output values per row chunk (rounded down to whole pixels)


@njit(cache=True, inline="always")
def _src(xp, taps, y0, t, base, n):
    """Tap ``t``'s ``n`` inputs for the output row at padded row ``y0``, from ``base``."""
    b = base + taps[t, 2]
    return view1d(xp[y0 + taps[t, 0], taps[t, 1]])[b:b + n]


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
        o = view1d(out[n, oy])
        y0 = oy * sh
        for start in range(0, row_len, chunk):
            a = o[start:start + min(chunk, row_len - start)]
            length = a.shape[0]
            if kw == 3 and kh == 3:
                _taps9(a, xp, taps, wt, y0, start, bias, lo, hi)
                continue
            for k in range(length):   # (a slice copy would load numba's array library)
                a[k] = bias[k]
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
        pad_phases(x, n, np.float32(0.0), mult, ph, pw, xp)
        _rows(xp, taps, kw, sh, wt, bias, lo, hi, out, n, 0, out.shape[1])


@njit(cache=True, parallel=True, fastmath={"contract"})
def depthwise_rows_parallel(x, mult, ph, pw, xp, taps, kw, sh, wt, bias, lo, hi, out, parts):
    """``depthwise_rows`` with the output rows split into ``parts`` ranges run by numba's
    thread pool (the padded copy is made first, by one thread)."""
    oh = out.shape[1]
    for n in range(out.shape[0]):
        pad_phases(x, n, np.float32(0.0), mult, ph, pw, xp)
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


# --------------------------------------------------------------------------- pixel groups
# A 3x3 or 5x5 depthwise (stride 1 or 2, no dilation) from 32 channels up, straight from
# the input (the few windows over the border one at a time with bounds checks, so no
# padded copy), channels innermost, a few output pixels per step: four for 3x3 stride 1,
# two otherwise. The pixels of a step share each weight load and, neighbours overlapping,
# most input loads (a 3x3 kernel row of four stride-1 pixels reads 6 input pixels, not
# 12): about 8 memory operations per vector of results instead of 19 for one pixel. Four
# pixels at stride 2 or 5x5 measured several times slower (LLVM vectorized them poorly).
@njit(cache=True, inline="always", fastmath={"contract"})
def _clamp(v, lo, hi):
    return min(max(v, lo), hi)   # NaN passes through, as in TFLite


@njit(cache=True, inline="always", fastmath={"contract"})
def _quad_s1(r0, r1, r2, w, b, o, ox, x0, lo, hi):
    """Output pixels ``ox .. ox+3`` of one row, stride 1, whose windows start at input
    column ``x0`` of rows ``r0 .. r2``."""
    for c in range(o.shape[1]):
        k00, k01, k02 = w[0, 0, c], w[0, 1, c], w[0, 2, c]
        k10, k11, k12 = w[1, 0, c], w[1, 1, c], w[1, 2, c]
        k20, k21, k22 = w[2, 0, c], w[2, 1, c], w[2, 2, c]
        bc = b[c]
        a0, a1, a2, a3, a4, a5 = r0[x0, c], r0[x0 + 1, c], r0[x0 + 2, c], r0[x0 + 3, c], \
            r0[x0 + 4, c], r0[x0 + 5, c]
        v0 = bc + a0 * k00 + a1 * k01 + a2 * k02
        v1 = bc + a1 * k00 + a2 * k01 + a3 * k02
        v2 = bc + a2 * k00 + a3 * k01 + a4 * k02
        v3 = bc + a3 * k00 + a4 * k01 + a5 * k02
        a0, a1, a2, a3, a4, a5 = r1[x0, c], r1[x0 + 1, c], r1[x0 + 2, c], r1[x0 + 3, c], \
            r1[x0 + 4, c], r1[x0 + 5, c]
        v0 += a0 * k10 + a1 * k11 + a2 * k12
        v1 += a1 * k10 + a2 * k11 + a3 * k12
        v2 += a2 * k10 + a3 * k11 + a4 * k12
        v3 += a3 * k10 + a4 * k11 + a5 * k12
        a0, a1, a2, a3, a4, a5 = r2[x0, c], r2[x0 + 1, c], r2[x0 + 2, c], r2[x0 + 3, c], \
            r2[x0 + 4, c], r2[x0 + 5, c]
        v0 += a0 * k20 + a1 * k21 + a2 * k22
        v1 += a1 * k20 + a2 * k21 + a3 * k22
        v2 += a2 * k20 + a3 * k21 + a4 * k22
        v3 += a3 * k20 + a4 * k21 + a5 * k22
        o[ox, c] = _clamp(v0, lo, hi)
        o[ox + 1, c] = _clamp(v1, lo, hi)
        o[ox + 2, c] = _clamp(v2, lo, hi)
        o[ox + 3, c] = _clamp(v3, lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _pair_s2(r0, r1, r2, w, b, o, ox, x0, lo, hi):
    """Output pixels ``ox, ox+1`` of one row, stride 2 (windows from column ``x0``): 5
    input pixels per kernel row. (Four stride-2 pixels at a time, 9 inputs per kernel row,
    ran at a quarter of the speed: LLVM vectorized it poorly.)"""
    for c in range(o.shape[1]):
        v0 = v1 = b[c]
        a0, a1, a2, a3, a4 = r0[x0, c], r0[x0 + 1, c], r0[x0 + 2, c], r0[x0 + 3, c], \
            r0[x0 + 4, c]
        v0 += a0 * w[0, 0, c] + a1 * w[0, 1, c] + a2 * w[0, 2, c]
        v1 += a2 * w[0, 0, c] + a3 * w[0, 1, c] + a4 * w[0, 2, c]
        a0, a1, a2, a3, a4 = r1[x0, c], r1[x0 + 1, c], r1[x0 + 2, c], r1[x0 + 3, c], \
            r1[x0 + 4, c]
        v0 += a0 * w[1, 0, c] + a1 * w[1, 1, c] + a2 * w[1, 2, c]
        v1 += a2 * w[1, 0, c] + a3 * w[1, 1, c] + a4 * w[1, 2, c]
        a0, a1, a2, a3, a4 = r2[x0, c], r2[x0 + 1, c], r2[x0 + 2, c], r2[x0 + 3, c], \
            r2[x0 + 4, c]
        v0 += a0 * w[2, 0, c] + a1 * w[2, 1, c] + a2 * w[2, 2, c]
        v1 += a2 * w[2, 0, c] + a3 * w[2, 1, c] + a4 * w[2, 2, c]
        o[ox, c] = _clamp(v0, lo, hi)
        o[ox + 1, c] = _clamp(v1, lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _pair5_s1(x, n, iy, w, b, o, ox, x0, lo, hi):
    """Output pixels ``ox, ox+1`` of one row, 5x5 kernel, stride 1: 6 inputs per kernel
    row, whose top input row is ``iy``."""
    for c in range(o.shape[1]):
        v0 = v1 = b[c]
        for i in range(5):
            r = x[n, iy + i]
            a0, a1, a2 = r[x0, c], r[x0 + 1, c], r[x0 + 2, c]
            a3, a4, a5 = r[x0 + 3, c], r[x0 + 4, c], r[x0 + 5, c]
            k0, k1, k2, k3, k4 = w[i, 0, c], w[i, 1, c], w[i, 2, c], w[i, 3, c], w[i, 4, c]
            v0 += a0 * k0 + a1 * k1 + a2 * k2 + a3 * k3 + a4 * k4
            v1 += a1 * k0 + a2 * k1 + a3 * k2 + a4 * k3 + a5 * k4
        o[ox, c] = _clamp(v0, lo, hi)
        o[ox + 1, c] = _clamp(v1, lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _pair5_s2(x, n, iy, w, b, o, ox, x0, lo, hi):
    """Output pixels ``ox, ox+1`` of one row, 5x5 kernel, stride 2: 7 inputs per row."""
    for c in range(o.shape[1]):
        v0 = v1 = b[c]
        for i in range(5):
            r = x[n, iy + i]
            a0, a1, a2, a3 = r[x0, c], r[x0 + 1, c], r[x0 + 2, c], r[x0 + 3, c]
            a4, a5, a6 = r[x0 + 4, c], r[x0 + 5, c], r[x0 + 6, c]
            k0, k1, k2, k3, k4 = w[i, 0, c], w[i, 1, c], w[i, 2, c], w[i, 3, c], w[i, 4, c]
            v0 += a0 * k0 + a1 * k1 + a2 * k2 + a3 * k3 + a4 * k4
            v1 += a2 * k0 + a3 * k1 + a4 * k2 + a5 * k3 + a6 * k4
        o[ox, c] = _clamp(v0, lo, hi)
        o[ox + 1, c] = _clamp(v1, lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _single(r0, r1, r2, w, b, o, ox, x0, lo, hi):
    """Output pixel ``ox``, its window inside the image from column ``x0``."""
    for c in range(o.shape[1]):
        v = b[c]
        for j in range(3):
            v += r0[x0 + j, c] * w[0, j, c] + r1[x0 + j, c] * w[1, j, c] \
                + r2[x0 + j, c] * w[2, j, c]
        o[ox, c] = _clamp(v, lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _border(x, n, w, b, o, oy, ox, s, ph, pw, lo, hi):
    """Output pixel ``(oy, ox)`` whose window crosses the border (padding adds zeros):
    tap by tap, channels innermost."""
    h, wd = x.shape[1], x.shape[2]
    k = w.shape[0]
    acc = o[ox]
    for c in range(acc.shape[0]):
        acc[c] = b[c]
    for i in range(k):
        iy = oy * s - ph + i
        if 0 <= iy < h:
            for j in range(k):
                ix = ox * s - pw + j
                if 0 <= ix < wd:
                    xr, wr = x[n, iy, ix], w[i, j]
                    for c in range(acc.shape[0]):
                        acc[c] += xr[c] * wr[c]
    for c in range(acc.shape[0]):
        acc[c] = _clamp(acc[c], lo, hi)


@njit(cache=True, inline="always", fastmath={"contract"})
def _quad_rows(x, w, b, out, n, s, ph, pw, lo, hi, oy0, oy1):
    """Output rows ``oy0 .. oy1`` straight from the input: windows inside the image a
    few pixels at a time, those over the border one by one with bounds checks."""
    h, wd = x.shape[1], x.shape[2]
    k = w.shape[0]
    ow = out.shape[2]
    inner0 = min(ow, (pw + s - 1) // s)              # first window inside horizontally
    inner1 = max(inner0, min(ow, (wd - k + pw) // s + 1))   # past the last one
    for oy in range(oy0, oy1):
        o = out[n, oy]
        iy = oy * s - ph
        if iy < 0 or iy + k - 1 >= h:
            for ox in range(ow):
                _border(x, n, w, b, o, oy, ox, s, ph, pw, lo, hi)
            continue
        for ox in range(inner0):
            _border(x, n, w, b, o, oy, ox, s, ph, pw, lo, hi)
        ox = inner0
        if k == 5:
            while ox + 2 <= inner1:
                if s == 1:
                    _pair5_s1(x, n, iy, w, b, o, ox, ox - pw, lo, hi)
                else:
                    _pair5_s2(x, n, iy, w, b, o, ox, 2 * ox - pw, lo, hi)
                ox += 2
            for px in range(ox, ow):   # the last inner pixel, if odd, and the border
                _border(x, n, w, b, o, oy, px, s, ph, pw, lo, hi)
            continue
        r0, r1, r2 = x[n, iy], x[n, iy + 1], x[n, iy + 2]
        if s == 1:
            while ox + 4 <= inner1:
                _quad_s1(r0, r1, r2, w, b, o, ox, ox - pw, lo, hi)
                ox += 4
        else:
            while ox + 2 <= inner1:
                _pair_s2(r0, r1, r2, w, b, o, ox, 2 * ox - pw, lo, hi)
                ox += 2
        while ox < inner1:
            _single(r0, r1, r2, w, b, o, ox, ox * s - pw, lo, hi)
            ox += 1
        for ox in range(inner1, ow):
            _border(x, n, w, b, o, oy, ox, s, ph, pw, lo, hi)


@njit(cache=True, fastmath={"contract"})
def depthwise_quads(x, w, b, s, ph, pw, lo, hi, out):
    for n in range(out.shape[0]):
        _quad_rows(x, w, b, out, n, s, ph, pw, lo, hi, 0, out.shape[1])


@njit(cache=True, parallel=True, fastmath={"contract"})
def depthwise_quads_parallel(x, w, b, s, ph, pw, lo, hi, out, parts):
    oh = out.shape[1]
    for n in range(out.shape[0]):
        for p in prange(parts):
            _quad_rows(x, w, b, out, n, s, ph, pw, lo, hi, p * oh // parts,
                       (p + 1) * oh // parts)


def prepare_quads(ctx, geometry, weights, bias, lo, hi):
    """A Run for ``depthwise_quads`` (3x3 or 5x5, stride 1 or 2 both ways, no dilation,
    one output channel per input channel), or None."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    if kh != kw or kh not in (3, 5) or (dh, dw, mult) != (1, 1, 1) or sh != sw \
            or sh not in (1, 2):
        return None
    cout = weights.shape[2]
    w = np.ascontiguousarray(weights, np.float32)
    b = np.ascontiguousarray(bias, np.float32)
    parts = threads.parts(ctx, oh, oh * ow * cout * kh * kw)
    args = (w, b, sh, ph, pw, lo, hi)
    if parts > 1:
        def run_parallel(ins, outs, scratch):
            depthwise_quads_parallel(ins[0], *args, outs[0], parts)
        return run_parallel

    def run(ins, outs, scratch):
        depthwise_quads(ins[0], *args, outs[0])
    return run


# --------------------------------------------------------------------------- 3x3 tiles
# A 3x3 stride-1 depthwise (undilated, one output per input channel), any channel count:
# the input rows copied into a zero-bordered buffer (each thread its own rows, no
# barrier), then every output pixel from register
# tiles of 16 channels (depthwise_tiles.py), four pixels at a time. A padded tap
# multiplies zero (as XNNPACK, LiteRT's default, does). At stride 2 the copy of an input
# four times the output's size cost more than the tiles saved (MobileNetV2-1.0's
# 112x112x96 layer: 470 against 290 us), so those stay on the pixel groups below.
@njit(cache=True, inline="always")
def _tile_rows(x, w, b, lo, hi, xp, out, n, ph, pw, oy0, oy1):
    """Output rows ``oy0 .. oy1``: their input rows copied into ``xp`` with the border,
    then every pixel from the tiles."""
    if oy0 >= oy1:
        return
    bordered(x, n, np.float32(0.0), ph, pw, xp[:oy1 - oy0 + 2], oy0)
    ow = out.shape[2]
    rstride = np.int64(xp.strides[0])
    for oy in range(oy0, oy1):
        row0, o = xp[oy - oy0], out[n, oy]
        ox = 0
        while ox + 4 <= ow:
            float_pixel_group(row0, rstride, w, b, o, ox, ox, False, lo, hi)
            ox += 4
        while ox < ow:
            float_pixel_group(row0, rstride, w, b, o, ox, ox, True, lo, hi)
            ox += 1


@njit(cache=True)
def depthwise_tiles(x, w, b, ph, pw, lo, hi, xp, out):
    for n in range(out.shape[0]):
        _tile_rows(x, w, b, lo, hi, xp[0], out, n, ph, pw, 0, out.shape[1])


@njit(cache=True, parallel=True)
def depthwise_tiles_parallel(x, w, b, ph, pw, lo, hi, xp, out):
    parts, oh = xp.shape[0], out.shape[1]
    for n in range(out.shape[0]):
        for p in prange(parts):
            _tile_rows(x, w, b, lo, hi, xp[p], out, n, ph, pw, p * oh // parts,
                       (p + 1) * oh // parts)


def prepare_tiles(ctx, geometry, weights, bias, lo, hi):
    """A Run for ``depthwise_tiles`` (3x3, stride 1, no dilation, one output channel per
    input channel), or None."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    if (kh, kw, sh, sw, dh, dw, mult) != (3, 3, 1, 1, 1, 1, 1):
        return None
    cout = weights.shape[2]
    w = np.ascontiguousarray(weights, np.float32)
    b = np.ascontiguousarray(bias, np.float32)
    parts = threads.parts(ctx, oh, oh * ow * cout * 9)
    xp = ctx.scratch((parts, part_rows(oh, parts, 1), ow + 2, cout), np.float32)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    if parts > 1:
        def run_parallel(ins, outs, scratch):
            depthwise_tiles_parallel(ins[0], w, b, ph, pw, lo32, hi32, scratch[xp], outs[0])
        return run_parallel

    def run(ins, outs, scratch):
        depthwise_tiles(ins[0], w, b, ph, pw, lo32, hi32, scratch[xp], outs[0])
    return run
