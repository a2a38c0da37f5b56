"""GroupNormalization, MeanVarianceNormalization and LRN.

GroupNormalization reshapes N, C, spatial... to N, G, rest and normalizes over ``rest``
(the statistics of each group), then applies the per-channel affine (opset 21; before it
the scale and bias were per group and are repeated over each group's channels).
MeanVarianceNormalization follows its ONNX function body: (x - mean) / (sqrt(var) + 1e-9).
LRN is TFLite's LOCAL_RESPONSE_NORMALIZATION over channels-last when the window is
symmetric (odd size: radius (size-1)/2, alpha/size).
"""

from __future__ import annotations

import numpy as np

from ..context import channels_last
from .composite import _normalize_over, channel_vector
from .elementwise import binary, scalar, unary
from .nn import _reshape_logical
from .shape import reduce


def _group_norm(ctx, node, ins, attrs):
    x, scale, bias = ins
    g = int(attrs["num_groups"])
    eps = float(attrs.get("epsilon", 1e-5))
    n, c = x.shape[:2]
    if x.rank < 3 or c % g:
        raise ctx.error(f"GroupNormalization of {c} channels into {g} groups is not supported")
    rest = int(np.prod(x.shape[2:], dtype=np.int64)) * (c // g)
    grouped = _reshape_logical(ctx, x, (n, g, rest))
    y = _reshape_logical(ctx, _normalize_over(ctx, grouped, [2], eps, True), x.shape)
    if scale.shape[0] != c:        # per-group (opset 18): repeat over each group's channels
        from .movement import _gather

        index = ctx.const_value((np.arange(c) // (c // g)).astype(np.int32))
        scale = _gather(ctx, node, [scale, index], {"axis": 0})[0]
        bias = _gather(ctx, node, [bias, index], {"axis": 0})[0]
    y = binary(ctx, "MUL", y, channel_vector(ctx, scale, x.rank))
    return [binary(ctx, "ADD", y, channel_vector(ctx, bias, x.rank))]


def _mvn(ctx, node, ins, attrs):
    x = ins[0]
    axes = sorted(int(a) % x.rank for a in attrs.get("axes", [0, 2, 3]))
    mean = reduce(ctx, "MEAN", x, axes, True)
    mean_sq = reduce(ctx, "MEAN", binary(ctx, "MUL", x, x), axes, True)
    std = unary(ctx, "SQRT", binary(ctx, "SUB", mean_sq, binary(ctx, "MUL", mean, mean)))
    return [binary(ctx, "DIV", binary(ctx, "SUB", x, mean),
                   binary(ctx, "ADD", std, scalar(ctx, 1e-9, x.dtype)))]


def _lrn(ctx, node, ins, attrs):
    x = ins[0]
    size = int(attrs["size"])
    if size % 2 == 0:
        raise ctx.error("LRN with an even size (an asymmetric window) is not supported")
    if x.rank != 4:
        raise ctx.error(f"LRN on a rank-{x.rank} input is not supported (rank 4 only)")
    opts = {"radius": (size - 1) // 2, "bias": float(attrs.get("bias", 1.0)),
            "alpha": float(attrs.get("alpha", 1e-4)) / size,
            "beta": float(attrs.get("beta", 0.75))}
    perm = channels_last(4)
    return ctx.emit("LOCAL_RESPONSE_NORMALIZATION", [ctx.physical(x, perm)], [x.shape],
                    [x.dtype], opts, perm=perm)


RULES = {"GroupNormalization": _group_norm, "MeanVarianceNormalization": _mvn, "LRN": _lrn}
