"""Quantization-aware training: TF's FakeQuant ops -> the QDQ form ``quantize.qdq.fold_qdq``
turns into integer ops (as the ONNX frontend lowers QuantizeLinear/DequantizeLinear).

    FakeQuantWithMinMaxArgs(x; min, max, num_bits, narrow_range)      min/max attributes
    FakeQuantWithMinMaxVars(x, min, max; num_bits, narrow_range)      scalar min/max
    FakeQuantWithMinMaxVarsPerChannel(x, min[d], max[d]; ...)         along the last axis

The ranges are nudged as TF's converter nudges them (MLIR's ``fakeQuantAttrsToType``,
in double precision): storage [qmin, qmax] = [narrow_range, 2^bits - 1] (unsigned),
``scale = (max - min) / (qmax - qmin)``, the zero point solved from whichever of (min,
qmin) / (max, qmax) carries the smaller rounding error, clamped to [qmin, qmax] and
rounded half away from zero; int8 is that unsigned type shifted by -128. (TF's float
kernel nudges the same way in float32 and always from min: a zero point that sits on a
tie can differ by one step; the converted file follows the converter.)

- an activation: QUANTIZE to an int8 tensor with (scale, zero point) -> DEQUANTIZE;
- a constant (a weight; variables are constants by now): quantized as TF's converter
  quantizes it -- the raw float weight, ``round_half_away(w / scale + zp)`` clamped to
  [qmin, qmax] -- and kept as the float ``(q - zp) * scale``, whose scales are recorded
  so that ``fold_qdq`` rebuilds exactly these int8 weights.
"""

from __future__ import annotations

import numpy as np

from ....schema import ir
from ..nhwc_builder import Builder, Value

OPS = ("FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVars",
       "FakeQuantWithMinMaxVarsPerChannel")


def _round_half_away(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def nudged_params(lo, hi, num_bits: int = 8, narrow_range: bool = False):
    """(float32 scales, int8 zero points, (qmin, qmax) unsigned) for ranges [lo, hi]
    (arrays: one per channel), as TF's converter derives them."""
    lo = np.asarray(lo, np.float32).astype(np.float64).reshape(-1)
    hi = np.asarray(hi, np.float32).astype(np.float64).reshape(-1)
    if num_bits != 8:
        raise ValueError(f"num_bits={num_bits} (only 8-bit FakeQuant is supported)")
    if np.any(lo > 0) or np.any(hi < 0) or np.any(lo >= hi):
        bad = int(np.argmax((lo > 0) | (hi < 0) | (lo >= hi)))
        raise ValueError(f"range [{lo[bad]}, {hi[bad]}] must contain 0 and not be empty")
    qmin, qmax = (1 if narrow_range else 0), (1 << num_bits) - 1
    scale = (hi - lo) / (qmax - qmin)
    from_min, err_min = qmin - lo / scale, qmin + np.abs(lo / scale)
    from_max, err_max = qmax - hi / scale, qmax + np.abs(hi / scale)
    zp = np.where(err_min < err_max, from_min, from_max)
    zp = np.where(zp < qmin, qmin, np.where(zp > qmax, qmax, _round_half_away(zp)))
    return scale, zp.astype(np.int64), (qmin, qmax)


def _ranges(b: Builder, node, ins) -> tuple[np.ndarray, np.ndarray]:
    if node.op == "FakeQuantWithMinMaxArgs":
        return (np.float32(node.attrs.get("min", -6.0)), np.float32(node.attrs.get("max", 6.0)))
    for v, what in ((ins[1], "min"), (ins[2], "max")):
        if v.const is None:
            raise b.error(f"the FakeQuant {what} must be known at conversion")
    return np.asarray(ins[1].const), np.asarray(ins[2].const)


def lower(b: Builder, node, ins, weight_scales: list) -> list[Value]:
    x = ins[0]
    lo, hi = _ranges(b, node, ins)
    try:
        scale, zp_u, (qmin, qmax) = nudged_params(lo, hi, int(node.attrs.get("num_bits", 8)),
                                                  bool(node.attrs.get("narrow_range", False)))
    except ValueError as e:
        raise b.error(f"FakeQuant {e}") from None
    per_channel = node.op.endswith("PerChannel")
    if per_channel and scale.size != x.shape[-1]:
        raise b.error(f"{scale.size} per-channel ranges for {x.shape[-1]} channels")
    if x.const is not None:
        return [_weight(b, np.asarray(x.const, np.float32), scale, zp_u, qmin, qmax,
                        weight_scales)]
    if per_channel and scale.size > 1:
        raise b.error("a per-channel FakeQuant on an activation is not supported "
                      "(TFLite activations are quantized per tensor)")
    q = b.op1("QUANTIZE", [x], x.shape, np.int8)
    b.sg.tensors[q.index].quantization = ir.Quantization(
        scales=np.float32(scale).reshape(-1), zero_points=zp_u.reshape(-1) - 128)
    return [b.op1("DEQUANTIZE", [q], x.shape, np.float32)]


def _weight(b, w, scale, zp_u, qmin, qmax, weight_scales) -> Value:
    """The float weight TF's converter's int8 weight stands for (last axis = channels)."""
    q = np.clip(_round_half_away(w.astype(np.float64) / scale + zp_u), qmin, qmax)
    s32 = scale.astype(np.float32)
    deq = ((q - zp_u).astype(np.float32) * s32).astype(np.float32)
    if np.all(zp_u == 128):        # symmetric: fold_qdq can rebuild int8 q * scale
        weight_scales.append(s32)
    return b.const(deq)
