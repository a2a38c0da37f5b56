"""Integer (int8, int16x8, legacy uint8) and hybrid DEPTHWISE_CONV_2D, computed as LiteRT's
builtin kernels compute them (the float module conv.py dispatches here).

The input is copied once per batch item, minus its zero point (so a padded cell adds
nothing), into a zero-bordered buffer of a type that holds every sum exactly: float32
when every sum stays below 2**24 (the fastest), else int32, else int64.

Fast paths (ruy's rounding on every channel, constant bias):

* 32 channels or more, float32 sums, an exact float64 epilogue
  (``requantize.exact_affine``): straight from the input (no copy), the channel loops
  long enough to vectorize; a 3x3 kernel at stride 1 or 2 in groups of four or two
  output pixels per channel loop (sums in registers, a row of them requantized in one
  pass), anything else per output pixel;
* otherwise the padded copy stores each row's columns split by phase modulo the stride
  (``xp[y, phase, col]`` holds padded column ``col * sw + phase``), so that for every tap
  the inputs of a whole output row are one contiguous run, as are the tap's weights tiled
  over the row. An output row is then, chunk by chunk, a few long multiply-adds (one per
  tap) and one requantizing pass (``requantize.requantize_affine`` where exact, else
  ``requantize.q31_flat``): few channels no longer mean short loops.

Other cases (int8 with a channel count not a multiple of 8, whose last channels round as
gemmlowp does; int16 with an int64 bias; a run-time bias) accumulate per output pixel and
requantize per channel.

Hybrid: the float32 input is quantized per batch item (asymmetric, as LiteRT's
per-channel hybrid kernel does), multiplied in integers and rescaled.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import quant, threads
from .api import PrepareContext, Run
from .depthwise_tiles import bordered, part_rows, pixel_group
from .phases import pad_phases
from .quantized_operands import (
    asymmetric_quantize,
    bias_values,
    check_int_operands,
    float_activation,
    float_bias,
    integer_requant,
    is_hybrid_op,
    weight_scales,
)
from .requantize import (
    Q31,
    affine_bounds,
    exact_affine,
    q31_arrays,
    q31_flat,
    q31_row,
    requant_one,
    requantize_affine,
    tile_q31,
)
from .views import view1d

_CHUNK = 768   # output values per row chunk of the fast path (a multiple of the channels)
_PIXEL_CHANNELS = 32   # from this many channels up, _depthwise_pixels runs instead
_QUADS = True   # 3x3 stride 1 or 2 (undilated) in register tiles first (tests turn it off)


@njit(cache=True)
def _pad_offset(x, n, zp_in, mult, ph, pw, xp):
    """``xp`` = batch item ``n`` of ``x`` minus its zero point, each input channel
    repeated ``mult`` times, at offset (ph, pw) in a zero border (a padded cell is the
    zero point, so it adds nothing)."""
    _, h, w, cin = x.shape
    xp[:ph] = 0
    xp[ph + h:] = 0
    flat = view1d(xp)
    for y in range(h):
        row = xp[y + ph]
        row[:pw] = 0
        row[pw + w:] = 0
        if mult == 1:   # one long contiguous run per row
            base = (y + ph) * xp.shape[1] * xp.shape[2] + pw * cin
            src = view1d(x[n, y])
            dst = flat[base:base + w * cin]
            for k in range(dst.shape[0]):
                dst[k] = src[k] - zp_in
            continue
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
                   q, rmult, rshift, rscale, mode, ruy_channels, zp_out, lo, hi, out):
    """Integer depthwise over a zero-bordered, offset copy of the input: the inner loop
    is a plain multiply-add over contiguous channels (``acc``/``xp``/``w`` share one
    integer dtype wide enough for the sums). ``q``: ``q31_arrays(rmult, rshift)``."""
    n_, oh, ow, cout = out.shape
    kh, kw, _ = w.shape
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
                    q31_row(acc, bias, q, rmult, rshift, ruy_channels, zp_out, lo, hi, o)
                    continue
                for c in range(cout):
                    v = requant_one(np.int64(acc[c]) + bias[c], c, mode, rmult, rshift,
                                     rscale, ruy_channels) + zp_out
                    o[c] = min(max(v, lo), hi)



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


# --------------------------------------------------------------------------- fast path
@njit(cache=True, inline="always")
def _accumulate(xp, wt, taps, y0, start, acc):
    """``acc[k] = sum over taps t of xp[y0 + dy_t, phase_t, flat start + off_t + k] *
    wt[t, k]``: one chunk of an output row, a contiguous multiply-add per tap."""
    length = acc.shape[0]
    for t in range(taps.shape[0]):
        src = view1d(xp[y0 + taps[t, 0], taps[t, 1]])
        base = start + taps[t, 2]
        xs = src[base:base + length]
        ws = wt[t]
        if t == 0:
            for k in range(length):
                acc[k] = xs[k] * ws[k]
        else:
            for k in range(length):
                acc[k] += xs[k] * ws[k]


@njit(cache=True)
def _depthwise_affine(x, zp_in, mult, ph, pw, xp, taps, sh, wt, acc, affine, lo, hi, out):
    """The fast path with ``requantize_affine`` as epilogue."""
    n_, oh, ow, cout = out.shape
    row_len = ow * cout
    chunk = wt.shape[1]
    for n in range(n_):
        pad_phases(x, n, zp_in, mult, ph, pw, xp)
        for oy in range(oh):
            o = view1d(out[n, oy])
            for start in range(0, row_len, chunk):
                a = acc[:min(chunk, row_len - start)]
                _accumulate(xp, wt, taps, oy * sh, start, a)
                requantize_affine(a, affine, lo, hi, o[start:start + a.shape[0]])


@njit(cache=True)
def _depthwise_q31(x, zp_in, mult, ph, pw, xp, taps, sh, wt, acc, tiled, zp_out, lo, hi,
                   out):
    """The fast path with ``q31_flat`` (int64 ruy rounding) as epilogue."""
    n_, oh, ow, cout = out.shape
    row_len = ow * cout
    chunk = wt.shape[1]
    bias, m, left, right, nudge = tiled
    for n in range(n_):
        pad_phases(x, n, zp_in, mult, ph, pw, xp)
        for oy in range(oh):
            o = view1d(out[n, oy])
            for start in range(0, row_len, chunk):
                a = acc[:min(chunk, row_len - start)]
                _accumulate(xp, wt, taps, oy * sh, start, a)
                q31_flat(a, bias, m, left, right, nudge, zp_out, lo, hi,
                         o[start:start + a.shape[0]])


@njit(cache=True)
def _depthwise_pixels(x, zp_in, mult, sh, sw, dh, dw, ph, pw, w, acc, affine, lo, hi, out):
    """Per output pixel straight from the int8 input (no padded copy, no tiled weights:
    less memory to bring into cache), ``requantize_affine``'s arithmetic per channel
    (``affine``: one value per channel). Faster than the contiguous rows from about 32
    channels up (the channel loops are long enough to vectorize well)."""
    _, h, wd, _ = x.shape
    n_, oh, ow, cout = out.shape
    kh, kw, _ = w.shape
    scale, offset = affine[0], affine[1]
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                acc[:] = 0
                for i in range(kh):
                    iy = oy * sh - ph + i * dh
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * sw - pw + j * dw
                        if ix < 0 or ix >= wd:
                            continue
                        xr, wr = x[n, iy, ix], w[i, j]
                        if mult == 1:
                            for c in range(cout):
                                acc[c] += (np.float32(xr[c]) - zp_in) * wr[c]
                        else:
                            for c in range(cout):
                                acc[c] += (np.float32(xr[c // mult]) - zp_in) * wr[c]
                o = out[n, oy, ox]
                for c in range(cout):
                    o[c] = np.int32(min(max(np.float64(acc[c]) * scale[c] + offset[c], lo),
                                        hi))


# ---------------------------------------------------------------------- integer quads
# Pixel groups for the integer path: a 3x3 kernel at stride 1 four output pixels per
# 16 channels, at stride 2 two, in register tiles (depthwise_tiles.py), into a float32
# row of sums: the sums stay in registers (the per-pixel path adds into memory, tap by
# tap), the zero point comes off once per output as ``zp * sum(w)``, and each row is
# requantized in one long flat loop (per pixel, the float64 epilogue's short loops cost
# more than the sums).
# The input rows are first copied into a buffer bordered with its zero point (each thread
# its own rows: no barrier between copy and sums), so that every window, the border's
# too, is a tile; leftover pixels of a row go one by one.
@njit(cache=True, inline="always")
def _int_quad_rows(x, zp, zpw, w, affine, lo, hi, sums, xp, out, n, s, ph, pw, oy0, oy1):
    """Output rows ``oy0 .. oy1``: their input rows copied into ``xp`` bordered with the
    zero point, each row's sums into ``sums`` (``[ow, cout]`` float32) in pixel groups,
    the leftover pixels one by one, then requantized in one flat pass."""
    if oy0 >= oy1:
        return
    bordered(x, n, zp, ph, pw, xp[:(oy1 - oy0 - 1) * s + 3], oy0 * s)
    ow = out.shape[2]
    rstride = np.int64(xp.strides[0])
    group = 4 if s == 1 else 2
    for oy in range(oy0, oy1):
        row0 = xp[(oy - oy0) * s]
        ox = 0
        while ox + group <= ow:
            pixel_group(row0, rstride, zpw, w, sums, ox, s * ox, s, False)
            ox += group
        while ox < ow:
            pixel_group(row0, rstride, zpw, w, sums, ox, s * ox, s, True)
            ox += 1
        requantize_affine(view1d(sums), affine, lo, hi, view1d(out[n, oy]))


@njit(cache=True, fastmath={"contract"})
def depthwise_int_quads(x, zp, zpw, w, affine, lo, hi, sums, xp, s, ph, pw, out):
    for n in range(out.shape[0]):
        _int_quad_rows(x, zp, zpw, w, affine, lo, hi, sums[0], xp[0], out, n, s, ph, pw, 0,
                       out.shape[1])


@njit(cache=True, parallel=True, fastmath={"contract"})
def depthwise_int_quads_parallel(x, zp, zpw, w, affine, lo, hi, sums, xp, s, ph, pw, out):
    parts, oh = sums.shape[0], out.shape[1]
    for n in range(out.shape[0]):
        for p in prange(parts):
            _int_quad_rows(x, zp, zpw, w, affine, lo, hi, sums[p], xp[p], out, n, s, ph, pw,
                           p * oh // parts, (p + 1) * oh // parts)


def _quads_path(ctx: PrepareContext, geometry, wq, rq, bias, wrap) -> Run | None:
    """``depthwise_int_quads`` for a 3x3, stride 1 or 2 (both ways), undilated depthwise
    with one output per input channel and an exact affine epilogue, or None."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    if (kh, kw, dh, dw, mult) != (3, 3, 1, 1, 1) or sh != sw or sh not in (1, 2) \
            or ctx.input(0).dtype != np.int8:
        return None
    cout = wq.shape[2]
    x = ctx.input(0)
    affine = exact_affine(rq, bias, *_affine_bounds_in(x, wq, bias), wrap, ow * cout)
    if affine is None:
        return None
    lo, hi = affine_bounds(rq, wrap)
    parts = threads.parts(ctx, oh, oh * ow * cout * 9)
    sums = ctx.scratch((parts, ow, cout), np.float32)
    xp = ctx.scratch((parts, part_rows(oh, parts, sh), (ow - 1) * sh + 3, cout), np.int8)
    w32 = np.ascontiguousarray(wq, np.float32)
    zp = np.int8(x.zero_point)
    # sum((x - zp) * w) = sum(x * w) - zp * sum(w): one subtraction per output (all exact
    # integers in float32)
    zpw = (x.zero_point * wq.reshape(9, cout).sum(axis=0)).astype(np.float32)
    kernel_fn = depthwise_int_quads_parallel if parts > 1 else depthwise_int_quads

    def run(ins, outs, scratch):
        kernel_fn(ins[0], zp, zpw, w32, affine, lo, hi, scratch[sums], scratch[xp], sh, ph,
                  pw, outs[0])
    return run


def _affine_bounds_in(x, wq, bias):
    """Per-channel bounds on ``|acc|`` and ``|acc + bias|`` of the offset accumulator."""
    x_dev = max(abs(int(v) - x.zero_point) for v in quant.dtype_range(x.dtype))
    acc_max = np.abs(wq.reshape(-1, wq.shape[2])).sum(axis=0) * x_dev
    return acc_max, acc_max + np.abs(bias)


def _pixel_path(ctx: PrepareContext, geometry, wq, rq, bias) -> Run | None:
    x, out = ctx.input(0), ctx.outputs[0]
    _, (sh, sw), (dh, dw), (ph, pw), _, mult = geometry
    wrap = 256 if out.dtype.itemsize == 1 else 65536
    affine = exact_affine(rq, bias, *_affine_bounds_in(x, wq, bias), wrap, wq.shape[2])
    if affine is None:
        return None
    lo, hi = affine_bounds(rq, wrap)
    w32 = np.ascontiguousarray(wq, np.float32)
    acc = ctx.scratch((wq.shape[2],), np.float32)
    args = (np.float32(x.zero_point), mult, sh, sw, dh, dw, ph, pw, w32)

    def run_small(ins, outs, scratch):
        _depthwise_pixels(ins[0], *args, scratch[acc], affine, lo, hi, outs[0])
    return run_small


def _fast_path(ctx: PrepareContext, geometry, wq, dtype, rq, bias) -> Run:
    """A Run for the fast paths: per pixel, else contiguous rows (module docstring)."""
    x, out = ctx.input(0), ctx.outputs[0]
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    cout = wq.shape[2]
    if dtype == np.float32 and _QUADS:   # 3x3 pixel groups in register tiles, any width
        wrap = 256 if out.dtype.itemsize == 1 else 65536
        run = _quads_path(ctx, geometry, wq, rq, bias, wrap)
        if run is not None:
            return run
    if cout >= _PIXEL_CHANNELS and dtype == np.float32:
        run = _pixel_path(ctx, geometry, wq, rq, bias)
        if run is not None:
            return run
    chunk = max(1, min(ow, _CHUNK // cout)) * cout
    taps = np.array([(i * dh, j * dw % sw, j * dw // sw * cout)
                     for i in range(kh) for j in range(kw)], np.int64)
    wt = np.ascontiguousarray(np.tile(wq.reshape(kh * kw, cout), (1, chunk // cout)), dtype)
    hp = (oh - 1) * sh + (kh - 1) * dh + 1
    wq_cols = ow + (kw - 1) * dw // sw
    xp = ctx.scratch((hp, sw, wq_cols, cout), dtype)
    acc = ctx.scratch((chunk,), dtype)
    geo = (x.zero_point, mult, ph, pw)
    wrap = 256 if out.dtype.itemsize == 1 else 65536
    affine = None if dtype != np.float32 else exact_affine(
        rq, bias, *_affine_bounds_in(x, wq, bias), wrap, chunk)
    if affine is not None:
        lo, hi = affine_bounds(rq, wrap)

        def run_affine(ins, outs, scratch):
            _depthwise_affine(ins[0], *geo, scratch[xp], taps, sh, wt, scratch[acc], affine,
                              lo, hi, outs[0])
        return run_affine
    tiled = tile_q31(rq, bias, chunk // cout)

    def run_q31(ins, outs, scratch):
        _depthwise_q31(ins[0], *geo, scratch[xp], taps, sh, wt, scratch[acc], tiled,
                       rq.zp_out, rq.lo, rq.hi, outs[0])
    return run_q31


def _hybrid_depthwise(ctx: PrepareContext, geometry, wq) -> Run:
    x, w = ctx.input(0), ctx.input(1)
    _, (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    cout = wq.shape[2]
    acc = ctx.scratch((cout,), np.int64)
    ctx.check(w.dtype == np.int8, f"hybrid DEPTHWISE_CONV_2D needs int8 weights, "
                                  f"got {w.dtype}")
    ctx.set_output(0, (x.shape[0], oh, ow, cout), np.float32)
    scales = weight_scales(ctx, w, cout).astype(np.float32)
    bias, _ = float_bias(ctx, cout)
    lo, hi = float_activation(ctx)
    per_item = x.size // max(x.shape[0], 1)
    xq = ctx.scratch((x.shape[0], per_item), np.int8)
    args = (mult, sh, sw, dh, dw, ph, pw)

    def run_hybrid(ins, outs, scratch):
        b = bias if bias is not None else ins[2].reshape(-1)
        q = scratch[xq]
        for n in range(x.shape[0]):
            sf, offset = asymmetric_quantize(ins[0][n], q[n])
            _depthwise_hybrid(q.reshape(x.shape), wq, b, offset, *args, scratch[acc],
                              scales, np.float32(sf), lo, hi, outs[0], n)
    return run_hybrid


def prepare_depthwise_quantized(ctx: PrepareContext, geometry) -> Run:
    x, w = ctx.input(0), ctx.input(1)
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult = geometry
    cout = w.shape[3]
    ctx.check(w.data is not None, f"quantized weights {w.name!r} must be constant")
    wq = (np.asarray(w.data).astype(np.int64)
          - int(quant.zero_points(w)[0])).reshape(kh, kw, cout)
    if is_hybrid_op(ctx):
        return _hybrid_depthwise(ctx, geometry, wq)
    out = ctx.outputs[0]
    check_int_operands(ctx, x, w, out)
    ctx.set_output(0, (x.shape[0], oh, ow, cout), x.dtype)
    ctx.check(x.dtype != np.int16 or ctx.input(2) is None or ctx.input(2).dtype == np.int64,
              "int16 DEPTHWISE_CONV_2D needs an int64 bias")
    rq = integer_requant(ctx, weight_scales(ctx, w, cout), cout,
                         legacy_multiplier=x.dtype == np.uint8)
    if x.dtype == np.int8:
        # LiteRT's int8 depthwise requantizes channels in SIMD blocks of 8 (NEON code
        # emulated on x86: rounding as ruy does) and the remaining channels one by one
        # (gemmlowp rounding).
        rq.ruy_channels = cout // 8 * 8
    bias, has_bias = bias_values(ctx, x, cout)
    zeros = np.zeros(cout, np.int64)
    # the padded, offset input: float32 arithmetic (exact, and the fastest here) where
    # every sum stays below 2**24, else int32, else int64
    x_max = max(abs(int(v) - x.zero_point) for v in quant.dtype_range(x.dtype))
    bound = kh * kw * x_max * int(np.max(np.abs(wq), initial=0))
    dtype = np.float32 if bound < 2**24 else np.int32 if bound < 2**31 else np.int64
    if rq.mode == Q31 and rq.ruy_channels == cout and (bias is not None or not has_bias):
        return _fast_path(ctx, geometry, wq, dtype, rq, bias if bias is not None else zeros)
    w_k = np.ascontiguousarray(wq, dtype)
    hp, wp = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    xp = ctx.scratch((max(hp, x.shape[1] + ph), max(wp, x.shape[2] + pw), cout), dtype)
    acc = ctx.scratch((cout,), dtype)
    args = (mult, sh, sw, dh, dw, ph, pw)
    tail = (q31_arrays(rq.mult, rq.shift), rq.mult, rq.shift, rq.scale, rq.mode,
            rq.ruy_channels, rq.zp_out, rq.lo, rq.hi)

    def run(ins, outs, scratch):
        b = bias if bias is not None else ins[2].reshape(-1).astype(np.int64) \
            if has_bias else zeros
        _depthwise_int(ins[0], w_k, b, x.zero_point, *args, scratch[acc], scratch[xp],
                       *tail, outs[0])
    return run
