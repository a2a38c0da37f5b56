"""Quantized (int8, uint8, int16) MEAN, SUM and REDUCE_PROD, as LiteRT's builtin kernels.

LiteRT picks one of three arithmetics, and each rounds differently:

* MEAN of a 4-D int8/uint8 input over axes {1, 2} with keep_dims (global average
  pooling): the raw values are summed (int32), then ``mul_by_qm(sum, m, s) + bias`` with
  ``m, s`` quantizing the *float32* ``in_scale / (count * out_scale)`` and
  ``bias = out_zp - trunc(in_zp * in_scale / out_scale +- 0.5)``, also in float32;
* every other MEAN (int16 always): ``sum - in_zp * count`` (int32), times the
  multiplier of the double ``in_scale / out_scale`` with ``1 / count`` folded in as an
  integer division ``(m << k) // count`` (``k = floor(log2 count)``, at most 32 and at
  most ``31 + shift``), then ``+ out_zp``;
* SUM: in float32, ``round(sum * (in_scale / out_scale) - in_zp * scale * count)`` with
  ties away from zero, cast to int32, ``+ out_zp``;
* REDUCE_PROD (int8/int16): ``(x - in_zp)`` multiplied one element at a time, each
  product rescaled by ``in_scale / out_scale ** (1 / count)`` with the int64 fixed-point
  multiply; the last partial product is rescaled once more and ``out_zp`` added.

All results clamp to the output dtype. Sums wrap in int32 as the C++ does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fixed_point import mul_by_qm, quantize_multiplier
from .quant import dtype_range, is_quantized

QUANTIZED_SMALL = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def wants_quantized(op: str, x) -> bool:
    """Does this reduction take TFLite's quantized path for input spec ``x``?"""
    if x.dtype not in QUANTIZED_SMALL:
        return False
    if op in ("MEAN", "SUM"):
        return True
    return op == "REDUCE_PROD" and is_quantized(x)


def check_quantized(ctx, op: str, x, out) -> None:
    """The checks LiteRT's prepare makes, with the op named."""
    if op == "REDUCE_PROD" and x.dtype == np.uint8:
        raise ctx.error("quantized uint8 REDUCE_PROD is not supported (LiteRT takes "
                        "int8 or int16)")
    ctx.check(is_quantized(x) and is_quantized(out),
              f"{x.dtype} {op} needs quantized input and output tensors")
    ctx.check(len(x.quantization.scales) == 1 and len(out.quantization.scales) == 1,
              f"{op} takes per-tensor quantization only")
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  f"int16 {op} needs zero points 0 (got {x.zero_point} and "
                  f"{out.zero_point})")
    ctx.check(np.float32(x.scale) > 0 and np.float32(out.scale) > 0,
              f"{op} needs positive scales")


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 values wrapped to int32, as C++ int32 arithmetic leaves them."""
    return ((np.asarray(v, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)


@njit(cache=True)
def _requant_array(acc, multiplier, shift, bias, lo, hi, out):
    flat_in, flat_out = acc.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        v = np.int64(mul_by_qm(np.int32(flat_in[i]), multiplier, shift)) + bias
        flat_out[i] = min(max(v, lo), hi)


@njit(cache=True)
def _requant_lanes(acc, multiplier, shift, bias, lo, hi, vector, out):
    """``_requant_array`` over (batch, channels) where channels flagged in ``vector``
    round as LiteRT's 4-lane (NEON, or its SSE emulation) code does: a left shift
    wrapping in int32, a doubling high multiply rounding half up, then a rounding right
    shift also rounding half up."""
    left = max(shift, 0)
    right = -shift if shift < 0 else 0
    for b in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            if vector[c]:
                a = np.int64(np.int32(np.int64(acc[b, c]) << left))
                r = (2 * a * np.int64(multiplier) + (np.int64(1) << 31)) >> 32
                if right > 0:
                    r = (r + (np.int64(1) << (right - 1))) >> right
                v = r + bias
            else:
                v = np.int64(mul_by_qm(np.int32(acc[b, c]), multiplier, shift)) + bias
            out[b, c] = min(max(v, lo), hi)


def vector_lanes(depth: int, num_threads: int) -> np.ndarray:
    """Which channels LiteRT's global-average kernel runs through its 16-wide vector
    loop: depth is split over threads (at least 8 channels each), and every thread runs
    whole blocks of 16 from its first channel, the remainder one by one."""
    threads = max(1, min(max(depth // 8, 1), max(int(num_threads), 1)))
    lanes = np.zeros(depth, np.bool_)
    start = 0
    for i in range(threads):
        end = start + (depth - start) // (threads - i)
        blocks = (end - start) // 16
        lanes[start:start + 16 * blocks] = True
        start = end
    return lanes


@njit(cache=True, inline="always")
def _mul_by_qm_int64_wrap(x, multiplier, shift):
    """TFLite's int64-input ``MultiplyByQuantizedMultiplier`` in its double-rounding
    build: like ``fixed_point.mul_by_qm_int64`` but the result wraps to int32 instead of
    saturating."""
    reduced = (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    total_shift = 15 - shift
    v = (np.int64(x) * np.int64(reduced) + (np.int64(1) << (total_shift - 1))) >> total_shift
    return np.int32(v)


@njit(cache=True)
def _prod_rows(x, zp, multiplier, shift, lo, hi, out_zp, out):
    """Row-major reduction of ``x`` (outer, n, inner) along its middle axis."""
    for o in range(x.shape[0]):
        for i in range(x.shape[2]):
            acc = np.int32(np.int32(x[o, 0, i]) - zp)
            for k in range(1, x.shape[1]):
                acc = _mul_by_qm_int64_wrap(np.int64(acc) * (np.int64(x[o, k, i]) - zp),
                                            multiplier, shift)
            v = np.int64(_mul_by_qm_int64_wrap(np.int64(acc), multiplier, shift)) + out_zp
            out[o, i] = min(max(v, lo), hi)


def _f32(v) -> np.float32:
    return np.float32(v)


def _trunc_f32_to_i32(v: np.ndarray) -> np.ndarray:
    """C's float -> int32 conversion on x86: truncation, INT32_MIN when out of range."""
    v = np.asarray(v, np.float32)
    ok = np.isfinite(v) & (v > -2.0**31 - 1) & (v < 2.0**31)
    t = np.trunc(np.where(ok, v, 0)).astype(np.int64)
    return np.where(ok, t, -(2**31))


def _mean_hw(x, out, count: int, num_threads: int):
    """The int8/uint8 global-average path (4-D, axes {1, 2}, keep_dims)."""
    in_scale, out_scale = _f32(x.scale), _f32(out.scale)
    with np.errstate(all="ignore"):
        temp = _f32(x.zero_point) * in_scale / out_scale
        temp = temp + _f32(0.5) if temp > 0 else temp - _f32(0.5)
        real = in_scale / (_f32(count) * out_scale)
    bias = int(out.zero_point) - int(_trunc_f32_to_i32(temp))
    m, s = quantize_multiplier(float(real))
    lo, hi = dtype_range(out.dtype)
    n, depth = x.shape[0], x.shape[3]
    lanes = vector_lanes(depth, num_threads)

    def body(ins, outs, scratch):
        total = scratch[0]
        np.add.reduce(ins[0], axis=(1, 2), dtype=np.int64, keepdims=True, out=total)
        _requant_lanes(total.reshape(n, depth), m, s, bias, lo, hi, lanes,
                       outs[0].reshape(n, depth))
    return body


def _mean_general(x, out, axes: tuple, keep: bool, count: int):
    m, s = quantize_multiplier(float(np.float64(_f32(x.scale)) / np.float64(_f32(out.scale))))
    k = min(count.bit_length() - 1, 32, 31 + s)
    m = int(((m << k) if k >= 0 else (m >> -k)) // count)
    s -= k
    zp_total = int(x.zero_point) * count
    out_zp = int(out.zero_point)
    lo, hi = dtype_range(out.dtype)

    run = sorted(axes)
    if run and run == list(range(run[0], run[0] + len(run))):   # (outer, n, inner)
        outer = int(np.prod(x.shape[:run[0]], dtype=np.int64))
        inner = int(np.prod(x.shape[run[-1] + 1:], dtype=np.int64))

        def rows(ins, outs, scratch):
            _mean_rows(ins[0].reshape(outer, count, inner), zp_total, m, s, out_zp, lo, hi,
                       scratch[0].reshape(outer, inner), outs[0].reshape(outer, inner))
        return rows

    def body(ins, outs, scratch):
        total = scratch[0]
        np.add.reduce(ins[0], axis=axes, dtype=np.int64, keepdims=keep, out=total)
        np.subtract(total, zp_total, out=total)
        total[...] = _wrap32(total)
        _requant_array(total, m, s, out_zp, lo, hi, outs[0])
    return body


@njit(cache=True)
def _mean_rows(x, zp_total, multiplier, shift, out_zp, lo, hi, acc, out):
    """``_mean_general``'s arithmetic over ``x`` (outer, n, inner) reduced along its
    middle axis, in one pass: the sums run along contiguous rows."""
    for o in range(x.shape[0]):
        a = acc[o]
        a[:] = 0
        for k in range(x.shape[1]):
            row = x[o, k]
            for i in range(x.shape[2]):
                a[i] += row[i]
        for i in range(x.shape[2]):
            total = np.int32(a[i] - zp_total)   # wraps as LiteRT's int32 sum does
            v = np.int64(mul_by_qm(total, multiplier, shift)) + out_zp
            out[o, i] = min(max(v, lo), hi)


def _sum(x, out, axes: tuple, keep: bool, count: int):
    with np.errstate(all="ignore"):
        scale = _f32(x.scale) / _f32(out.scale)
        bias = _f32(_f32(-x.zero_point) * scale) * _f32(count)
    out_zp = int(out.zero_point)
    lo, hi = dtype_range(out.dtype)

    def body(ins, outs, scratch):
        total = scratch[0]
        np.add.reduce(ins[0], axis=axes, dtype=np.int64, keepdims=keep, out=total)
        with np.errstate(all="ignore"):
            f = _wrap32(total).astype(np.float32) * scale + bias
            t = np.trunc(f)
            r = t + np.sign(f) * (np.abs(f - t) >= np.float32(0.5))   # std::round
        v = _wrap32(_trunc_f32_to_i32(r) + out_zp)
        np.copyto(outs[0], np.clip(v, lo, hi), casting="unsafe")
    return body


def _prod(x, out, axes: tuple, keep: bool, count: int, out_shape: tuple):
    size_in, size_out = x.size, int(np.prod(out_shape, dtype=np.int64))
    reduced = size_in // size_out if size_in and size_out else 1
    with np.errstate(all="ignore"):
        scaling = float(np.float64(_f32(x.scale))
                        / np.power(np.float64(_f32(out.scale)), 1.0 / reduced))
    m, s = quantize_multiplier(scaling)
    zp, out_zp = int(x.zero_point), int(out.zero_point)
    lo, hi = dtype_range(out.dtype)
    rank = len(x.shape)
    kept = [d for d in range(rank) if d not in axes]
    order = kept + list(axes)
    rest = int(np.prod([x.shape[d] for d in kept], dtype=np.int64))

    def body(ins, outs, scratch):
        # TFLite visits the input in row-major order; along every output position that
        # is the reduced elements in row-major order of the reduced axes.
        v = np.ascontiguousarray(np.transpose(ins[0], order)).reshape(rest, count, 1)
        _prod_rows(v, zp, m, s, lo, hi, out_zp, outs[0].reshape(rest, 1))
    return body


def quantized_body(op: str, x, out, axes: tuple, keep: bool, shape: tuple,
                   num_threads: int = 1):
    """(body, scratch specs) for a quantized reduction with the axes resolved."""
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    acc = [(shape, np.int64)]
    if x.size == 0 or count == 0:
        fill = 0

        def empty(ins, outs, scratch):
            outs[0].fill(fill)
        return empty, []
    if op == "MEAN":
        if (x.dtype != np.int16 and keep and len(x.shape) == 4
                and sorted(axes) == [1, 2]):
            return _mean_hw(x, out, count, num_threads), acc
        return _mean_general(x, out, axes, keep, count), acc
    if op == "SUM":
        return _sum(x, out, axes, keep, count), acc
    return _prod(x, out, axes, keep, count, shape), []
