"""QuantizeLinear / DequantizeLinear.

    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
    DequantizeLinear: y = (x - zero_point) * scale

An activation quantized per tensor to int8/uint8 with constant parameters becomes TFLite's
QUANTIZE / DEQUANTIZE on a tensor carrying that quantization, so that
``quantize.qdq.fold_qdq`` can turn the ops between such pairs into integer ops. (TFLite's
QUANTIZE multiplies by 1/scale and may round a tie away from zero: a value exactly
halfway between two steps can land one step away from ONNX's.) Everything else -- per-axis
or run-time parameters, int16/uint16/int32 -- is float arithmetic: TFLite's ROUND rounds
half to even, as ONNX does. Weights (DequantizeLinear of a constant) fold to float
constants at conversion; ``weight_scales`` lists their scales for ``fold_qdq``. Blocked
quantization and the float8/int4 types are not supported (TFLite has no tensors of those
types).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from .....schema import ir
from ._common import norm_axis
from .elementwise import binary, scalar, unary
from .nn import _reshape_logical

_RANGES = {np.dtype(t): (np.iinfo(t).min, np.iinfo(t).max)
           for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32)}


def _along(ctx, v, x_rank: int, axis: int, dtype):
    """A scale/zero point as a float value that broadcasts against the input."""
    if v.rank == 0 or (v.rank == 1 and v.shape[0] == 1 and x_rank != 1):
        shape = ()
    else:
        axis = norm_axis(axis, x_rank, ctx)
        shape = tuple(v.shape[0] if a == axis else 1 for a in range(x_rank))
    if v.const is not None:
        return ctx.const_value(np.asarray(v.const).astype(dtype).reshape(shape))
    f = v if v.dtype == dtype else unary(ctx, "CAST", v, dtype=dtype)
    return _reshape_logical(ctx, f, shape) if f.shape != shape else f


def _check(ctx, attrs):
    if int(attrs.get("block_size", 0)):
        raise ctx.error("blocked quantization (block_size) is not supported")


_AFFINE = (np.dtype(np.int8), np.dtype(np.uint8))   # what TFLite's QUANTIZE pairs use


def _per_tensor(scale, zp) -> ir.Quantization | None:
    """The quantization of constant per-tensor parameters, else None."""
    if scale.const is None or scale.const.size != 1 or \
            (zp is not None and (zp.const is None or zp.const.size != 1)):
        return None
    s = float(np.float32(np.asarray(scale.const).reshape(-1)[0]))
    if not (np.isfinite(s) and s > 0):
        return None
    z = 0 if zp is None else int(np.asarray(zp.const).reshape(-1)[0])
    return ir.Quantization(scales=np.array([s], np.float32),
                           zero_points=np.array([z], np.int64))


def _same(a: ir.Quantization, b: ir.Quantization) -> bool:
    return a.scales.tolist() == b.scales.tolist() and \
        a.zero_points.tolist() == b.zero_points.tolist()


def _quantize(ctx, node, ins, attrs):
    _check(ctx, attrs)
    x, scale = ins[0], ins[1]
    zp = ins[2] if len(ins) > 2 else None
    if "output_dtype" in attrs and int(attrs["output_dtype"]):
        out = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["output_dtype"])))
    else:
        out = zp.dtype if zp is not None else np.dtype(np.uint8)
    if out not in _RANGES:
        raise ctx.error(f"quantizing to {out} is not supported")
    q = _per_tensor(scale, zp)
    if q is not None and out in _AFFINE and x.dtype == np.float32 and x.const is None:
        y = ctx.emit("QUANTIZE", [x.index], [x.shape], [out],
                     perm=x.perm)[0]
        ctx.sg.tensors[y.index].quantization = q
        return [y]
    axis = int(attrs.get("axis", 1))
    f = np.float32
    y = unary(ctx, "ROUND", binary(ctx, "DIV", x, _along(ctx, scale, x.rank, axis, f)))
    if zp is not None:
        y = binary(ctx, "ADD", y, _along(ctx, zp, x.rank, axis, f))
    lo, hi = _RANGES[out]
    y = binary(ctx, "MINIMUM", binary(ctx, "MAXIMUM", y, scalar(ctx, lo, f)),
               scalar(ctx, hi, f))
    return [unary(ctx, "CAST", y, dtype=out)]


def _dequantize(ctx, node, ins, attrs):
    _check(ctx, attrs)
    x, scale = ins[0], ins[1]
    zp = ins[2] if len(ins) > 2 else None
    if x.dtype not in _RANGES:
        raise ctx.error(f"dequantizing {x.dtype} is not supported")
    q = _per_tensor(scale, zp)
    if q is not None and x.dtype in _AFFINE and x.const is None and \
            scale.dtype == np.float32 and _carries(ctx, x, q):
        return ctx.emit("DEQUANTIZE", [x.index], [x.shape],
                        [np.float32], perm=x.perm)
    axis = int(attrs.get("axis", 1))
    f = scale.dtype if scale.dtype.kind == "f" else np.dtype(np.float32)
    y = unary(ctx, "CAST", x, dtype=f) if x.const is None else \
        ctx.const_value(np.asarray(x.const).astype(f))
    if zp is not None:
        y = binary(ctx, "SUB", y, _along(ctx, zp, x.rank, axis, f))
    return [binary(ctx, "MUL", y, _along(ctx, scale, x.rank, axis, f))]


def _carries(ctx, x, q: ir.Quantization) -> bool:
    """Whether ``x``'s tensor holds quantization ``q``: it does, or it is a graph input
    without any (which then takes ``q``). Another op's unquantized integer output must
    not take one: that would change what the op computes."""
    tensor = ctx.sg.tensors[x.index]
    if tensor.quantization is not None:
        return _same(tensor.quantization, q)
    if x.index in ctx.sg.inputs:
        tensor.quantization = q
        return True
    return False


def weight_scales(model) -> list[np.ndarray]:
    """The float32 scales of every DequantizeLinear of a constant int8 tensor with zero
    zero points in ``model`` (an onnx.ModelProto): the candidate per-channel (or
    per-tensor) scales ``quantize.qdq.fold_qdq`` rebuilds int8 weights with."""
    from onnx import numpy_helper

    known = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            known[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    found = []
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 2:
            continue
        x, s = known.get(node.input[0]), known.get(node.input[1])
        z = known.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if x is None or s is None or x.dtype != np.int8 or s.dtype != np.float32:
            continue
        if z is not None and np.any(z != 0):
            continue
        found.append(np.asarray(s, np.float32).reshape(-1))
    return found


RULES = {"QuantizeLinear": _quantize, "DequantizeLinear": _dequantize}
