"""Quantization parameters as the integer kernels need them, computed as LiteRT computes them.

The small print matters for bit-exactness:

* activation clamps (``activation_range``) quantize 0, 6 and +-1 with a *float32* division
  ``f / scale`` rounded half away from zero, then clamp to the dtype's range;
* per-channel conv multipliers (``per_channel_multipliers``) are
  ``double(in_scale) * double(w_scale[c]) / double(out_scale)``, while the legacy
  per-tensor path (``per_tensor_conv_multiplier``) multiplies the two scales in *float32*
  first;
* ``requantize`` is ``fixed_point.mul_by_qm`` over whole numpy arrays (int64 lanes,
  vectorised, no numba), with per-channel multipliers broadcast along the last axis.

Nothing here knows about the interpreter beyond reading a ``TensorSpec``.
"""

from __future__ import annotations

import numpy as np

from .fixed_point import quantize_multiplier, quantize_multipliers

_DTYPE_RANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255),
                np.dtype(np.int16): (-32768, 32767), np.dtype(np.int32): (-(2**31), 2**31 - 1)}


SMALL_INTS = frozenset(np.dtype(n) for n in ("int8", "uint8", "int16"))


def integer_input(ctx) -> bool:
    """Whether the op takes TFLite's integer path: an int8/uint8/int16 first input."""
    x = ctx.inputs[0] if ctx.inputs else None
    return x is not None and x.dtype in SMALL_INTS and not (x.dtype.metadata or {})


def is_integer_op(ctx) -> bool:
    """True when the op's input is an integer tensor (the integer kernels apply)."""
    x = ctx.input(0)
    return x is not None and x.dtype in SMALL_INTS


def is_hybrid_op(ctx) -> bool:
    """Float32 input with int8 weights: the dynamic-range kernels."""
    x, w = ctx.input(0), ctx.input(1)
    return (x is not None and w is not None and x.dtype == np.float32
            and w.dtype in (np.dtype(np.int8), np.dtype(np.uint8)))


def quantized_inputs(ctx) -> bool:
    """Whether an arithmetic op takes TFLite's quantized path: int8/uint8 inputs always,
    int16 when quantized (an unquantized int16 is plain integer arithmetic)."""
    return integer_input(ctx) and (ctx.inputs[0].dtype != np.int16
                                   or is_quantized(ctx.inputs[0]))


def dtype_range(dtype) -> tuple[int, int]:
    """(qmin, qmax) of an integer tensor type."""
    return _DTYPE_RANGE[np.dtype(dtype)]


def is_quantized(spec) -> bool:
    q = spec.quantization if spec is not None else None
    return q is not None and len(q.scales) > 0


def scales(spec) -> np.ndarray:
    """The tensor's scales as float32 (one per channel, or one)."""
    return np.asarray(spec.quantization.scales, np.float32).reshape(-1)


def zero_points(spec) -> np.ndarray:
    return np.asarray(spec.quantization.zero_points, np.int64).reshape(-1)


def _round_half_away(x: np.float32) -> int:
    x = float(x)
    return int(np.floor(x + 0.5)) if x >= 0 else -int(np.floor(-x + 0.5))


def activation_range(name: str, scale: float, zero_point: int, dtype) -> tuple[int, int]:
    """The integer clamp for a fused activation on an output with this scale/zero point.

    Raises OverflowError, as LiteRT refuses the op, when a bound quantizes outside int32
    (a degenerate output scale)."""
    qmin, qmax = dtype_range(dtype)
    s = np.float32(scale)

    def q(f: float) -> int:
        with np.errstate(all="ignore"):
            ratio = np.float32(f) / s
        if not (np.isfinite(ratio) and -(2.0**31) <= float(ratio) <= 2.0**31):
            raise OverflowError(f"the fused activation bound {f} quantizes outside int32 "
                                f"with output scale {float(s)!r} (integer overflow)")
        return int(zero_point) + _round_half_away(ratio)

    if name == "RELU":
        return max(qmin, q(0.0)), qmax
    if name == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if name == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def output_activation_range(ctx, out_spec, name: str | None = None) -> tuple[int, int]:
    """``activation_range`` for the op's fused activation option and its output tensor;
    rejects activations that are not clamps (TANH, SIGN_BIT) with the op named."""
    if name is None:
        name = (ctx.options or {}).get("fused_activation_function", "NONE")
    if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise ctx.error(f"fused activation {name} is not supported")
    try:
        return activation_range(name, out_spec.scale, out_spec.zero_point, out_spec.dtype)
    except OverflowError as e:
        raise ctx.error(f"output tensor {out_spec.name!r}: {e}") from None


def per_channel_multipliers(input_scale: float, weight_scales, output_scale: float
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(multiplier int32[c], shift int32[c]) for ``in * w[c] / out``, in double precision."""
    w = np.asarray(weight_scales, np.float32).astype(np.float64)
    real = np.float64(np.float32(input_scale)) * w / np.float64(np.float32(output_scale))
    return quantize_multipliers(real)


def per_tensor_conv_multiplier(input_scale: float, weight_scale: float,
                               output_scale: float) -> tuple[int, int]:
    """The legacy (uint8) multiplier: the scale product is formed in float32 first."""
    product = np.float64(np.float32(input_scale) * np.float32(weight_scale))
    return quantize_multiplier(float(product / np.float64(np.float32(output_scale))))


def requantize(acc: np.ndarray, multiplier, shift) -> np.ndarray:
    """``fixed_point.mul_by_qm`` elementwise over an integer array (returns int64).

    ``multiplier``/``shift`` are scalars or arrays broadcast against ``acc`` (per-channel
    values along the last axis). The left shift wraps to int32 as the C++ does."""
    x = np.asarray(acc, np.int64)
    m = np.asarray(multiplier, np.int64)
    s = np.asarray(shift, np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    a = (x << left).astype(np.int32).astype(np.int64)
    ab = a * m
    total = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))   # truncating division
    high = np.where((a == -(2**31)) & (m == -(2**31)), 2**31 - 1, high)
    mask = (np.int64(1) << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)
