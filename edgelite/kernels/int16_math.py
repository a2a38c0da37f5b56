"""TFLite's int16 LOGISTIC, TANH and LUT activations, bit-exact with LiteRT's builtin
kernels. Pure helpers: prepare-time tables and numba loops over flat arrays.

An int16 input has only 65536 values, so prepare evaluates the op's integer arithmetic
once for every one of them (``table_*``) and eval is a lookup (``apply_table16``). The
tables follow the code paths LiteRT's kernels take:

* LOGISTIC / TANH with a power-of-two input scale of 2**-12 (TANH also 2**-11): gemmlowp's
  int16 fixed point, the input read as Q3.12 (``logistic_q3`` / ``tanh_q3``): exp of the
  negative magnitude by a quarter-interval polynomial and a barrel shifter of exp(-2**k)
  factors, then 1/(1+x) or (1-x)/(1+x) by three Newton-Raphson steps. gemmlowp's SSE and
  scalar int16 primitives agree bit for bit on these (only the negative-sum ties of
  RoundingHalfSum differ, and every half sum here is non-negative), so LiteRT's vector
  blocks and scalar tail round alike.
* any other input scale: the input is rescaled to 1/(3 * 4096) units by an integer
  multiplier and right shift (int32 arithmetic that wraps, as in C), and the result is
  interpolated in a 256-entry table of sigmoid(i / 24) in 0.16 fixed point
  (``SIGMOID_TABLE``), using tanh(x) = 2 sigmoid(2x) - 1 (``lut_logistic`` / ``lut_tanh``).
* GELU: the 513-entry interpolation LUT of ``int_math.lut_int16`` read as TFLite's
  ``LUTLookup`` (int16 slope and sum, both wrapping). The LUT samples GELU with the C
  library's float ``erfcf`` / ``tanhf``, as LiteRT does: glibc's are not correctly
  rounded, and a one-ulp difference moves LUT entries at fine output scales.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np
from numba import njit

from .fixed_point import rdivpot
from .int_math import srdhm16


def _sigmoid_table() -> np.ndarray:
    """sigmoid(i / 24) in unsigned 0.16 fixed point, i = 0..255, each sample raised by half
    the error of linear interpolation at the midpoint of the step to its right (which
    halves the worst interpolation error); the last entry saturates at 1.0 (65535)."""
    def f(x):
        return 65536.0 / (1.0 + np.exp(-x / 24.0))
    i = np.arange(256, dtype=np.float64)
    chord_error = f(i + 0.5) - (f(i) + f(i + 1.0)) / 2.0
    table = np.floor(f(i) + chord_error / 2.0 + 0.5).astype(np.int64)
    table[255] = 65535
    return table


SIGMOID_TABLE = _sigmoid_table()


def checked_log2(scale: float) -> tuple[int, bool]:
    """TFLite's ``CheckedLog2`` in float32: (log2 rounded half away, whether the scale is
    a power of two to within 1e-3 in the exponent)."""
    x_log2 = np.float32(np.log(np.float32(scale)) * np.float32(1.0 / np.log(np.float32(2.0))))
    rounded = np.float32(math.copysign(math.floor(abs(float(x_log2)) + 0.5), float(x_log2)))
    return int(rounded), bool(abs(np.float32(x_log2 - rounded)) < np.float32(1e-3))


def rescale_params(input_scale: float) -> tuple[int, int]:
    """(multiplier, right shift) taking an input to 1/(3 * 4096) units, as TFLite's int16
    LOGISTIC/TANH prepare computes them off the power-of-two path. A multiplier past
    int32 comes out as INT32_MIN (x86's float-to-int conversion)."""
    multiplier = float(np.float32(input_scale)) * 4096.0 * 3.0
    shift = 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    m = int(multiplier)
    return (m if m < 2**31 else -(2**31)), shift


def _libm_float(name: str, fallback):
    """The C library's float function ``name`` (``erfcf``, ``tanhf``), or ``fallback``
    evaluated in double and rounded where no C math library can be loaded."""
    try:
        fn = getattr(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"), name)
    except (OSError, AttributeError):
        return lambda v: np.float32(fallback(float(v)))
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lambda v: np.float32(fn(float(v)))


_erfcf = _libm_float("erfcf", math.erfc)
_tanhf = _libm_float("tanhf", math.tanh)
_SQRT_2_OVER_PI = np.float32((2 / math.sqrt(math.pi)) * math.sqrt(0.5))


def gelu_f32(x: np.float32) -> np.float32:
    """TFLite's ``GeluTransform``: 0.5f * x * erfcf(x * -sqrt(1/2)), in float32."""
    e = _erfcf(np.float32(x * np.float32(-math.sqrt(0.5))))
    return np.float32(np.float32(np.float32(0.5) * x) * e)


def gelu_tanh_f32(x: np.float32) -> np.float32:
    """TFLite's ``GeluTransformApproximate``, float32 in its order of operations."""
    cube = np.float32(np.float32(np.float32(np.float32(0.044715) * x) * x) * x)
    t = _tanhf(np.float32(_SQRT_2_OVER_PI * np.float32(x + cube)))
    return np.float32(np.float32(np.float32(0.5) * x) * np.float32(np.float32(1.0) + t))


# ------------------------------------------------------------------ gemmlowp int16 fixed point
def _const16(raw32: int) -> int:
    """A gemmlowp int32 Q0.31 constant rounded (half away from zero) to its int16 form."""
    q, r = divmod(abs(raw32), 1 << 16)
    return int(math.copysign(q + (r >= 1 << 15), raw32))


_EXP_M1_8 = _const16(1895147668)        # exp(-1/8)
_ONE_THIRD = _const16(715827883)
_C48_17 = _const16(1515870810)          # 48/17 in Q2.13
_CNEG32_17 = _const16(-1010580540)      # -32/17 in Q2.13
# exp(-2**k) for k = -2..3 (Q0.15), applied when bit (fractional bits + k) of the
# remainder is set
_BARREL = np.array([_const16(v) for v in (1672461947, 1302514674, 790015084, 290630308,
                                          39332535, 720401)], np.int64)


@njit(cache=True, inline="always")
def _wrap16(v):
    return ((v + 32768) & 0xFFFF) - 32768


@njit(cache=True, inline="always")
def _sat_shl16(x, e):
    """gemmlowp's saturating multiply by 2**e (e > 0) on int16."""
    threshold = (1 << (15 - e)) - 1
    if x > threshold:
        return 32767
    if x < -threshold:
        return -32768
    return x << e


@njit(cache=True, inline="always")
def _exp_quarter(a):
    """exp(a) for a in [-1/4, 0), Q0.15: a Taylor polynomial around -1/8."""
    x = _wrap16(a + 4096)
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    t = _wrap16(rdivpot(x4, 2) + x3)
    t = rdivpot(_wrap16(srdhm16(t, _ONE_THIRD) + x2), 1)
    return min(max(_EXP_M1_8 + srdhm16(_EXP_M1_8, _wrap16(x + t)), -32768), 32767)


@njit(cache=True)
def exp_on_negative_q(a, integer_bits, barrel):
    """exp(a) for a <= 0 held with ``integer_bits`` integer bits; result Q0.15."""
    frac = 15 - integer_bits
    quarter = 1 << (frac - 2)
    a_mod = _wrap16((a & (quarter - 1)) - quarter)
    result = _exp_quarter(_sat_shl16(a_mod, integer_bits))
    remainder = _wrap16(a_mod - a)
    for k in range(-2, 4):
        if integer_bits > k and remainder & (1 << (frac + k)):
            result = srdhm16(result, barrel[k + 2])
    return 32767 if a == 0 else result


@njit(cache=True, inline="always")
def _newton_reciprocal(a):
    """Q2.13 approximation of 1 / ((1 + a) / 2) for a in [0, 1] (Q0.15)."""
    half_denominator = (a + 32767 + 1) >> 1      # rounding half sum, sum >= 0
    x = _wrap16(_C48_17 + srdhm16(half_denominator, _CNEG32_17))
    for _ in range(3):
        one_minus = _wrap16(8192 - srdhm16(half_denominator, x))
        x = _wrap16(x + _sat_shl16(srdhm16(x, one_minus), 2))
    return x


@njit(cache=True)
def logistic_q3(a, barrel):
    """gemmlowp's int16 logistic of a Q3.12 value, Q0.15 result."""
    if a == 0:
        return 16384
    magnitude = a if a > 0 else _wrap16(-a)
    r = _sat_shl16(_newton_reciprocal(exp_on_negative_q(_wrap16(-magnitude), 3, barrel)), 1)
    return r if a > 0 else _wrap16(32767 - r)


@njit(cache=True)
def tanh_q3(a, barrel):
    """gemmlowp's int16 tanh of a Q3.12 value, Q0.15 result."""
    if a == 0:
        return 0
    n = a if a < 0 else _wrap16(-a)
    e = exp_on_negative_q(n, 4, barrel)       # exp(2n): the same raw bits read as Q4.11
    t = _sat_shl16(_wrap16(_newton_reciprocal(e) - 8192), 2)
    return _wrap16(-t) if a < 0 else t


# ------------------------------------------------------------------ sigmoid-table path
@njit(cache=True, inline="always")
def _rescaled(v, multiplier, shift):
    """(v * multiplier + round) >> shift in wrapping int32 arithmetic."""
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    p = ((v * multiplier + rounding + 2**31) & 0xFFFFFFFF) - 2**31
    return p >> shift


@njit(cache=True)
def lut_logistic(v, multiplier, shift, table):
    x = _rescaled(v, multiplier, shift)
    mag = abs(x)
    uh = mag >> 9
    if uh >= 255:
        r = 0x7FFF << 10
    else:
        r = (table[uh] << 9) + (mag & 0x1FF) * (table[uh + 1] - table[uh])
    r = r + (1 << 9) if x >= 0 else (1 << 25) - r + (1 << 9) - 1
    return _wrap16(r >> 10)


@njit(cache=True)
def lut_tanh(v, multiplier, shift, table):
    x = _rescaled(v, multiplier, shift)
    mag = abs(x)
    uh = mag >> 8
    if uh >= 255:
        r = 0xFFFF << 8
    else:
        r = (table[uh] << 8) + (mag & 0xFF) * (table[uh + 1] - table[uh])
    r = r - (1 << 23) + (1 << 7) if x >= 0 else -r + (1 << 23) + (1 << 7) - 1
    return _wrap16(r >> 8)


# ------------------------------------------------------------------ tables and eval
@njit(cache=True)
def _fill_gemmlowp(out, tanh, left_shift, barrel):
    for i in range(out.size):
        v = i - 32768
        if tanh:
            out[i] = tanh_q3(_sat_shl16(v, 1) if left_shift else v, barrel)
        else:
            out[i] = logistic_q3(v, barrel)


@njit(cache=True)
def _fill_sigmoid_lut(out, tanh, multiplier, shift, table):
    for i in range(out.size):
        v = i - 32768
        out[i] = (lut_tanh(v, multiplier, shift, table) if tanh
                  else lut_logistic(v, multiplier, shift, table))


def table_gemmlowp(tanh: bool, left_shift: int = 0) -> np.ndarray:
    """All 65536 outputs of the power-of-two path (input Q3.12, TANH's Q4.11 input
    first doubled with saturation when ``left_shift`` is 1)."""
    out = np.empty(65536, np.int16)
    _fill_gemmlowp(out, tanh, left_shift, _BARREL)
    return out


def table_sigmoid_lut(tanh: bool, multiplier: int, shift: int) -> np.ndarray:
    """All 65536 outputs of the general-scale path."""
    out = np.empty(65536, np.int16)
    _fill_sigmoid_lut(out, tanh, multiplier, shift, SIGMOID_TABLE)
    return out


@njit(cache=True)
def _fill_lut513(out, lut):
    for i in range(out.size):
        v = i - 32768
        index = 256 + (v >> 7)
        slope = _wrap16(np.int64(lut[index + 1]) - np.int64(lut[index]))
        out[i] = _wrap16(np.int64(lut[index]) + ((slope * (v & 0x7F) + 64) >> 7))


def table_from_lut513(lut: np.ndarray) -> np.ndarray:
    """All 65536 outputs of TFLite's int16 ``LUTLookup`` in a 513-entry LUT."""
    out = np.empty(65536, np.int16)
    _fill_lut513(out, lut)
    return out


@njit(cache=True)
def apply_table16(x, table, out):
    """out[i] = table[x[i] + 32768] over flat int16 arrays."""
    for i in range(x.size):
        out[i] = table[np.int32(x[i]) + 32768]
