"""Activations: float32, and TFLite's quantized paths.

    op              versions (what a version adds)
    RELU, RELU6     1-3  (2 int8/uint8-q, 3 int16-q)
    RELU_N1_TO_1    1                          int8/uint8 too
    RELU_0_TO_1     1                          int8/uint8 too
    LEAKY_RELU      1-2  (2 int16-q)          option alpha; int8/uint8 too
    PRELU           1                          alpha broadcasts into the input's shape;
                                               int8/uint8 too, int16 with an int8 alpha
    ELU             1                          int8 (LUT) too; no int16 (nor in LiteRT)
    LOGISTIC, TANH  1-3  (2 int8-q, 3 int16-q) int16 symmetric, output scale 2**-15
    HARD_SWISH      1                          int8/uint8 too; no int16 (nor in LiteRT)
    GELU            1-2  (2 int8/uint8-q)      option approximate (tanh form); int16 too
    SOFTMAX         1-3  (2 int8-q, 3 int16-q) option beta, over the last axis
    LOG_SOFTMAX     1-2  (2 int8/uint8-q)      over the last axis

Float ops write their output with ``out=`` ufuncs (masks and partial results in arena
scratch); exact GELU (numpy has no erfc) and the two softmaxes (row reductions) are numba
loops. Integer inputs take LiteRT's builtin integer kernels, bit-exact: rescaling clamps
for the RELUs, 256-entry LUTs built in float32 for 8-bit LOGISTIC/TANH/GELU/ELU, int16
fixed point for HARD_SWISH, float32 exp tables for 8-bit (LOG_)SOFTMAX and exp / 1/(1+x)
interpolation LUTs for int16 SOFTMAX (``activations_quantized``, ``int_math``); int16
LOGISTIC/TANH (gemmlowp fixed point or a sigmoid-table interpolation) and GELU (513-entry
LUT) as 65536-entry tables built at prepare (``int16_math``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run, TensorSpec
from .elementwise import check_dtype, dtypes
from .fused_activation import clamp
from .quant import integer_input

_F32 = dtypes("float32")
_QUANTIZED = dtypes("int8 uint8 int16")


def _float_input(ctx: PrepareContext) -> TensorSpec:
    ctx.check(len(ctx.inputs) >= 1 and ctx.inputs[0] is not None, "needs an input")
    x = ctx.inputs[0]
    check_dtype(ctx, x, _F32, _QUANTIZED)
    ctx.set_output(0, x.shape, np.float32)
    return x


def _clamp(lo: float, hi: float):
    lo32, hi32 = np.float32(lo), np.float32(hi)

    def prepare(ctx: PrepareContext) -> Run:
        _float_input(ctx)

        def run(ins, outs, scratch):
            clamp(ins[0], lo32, hi32, outs[0])
        return run
    return prepare


prepare_relu = _clamp(0.0, np.inf)


def prepare_leaky_relu(ctx: PrepareContext) -> Run:
    _float_input(ctx)
    alpha = np.float32(ctx.options.get("alpha", 0.0))
    # TFLite: x > 0 ? x : alpha x. For alpha <= 1 that is max(x, alpha x), else the min.
    pick = np.maximum if alpha <= 1 else np.minimum

    def run(ins, outs, scratch):
        np.multiply(ins[0], alpha, out=outs[0])
        pick(outs[0], ins[0], out=outs[0])
    return run


def prepare_prelu(ctx: PrepareContext) -> Run:
    x = _float_input(ctx)
    ctx.check(len(ctx.inputs) == 2 and ctx.inputs[1] is not None, "needs an alpha input")
    alpha = ctx.inputs[1]
    check_dtype(ctx, alpha, _F32, _QUANTIZED)
    ctx.check(ctx.broadcast(x, alpha) == x.shape,
              f"alpha of shape {list(alpha.shape)} must broadcast into the input's "
              f"shape {list(x.shape)}")
    mask = ctx.scratch(x.shape, np.bool_)

    def run(ins, outs, scratch):   # TFLite: x >= 0 ? x : x alpha
        x, out, m = ins[0], outs[0], scratch[mask]
        np.multiply(x, ins[1], out=out)
        np.greater_equal(x, 0.0, out=m)
        np.copyto(out, x, where=m)
    return run


def prepare_elu(ctx: PrepareContext) -> Run:
    x = _float_input(ctx)
    mask = ctx.scratch(x.shape, np.bool_)

    def run(ins, outs, scratch):   # TFLite: x < 0 ? expm1(x) : x
        x, out, m = ins[0], outs[0], scratch[mask]
        np.minimum(x, 0.0, out=out)
        np.expm1(out, out=out)
        np.greater(x, 0.0, out=m)
        np.copyto(out, x, where=m)
    return run


def prepare_logistic(ctx: PrepareContext) -> Run:
    _float_input(ctx)

    def run(ins, outs, scratch):   # 1 / (1 + e^-x); e^-x overflowing to inf gives 0
        out = outs[0]
        np.negative(ins[0], out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        np.add(out, 1.0, out=out)
        np.reciprocal(out, out=out)
    return run


def prepare_tanh(ctx: PrepareContext) -> Run:
    _float_input(ctx)

    def run(ins, outs, scratch):
        np.tanh(ins[0], out=outs[0])
    return run


def prepare_hard_swish(ctx: PrepareContext) -> Run:
    x = _float_input(ctx)
    part = ctx.scratch(x.shape, np.float32)
    sixth = np.float32(1 / 6)

    def run(ins, outs, scratch):
        # (x / 6) * relu6(x + 3), rounded in that order as LiteRT's vector loop does (its
        # scalar tail, the last size % 4 values, rounds x * relu6(x + 3) first: 1 ulp)
        x, out, s = ins[0], outs[0], scratch[part]
        np.add(x, 3.0, out=out)
        np.clip(out, 0.0, 6.0, out=out)
        np.multiply(x, sixth, out=s)
        with np.errstate(invalid="ignore"):   # -inf * 0 is nan, as in TFLite
            np.multiply(s, out, out=out)
    return run


def prepare_gelu(ctx: PrepareContext) -> Run:
    x = _float_input(ctx)
    if not ctx.options.get("approximate", False):
        def run_exact(ins, outs, scratch):
            _gelu_erfc(ins[0].reshape(-1), outs[0].reshape(-1))
        return run_exact
    part = ctx.scratch(x.shape, np.float32)
    c = np.float32(math.sqrt(2 / math.pi))
    k = np.float32(0.044715)

    def run(ins, outs, scratch):   # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x, out, t = ins[0], outs[0], scratch[part]
        np.multiply(x, x, out=t)
        np.multiply(t, x, out=t)
        np.multiply(t, k, out=t)
        np.add(t, x, out=t)
        np.multiply(t, c, out=t)
        np.tanh(t, out=t)
        np.add(t, 1.0, out=t)
        np.multiply(x, 0.5, out=out)
        with np.errstate(invalid="ignore"):   # -inf * 0 is nan, as in TFLite
            np.multiply(out, t, out=out)
    return run


@njit(cache=True)
def _gelu_erfc(x, out):
    """x/2 erfc(-x / sqrt 2): TFLite's exact GELU, free of the cancellation that
    x/2 (1 + erf(x / sqrt 2)) suffers for negative x. Evaluated in double."""
    for i in range(x.size):
        v = np.float64(x[i])
        out[i] = 0.5 * v * math.erfc(v * -0.7071067811865476)


def _last_axis(ctx: PrepareContext) -> int:
    x = _float_input(ctx)
    ctx.check(len(x.shape) >= 1, "input must have at least one dimension")
    return x.shape[-1]


def prepare_softmax(ctx: PrepareContext) -> Run:
    depth = _last_axis(ctx)
    beta = np.float32(ctx.options.get("beta", 1.0))

    def run(ins, outs, scratch):
        _softmax_rows(ins[0].reshape(-1, depth), outs[0].reshape(-1, depth), beta)
    return run


def prepare_log_softmax(ctx: PrepareContext) -> Run:
    depth = _last_axis(ctx)

    def run(ins, outs, scratch):
        _log_softmax_rows(ins[0].reshape(-1, depth), outs[0].reshape(-1, depth))
    return run


# Softmax runs row by row in numba: one pass for the max, one for the exponentials and
# their sum, one to scale, where numpy would broadcast the row results through buffered
# iterators. float32 arithmetic in TFLite's order, sums accumulated in double.
@njit(cache=True, inline="always")
def _row_max(row):
    """``row.max()`` (NaN if any value is NaN), as a plain loop: numba's array ``max``
    would make a cached kernel import numba's array-math library when it loads."""
    m = row[0]
    for j in range(1, row.shape[0]):
        v = row[j]
        if math.isnan(m):
            break
        if v > m or math.isnan(v):
            m = v
    return m


@njit(cache=True)
def _softmax_rows(x, out, beta):
    """out = e^(beta (x - max)) * (1 / sum) along each row, as TFLite's float softmax."""
    for r in range(x.shape[0]):
        if x.shape[1] == 0:
            return
        m = _row_max(x[r])
        total = 0.0
        for j in range(x.shape[1]):
            e = np.exp((x[r, j] - m) * beta)
            out[r, j] = e
            total += e
        inv = np.float32(1.0) / np.float32(total)
        for j in range(x.shape[1]):
            out[r, j] *= inv


@njit(cache=True)
def _log_softmax_rows(x, out):
    """out = (x - max) - log(sum(e^(x - max))) along each row."""
    for r in range(x.shape[0]):
        if x.shape[1] == 0:
            return
        m = _row_max(x[r])
        total = 0.0
        for j in range(x.shape[1]):
            total += np.exp(x[r, j] - m)
        log_sum = np.log(np.float32(total))
        for j in range(x.shape[1]):
            out[r, j] = (x[r, j] - m) - log_sum


def _either(opcode: str, float_prepare):
    """A prepare taking the integer kernel's path for int8/uint8/int16 inputs (the
    integer kernels' module is imported only then: start-up of float models)."""
    def prepare(ctx: PrepareContext) -> Run:
        if not integer_input(ctx):
            return float_prepare(ctx)
        from .activations_quantized import INTEGER_PREPARES
        return INTEGER_PREPARES[opcode](ctx)
    return prepare


KERNELS = {
    "RELU": KernelDef(_either("RELU", prepare_relu), 3),
    "RELU6": KernelDef(_either("RELU6", _clamp(0.0, 6.0)), 3),
    "RELU_N1_TO_1": KernelDef(_either("RELU_N1_TO_1", _clamp(-1.0, 1.0)), 1),
    "RELU_0_TO_1": KernelDef(_either("RELU_0_TO_1", _clamp(0.0, 1.0)), 1),
    "LEAKY_RELU": KernelDef(_either("LEAKY_RELU", prepare_leaky_relu), 2),
    "PRELU": KernelDef(_either("PRELU", prepare_prelu), 1),
    "ELU": KernelDef(_either("ELU", prepare_elu), 1),
    "LOGISTIC": KernelDef(_either("LOGISTIC", prepare_logistic), 3),
    "TANH": KernelDef(_either("TANH", prepare_tanh), 3),
    "HARD_SWISH": KernelDef(_either("HARD_SWISH", prepare_hard_swish), 1),
    "GELU": KernelDef(_either("GELU", prepare_gelu), 2),
    "SOFTMAX": KernelDef(_either("SOFTMAX", prepare_softmax), 3),
    "LOG_SOFTMAX": KernelDef(_either("LOG_SOFTMAX", prepare_log_softmax), 2),
}
