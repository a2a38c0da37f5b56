"""TFLite's integer activations (int8, uint8, int16), bit-exact with LiteRT's builtin
kernels: rescaling clamps for the RELUs, 256-entry LUTs built in float32 for 8-bit
LOGISTIC/TANH/GELU/ELU, int16 fixed point for HARD_SWISH, float32 exp tables for 8-bit
(LOG_)SOFTMAX and exp / 1/(1+x) interpolation LUTs for int16 SOFTMAX (``int_math``).
int16 LOGISTIC/TANH (gemmlowp fixed point or a sigmoid-table interpolation, by input
scale) and GELU (513-entry LUT) become a 65536-entry table at prepare (``int16_math``).

``INTEGER_PREPARES`` maps each op to its integer prepare; ``activations`` dispatches to it
for int8/uint8/int16 inputs.
"""

from __future__ import annotations

import math

import numpy as np

from . import int16_math, int_math, quant
from .api import PrepareContext, Run, TensorSpec
from .elementwise import dtypes
from .fixed_point import quantize_multiplier

def _quantized_io(ctx: PrepareContext, out_dtypes: dict) -> tuple[TensorSpec, TensorSpec]:
    """The quantized input and output, checked: ``out_dtypes`` maps each input dtype
    name to the output dtype names it may produce."""
    x, out = ctx.inputs[0], ctx.outputs[0]
    allowed = out_dtypes.get(x.dtype.name)
    ctx.check(allowed is not None, f"{x.dtype} inputs are not supported")
    ctx.check(out.dtype.name in allowed, f"{out.dtype} output is not supported for "
              f"{x.dtype} input (takes {', '.join(allowed)})")
    for role, spec in (("input", x), ("output", out)):
        ctx.check(quant.is_quantized(spec), f"the {role} ({spec.dtype}) must be quantized")
    ctx.set_output(0, x.shape, out.dtype)
    return x, out


def prepare_softmax_int(ctx: PrepareContext) -> Run:
    x, out = _quantized_io(ctx, {"int8": ("int8", "int16"), "uint8": ("uint8", "int16"),
                                 "int16": ("int16",)})
    ctx.check(len(x.shape) >= 1, "input must have at least one dimension")
    depth = x.shape[-1]
    beta = float(np.float32(ctx.options.get("beta", 1.0)))
    if x.dtype == out.dtype == np.int8:
        ctx.check(out.zero_point == -128 and abs(out.scale - 1 / 256) <= 0.001 / 256,
                  "int8 output must have scale 1/256 and zero point -128")
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0, "int16 input must have zero point 0")
        ctx.check(out.zero_point == 0 and abs(out.scale - 1 / 32768) <= 0.001 / 32768,
                  "int16 output must have scale 1/32768 and zero point 0")
        m, s, exp_lut, recip_lut = int_math.softmax_int16_params(x.scale, beta)

        def run16(ins, outs, scratch):
            int_math.softmax_int16(ins[0].reshape(-1, depth), outs[0].reshape(-1, depth),
                                   m, s, exp_lut, recip_lut)
        return run16
    table = int_math.softmax_table_8bit(x.scale, beta)
    out_scale, out_zp = np.float32(out.scale), out.zero_point
    truncate = out.dtype == np.uint8
    qmin, qmax = quant.dtype_range(out.dtype)

    def run(ins, outs, scratch):
        int_math.softmax_8bit(ins[0].reshape(-1, depth), outs[0].reshape(-1, depth), table,
                              out_scale, out_zp, truncate, qmin, qmax)
    return run


_SAME_8 = {"int8": ("int8",), "uint8": ("uint8",)}
_SAME_ALL = {**_SAME_8, "int16": ("int16",)}


def _flat_run(kernel, *args) -> Run:
    def run(ins, outs, scratch):
        kernel(ins[0].reshape(-1), *args, outs[0].reshape(-1))
    return run


def _f32_round_to_int(v: np.float32) -> int:
    """``static_cast<int32>(roundf(v))`` with x86's out-of-range result (INT32_MIN)."""
    r = int_math._round_away_exact(float(v)) if np.isfinite(v) else math.inf
    return int(r) if -(2.0**31) <= r < 2.0**31 else -(2**31)


def _int_relu(act_min: float, act_max: float, dtypes: dict):
    """Quantized RELU / RELU6 / RELU_N1_TO_1 / RELU_0_TO_1: rescale, then clamp to the
    activation bounds quantized with the output's scale (float32 ``roundf``)."""
    def prepare(ctx: PrepareContext) -> Run:
        x, out = _quantized_io(ctx, dtypes)
        if x.dtype == np.int16:
            ctx.check(x.zero_point == 0 and out.zero_point == 0,
                      "int16 input and output must have zero point 0")
        tmin, tmax = quant.dtype_range(x.dtype)
        s_out = np.float32(out.scale)
        with np.errstate(all="ignore"):
            lo = max(tmin, _wrap32(out.zero_point + _f32_round_to_int(
                np.float32(act_min) / s_out)))
            hi = tmax if act_max == math.inf else min(tmax, _wrap32(
                out.zero_point + _f32_round_to_int(np.float32(act_max) / s_out)))
        m, sh = quantize_multiplier(float(np.float32(x.scale) / s_out))
        return _flat_run(int_math.requantize_clamped, x.zero_point, m, sh,
                         out.zero_point, lo, hi)
    return prepare


def _wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def _int_leaky_relu(ctx: PrepareContext) -> Run:
    x, out = _quantized_io(ctx, _SAME_ALL)
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output must have zero point 0")
    alpha = np.float32(ctx.options.get("alpha", 0.0))
    s_in, s_out = np.float32(x.scale), np.float32(out.scale)
    real_alpha = float(s_in * alpha / s_out)
    # a negative alpha: 8-bit kernels negate the rescaled |alpha| product, the int16
    # kernel multiplies by the negative multiplier (whose ties round differently)
    sign = -1 if alpha < 0 and x.dtype != np.int16 else 1
    m_a, s_a = quantize_multiplier(real_alpha * sign)
    m_i, s_i = quantize_multiplier(float(s_in / s_out))
    qmin, qmax = quant.dtype_range(x.dtype)
    return _flat_run(int_math.leaky_relu_q, x.zero_point, m_i, s_i, m_a, s_a, sign,
                     out.zero_point, qmin, qmax)


def _int_lut(transform, out_scale: float | None = None, dtypes: dict = _SAME_8):
    """8-bit ops TFLite runs through a 256-entry LUT (LOGISTIC, TANH, GELU, ELU)."""
    def prepare(ctx: PrepareContext) -> Run:
        x, out = _quantized_io(ctx, dtypes)
        if out_scale is not None:
            ctx.check(np.float32(out.scale) == np.float32(out_scale),
                      f"the output scale must be {out_scale}")
        lut = int_math.lut_8bit(transform, x.dtype, x.scale, x.zero_point, out.scale,
                                out.zero_point)

        def run(ins, outs, scratch):
            int_math.apply_lut_8bit(ins[0].reshape(-1).view(np.uint8), lut,
                                    outs[0].reshape(-1))
        return run
    return prepare


def _int_prelu(ctx: PrepareContext) -> Run:
    x, out = _quantized_io(ctx, _SAME_ALL)
    ctx.check(len(ctx.inputs) == 2 and ctx.inputs[1] is not None, "needs an alpha input")
    alpha = ctx.inputs[1]
    # LiteRT's int16 kernel reads alpha as int8 whatever its type
    alpha_dtype = np.dtype(np.int8) if x.dtype == np.int16 else x.dtype
    ctx.check(alpha.dtype == alpha_dtype and quant.is_quantized(alpha),
              f"alpha must be quantized {alpha_dtype} for {x.dtype} input, not {alpha.dtype}")
    ctx.check(ctx.broadcast(x, alpha) == x.shape,
              f"alpha of shape {list(alpha.shape)} must broadcast into the input's "
              f"shape {list(x.shape)}")
    s_in, s_a, s_out = (np.float32(t.scale) for t in (x, alpha, out))
    m1, sh1 = quantize_multiplier(float(s_in / s_out))
    m2, sh2 = quantize_multiplier(float(s_in * s_a / s_out))
    ia = int_math.broadcast_index(alpha.shape, x.shape)
    qmin, qmax = quant.dtype_range(x.dtype)
    args = (-x.zero_point, -alpha.zero_point, out.zero_point, m1, sh1, m2, sh2, qmin, qmax)

    def run(ins, outs, scratch):
        int_math.prelu_q(ins[0].reshape(-1), ins[1].reshape(-1), ia, outs[0].reshape(-1),
                         *args)
    return run


def _int_gelu(ctx: PrepareContext) -> Run:
    approximate = ctx.options.get("approximate", False)
    if ctx.inputs[0].dtype != np.int16:
        return _int_lut(int_math.gelu_tanh_f32 if approximate else int_math.gelu_f32)(ctx)
    x, out = _int16_io(ctx)
    transform = int16_math.gelu_tanh_f32 if approximate else int16_math.gelu_f32
    lut = int_math.lut_int16(transform, x.scale, x.zero_point, out.scale, out.zero_point,
                             float32=True)
    return _table_run(int16_math.table_from_lut513(lut))


def _int16_io(ctx: PrepareContext) -> tuple[TensorSpec, TensorSpec]:
    x, out = _quantized_io(ctx, {"int16": ("int16",)})
    for role, spec in (("input", x), ("output", out)):
        scale = float(np.float32(spec.scale))
        ctx.check(math.isfinite(scale) and scale > 0,
                  f"the {role} scale must be positive and finite, not {scale}")
    return x, out


def _table_run(table: np.ndarray) -> Run:
    def run(ins, outs, scratch):
        int16_math.apply_table16(ins[0].reshape(-1), table, outs[0].reshape(-1))
    return run


def _int16_logistic_tanh(tanh: bool, prepare_8bit):
    """int16 LOGISTIC / TANH (symmetric, output scale 2**-15), 8-bit through
    ``prepare_8bit``. Input scale 2**-12 (TANH also 2**-11) takes gemmlowp's fixed
    point, any other the sigmoid-table path (``int16_math``)."""
    def prepare(ctx: PrepareContext) -> Run:
        if ctx.inputs[0].dtype != np.int16:
            return prepare_8bit(ctx)
        x, out = _int16_io(ctx)
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output must have zero point 0")
        out_log2, out_pot = int16_math.checked_log2(out.scale)
        exact = tanh or np.float32(out.scale) == np.float32(2.0**-15)  # LOGISTIC: exactly
        ctx.check(exact and out_pot and out_log2 == -15,
                  f"the output scale must be 2**-15, not {float(np.float32(out.scale))}")
        in_log2, in_pot = int16_math.checked_log2(x.scale)
        left_shift, multiplier = 12 + in_log2, 0
        if not (in_pot and left_shift in ((0, 1) if tanh else (0,))):
            multiplier, left_shift = int16_math.rescale_params(x.scale)
        if multiplier > 0:
            table = int16_math.table_sigmoid_lut(tanh, multiplier, left_shift)
        else:   # LiteRT's optimized (gemmlowp) kernel, also for a multiplier out of range
            table = int16_math.table_gemmlowp(tanh, int(tanh and left_shift != 0))
        return _table_run(table)
    return prepare


def _int_hard_swish(ctx: PrepareContext) -> Run:
    x, out = _quantized_io(ctx, _SAME_8)
    hires = np.float32(np.float32(1 / 128) * np.float32(x.scale))
    out_m, out_exp = quantize_multiplier(float(hires / np.float32(out.scale)))
    ctx.check(out_exp <= 0, "the output scale is too small for the input scale "
              "(HARD_SWISH needs input_scale / 128 < output_scale)")
    relu_m, relu_exp = quantize_multiplier(float(hires / np.float32(3 / 32768)))
    qmin, qmax = quant.dtype_range(x.dtype)
    return _flat_run(int_math.hard_swish_q, x.zero_point, out.zero_point,
                     int_math.to_q15(out_m), out_exp, int_math.to_q15(relu_m), relu_exp,
                     qmin, qmax)


def prepare_log_softmax_int(ctx: PrepareContext) -> Run:
    x, out = _quantized_io(ctx, _SAME_8)
    ctx.check(len(x.shape) >= 1, "input must have at least one dimension")
    zp = 127 if x.dtype == np.int8 else 255
    ctx.check(np.float32(out.scale) == np.float32(16 / 256) and out.zero_point == zp,
              f"the output must have scale 16/256 and zero point {zp}")
    depth = x.shape[-1]
    table = int_math.softmax_table_8bit(x.scale, 1.0)
    in_scale, out_scale = np.float32(x.scale), np.float32(out.scale)
    qmin, qmax = quant.dtype_range(x.dtype)

    def run(ins, outs, scratch):
        int_math.log_softmax_8bit(ins[0].reshape(-1, depth), outs[0].reshape(-1, depth),
                                  table, in_scale, out_scale, zp, qmin, qmax)
    return run


INTEGER_PREPARES = {
    "RELU": _int_relu(0.0, math.inf, _SAME_ALL),
    "RELU6": _int_relu(0.0, 6.0, _SAME_ALL),
    "RELU_N1_TO_1": _int_relu(-1.0, 1.0, _SAME_8),
    "RELU_0_TO_1": _int_relu(0.0, 1.0, _SAME_8),
    "LEAKY_RELU": _int_leaky_relu,
    "PRELU": _int_prelu,
    "ELU": _int_lut(int_math.elu_f32, dtypes={"int8": ("int8",)}),
    "LOGISTIC": _int16_logistic_tanh(False, _int_lut(int_math.logistic_f32, 1 / 256)),
    "TANH": _int16_logistic_tanh(True, _int_lut(int_math.tanh_f32)),
    "HARD_SWISH": _int_hard_swish,
    "GELU": _int_gelu,
    "SOFTMAX": prepare_softmax_int,
    "LOG_SOFTMAX": prepare_log_softmax_int,
}
