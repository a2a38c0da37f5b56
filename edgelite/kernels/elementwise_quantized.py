"""TFLite's quantized ADD, SUB, MUL, DIV (int8, uint8, int16) and SQUARED_DIFFERENCE
(int8), bit-exact with LiteRT's builtin kernels; the arithmetic lives in ``int_math``
(DIV's in ``div_math``).

ADD/SUB int16 with power-of-two scales take TFLite's saturating shift path unless the
``pot_scale_int16`` option is false. 8-bit ADD/SUB look each output up in a 64K-entry
table that ``int_math``'s exact arithmetic fills at prepare. ``elementwise`` dispatches here when
``quant.quantized_inputs`` says the op takes TFLite's quantized path.
"""

from __future__ import annotations

import numpy as np

from . import div_math, int_math, quant
from .api import PrepareContext, Run, with_views
from .fixed_point import quantize_multiplier
from .quant import SMALL_INTS


def _quantized_operands(ctx: PrepareContext, dtypes_ok: frozenset):
    """Inputs a, b and output of a quantized binary op, all checked quantized and of one
    dtype; sets the output shape."""
    ctx.check(len(ctx.inputs) == 2 and None not in ctx.inputs, "needs two inputs")
    a, b = ctx.inputs
    out = ctx.outputs[0]
    for role, spec in (("input 0", a), ("input 1", b), ("output", out)):
        ctx.check(spec.dtype in dtypes_ok, f"{role} dtype {spec.dtype} is not supported "
                  f"(quantized {', '.join(sorted(d.name for d in dtypes_ok))})")
        ctx.check(quant.is_quantized(spec), f"{role} ({spec.dtype}) must be quantized")
    ctx.check(a.dtype == b.dtype == out.dtype,
              f"dtypes differ: {a.dtype}, {b.dtype} -> {out.dtype}")
    shape = ctx.broadcast(a, b)
    ctx.set_output(0, shape, a.dtype)
    return a, b, out, shape


def prepare_quantized_arith(ctx: PrepareContext) -> Run:
    """ADD, SUB, MUL on int8/uint8/int16 quantized tensors, as LiteRT's integer kernels."""
    a, b, out, shape = _quantized_operands(ctx, SMALL_INTS)
    lo, hi = quant.output_activation_range(ctx, out)
    int16 = a.dtype == np.int16
    if int16:
        ctx.check(a.zero_point == 0 and b.zero_point == 0 and out.zero_point == 0,
                  "int16 inputs and output must have zero point 0")
    ix = int_math.broadcast_index(a.shape, shape)
    iy = int_math.broadcast_index(b.shape, shape)
    off1, off2, off_out = -a.zero_point, -b.zero_point, out.zero_point
    qmin, qmax = quant.dtype_range(a.dtype)
    wrap_n = _vector_blocks(ctx, a, b, shape)
    if ctx.opcode == "MUL":
        real = np.float32(a.scale) * np.float32(b.scale) / np.float32(out.scale)
        m, s = quantize_multiplier(float(real))

        def run_mul(ins, outs, scratch):
            int_math.mul_rescaled(ins[0].reshape(-1), ins[1].reshape(-1), ix, iy,
                                  outs[0].reshape(-1), off1, off2, off_out, m, s, lo, hi,
                                  wrap_n, qmin, qmax, a.dtype == np.int8)
        return run_mul
    sign2 = 1 if ctx.opcode == "ADD" else -1
    logs = [int_math.pot_log2(t.scale) for t in (a, b, out)]
    if int16 and ctx.options.get("pot_scale_int16", True) and None not in logs:
        return _pot16(ctx, a, b, out, shape, logs, sign2, lo, hi)
    left_shift = 15 if int16 else 20
    (m1, s1), (m2, s2), (mo, so) = int_math.add_sub_params(a.scale, b.scale, out.scale,
                                                           left_shift)
    if ctx.opcode == "ADD" and so > 0:
        raise ctx.error("the output scale is too small for the input scales (LiteRT "
                        "requires an output rescale below 1)")

    n = int(np.prod(shape, dtype=np.int64))
    if not int16:
        # int8 ADD's vector blocks round as LiteRT's NEON code does (int_math)
        neon8 = 0 if ctx.opcode != "ADD" or a.dtype != np.int8 else \
            1 if a.shape == b.shape else 2
        return _table8(a.dtype, (left_shift, off1, m1, s1, off2, m2, s2, sign2, off_out, mo,
                                 so, lo, hi, qmin, qmax), ix, iy, wrap_n, n, neon8)

    # same-shape int16 ADD: LiteRT runs NEON code (emulated on x86) on blocks of 16;
    # its int16 SUB has no such blocks off AVX2 builds
    neon_n = n - n % 16 if int16 and ctx.opcode == "ADD" and a.shape == b.shape else 0

    def run(ins, outs, scratch):
        int_math.add_sub_rescaled(ins[0].reshape(-1), ins[1].reshape(-1), ix, iy,
                                  outs[0].reshape(-1), left_shift, off1, m1, s1, off2, m2,
                                  s2, sign2, off_out, mo, so, lo, hi, wrap_n, qmin, qmax,
                                  neon_n)
    return run


def _table8(dtype, args: tuple, ix, iy, wrap_n: int, n: int, neon8: int) -> Run:
    """8-bit ADD/SUB: each output is a function of two bytes, tabulated once at prepare
    (``int_math.add_sub_tables8``); a lookup per element at run time."""
    head, tail = int_math.add_sub_tables8(dtype, args, wrap_n, n, neon8)

    def flat(ins, outs, scratch):
        return (ins[0].reshape(-1), ins[1].reshape(-1), ix, iy, head, tail, wrap_n,
                outs[0].reshape(-1))
    return with_views(flat, int_math.lookup_pairs8)


def prepare_quantized_div(ctx: PrepareContext) -> Run:
    """DIV on int8/uint8/int16 quantized tensors (any zero points), as LiteRT's integer
    kernel: a divisor equal to its zero point fails, at prepare when it is constant."""
    a, b, out, shape = _quantized_operands(ctx, SMALL_INTS)
    lo, hi = quant.output_activation_range(ctx, out)
    with np.errstate(all="ignore"):   # float32, as TFLite's prepare computes it
        real = np.float32(a.scale) / (np.float32(b.scale) * np.float32(out.scale))
    ctx.check(bool(np.isfinite(real)) and real > 0,
              f"the output multiplier s_x / (s_y * s_out) = {float(real)} is out of range")
    m, s = div_math.quantize_multiplier_uncapped(float(real))
    ix = int_math.broadcast_index(a.shape, shape)
    iy = int_math.broadcast_index(b.shape, shape)
    args = (-a.zero_point, -b.zero_point, out.zero_point, m, s, lo, hi)
    zp_b = b.zero_point
    if b.is_const:
        ctx.check(not div_math.has_zero_divisor(np.ravel(b.data), zp_b),
                  "the divisor has a zero element (a value equal to its zero point)")
    # named as the interpreter names a prepare error (elementwise.op_label)
    message = f"subgraph {ctx.subgraph_index}, operator {ctx.op_index} (DIV): division by zero"

    def run(ins, outs, scratch):
        y = ins[1].reshape(-1)
        if div_math.has_zero_divisor(y, zp_b):
            raise RuntimeError(message)
        div_math.div_quantized(ins[0].reshape(-1), y, ix, iy, outs[0].reshape(-1), *args)
    return run


def prepare_squared_difference_int8(ctx: PrepareContext) -> Run:
    a, b, out, shape = _quantized_operands(ctx, frozenset([np.dtype(np.int8)]))
    s1, s2, so = (float(np.float32(t.scale)) for t in (a, b, out))
    twice_max = 2.0 * max(s1, s2)
    (m1, sh1), (m2, sh2) = (quantize_multiplier(v / twice_max) for v in (s1, s2))
    real_out = twice_max * twice_max / (float(1 << 14) * so)
    ctx.check(real_out < 1.0, "the output scale is too small for the input scales "
              "(LiteRT requires an output rescale below 1)")
    mo, sho = quantize_multiplier(real_out)
    ix = int_math.broadcast_index(a.shape, shape)
    iy = int_math.broadcast_index(b.shape, shape)
    args = (-a.zero_point, m1, sh1, -b.zero_point, m2, sh2, out.zero_point, mo, sho,
            -128, 127)

    def run(ins, outs, scratch):
        int_math.squared_difference_q(ins[0].reshape(-1), ins[1].reshape(-1), ix, iy,
                                      outs[0].reshape(-1), *args)
    return run


# LiteRT's optimized 8-bit ADD/MUL (NEON code, emulated with SSE on x86) runs blocks of
# lanes where the rescaled value is narrowed to int16 (wrapping; int8 MUL saturating)
# before the output offset is added in int16 (wrapping); the scalar tail does neither.
# Lanes per block: (same shapes, one single-value input).
_LANES = {("ADD", "int8"): (16, 8), ("ADD", "uint8"): (8, 8),
          ("MUL", "int8"): (16, 16), ("MUL", "uint8"): (0, 8)}


def _vector_blocks(ctx, a, b, shape) -> int:
    """How many leading output elements go through the wrapping vector blocks (it
    matters only for results far outside the output range). Other broadcasts are
    treated as scalar code."""
    lanes = _LANES.get((ctx.opcode, a.dtype.name))
    n = int(np.prod(shape, dtype=np.int64))
    if lanes is None:
        return 0
    k = lanes[0] if a.shape == b.shape else lanes[1] if 1 in (a.size, b.size) else 0
    return n - n % k if k else 0


def _pot16(ctx, a, b, out, shape, logs, sign2, lo, hi) -> Run:
    """The int16 power-of-two path (LSTM-style symmetric tensors)."""
    ctx.check(a.zero_point == 0 and b.zero_point == 0 and out.zero_point == 0,
              "int16 inputs and output must have zero point 0")
    shift1, shift2 = logs[2] - logs[0], logs[2] - logs[1]   # right shifts
    ctx.check(shift1 >= 0 and shift2 >= 0 and (shift1 == 0 or shift2 == 0),
              "power-of-two int16 scales: only one input may be finer than the output, "
              "and none coarser")
    ctx.check(a.shape == b.shape, "power-of-two int16 inputs must have the same shape")

    def run(ins, outs, scratch):
        int_math.add_sub_pot16(ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1),
                               shift1, shift2, sign2, lo, hi)
    return run
