"""Elementwise binary ops with TFLite's (numpy's) broadcasting, on the dtypes TFLite's
builtin kernels take without quantization.

    op                   dtypes                       versions (what a version adds)
    ADD                  f32 i32 i64 i16              1-5  (2 int8-q, 3 int16-q, 4 int64, 5 int16)
    SUB                  f32 i32 i64                  1-5  (2 int8-q, 3 rank>4 broadcast, 4 int64,
                                                            5 int16-q)
    MUL                  f32 i32 i64 i16 u32          1-7  (2-4 quantized, 5 int64, 7 int16/uint32)
    DIV                  f32 i32                      1-2  (2 rank>4 broadcast)
    SQUARED_DIFFERENCE   f32 i32                      1-2  (2 int8-q)
    MAXIMUM, MINIMUM     f32 i32 i64 i16 i8 u8        1-4  (2 int8, 3 rank>4 broadcast, 4 int16)
    POW                  f32 i32                      1
    FLOOR_DIV            f32 i32 i16 i8               1-3  (2 float32, 3 int8/int16)
    FLOOR_MOD            f32 i32 i64 i16 i8           1-2  (2 int8/int16)
    LOGICAL_AND, _OR     bool                         1

Quantized paths (int8/uint8 always, int16 when quantized; ``elementwise_quantized``):
ADD, SUB, MUL on int8/uint8/int16 (int16 zero points 0; ADD/SUB int16 with power-of-two
scales take TFLite's saturating shift path unless ``pot_scale_int16`` is false) and
SQUARED_DIFFERENCE on int8, bit-exact with LiteRT's builtin kernels, including the int16
wrap of its vector blocks for same-shape and single-value broadcasts; DIV on int8/uint8/int16
(any zero points). MAXIMUM and MINIMUM compare raw values whatever the quantization, in TFLite
and here.

A zero divisor fails where TFLite's does (DIV and FLOOR_MOD on integers, FLOOR_DIV on any
dtype): at invoke with a RuntimeError naming the op, or at prepare when the divisor is a
constant. Float ADD/SUB/MUL/DIV clamp their results to +-FLT_MAX as TFLite does, fused
activation or not. Comparisons live in ``comparison.py``, SELECT in ``select.py``.
"""

from __future__ import annotations

import math

import numpy as np

from . import fused_activation
from .api import KernelDef, PrepareContext, Run, TensorSpec
from .quant import quantized_inputs


def dtypes(names: str) -> frozenset:
    """``"float32 int32"`` -> the set of those numpy dtypes."""
    return frozenset(np.dtype(n) for n in names.split())


_NONE = frozenset()
_SMALL_INTS = dtypes("int8 uint8 int16")   # what TFLite's arithmetic runs quantized
_FLT_MAX = float(np.finfo(np.float32).max)


def is_quantized(spec: TensorSpec) -> bool:
    q = spec.quantization
    return q is not None and len(q.scales) > 0


def check_dtype(ctx: PrepareContext, spec: TensorSpec, plain: frozenset,
                quantized: frozenset = _NONE, raw_quantized: bool = False) -> None:
    """``spec`` must be one of ``plain`` (unquantized unless ``raw_quantized``: the op
    reads the stored integers as they are). ``quantized``: dtypes TFLite always runs
    through its quantized path, reported as not supported yet."""
    tagged = (spec.dtype.metadata or {}).get("tflite_type")
    if tagged:
        raise ctx.error(f"{tagged} inputs are not supported")
    q = is_quantized(spec)
    if spec.dtype in plain and (raw_quantized or not q):
        return
    if q or spec.dtype in quantized:
        raise ctx.error(f"quantized {spec.dtype} inputs are not supported yet")
    names = ", ".join(sorted(d.name for d in plain))
    raise ctx.error(f"{spec.dtype} inputs are not supported (takes {names})")


def binary_inputs(ctx: PrepareContext, plain: frozenset, quantized: frozenset = _NONE,
                  raw_quantized: bool = False) -> tuple[TensorSpec, TensorSpec, tuple]:
    """The two inputs of a broadcasting binary op, checked, and their broadcast shape."""
    ctx.check(len(ctx.inputs) == 2 and None not in ctx.inputs, "needs two inputs")
    a, b = ctx.inputs
    ctx.check(a.dtype == b.dtype and a.dtype.metadata == b.dtype.metadata,
              f"input dtypes differ: {a.dtype} vs {b.dtype}")
    check_dtype(ctx, a, plain, quantized, raw_quantized)
    return a, b, ctx.broadcast(a, b)


def op_label(ctx: PrepareContext) -> str:
    """How a run-time error names the op (as the interpreter names a prepare error)."""
    return f"subgraph {ctx.subgraph_index}, operator {ctx.op_index} ({ctx.opcode})"


def _activation_bounds(ctx: PrepareContext, dtype: np.dtype):
    """The fused activation's clamp in ``dtype``: for floats always, inf and overflow
    becoming +-FLT_MAX as in TFLite; for integers RELU is [0, max], RELU6 [0, 6],
    RELU_N1_TO_1 [-1, 1] (uint32's -1 wraps to its maximum, so everything clamps to 1),
    and None means no clamp."""
    name = ctx.options.get("fused_activation_function", "NONE")
    bounds = fused_activation.float_bounds(ctx, name)
    if dtype.kind == "f":   # TFLite clamps floats to the finite range even for NONE
        lo, hi = bounds or (-math.inf, math.inf)
        return max(lo, -_FLT_MAX), min(hi, _FLT_MAX)
    if bounds is None:
        return None
    info = np.iinfo(dtype)
    lo = info.min if bounds[0] == -math.inf else int(bounds[0])
    hi = info.max if bounds[1] == math.inf else int(bounds[1])
    return np.array(lo).astype(dtype)[()], np.array(hi).astype(dtype)[()]


def _clamped(body: Run, bounds) -> Run:
    if bounds is None:
        return body
    def run(ins, outs, scratch):
        body(ins, outs, scratch)
        if outs[0].dtype == np.float32:
            fused_activation.apply_float(outs[0], bounds)
        else:
            np.clip(outs[0], *bounds, out=outs[0])
    return run


def _divisor_check(ctx: PrepareContext, b: TensorSpec) -> str | None:
    """TFLite fails an integer (and FLOOR_DIV's float) division by zero. A constant divisor
    is checked now; otherwise returns the message run raises when it finds a zero."""
    if b.is_const:
        ctx.check(bool(np.all(b.data)), "the divisor has a zero element")
        return None
    return f"{op_label(ctx)}: division by zero"


_ADD_SUB_MUL = {"ADD": (np.add, dtypes("float32 int32 int64 int16")),
                "SUB": (np.subtract, dtypes("float32 int32 int64")),
                "MUL": (np.multiply, dtypes("float32 int32 int64 int16 uint32"))}


def prepare_add_sub_mul(ctx: PrepareContext) -> Run:
    ufunc, plain = _ADD_SUB_MUL[ctx.opcode]
    if quantized_inputs(ctx):   # the integer kernels' module only for integer models
        from .elementwise_quantized import prepare_quantized_arith
        return prepare_quantized_arith(ctx)
    a, _, shape = binary_inputs(ctx, plain, _SMALL_INTS)
    ctx.set_output(0, shape, a.dtype)
    bounds = _activation_bounds(ctx, a.dtype)
    if a.dtype.kind != "f":
        def run_int(ins, outs, scratch):   # integers wrap, as TFLite's do
            ufunc(ins[0], ins[1], out=outs[0])
        return _clamped(run_int, bounds)

    b = ctx.input(1)
    if a.dtype == np.float32 and a.shape == b.shape == shape:   # the common case: one loop
        op = {"ADD": fused_activation.ADD, "SUB": fused_activation.SUB,
              "MUL": fused_activation.MUL}[ctx.opcode]
        lo, hi = np.float32(bounds[0]), np.float32(bounds[1])

        def run_same(ins, outs, scratch):
            fused_activation.binary_clamp(op, ins[0], ins[1], lo, hi, outs[0])
        return run_same

    def run(ins, outs, scratch):
        with np.errstate(all="ignore"):   # overflow and inf - inf, silent as in TFLite
            ufunc(ins[0], ins[1], out=outs[0])
    return _clamped(run, bounds)


def prepare_div(ctx: PrepareContext) -> Run:
    if quantized_inputs(ctx):
        from .elementwise_quantized import prepare_quantized_div
        return prepare_quantized_div(ctx)
    a, b, shape = binary_inputs(ctx, dtypes("float32 int32"), _SMALL_INTS)
    ctx.set_output(0, shape, a.dtype)
    bounds = _activation_bounds(ctx, a.dtype)
    if a.dtype.kind == "f":
        def run(ins, outs, scratch):
            with np.errstate(all="ignore"):   # inf / nan, silent as in TFLite
                np.divide(ins[0], ins[1], out=outs[0])
        return _clamped(run, bounds)
    zero_message = _divisor_check(ctx, b)
    rem = ctx.scratch(shape, a.dtype)

    def run_int(ins, outs, scratch):
        # C division truncates toward zero where numpy floors: x - fmod(x, y) is an exact
        # multiple of y, so flooring it divides exactly.
        x, y, out, r = ins[0], ins[1], outs[0], scratch[rem]
        if zero_message and not y.all():
            raise RuntimeError(zero_message)
        np.fmod(x, y, out=r)
        np.subtract(x, r, out=out)
        np.floor_divide(out, y, out=out)
    return _clamped(run_int, bounds)


def prepare_squared_difference(ctx: PrepareContext) -> Run:
    if ctx.inputs and ctx.inputs[0] is not None and ctx.inputs[0].dtype == np.int8:
        from .elementwise_quantized import prepare_squared_difference_int8
        return prepare_squared_difference_int8(ctx)
    a, _, shape = binary_inputs(ctx, dtypes("float32 int32"), dtypes("int8"))
    ctx.set_output(0, shape, a.dtype)

    def run(ins, outs, scratch):
        with np.errstate(all="ignore"):   # float overflow to inf, as TFLite
            np.subtract(ins[0], ins[1], out=outs[0])
            np.multiply(outs[0], outs[0], out=outs[0])
    return run


def prepare_maximum_minimum(ctx: PrepareContext) -> Run:
    a, _, shape = binary_inputs(ctx, dtypes("float32 int32 int64 int16 int8 uint8"),
                                raw_quantized=True)
    ctx.set_output(0, shape, a.dtype)
    maximum = ctx.opcode == "MAXIMUM"
    if a.dtype.kind != "f":
        ufunc = np.maximum if maximum else np.minimum

        def run(ins, outs, scratch):
            ufunc(ins[0], ins[1], out=outs[0])
        return run
    # TFLite computes ``x > y ? x : y`` (``<`` for MINIMUM): a NaN on either side gives y,
    # where numpy's maximum would give NaN, and of 0.0 and -0.0 it keeps y.
    compare = np.greater if maximum else np.less
    mask = ctx.scratch(shape, np.bool_)

    def run_float(ins, outs, scratch):
        x, y, out, m = ins[0], ins[1], outs[0], scratch[mask]
        np.copyto(out, y)
        compare(x, y, out=m)
        np.copyto(out, x, where=m)
    return run_float


def prepare_floor_div(ctx: PrepareContext) -> Run:
    a, b, shape = binary_inputs(ctx, dtypes("float32 int32 int16 int8"))
    ctx.set_output(0, shape, a.dtype)
    zero_message = _divisor_check(ctx, b)   # TFLite refuses a zero divisor, float too
    if a.dtype.kind != "f":
        def run_int(ins, outs, scratch):
            if zero_message and not ins[1].all():
                raise RuntimeError(zero_message)
            np.floor_divide(ins[0], ins[1], out=outs[0])
        return run_int
    mask = ctx.scratch(shape, np.bool_)

    def run(ins, outs, scratch):
        # TFLite floors the double quotient; numpy's floor_divide floors the exact one
        # (the same for finite floats) but follows Python for infinities: where either
        # side is infinite, the quotient is already its own floor (+-0, +-inf or nan).
        x, y, out, m = ins[0], ins[1], outs[0], scratch[mask]
        if zero_message and not y.all():
            raise RuntimeError(zero_message)
        with np.errstate(all="ignore"):
            np.floor_divide(x, y, out=out)
            for operand in (x, y):
                np.isinf(operand, out=m)
                np.divide(x, y, out=out, where=m)
    return run


def prepare_floor_mod(ctx: PrepareContext) -> Run:
    a, b, shape = binary_inputs(ctx, dtypes("float32 int32 int64 int16 int8"))
    ctx.set_output(0, shape, a.dtype)
    if a.dtype.kind == "f":
        def run(ins, outs, scratch):
            with np.errstate(invalid="ignore"):   # x mod 0 is nan, as TFLite's fmod
                np.mod(ins[0], ins[1], out=outs[0])
        return run
    zero_message = _divisor_check(ctx, b)

    def run_int(ins, outs, scratch):
        if zero_message and not ins[1].all():
            raise RuntimeError(zero_message)
        np.mod(ins[0], ins[1], out=outs[0])
    return run_int


def prepare_logical(ctx: PrepareContext) -> Run:
    _, _, shape = binary_inputs(ctx, dtypes("bool"))
    ctx.set_output(0, shape, np.bool_)
    ufunc = np.logical_and if ctx.opcode == "LOGICAL_AND" else np.logical_or

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
    return run


def prepare_pow(ctx: PrepareContext) -> Run:
    a, b, shape = binary_inputs(ctx, dtypes("float32 int32"))
    ctx.set_output(0, shape, a.dtype)
    if a.dtype.kind == "i":
        return _int_pow(ctx, b)
    if b.size != 1 or a.shape == b.shape:
        return _powf
    # TFLite's broadcast path: one exponent within 1e-5 of an integer n >= 1 is applied by
    # repeated multiplication (each product clamped to the float32 range) instead of powf.
    if b.is_const:
        bits = _exponent_bits(b.data)
        if bits is None:
            return _powf

        def run_const(ins, outs, scratch):
            _multiply_out(ins[0], bits, outs[0])
        return run_const

    def run(ins, outs, scratch):
        bits = _exponent_bits(ins[1])
        if bits is None:
            _powf(ins, outs, scratch)
        else:
            _multiply_out(ins[0], bits, outs[0])
    return run


def _powf(ins, outs, scratch):
    with np.errstate(all="ignore"):   # overflow to inf, nan for negative ** fraction
        np.power(ins[0], ins[1], out=outs[0])


def _exponent_bits(exponent: np.ndarray) -> str | None:
    """The binary digits of TFLite's integer exponent after the leading 1, or None when
    the exponent takes the powf path."""
    e = float(exponent.reshape(-1)[0])
    if not abs(e) < 2.0 ** 31:
        return None
    n = int(math.copysign(math.floor(abs(e) + 0.5), e))   # std::round: ties away from 0
    if n < 1 or not abs(e - n) < float(np.float32(1e-5)):
        return None
    return bin(n)[3:]


def _multiply_out(x: np.ndarray, bits: str, out: np.ndarray) -> None:
    """x ** n by squaring from the leading bit down, as TFLite's IntegerExponentPow."""
    np.copyto(out, x)
    with np.errstate(all="ignore"):
        for bit in bits:
            np.multiply(out, out, out=out)
            np.clip(out, -_FLT_MAX, _FLT_MAX, out=out)
            if bit == "1":
                np.multiply(x, out, out=out)
                np.clip(out, -_FLT_MAX, _FLT_MAX, out=out)


def _int_pow(ctx: PrepareContext, b: TensorSpec) -> Run:
    """int32 POW: TFLite refuses negative exponents; products wrap."""
    message = None
    if b.is_const:
        ctx.check(bool(np.all(b.data >= 0)), "int32 POW needs non-negative exponents")
    else:
        message = f"{op_label(ctx)}: int32 POW needs non-negative exponents"

    def run(ins, outs, scratch):
        y = ins[1]
        if message and y.size and y.min() < 0:
            raise RuntimeError(message)
        np.power(ins[0], y, out=outs[0])
    return run


KERNELS = {
    "ADD": KernelDef(prepare_add_sub_mul, 5),
    "SUB": KernelDef(prepare_add_sub_mul, 5),
    "MUL": KernelDef(prepare_add_sub_mul, 7),
    "DIV": KernelDef(prepare_div, 2),
    "SQUARED_DIFFERENCE": KernelDef(prepare_squared_difference, 2),
    "MAXIMUM": KernelDef(prepare_maximum_minimum, 4),
    "MINIMUM": KernelDef(prepare_maximum_minimum, 4),
    "POW": KernelDef(prepare_pow, 1),
    "FLOOR_DIV": KernelDef(prepare_floor_div, 3),
    "FLOOR_MOD": KernelDef(prepare_floor_mod, 2),
    "LOGICAL_AND": KernelDef(prepare_logical, 1),
    "LOGICAL_OR": KernelDef(prepare_logical, 1),
}
