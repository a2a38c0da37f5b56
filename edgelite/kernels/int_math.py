"""Integer arithmetic of TFLite's quantized elementwise ops, beyond ``fixed_point``.

Pure helpers (numba loops over flat arrays, and the prepare-time parameter maths); the
kernels in ``elementwise.py`` and ``activations.py`` call them. Nothing here knows about
the interpreter.

Broadcasting: a binary kernel reads ``x[ix[i]]`` for output element ``i`` when ``ix`` is
an index array built at prepare (``broadcast_index``), or ``x[i]`` when ``ix`` is empty
(the input already has the output's shape).

ADD/SUB (8-bit, and int16 off the power-of-two path), LiteRT's scheme: both inputs are
offset, shifted left by ``left_shift`` (20 for 8-bit, 15 for int16) and rescaled to
``scale / (2 * max(s1, s2))`` each, summed in int32, and the sum rescaled by
``2 * max(s1, s2) / (2**left_shift * s_out)``; every rescale is ``fixed_point.mul_by_qm``.
The int16 power-of-two path (scales all powers of two, zero points 0) instead divides
the one input with the finer scale by a power of two (rounding) and adds with int16
saturation. An 8-bit ADD/SUB output depends on two bytes only: ``add_sub_tables8``
tabulates ``add_sub_rescaled`` over all 65536 pairs once (bit-exact by construction) and
``lookup_pairs8`` is then one load per element.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .fixed_point import mul_by_qm, quantize_multiplier, rdivpot, srdhm

EMPTY_INDEX = np.zeros(0, np.int64)


def broadcast_index(in_shape, out_shape) -> np.ndarray:
    """Flat source index per output element for an input broadcast to ``out_shape``;
    ``EMPTY_INDEX`` when no broadcasting is needed."""
    if tuple(in_shape) == tuple(out_shape):
        return EMPTY_INDEX
    size = int(np.prod(in_shape, dtype=np.int64))
    src = np.arange(size, dtype=np.int64).reshape(in_shape)
    return np.ascontiguousarray(np.broadcast_to(src, out_shape)).reshape(-1)


@njit(cache=True, inline="always")
def _at(ix, i):
    return ix[i] if ix.size else i


@njit(cache=True, inline="always")
def _add_sub_one(xv, yv, p):
    left_shift, off1, m1, s1, off2, m2, s2, sign2, m_out, s_out = p
    a = mul_by_qm((np.int32(xv) + off1) << left_shift, m1, s1)
    b = mul_by_qm((np.int32(yv) + off2) << left_shift, m2, s2)
    return mul_by_qm(np.int32(a + sign2 * b), m_out, s_out)


@njit(cache=True, inline="always")
def _vshl(v, shift):
    """NEON's ``vshl``: a left shift, or for a negative count a flooring right shift."""
    return np.int32(v << shift) if shift >= 0 else np.int32(v >> -shift)


@njit(cache=True, inline="always")
def _add_sub_neon8(xv, yv, p, broadcast):
    """LiteRT's int8 ADD vector blocks (NEON, emulated on x86): each input shifted by
    ``left_shift + shift`` before one ``vqrdmulh`` (elementwise), or by ``left_shift``,
    ``vqrdmulh``, then a flooring shift (scalar broadcast); the sum through ``vqrdmulh``
    (ties toward +inf) and a rounding divide. The scalar code rounds each input twice."""
    left_shift, off1, m1, s1, off2, m2, s2, sign2, m_out, s_out = p
    x, y = np.int32(xv) + off1, np.int32(yv) + off2
    if broadcast:
        a = _vshl(vqrdmulh(np.int32(x << left_shift), m1), s1)
        b = _vshl(vqrdmulh(np.int32(y << left_shift), m2), s2)
    else:
        a = vqrdmulh(_vshl(x, left_shift + s1), m1)
        b = vqrdmulh(_vshl(y, left_shift + s2), m2)
    return rdivpot(vqrdmulh(np.int32(a + sign2 * b), m_out), -s_out)


@njit(cache=True)
def add_sub_rescaled(x, y, ix, iy, out, left_shift, off1, m1, s1, off2, m2, s2,
                     sign2, off_out, m_out, s_out, lo, hi, wrap_n, qmin, qmax, neon_n,
                     neon8=0):
    """ADD (``sign2`` = 1) or SUB (-1) of two quantized tensors, general rescaling. The
    first ``neon_n`` outputs (same-shape int16 ADD only) take the arithmetic of LiteRT's
    NEON blocks (emulated on x86); the first ``wrap_n`` (8-bit ADD) wrap to int16 before
    the output offset as LiteRT's vector blocks do, with their arithmetic when ``neon8``
    is 1 (int8 ADD, same shapes) or 2 (int8 ADD, scalar broadcast). One loop per
    regime."""
    n = out.size
    for i in range(neon_n):   # LiteRT's int16 NEON blocks: one combined shift, ties up
        a = neon_shift_mul(np.int32(x[i]) + off1, m1, left_shift + s1)
        b = neon_shift_mul(np.int32(y[i]) + off2, m2, left_shift + s2)
        r = rdivpot(vqrdmulh(np.int32(a + sign2 * b), m_out), -s_out) + off_out
        out[i] = min(max(r, lo), hi)
    start = max(neon_n, wrap_n)
    p = (left_shift, off1, m1, s1, off2, m2, s2, sign2, m_out, s_out)
    if ix.size == 0 and iy.size == 0:
        for i in range(neon_n, wrap_n):
            r = _add_sub_neon8(x[i], y[i], p, neon8 == 2) if neon8 else \
                _add_sub_one(x[i], y[i], p)
            r = min(max(np.int32(np.int16(np.int16(r) + np.int16(off_out))), qmin), qmax)
            out[i] = min(max(r, lo), hi)
        for i in range(start, n):
            out[i] = min(max(_add_sub_one(x[i], y[i], p) + off_out, lo), hi)
        return
    for i in range(neon_n, wrap_n):
        xv, yv = x[_at(ix, i)], y[_at(iy, i)]
        r = _add_sub_neon8(xv, yv, p, neon8 == 2) if neon8 else _add_sub_one(xv, yv, p)
        r = min(max(np.int32(np.int16(np.int16(r) + np.int16(off_out))), qmin), qmax)
        out[i] = min(max(r, lo), hi)
    for i in range(start, n):
        out[i] = min(max(_add_sub_one(x[_at(ix, i)], y[_at(iy, i)], p) + off_out, lo), hi)


def add_sub_tables8(dtype, args: tuple, wrap_n: int, n: int, neon8: int = 0) -> tuple:
    """8-bit ADD/SUB as lookup tables: ``table[(u(x) << 8) | u(y)]`` is the result for
    inputs ``x, y`` (``u``: the byte as unsigned), computed by ``add_sub_rescaled``
    itself over all 65536 pairs, so a lookup is bit-exact by construction. ``args``:
    ``add_sub_rescaled``'s arguments after ``out`` up to ``qmax`` with ``wrap_n`` left
    out. Returns (table for the first ``wrap_n`` outputs, table for the rest); a
    table no output uses is empty."""
    codes = np.arange(256, dtype=np.uint8).view(dtype)
    xs, ys = np.repeat(codes, 256), np.tile(codes, 256)
    (left_shift, off1, m1, s1, off2, m2, s2, sign2, off_out, m_out, s_out, lo, hi, qmin,
     qmax) = args
    tables = []
    for wrapped, used in ((65536, wrap_n > 0), (0, wrap_n < n)):
        table = np.zeros(65536 if used else 0, dtype)
        if used:
            add_sub_rescaled(xs, ys, EMPTY_INDEX, EMPTY_INDEX, table, left_shift, off1, m1,
                             s1, off2, m2, s2, sign2, off_out, m_out, s_out, lo, hi, wrapped,
                             qmin, qmax, 0, neon8)
        tables.append(table)
    return tuple(tables)


@njit(cache=True)
def lookup_pairs8(x, y, ix, iy, head, tail, head_n, out):
    """``out[i] = table[(u(x) << 8) | u(y)]`` (``add_sub_tables8``), with ``head`` for
    the first ``head_n`` outputs and ``tail`` for the rest; broadcasting as above."""
    if ix.size == 0 and iy.size == 0:
        for i in range(head_n):
            out[i] = head[(np.int64(np.uint8(x[i])) << 8) | np.int64(np.uint8(y[i]))]
        for i in range(head_n, out.size):
            out[i] = tail[(np.int64(np.uint8(x[i])) << 8) | np.int64(np.uint8(y[i]))]
        return
    for i in range(out.size):
        table = head if i < head_n else tail
        xv, yv = x[_at(ix, i)], y[_at(iy, i)]
        out[i] = table[(np.int64(np.uint8(xv)) << 8) | np.int64(np.uint8(yv))]


@njit(cache=True, inline="always")
def vqrdmulh(a, b):
    """NEON's saturating rounding doubling high multiply: ``(a*b + 2**30) >> 31``, ties
    toward +inf (gemmlowp's ``srdhm`` rounds them away from zero)."""
    if a == b == -(2**31):
        return np.int32(0x7FFFFFFF)
    return np.int32((np.int64(a) * np.int64(b) + (np.int64(1) << 30)) >> 31)


@njit(cache=True, inline="always")
def neon_shift_mul(x, multiplier, shift):
    """``vqrdmulh(vshl(x, shift), multiplier)``: a left shift, or for a negative shift an
    arithmetic right shift that floors, then one rounding."""
    v = np.int32(x << shift) if shift >= 0 else np.int32(x >> -shift)
    return vqrdmulh(v, multiplier)


@njit(cache=True)
def add_sub_pot16(x, y, out, shift1, shift2, sign2, lo, hi):
    """int16 ADD/SUB with power-of-two scales: rounding right shifts, int16 saturation."""
    for i in range(out.size):
        a = np.int32(x[i])
        b = np.int32(y[i])
        if shift1 > 0:
            a = rdivpot(a, shift1)
        if shift2 > 0:
            b = rdivpot(b, shift2)
        r = min(max(a + sign2 * b, -32768), 32767)
        out[i] = min(max(r, lo), hi)


@njit(cache=True)
def mul_rescaled(x, y, ix, iy, out, off1, off2, off_out, m, s, lo, hi, wrap_n, qmin, qmax,
                 saturate16):
    """MUL of two quantized tensors: offset product, one rescale. The first ``wrap_n``
    outputs are narrowed to int16 (saturating or wrapping) before the output offset is
    added in int16 (wrapping), as LiteRT's vector blocks do."""
    for i in range(out.size):
        p = (np.int32(x[_at(ix, i)]) + off1) * (np.int32(y[_at(iy, i)]) + off2)
        r = mul_by_qm(np.int32(p), m, s)
        if i < wrap_n:
            r16 = np.int16(min(max(r, -32768), 32767)) if saturate16 else np.int16(r)
            r = min(max(np.int32(np.int16(r16 + np.int16(off_out))), qmin), qmax)
        else:
            r += off_out
        out[i] = min(max(r, lo), hi)


def add_sub_params(s1: float, s2: float, s_out: float, left_shift: int):
    """((m1, sh1), (m2, sh2), (m_out, sh_out)) of the general ADD/SUB rescaling, from the
    tensors' float32 scales in double precision as LiteRT computes them."""
    s1, s2, s_out = (float(np.float32(s)) for s in (s1, s2, s_out))
    twice_max = 2.0 * max(s1, s2)
    return (quantize_multiplier(s1 / twice_max), quantize_multiplier(s2 / twice_max),
            quantize_multiplier(twice_max / (float(1 << left_shift) * s_out)))


def pot_log2(scale: float) -> int | None:
    """log2 of a power-of-two scale (fraction under 1e-3, as TFLite's ``CheckedLog2``),
    else None."""
    scale = float(np.float32(scale))
    if scale <= 0:
        return None
    log = math.log(scale) / math.log(2.0)
    rounded = round(log)
    return int(rounded) if abs(log - rounded) < 1e-3 else None


# ------------------------------------------------------------------ lookup tables
def _round_away_exact(x: float) -> float:
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return math.copysign(r, x)


def lut_int16(transform, input_scale: float, input_zp: int, output_scale: float,
              output_zp: int, float32: bool = False) -> np.ndarray:
    """TFLite's 513-entry int16 LUT: ``transform`` sampled at 512 steps over the input
    range, each sample biased by half the error of linear interpolation at the step's
    midpoint, in double (or float32) arithmetic."""
    f = np.float32 if float32 else float
    in_min = f(f(input_scale) * f(-32768 - input_zp))
    in_max = f(f(input_scale) * f(32767 - input_zp))
    out_min = f(f(output_scale) * f(-32768 - output_zp))
    out_max = f(f(output_scale) * f(32767 - output_zp))
    steps = 512
    step = f(f(in_max - in_min) / f(steps))
    half = f(step / f(2))
    inv = f(f(65536.0) / f(out_max - out_min))
    lut = np.zeros(steps + 1, np.int16)

    def clamp(v):
        return int(min(max(v, -32768.0), 32767.0))

    for i in range(steps):
        val = f(transform(f(in_min + f(f(i) * step))))
        mid = f(transform(f(f(in_min + f(f(i) * step)) + half)))
        nxt = f(transform(f(in_min + f(f(i + 1) * step))))
        sample = _round_away_exact(f(val * inv))
        interp = _round_away_exact(f(f(f(nxt * inv) + f(sample)) / f(2)))
        mid_val = _round_away_exact(f(mid * inv))
        bias = _round_away_exact(f(f(interp - mid_val) / f(2)))
        lut[i] = clamp(f(sample) - f(bias))
    lut[steps] = clamp(_round_away_exact(f(f(transform(in_max)) * inv)))
    return lut


@njit(cache=True, inline="always")
def lut_lookup16(value, lut):
    """Linear interpolation in a 513-entry LUT, as TFLite's int16 ``LUTLookup``."""
    v = np.int32(value)
    index = 256 + (v >> 7)
    offset = v & 0x7F
    base = np.int32(lut[index])
    slope = np.int32(lut[index + 1]) - base
    return np.int16(base + ((slope * offset + 64) >> 7))


# ------------------------------------------------------------------ SOFTMAX
def softmax_table_8bit(input_scale: float, beta: float) -> np.ndarray:
    """The float32 table of LiteRT's optimized 8-bit softmax:
    ``table[255 - d] = expf(-input_scale * beta * d)`` for d in 0..255."""
    scale = np.float32(-np.float32(input_scale) * np.float32(beta))
    table = np.zeros(256, np.float32)
    for d in range(256):
        table[255 - d] = np.float32(math.exp(float(np.float32(scale * np.float32(d)))))
    return table


@njit(cache=True, inline="always")
def _row_table_sum(x, r, table):
    """Row ``r``'s maximum, the table offset that maps it to the last entry, and the
    float32 sum of the row's table entries (the 8-bit (LOG_)SOFTMAX denominator)."""
    mx = np.int32(-1 << 30)
    for j in range(x.shape[1]):
        mx = max(mx, np.int32(x[r, j]))
    base = 255 - mx
    total = np.float32(0.0)
    for j in range(x.shape[1]):
        total += table[base + np.int32(x[r, j])]
    return mx, base, total


@njit(cache=True)
def softmax_8bit(x, out, table, out_scale, out_zp, truncate, qmin, qmax):
    """Rows of int8/uint8 ``x`` (2-D) to int8/uint8/int16 probabilities: float32 sums
    of table entries, one reciprocal per row, then ``round(p) + zp`` (or, ``truncate``
    for uint8 outputs, ``int(p + 0.5f)`` with the zero point ignored), as LiteRT."""
    half = np.float32(0.5)
    for r in range(x.shape[0]):
        mx, base, total = _row_table_sum(x, r, table)
        inv = np.float32(1.0) / (total * out_scale)
        for j in range(x.shape[1]):
            p = table[base + np.int32(x[r, j])] * inv
            if truncate:
                q = np.int32(p + half)
            else:
                fl = np.floor(p)
                q = np.int32(fl) + (1 if p - fl >= half else 0) + out_zp
            out[r, j] = min(max(q, qmin), qmax)


def softmax_int16_params(input_scale: float, beta: float):
    """(multiplier, shift, exp LUT, 1/(1+x) LUT) of LiteRT's int16 softmax."""
    real = float(np.float32(input_scale) * np.float32(beta)) / (10.0 / 65535.0)
    m, s = quantize_multiplier(real)
    exp_lut = lut_int16(math.exp, 10.0 / 65535, 32767, 2.0 / 65535, 0)
    recip_lut = lut_int16(lambda v: 1.0 / (1.0 + v), 1.0 / 65535, -32768, 2.0 / 65535, 0)
    return m, s, exp_lut, recip_lut


@njit(cache=True)
def softmax_int16(x, out, m, s, exp_lut, recip_lut):
    """Rows of int16 ``x`` to int16 probabilities (scale 1/32768): exponentials from the
    LUT of the rescaled differences to the row max, the reciprocal of their sum from
    the 1/(1+x) LUT after normalising the sum, as LiteRT's ``SoftmaxInt16``."""
    for r in range(x.shape[0]):
        mx = np.int32(-32768)
        for j in range(x.shape[1]):
            mx = max(mx, np.int32(x[r, j]))
        total = np.int32(0)
        for j in range(x.shape[1]):
            d = mul_by_qm(np.int32(x[r, j]) - mx, m, s) + 32767
            e = lut_lookup16(min(max(d, -32768), 32767), exp_lut)
            out[r, j] = e
            total += np.int32(e)
        headroom = 32
        t = np.uint32(total)
        while t:
            headroom -= 1
            t >>= np.uint32(1)
        shifted = np.int32(((np.int64(total) << (headroom - 1)) + (1 << 13)) >> 14)
        sym = min(max(shifted - (1 << 15) - (1 << 16), -32768), 32767)
        recip = np.int64(lut_lookup16(sym, recip_lut))
        right = 31 - headroom
        rnd = np.int64(1) << (right - 1)
        for j in range(x.shape[1]):
            v = (np.int64(out[r, j]) * recip + rnd) >> right
            out[r, j] = min(max(v, 0), 32767)


def lut_8bit(transform, dtype, input_scale: float, input_zp: int, output_scale: float,
             output_zp: int) -> np.ndarray:
    """TFLite's 256-entry 8-bit LUT (float32 arithmetic), indexed by the input's raw
    byte (``x.view(uint8)``): ``clamp(int(round(f(s_in * (q - zp_in)) / s_out) + zp_out))``."""
    lo, hi = (-128, 127) if np.dtype(dtype) == np.int8 else (0, 255)
    s_in = np.float32(input_scale)
    inverse = np.float32(np.float32(1.0) / np.float32(output_scale))
    lut = np.zeros(256, np.dtype(dtype))
    for q in range(lo, hi + 1):
        x = np.float32(s_in * np.float32(q - input_zp))
        y = np.float32(transform(x))
        rescaled = np.float32(_round_away_exact(float(np.float32(y * inverse))))
        quantized = int(np.float32(rescaled + np.float32(output_zp))) \
            if abs(float(rescaled)) < 2.0**31 else -(2**31)
        lut[q & 0xFF] = min(max(quantized, lo), hi)
    return lut


def tanh_f32(x: np.float32) -> np.float32:
    return np.float32(math.tanh(float(x)))


def logistic_f32(x: np.float32) -> np.float32:
    """``1.f / (1.f + expf(-x))`` in float32."""
    e = np.float32(math.exp(-float(x))) if -float(x) < 89.0 else np.float32(np.inf)
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + e))


@njit(cache=True)
def apply_lut_8bit(x, lut, out):
    """``out[i] = lut[byte of x[i]]`` over flat arrays (x viewed as uint8)."""
    for i in range(x.size):
        out[i] = lut[x[i]]


@njit(cache=True)
def requantize_clamped(x, in_zp, m, s, out_zp, lo, hi, out):
    """``out = clamp(out_zp + mul_by_qm(x - in_zp, m, s), lo, hi)``: quantized RELUs."""
    for i in range(x.size):
        r = out_zp + mul_by_qm(np.int32(x[i]) - in_zp, m, s)
        out[i] = min(max(r, lo), hi)


@njit(cache=True)
def leaky_relu_q(x, in_zp, m_id, s_id, m_alpha, s_alpha, alpha_sign, out_zp, qmin, qmax,
                 out):
    """Quantized LEAKY_RELU: identity rescale for x >= zp, alpha rescale below."""
    for i in range(x.size):
        v = np.int32(x[i]) - in_zp
        if v >= 0:
            r = out_zp + mul_by_qm(v, m_id, s_id)
        else:
            r = out_zp + alpha_sign * mul_by_qm(v, m_alpha, s_alpha)
        out[i] = min(max(r, qmin), qmax)


# ------------------------------------------------------------------ comparisons
COMPARISON_CODES = {"EQUAL": 0, "NOT_EQUAL": 1, "LESS": 2, "LESS_EQUAL": 3, "GREATER": 4,
                    "GREATER_EQUAL": 5}


@njit(cache=True)
def compare_rescaled(x, y, ix, iy, out, off1, m1, s1, off2, m2, s2, code):
    """Quantized comparison: both sides offset, shifted left by 8 and rescaled by their
    own scale (``mul_by_qm``), then compared (``code`` from ``COMPARISON_CODES``)."""
    for i in range(out.size):
        a = mul_by_qm((np.int32(x[_at(ix, i)]) + off1) << 8, m1, s1)
        b = mul_by_qm((np.int32(y[_at(iy, i)]) + off2) << 8, m2, s2)
        if code == 0:
            out[i] = a == b
        elif code == 1:
            out[i] = a != b
        elif code == 2:
            out[i] = a < b
        elif code == 3:
            out[i] = a <= b
        elif code == 4:
            out[i] = a > b
        else:
            out[i] = a >= b


# ------------------------------------------------------------------ HARD_SWISH
def to_q15(multiplier: int) -> int:
    """A Q0.31 multiplier rounded to Q0.15 (saturating at 32767)."""
    return min((multiplier + (1 << 15)) >> 16, 32767)


@njit(cache=True, inline="always")
def srdhm16(a, b):
    """gemmlowp's int16 saturating rounding doubling high multiply."""
    if a == b and a == -32768:
        return 32767
    ab = np.int32(a) * np.int32(b)
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    t = ab + nudge
    q = abs(t) >> 15
    return np.int32(q if t >= 0 else -q)


@njit(cache=True, inline="always")
def _sat16(v):
    return min(max(v, -32768), 32767)


@njit(cache=True)
def hard_swish_q(x, in_zp, out_zp, out_m16, out_exp, relu_m16, relu_exp, qmin, qmax, out):
    """Quantized HARD_SWISH in int16 fixed point, as TFLite's reference kernel:
    x (7 extra fraction bits) times a 0..1 'reluish' factor of x + 3 over 6."""
    for i in range(x.size):
        v = np.int32(x[i]) - in_zp
        hires = np.int32(np.int16(v * 128))
        pre = srdhm16(hires, out_m16)
        r = hires
        if relu_exp > 0:
            r = _sat16(r * (1 << (relu_exp - 1)))
        r = srdhm16(r, relu_m16)
        if relu_exp > 0:
            r = _sat16(r * 2)
        if relu_exp < 0:
            r = rdivpot(r, -relu_exp)
        r = (r + (1 << 15)) >> 1
        ab = np.int32(r) * np.int32(pre)
        prod = abs(ab) >> 15
        prod = np.int32(np.int16(prod if ab >= 0 else -prod))
        o = np.int32(np.int16(rdivpot(prod, -out_exp) + out_zp))
        out[i] = min(max(o, qmin), qmax)


def elu_f32(x: np.float32) -> np.float32:
    return np.float32(math.expm1(float(x))) if x < 0 else np.float32(x)


_SQRT_2_OVER_PI = np.float32((2 / math.sqrt(math.pi)) * math.sqrt(0.5))


def gelu_f32(x: np.float32) -> np.float32:
    """``0.5f * x * erfcf(x * -sqrt(1/2))`` in float32."""
    e = np.float32(math.erfc(float(np.float32(x * np.float32(-math.sqrt(0.5))))))
    return np.float32(np.float32(np.float32(0.5) * x) * e)


def gelu_tanh_f32(x: np.float32) -> np.float32:
    """The tanh approximation of GELU, float32 in TFLite's order."""
    cube = np.float32(np.float32(np.float32(np.float32(0.044715) * x) * x) * x)
    t = np.float32(math.tanh(float(np.float32(_SQRT_2_OVER_PI * np.float32(x + cube)))))
    return np.float32(np.float32(np.float32(0.5) * x) * np.float32(np.float32(1.0) + t))


@njit(cache=True)
def log_softmax_8bit(x, out, table, in_scale, out_scale, out_zp, qmin, qmax):
    """Rows of int8/uint8 ``x`` to log-probabilities, LiteRT's optimized float32 path:
    ``rint(s_in/s_out * x - (s_in * max + log(sum of table entries)) / s_out) + zp``."""
    scale = np.float32(in_scale / out_scale)
    for r in range(x.shape[0]):
        mx, base, total = _row_table_sum(x, r, table)
        log_sum = np.float32(np.log(np.float64(total)))
        pre = np.float32(np.float32(in_scale * np.float32(mx)) + log_sum) / out_scale
        for j in range(x.shape[1]):
            lp = np.float32(scale * np.float32(x[r, j])) - pre
            q = np.int32(np.rint(lp)) + out_zp
            out[r, j] = min(max(q, qmin), qmax)


@njit(cache=True)
def squared_difference_q(x, y, ix, iy, out, off1, m1, s1, off2, m2, s2, off_out, m_out,
                         s_out, lo, hi):
    """int8 SQUARED_DIFFERENCE: inputs shifted left by 7 and rescaled as ADD's, the
    difference squared in int32, then one output rescale."""
    for i in range(out.size):
        a = mul_by_qm((np.int32(x[_at(ix, i)]) + off1) << 7, m1, s1)
        b = mul_by_qm((np.int32(y[_at(iy, i)]) + off2) << 7, m2, s2)
        d = np.int32(a - b)
        r = mul_by_qm(np.int32(d * d), m_out, s_out) + off_out
        out[i] = min(max(r, lo), hi)


@njit(cache=True)
def prelu_q(x, alpha, ia, out, in_off, alpha_off, out_off, m1, s1, m2, s2, qmin, qmax):
    """Quantized PRELU: x >= zp rescaled by s_in/s_out, below by the product with the
    offset alpha rescaled by s_in*s_alpha/s_out."""
    for i in range(out.size):
        v = np.int32(x[i]) + in_off
        if v >= 0:
            r = mul_by_qm(v, m1, s1)
        else:
            r = mul_by_qm(np.int32(v * (np.int32(alpha[_at(ia, i)]) + alpha_off)), m2, s2)
        out[i] = min(max(r + out_off, qmin), qmax)


@njit(cache=True)
def abs_q(x, in_zp, rescale, m, s, out_zp, qmin, qmax, out):
    """Quantized ABS: |x - zp|, rescaled only when the scales differ."""
    for i in range(x.size):
        v = abs(np.int32(x[i]) - in_zp)
        r = (mul_by_qm(v, m, s) if rescale else v) + out_zp
        out[i] = min(max(r, qmin), qmax)


# ------------------------------------------------------------------ RSQRT
@njit(cache=True, inline="always")
def _sat_shl(x, e):
    """gemmlowp's saturating multiply by 2**e (e > 0)."""
    threshold = (1 << (31 - e)) - 1
    if x > threshold:
        return np.int32(2**31 - 1)
    if x < -threshold:
        return np.int32(-(2**31))
    return np.int32(x << e)


@njit(cache=True)
def inv_sqrt_multiplier(value):
    """1/sqrt(value) as a Q0.31 multiplier and a (reversed) shift, by five Newton steps
    in gemmlowp fixed point with 3 integer bits, as TFLite's
    ``GetInvSqrtQuantizedMultiplierExp`` (reverse shift -1)."""
    if value <= 1:
        return np.int32(2**31 - 1), 0
    shift = 11
    v = np.int32(value)
    while v >= (1 << 29):
        v //= 4
        shift += 1
    lz = 0
    t = np.uint32(v)
    while t < np.uint32(1 << 31):
        lz += 1
        t <<= np.uint32(1)
    pairs = (lz - 1) // 2 - 1
    shift -= pairs
    v = np.int32(v << (2 * pairs))
    half_input = rdivpot(np.int32(v >> 1), 1)
    half_three = np.int32((1 << 28) + (1 << 27))
    x = np.int32(1 << 28)
    for _ in range(5):
        x3 = _sat_shl(srdhm(srdhm(x, x), x), 6)
        d = np.int32(np.int64(srdhm(half_three, x)) - np.int64(srdhm(half_input, x3)))
        x = _sat_shl(d, 3)
    x = srdhm(x, np.int32(1518500250))
    if shift < 0:
        x = np.int32(x << -shift)
        shift = 0
    return x, -shift


@njit(cache=True)
def rsqrt_int8(x, in_zp, m, s, out_zp, out):
    """Quantized int8 RSQRT; returns False (nothing written past it) when an input lies
    below the zero point (a negative real value), which TFLite refuses at invoke."""
    for i in range(x.size):
        v = np.int32(x[i]) - in_zp
        if v < 0:
            return False
        if v == 0:
            out[i] = 127
            continue
        im, ish = inv_sqrt_multiplier(v)
        data = mul_by_qm(np.int32(1), im, ish + 20)
        r = mul_by_qm(data, m, s - 20) + out_zp
        out[i] = min(max(r, -128), 127)
    return True
