"""The fully integer (8x8_16) LSTM step, as LiteRT's lstm_eval computes it: int8 input and
output state, int16 cell state and gates. Pure numba functions over plain arrays; the
constants come from ``sequence_quantized.prepare_integer_lstm``.

One step for a group of batch rows (all of them time-major, one batch-major, as LiteRT):

1. each gate (input, forget, cell, output) starts at 0 and accumulates, saturating to
   int16, ``mul_by_qm(bias + W_x . x)`` then ``mul_by_qm(bias + W_h . h)`` (the zero
   points are folded into those int32 biases); the peephole adds ``mul_by_qm(w_c * c)``
   over LiteRT's flat ``n_batch * n_output`` indices (its stride when a projection makes
   n_output != n_cell); layer norm (optional) is LiteRT's integer mean/variance with an
   inverse-sqrt multiplier; then gemmlowp's int16 sigmoid (Q3.12 in, Q0.15 out) or, for
   the cell gate, tanh;
2. ``c = f*c >> 15 (rounded) + i*g >> (30 + cell_scale)``, saturated, clipped;
3. ``hidden = mul_by_qm(o * tanh(c))`` (tanh with ``15 + cell_scale`` integer bits), int8;
   a projection runs an int8 GEMV over it, adds the output state's zero point and clips.

gemmlowp's int16 exp / tanh / logistic are written out for any integer-bit count (the
cell-state tanh needs 0..6; the exp(-16) barrel step and the -32 clamp matter from 5).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fixed_point import mul_by_qm, rdivpot
from .int_math import inv_sqrt_multiplier, srdhm16

# integer parameters, per gate (rows of ``gq``) and per op (``sq``)
IN_M, IN_S, REC_M, REC_S, PEEP_M, PEEP_S, LN_M, LN_S, GUARD = range(9)
(CIFG, PEEP, NORM, PROJ, CELL_SCALE, CELL_CLIP, PROJ_CLIP, HID_M, HID_S, HID_ZP, PROJ_M,
 PROJ_S, OUT_ZP) = range(13)


def _c16(raw32: int) -> int:
    """A gemmlowp Q0.31 constant as its int16 form (rounded, ties away from zero)."""
    q, r = divmod(abs(raw32), 1 << 16)
    q += r >= 1 << 15
    return q if raw32 >= 0 else -q


_EXP_M1_8, _ONE_THIRD = _c16(1895147668), _c16(715827883)
_C48_17, _CNEG32_17 = _c16(1515870810), _c16(-1010580540)
# exp(-2**k), k = -2..4, applied when bit (fraction bits + k) of the remainder is set
BARREL = np.array([_c16(v) for v in (1672461947, 1302514674, 790015084, 290630308,
                                      39332535, 720401, 242)], np.int64)
CLAMP = np.array([_c16(-(1 << (36 - ib))) if ib > 5 else 0 for ib in range(8)], np.int64)


@njit(cache=True, inline="always")
def _wrap16(v):
    return ((v + 32768) & 0xFFFF) - 32768


@njit(cache=True, inline="always")
def _wrap32(v):
    return ((np.int64(v) + 2**31) & 0xFFFFFFFF) - 2**31


@njit(cache=True, inline="always")
def _sat(v, lo, hi):
    return min(max(v, lo), hi)


@njit(cache=True, inline="always")
def _shl16(x, e):
    """gemmlowp's saturating int16 multiply by 2**e (e >= 0)."""
    if e == 0:
        return x
    threshold = (1 << (15 - e)) - 1
    if x > threshold:
        return 32767
    if x < -threshold:
        return -32768
    return x << e


@njit(cache=True, inline="always")
def _cdiv(a, b):
    """C integer division (toward zero) for b > 0."""
    q = abs(a) // b
    return q if a >= 0 else -q


@njit(cache=True)
def exp_neg16(a, ib, barrel, clamp):
    """gemmlowp's exp(a) for int16 ``a <= 0`` with ``ib`` integer bits; Q0.15 result."""
    frac = 15 - ib
    quarter = 1 << (frac - 2)
    a_mod = _wrap16((a & (quarter - 1)) - quarter)
    x = _wrap16(_shl16(a_mod, ib) + 4096)             # Taylor series around -1/8
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    t = _wrap16(rdivpot(x4, 2) + x3)
    t = rdivpot(_wrap16(srdhm16(t, _ONE_THIRD) + x2), 1)
    result = _sat(_EXP_M1_8 + srdhm16(_EXP_M1_8, _wrap16(x + t)), -32768, 32767)
    remainder = _wrap16(a_mod - a)
    for k in range(-2, 5):
        if ib > k and remainder & (1 << (frac + k)):
            result = srdhm16(result, barrel[k + 2])
    if ib > 5 and a < clamp[ib]:
        result = 0
    return 32767 if a == 0 else result


@njit(cache=True, inline="always")
def _newton(a):
    """Q2.13 approximation of 2 / (1 + a), a in [0, 1] Q0.15 (three Newton steps)."""
    half = (a + 32768) >> 1
    x = _wrap16(_C48_17 + srdhm16(half, _CNEG32_17))
    for _ in range(3):
        x = _wrap16(x + _shl16(srdhm16(x, _wrap16(8192 - srdhm16(half, x))), 2))
    return x


@njit(cache=True)
def sigmoid16(a, barrel, clamp):
    """gemmlowp's int16 logistic, Q3.12 in, Q0.15 out."""
    if a == 0:
        return 16384
    mag = a if a > 0 else _wrap16(-a)
    r = _shl16(_newton(exp_neg16(_wrap16(-mag), 3, barrel, clamp)), 1)
    return r if a > 0 else _wrap16(32767 - r)


@njit(cache=True)
def tanh16(a, ib, barrel, clamp):
    """gemmlowp's int16 tanh of a value with ``ib`` integer bits, Q0.15 out."""
    if a == 0:
        return 0
    n = a if a < 0 else _wrap16(-a)
    t = _shl16(_wrap16(_newton(exp_neg16(n, ib + 1, barrel, clamp)) - 8192), 2)
    return _wrap16(-t) if a < 0 else t


@njit(cache=True)
def _accumulate16(x, w, bias, m, s, out):
    """out[r, j] = sat16(mul_by_qm(bias[j] + w[j] . x[r], m, s) + out[r, j])."""
    for r in range(x.shape[0]):
        for j in range(w.shape[0]):
            acc = np.int64(bias[j])
            for k in range(w.shape[1]):
                acc += np.int64(x[r, k]) * np.int64(w[j, k])
            v = mul_by_qm(_wrap32(acc), m, s) + np.int64(out[r, j])
            out[r, j] = _sat(v, -32768, 32767)


@njit(cache=True)
def _layer_norm16(g, w, bias, m, s, guard):
    n = g.shape[1]
    for r in range(g.shape[0]):
        total, squares = np.int64(0), np.int64(0)
        for j in range(n):
            total += g[r, j]
            squares += np.int64(g[r, j]) * g[r, j]
        mean = _cdiv(total * 1024, n)
        variance = _cdiv(squares * ((1 << 20) // n) - mean * mean, 1 << 20)
        inv_m, inv_s = inv_sqrt_multiplier(variance if variance >= 1 else guard)
        for j in range(n):
            rescaled = mul_by_qm(_wrap32(1024 * np.int64(g[r, j]) - mean), inv_m, inv_s)
            v = _wrap32(_wrap32(np.int64(rescaled) * w[j]) + bias[j])
            v = _cdiv(v + 512 if v > 0 else v - 512, 1024)
            g[r, j] = _sat(mul_by_qm(v, m, s + 12), -32768, 32767)


@njit(cache=True)
def _gate(is_cell, k, x, h, c, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, gq, sq, out,
          barrel, clamp):
    """Gate ``k`` (0 input, 1 forget, 2 cell, 3 output) of rows x/h/c into ``out``."""
    rows, nc = out.shape
    n_out = h.shape[1]
    out[:, :] = 0
    _accumulate16(x, w_in[k], b_in[k], gq[k, IN_M], gq[k, IN_S], out)
    _accumulate16(h, w_rec[k], b_rec[k], gq[k, REC_M], gq[k, REC_S], out)
    if sq[PEEP] and k != 2:
        for f in range(rows * n_out):       # LiteRT's flat indices (v_size n_output)
            r, j = f // nc, f % nc
            p = mul_by_qm(np.int32(peep[k, f % n_out]) * np.int32(c[r, j]),
                          gq[k, PEEP_M], gq[k, PEEP_S])
            out[r, j] = _sat(p + np.int64(out[r, j]), -32768, 32767)
    if sq[NORM]:
        _layer_norm16(out, ln_w[k], ln_b[k], gq[k, LN_M], gq[k, LN_S], gq[k, GUARD])
    for r in range(rows):
        for j in range(nc):
            out[r, j] = tanh16(out[r, j], 3, barrel, clamp) if is_cell else \
                sigmoid16(out[r, j], barrel, clamp)


@njit(cache=True)
def _step(x, h, c, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, proj, proj_b, gq, sq,
          gates, hidden, barrel, clamp):
    rows, nc = c.shape
    for k in range(4):
        if k == 0 and sq[CIFG]:
            continue
        if k == 3:                                    # the cell update comes first
            _update_cell(gates, c, sq)
        _gate(k == 2, k, x, h, c, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, gq, sq,
              gates[k], barrel, clamp)
    ib = 15 + sq[CELL_SCALE]
    for r in range(rows):
        for j in range(nc):
            t = tanh16(c[r, j], ib, barrel, clamp)
            v = mul_by_qm(np.int32(gates[3, r, j]) * np.int32(t), sq[HID_M], sq[HID_S])
            if sq[PROJ]:
                hidden[r, j] = _sat(v - sq[HID_ZP], -128, 127)
            else:
                h[r, j] = _sat(v + sq[HID_ZP], -128, 127)
    if sq[PROJ]:
        _project(hidden, proj, proj_b, sq, h)


@njit(cache=True)
def _update_cell(gates, c, sq):
    shift = 30 + sq[CELL_SCALE]
    clip = sq[CELL_CLIP]
    for r in range(c.shape[0]):
        for j in range(c.shape[1]):
            f = np.int32(gates[1, r, j])
            i = 32767 - f if sq[CIFG] else np.int32(gates[0, r, j])
            kept = _wrap16(rdivpot(f * np.int32(c[r, j]), 15))
            new = _wrap16(rdivpot(i * np.int32(gates[2, r, j]), shift))
            v = _sat(kept + new, -32768, 32767)
            c[r, j] = _sat(v, -clip, clip) if clip > 0 else v


@njit(cache=True)
def _project(hidden, proj, proj_b, sq, h):
    clip = sq[PROJ_CLIP]
    for r in range(hidden.shape[0]):
        for k in range(proj.shape[0]):
            acc = np.int64(proj_b[k])
            for j in range(proj.shape[1]):
                acc += np.int64(hidden[r, j]) * np.int64(proj[k, j])
            v = _sat(mul_by_qm(_wrap32(acc), sq[PROJ_M], sq[PROJ_S]) + sq[OUT_ZP], -128, 127)
            h[r, k] = _sat(v, -clip, clip) if clip > 0 else v


@njit(cache=True)
def lstm_sequence_int(x, time_major, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, proj,
                      proj_b, gq, sq, h_state, c_state, out, gates, hidden, barrel, clamp):
    """Run the integer LSTM over ``x`` ([time, batch, in] if time_major else [batch, time,
    in]), updating the int8 ``h_state`` / int16 ``c_state`` ([batch, n]) in place."""
    if time_major:
        for t in range(x.shape[0]):
            _step(x[t], h_state, c_state, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, proj,
                  proj_b, gq, sq, gates, hidden, barrel, clamp)
            out[t, :, :] = h_state
        return
    for b in range(x.shape[0]):
        for t in range(x.shape[1]):
            h, c = h_state[b:b + 1], c_state[b:b + 1]
            _step(x[b, t:t + 1], h, c, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, proj,
                  proj_b, gq, sq, gates[:, :1], hidden[:1], barrel, clamp)
            out[b, t, :] = h_state[b]
