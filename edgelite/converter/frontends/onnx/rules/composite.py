"""ONNX ops with no single TFLite builtin, composed from several: normalizations
(LayerNormalization, RMSNormalization, InstanceNormalization, LpNormalization), the
compound reductions (ReduceL1/L2/SumSquare/LogSum/LogSumExp), Hardmax and Erf."""

from __future__ import annotations

import numpy as np

from ._common import norm_axis
from .elementwise import binary, scalar, unary
from .nn import _reshape_logical
from .shape import _reduce_axes, reduce, reduce_runtime


def _normalize_over(ctx, x, axes, eps, center: bool, stats: bool = False):
    """(x - mean) / sqrt(var + eps) over ``axes`` (or x / sqrt(mean(x^2) + eps)); with
    ``stats`` also the mean and 1/sqrt(var + eps)."""
    mean = None
    if center:
        mean = reduce(ctx, "MEAN", x, axes, True)
        x = binary(ctx, "SUB", x, mean)
    var = reduce(ctx, "MEAN", binary(ctx, "MUL", x, x), axes, True)
    inv = unary(ctx, "RSQRT", binary(ctx, "ADD", var, scalar(ctx, eps, x.dtype)))
    y = binary(ctx, "MUL", x, inv)
    return (y, mean, inv) if stats else y


def _affine(ctx, y, scale, bias):
    if scale is not None:
        y = binary(ctx, "MUL", y, scale)
    if bias is not None:
        y = binary(ctx, "ADD", y, bias)
    return y


def _layer_norm(ctx, node, ins, attrs):
    x, scale, bias = (list(ins) + [None, None])[:3]
    axis = norm_axis(int(attrs.get("axis", -1)), x.rank, ctx)
    eps = float(attrs.get("epsilon", 1e-5))
    axes = list(range(axis, x.rank))
    y, mean, inv = _normalize_over(ctx, x, axes, eps, True, stats=True)
    return [_affine(ctx, y, scale, bias), mean, inv]


def _rms_norm(ctx, node, ins, attrs):
    x, scale = ins[0], ins[1] if len(ins) > 1 else None
    axis = norm_axis(int(attrs.get("axis", -1)), x.rank, ctx)
    eps = float(attrs.get("epsilon", 1e-5))
    y = _normalize_over(ctx, x, list(range(axis, x.rank)), eps, False)
    return [_affine(ctx, y, scale, None)]


def _instance_norm(ctx, node, ins, attrs):
    x, scale, bias = ins
    eps = float(attrs.get("epsilon", 1e-5))
    tail = (1,) * (x.rank - 2)
    y = _normalize_over(ctx, x, list(range(2, x.rank)), eps, True)
    return [_affine(ctx, y, channel_vector(ctx, scale, x.rank),
                    channel_vector(ctx, bias, x.rank))]


def channel_vector(ctx, v, rank):
    """A per-channel [C] value as [C, 1, ...] so it broadcasts over N, C, spatial..."""
    return _reshape_logical(ctx, v, (v.shape[0],) + (1,) * (rank - 2))


def batch_norm_runtime(ctx, x, scale, bias, mean, var, eps):
    """BatchNormalization whose statistics are computed tensors."""
    xm = binary(ctx, "SUB", x, channel_vector(ctx, mean, x.rank))
    inv = unary(ctx, "RSQRT", binary(ctx, "ADD", channel_vector(ctx, var, x.rank),
                                     scalar(ctx, eps, x.dtype)))
    y = binary(ctx, "MUL", xm, binary(ctx, "MUL", inv, channel_vector(ctx, scale, x.rank)))
    return binary(ctx, "ADD", y, channel_vector(ctx, bias, x.rank))


def _lp_norm(ctx, node, ins, attrs):
    x = ins[0]
    axis = norm_axis(int(attrs.get("axis", -1)), x.rank, ctx)
    p = int(attrs.get("p", 2))
    if p == 2:
        n = unary(ctx, "SQRT", reduce(ctx, "SUM", binary(ctx, "MUL", x, x), [axis], True))
    elif p == 1:
        n = reduce(ctx, "SUM", unary(ctx, "ABS", x), [axis], True)
    else:
        raise ctx.error(f"LpNormalization with p={p} is not supported")
    # x / n, with 0 where the norm is 0 (ONNX's reference leaves 0/0 as 0)
    safe = binary(ctx, "MAXIMUM", n, scalar(ctx, np.finfo(np.float32).tiny, x.dtype))
    return [binary(ctx, "DIV", x, safe)]


def _compound_reduce(kind):
    def rule(ctx, node, ins, attrs):
        x = ins[0]
        axes = _reduce_axes(ctx, node, ins, attrs, x)
        if axes is None:
            axes = []
        keep = bool(attrs.get("keepdims", 1))
        if not isinstance(axes, list):
            pre = {"L1": lambda v: unary(ctx, "ABS", v), "LogSum": lambda v: v}.get(
                kind, lambda v: binary(ctx, "MUL", v, v))
            if kind == "LogSumExp":
                pre = lambda v: unary(ctx, "EXP", v)   # noqa: E731 (unstabilised: axes unknown)
            r = reduce_runtime(ctx, "SUM", pre(x), axes, attrs)
            post = {"L2": "SQRT", "LogSum": "LOG", "LogSumExp": "LOG"}.get(kind)
            return [unary(ctx, post, r) if post else r]
        if kind == "L1":
            return [reduce(ctx, "SUM", unary(ctx, "ABS", x), axes, keep)] if axes else \
                [unary(ctx, "ABS", x)]
        if kind == "SumSquare":
            sq = binary(ctx, "MUL", x, x)
            return [reduce(ctx, "SUM", sq, axes, keep) if axes else sq]
        if kind == "L2":
            sq = binary(ctx, "MUL", x, x)
            return [unary(ctx, "SQRT", reduce(ctx, "SUM", sq, axes, keep) if axes else sq)]
        if kind == "LogSum":
            return [unary(ctx, "LOG", reduce(ctx, "SUM", x, axes, keep) if axes else x)]
        # LogSumExp, stable: m + log(sum(exp(x - m)))
        if not axes:
            return [x]
        m = reduce(ctx, "REDUCE_MAX", x, axes, True)
        m = binary(ctx, "MAXIMUM", m, scalar(ctx, np.finfo(np.float32).min, x.dtype))
        s = reduce(ctx, "SUM", unary(ctx, "EXP", binary(ctx, "SUB", x, m)), axes, keep)
        mk = m if keep else reduce(ctx, "REDUCE_MAX", m, axes, False)
        return [binary(ctx, "ADD", unary(ctx, "LOG", s), mk)]
    return rule


def _hardmax(ctx, node, ins, attrs):
    x = ins[0]
    axis = norm_axis(int(attrs.get("axis", -1 if ctx.opset >= 13 else 1)), x.rank, ctx)
    if ctx.opset < 13 and axis != x.rank - 1:
        raise ctx.error("Hardmax (opset < 13) over a non-last axis is not supported")
    axis_t = ctx.constant_index(np.array([axis], np.int32))
    reduced = tuple(d for a, d in enumerate(x.shape) if a != axis)
    idx = ctx.emit("ARG_MAX", [ctx.logical(x), axis_t], [reduced], [np.int32],
                   {"output_type": "INT32"})[0]
    depth = ctx.constant_index(np.array(x.shape[axis], np.int32))
    on = ctx.constant_index(np.array(1, x.dtype))
    off = ctx.constant_index(np.array(0, x.dtype))
    return ctx.emit("ONE_HOT", [idx.index, depth, on, off], [x.shape], [x.dtype],
                    {"axis": axis})


def _erf(ctx, node, ins, attrs):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): erf(x) = sign(x) (1 - t*P(t) e^{-x^2}),
    # t = 1 / (1 + p |x|)
    x = ins[0]
    a = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429]
    ax = unary(ctx, "ABS", x)
    t = binary(ctx, "DIV", scalar(ctx, 1.0, x.dtype),
               binary(ctx, "ADD", binary(ctx, "MUL", ax, scalar(ctx, 0.3275911, x.dtype)),
                      scalar(ctx, 1.0, x.dtype)))
    poly = scalar(ctx, a[4], x.dtype)
    for c in reversed(a[:4]):
        poly = binary(ctx, "ADD", binary(ctx, "MUL", poly, t), scalar(ctx, c, x.dtype))
    poly = binary(ctx, "MUL", poly, t)
    e = unary(ctx, "EXP", unary(ctx, "NEG", binary(ctx, "MUL", x, x)))
    y = binary(ctx, "SUB", scalar(ctx, 1.0, x.dtype), binary(ctx, "MUL", poly, e))
    return [binary(ctx, "MUL", y, unary(ctx, "SIGN", x))]


RULES = {"LayerNormalization": _layer_norm, "RMSNormalization": _rms_norm,
         "InstanceNormalization": _instance_norm, "LpNormalization": _lp_norm,
         "ReduceL1": _compound_reduce("L1"), "ReduceL2": _compound_reduce("L2"),
         "ReduceSumSquare": _compound_reduce("SumSquare"),
         "ReduceLogSum": _compound_reduce("LogSum"),
         "ReduceLogSumExp": _compound_reduce("LogSumExp"), "Hardmax": _hardmax, "Erf": _erf}
