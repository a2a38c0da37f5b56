"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, composed from TFLite builtins.

The class axis is 1 (``[N, C, d1, ...]``). The target picks one class per position through a
ONE_HOT mask over that axis (an index outside ``[0, C)`` picks nothing, so a negative
``ignore_index`` needs no extra work; an in-range one is masked with NOT_EQUAL):

    picked = sum(x * one_hot(t), axis=1)        w_t = sum(w * one_hot(t), axis=1)
    loss   = -picked * w_t * (t != ignore_index)

``reduction``: "none" keeps ``[N, d1, ...]``; "sum" adds everything; "mean" divides the sum
by the sum of the effective weights (the count of non-ignored positions without weights).
"""

from __future__ import annotations

import numpy as np

from ._common import out_shape
from .elementwise import binary, scalar, unary
from .nn import _reshape_logical
from .shape import _softmax, reduce


def _one_hot(ctx, target, classes: int, dtype):
    shape = target.shape[:1] + (classes,) + target.shape[1:]
    args = [ctx.logical(target), ctx.constant_index(np.array(classes, np.int32)),
            ctx.constant_index(np.array(1, dtype)), ctx.constant_index(np.array(0, dtype))]
    return ctx.emit("ONE_HOT", args, [shape], [dtype], {"axis": 1})[0]


def nll(ctx, x, target, weight, reduction: str, ignore_index):
    if x.rank < 2:
        raise ctx.error(f"the input must be [N, C, ...], got shape {list(x.shape)}")
    classes, dtype = x.shape[1], x.dtype
    hot = _one_hot(ctx, target, classes, dtype)
    picked = reduce(ctx, "SUM", binary(ctx, "MUL", x, hot), [1], False)
    loss = unary(ctx, "NEG", picked)
    eff = None
    if weight is not None:
        w = _reshape_logical(ctx, weight, (1, classes) + (1,) * (x.rank - 2)) \
            if weight.const is None else \
            ctx.const_value(np.asarray(weight.const).reshape((1, classes) + (1,) * (x.rank - 2)))
        eff = reduce(ctx, "SUM", binary(ctx, "MUL", hot, w), [1], False)
    if ignore_index is not None and 0 <= ignore_index < classes:
        keep = binary(ctx, "NOT_EQUAL", target,
                      scalar(ctx, ignore_index, target.dtype))
        keep = unary(ctx, "CAST", keep, dtype=dtype)
        eff = keep if eff is None else binary(ctx, "MUL", eff, keep)
    if eff is not None:
        loss = binary(ctx, "MUL", loss, eff)
    if reduction == "none":
        return loss
    axes = list(range(loss.rank))
    total = reduce(ctx, "SUM", loss, axes, False)
    if reduction == "sum":
        return total
    if reduction != "mean":
        raise ctx.error(f"unknown reduction {reduction!r}")
    if eff is None:
        count = scalar(ctx, float(np.prod(loss.shape)), dtype)
    else:
        count = reduce(ctx, "SUM", eff, axes, False)
    return binary(ctx, "DIV", total, count)


def _attrs(attrs):
    reduction = attrs.get("reduction", "mean")
    if isinstance(reduction, bytes):
        reduction = reduction.decode()
    ignore = attrs.get("ignore_index")
    return reduction, None if ignore is None else int(ignore)


def _nll_loss(ctx, node, ins, attrs):
    x, target = ins[0], ins[1]
    weight = ins[2] if len(ins) > 2 else None
    reduction, ignore = _attrs(attrs)
    return [nll(ctx, x, target, weight, reduction, ignore)]


def _softmax_cross_entropy(ctx, node, ins, attrs):
    scores, labels = ins[0], ins[1]
    weight = ins[2] if len(ins) > 2 else None
    reduction, ignore = _attrs(attrs)
    log_prob = _softmax("LOG_SOFTMAX")(ctx, node, [scores], {"axis": 1})[0]
    loss = nll(ctx, log_prob, labels, weight, reduction, ignore)
    want = out_shape(ctx, loss.shape)
    if tuple(want) != loss.shape:
        loss = _reshape_logical(ctx, loss, want)
    return [loss, log_prob][:max(1, len(node.output))]


RULES = {"NegativeLogLikelihoodLoss": _nll_loss,
         "SoftmaxCrossEntropyLoss": _softmax_cross_entropy}
