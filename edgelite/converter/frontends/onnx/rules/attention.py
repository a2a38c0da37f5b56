"""ONNX Attention (opsets 23-25) as BATCH_MATMUL + a masked softmax built from builtins.

    scores = (Q * sqrt(scale)) @ (K * sqrt(scale))^T      [B, Hq, S, T]
    scores = softcap * tanh(scores / softcap)              (when softcap > 0)
    probs  = softmax(scores + bias), fully masked rows = 0
    Y      = probs @ V

3-D inputs ``[B, S, H * D]`` are split into heads (``q_num_heads``/``kv_num_heads``) and
merged back; past key/value are concatenated in front of K/V (and returned as the present
cache); grouped-query attention repeats each key/value head ``Hq / Hkv`` times.

The additive ``bias`` (0 where a key is visible, -inf where not) sums the parts the spec
composes: the attention mask (boolean, or a float added as is; padded with -inf up to the
total sequence length), the bottom-right causal frontier, the sliding window and the
``nonpad_kv_seqlen`` padding. Parts known at conversion are folded into one constant; the
per-batch ones (``nonpad_kv_seqlen``) are computed with comparisons at run time.
The softmax is spelled out (max, exp, sum, divide) so that a row with every key masked
gives zeros, as ONNX requires, instead of NaN.
"""

from __future__ import annotations

import numpy as np

from .elementwise import binary, scalar, select, unary
from .nn import _reshape_logical
from .shape import reduce

NEG_INF = -np.inf


def _transpose(ctx, v, perm):
    shape = tuple(v.shape[p] for p in perm)
    perm_t = ctx.constant_index(np.array(perm, np.int32))
    return ctx.emit("TRANSPOSE", [ctx.logical(v), perm_t], [shape], [v.dtype])[0]


def _heads(ctx, x, heads: int):
    """[B, S, H*D] -> [B, H, S, D]."""
    b, s, hidden = x.shape
    if heads <= 0 or hidden % heads:
        raise ctx.error(f"hidden size {hidden} does not split into {heads} heads")
    x = _reshape_logical(ctx, x, (b, s, heads, hidden // heads))
    return _transpose(ctx, x, (0, 2, 1, 3))


def _repeat_heads(ctx, x, reps: int):
    """np.repeat(x, reps, axis=1) of a [B, H, T, D] tensor."""
    b, h, t, d = x.shape
    x5 = _reshape_logical(ctx, x, (b, h, 1, t, d))
    shape_t = ctx.constant_index(np.array((b, h, reps, t, d), np.int32))
    x5 = ctx.emit("BROADCAST_TO", [ctx.logical(x5), shape_t], [(b, h, reps, t, d)],
                  [x.dtype], version=2)[0]
    return _reshape_logical(ctx, x5, (b, h * reps, t, d))


def _matmul(ctx, a, b, adj_y=False):
    m = a.shape[-2]
    n = b.shape[-2] if adj_y else b.shape[-1]
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return ctx.emit("BATCH_MATMUL", [ctx.logical(a), ctx.logical(b)], [batch + (m, n)],
                    [a.dtype], {"adj_x": False, "adj_y": adj_y,
                                "asymmetric_quantize_inputs": False})[0]


def _mask_bias(ctx, mask, total: int, dtype):
    """The attention mask as an additive bias over the last axis of length ``total``."""
    if mask.const is not None:
        m = np.asarray(mask.const)
        m = np.where(m, 0.0, NEG_INF) if m.dtype == np.bool_ else m.astype(np.float64)
        pad = total - m.shape[-1]
        if pad > 0:
            m = np.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, pad)], constant_values=NEG_INF)
        return ctx.const_value(m.astype(dtype))
    if mask.dtype == np.bool_:
        mask = select(ctx, mask, scalar(ctx, 0.0, dtype), scalar(ctx, NEG_INF, dtype))
    pad = total - mask.shape[-1]
    if pad > 0:
        pads = np.zeros((mask.rank, 2), np.int32)
        pads[-1, 1] = pad
        shape = mask.shape[:-1] + (total,)
        mask = ctx.emit("PADV2", [ctx.logical(mask), ctx.constant_index(pads),
                                  ctx.constant_index(np.array(NEG_INF, dtype))],
                        [shape], [dtype])[0]
    return mask


def _attention(ctx, node, ins, attrs):
    ins = list(ins) + [None] * (7 - len(ins))
    q, k, v, mask, past_k, past_v, nonpad = ins[:7]
    three_d = q.rank == 3
    if three_d:
        hq, hkv = int(attrs.get("q_num_heads", 0)), int(attrs.get("kv_num_heads", 0))
        q, k, v = _heads(ctx, q, hq), _heads(ctx, k, hkv), _heads(ctx, v, hkv)
    if q.rank != 4 or k.rank != 4 or v.rank != 4:
        raise ctx.error("Q, K and V must all be 3-D or all 4-D")
    dtype = q.dtype
    if past_k is not None:
        k = _concat(ctx, [past_k, k], 2)
        v = _concat(ctx, [past_v, v], 2)
    present_k, present_v = k, v
    batch, hq, s, d = q.shape
    hkv, total = k.shape[1], k.shape[2]
    if hq != hkv:
        if hq % hkv:
            raise ctx.error(f"{hq} query heads are not a multiple of {hkv} key/value heads")
        k, v = _repeat_heads(ctx, k, hq // hkv), _repeat_heads(ctx, v, hq // hkv)
    scale = attrs.get("scale")
    scale = 1.0 / np.sqrt(d) if scale is None else float(scale)
    root = scalar(ctx, np.sqrt(scale), dtype)
    scores = _matmul(ctx, binary(ctx, "MUL", q, root), binary(ctx, "MUL", k, root),
                     adj_y=True)
    softcap = float(attrs.get("softcap", 0.0))
    if softcap > 0:
        scores = binary(ctx, "MUL", unary(ctx, "TANH", binary(
            ctx, "DIV", scores, scalar(ctx, softcap, dtype))), scalar(ctx, softcap, dtype))
    capped = scores
    bias = _bias(ctx, attrs, mask, nonpad, past_k, batch, s, total, dtype)
    with_bias = scores if bias is None else _with_bias(ctx, scores, bias)
    probs = _masked_softmax(ctx, with_bias, bias)
    y = _matmul(ctx, probs, v)
    if three_d:
        y = _transpose(ctx, y, (0, 2, 1, 3))
        y = _reshape_logical(ctx, y, (batch, s, hq * v.shape[3]))
    mode = int(attrs.get("qk_matmul_output_mode", 0))
    qk = {0: capped, 1: capped, 2: with_bias, 3: probs}.get(mode)
    if qk is None:
        raise ctx.error(f"qk_matmul_output_mode {mode} is not defined")
    return [y, present_k, present_v, qk][:max(1, len(node.output))]


def _concat(ctx, vals, axis):
    shape = list(vals[0].shape)
    shape[axis] = sum(x.shape[axis] for x in vals)
    return ctx.emit("CONCATENATION", [ctx.logical(x) for x in vals], [tuple(shape)],
                    [vals[0].dtype], {"axis": axis, "fused_activation_function": "NONE"})[0]


def _bias(ctx, attrs, mask, nonpad, past_k, batch, s, total, dtype):
    """The additive bias (broadcastable to [B, Hq, S, T]), or None when nothing masks."""
    causal = bool(attrs.get("is_causal", 0))
    left = int(attrs.get("left_window_size", -1))
    right = int(attrs.get("right_window_size", -1))
    rel = (np.arange(total)[None, :] - np.arange(s)[:, None]).astype(np.int32)  # j - i
    parts = []
    if mask is not None:
        parts.append(_mask_bias(ctx, mask, total, dtype))
    per_batch = nonpad is not None and past_k is None
    if per_batch:
        # offset[b] = nonpad[b] - S; rel_b = (j - i) - offset[b], as [B, 1, S, T]
        n32 = unary(ctx, "CAST", nonpad, dtype=np.int32) if nonpad.dtype != np.int32 \
            else nonpad
        offset = binary(ctx, "SUB", _reshape_logical(ctx, n32, (batch, 1, 1, 1)),
                        scalar(ctx, s, np.int32))
        rel_v = binary(ctx, "SUB", ctx.const_value(rel[None, None]), offset)

        def allowed_where(cond_op, bound):
            return binary(ctx, cond_op, rel_v, scalar(ctx, bound, np.int32))
        conds = []
        if causal:
            conds.append(allowed_where("LESS_EQUAL", 0))
        if left >= 0:
            conds.append(allowed_where("GREATER_EQUAL", -left))
        if right >= 0:
            conds.append(allowed_where("LESS_EQUAL", right))
        pad_ok = binary(ctx, "LESS", ctx.const_value(np.arange(total, dtype=np.int32)),
                        _reshape_logical(ctx, n32, (batch, 1, 1, 1)))
        conds.append(pad_ok)
        ok = conds[0]
        for c in conds[1:]:
            ok = binary(ctx, "LOGICAL_AND", ok, c)
        parts.append(select(ctx, ok, scalar(ctx, 0.0, dtype), scalar(ctx, NEG_INF, dtype)))
    else:
        offset = past_k.shape[2] if past_k is not None else 0
        r = rel - offset
        ok = np.ones(r.shape, bool)
        if causal:
            ok &= r <= 0
        if left >= 0:
            ok &= r >= -left
        if right >= 0:
            ok &= r <= right
        if not ok.all():
            parts.append(ctx.const_value(np.where(ok, 0.0, NEG_INF).astype(dtype)))
    if not parts:
        return None
    consts = [p for p in parts if p.const is not None]
    runtime = [p for p in parts if p.const is None]
    acc = None
    if consts:
        total_c = consts[0].const.astype(np.float64)
        for p in consts[1:]:
            total_c = total_c + p.const
        acc = ctx.const_value(total_c.astype(dtype))
    for p in runtime:
        acc = p if acc is None else binary(ctx, "ADD", acc, p)
    return acc


def _is_masked(ctx, x):
    """x == -inf, where TFLite's ADD (clamping to the float range even without an
    activation) may have turned -inf into the lowest finite float."""
    return binary(ctx, "LESS_EQUAL", x, scalar(ctx, float(np.finfo(np.float32).min),
                                                 x.dtype))


def _with_bias(ctx, scores, bias):
    """scores + bias, keeping -inf where the bias is -inf (TFLite's ADD would clamp)."""
    total = binary(ctx, "ADD", scores, bias)
    if bias.const is not None and not np.isneginf(np.asarray(bias.const)).any():
        return total
    return select(ctx, _is_masked(ctx, bias), scalar(ctx, NEG_INF, scores.dtype), total)


def _masked_softmax(ctx, x, bias):
    """softmax over the last axis; rows whose bias is all -inf (or whose scores are all
    -inf) give zeros instead of NaN."""
    dtype = x.dtype
    last = [x.rank - 1]
    m = reduce(ctx, "REDUCE_MAX", x, last, True)
    dead = _is_masked(ctx, m)
    safe = select(ctx, dead, scalar(ctx, 0.0, dtype), m)
    e = unary(ctx, "EXP", binary(ctx, "SUB", x, safe))
    total = reduce(ctx, "SUM", e, last, True)
    zero_sum = binary(ctx, "EQUAL", total, scalar(ctx, 0.0, dtype))
    total = select(ctx, zero_sum, scalar(ctx, 1.0, dtype), total)
    p = binary(ctx, "DIV", e, total)
    if bias is None:
        return p
    if bias.const is not None:
        rows_dead = np.isneginf(np.max(np.asarray(bias.const), axis=-1, keepdims=True))
        if not rows_dead.any():
            return p
        return select(ctx, ctx.const_value(rows_dead), scalar(ctx, 0.0, dtype), p)
    bmax = reduce(ctx, "REDUCE_MAX", bias, [bias.rank - 1], True)
    rows_dead = _is_masked(ctx, bmax)
    return select(ctx, rows_dead, scalar(ctx, 0.0, dtype), p)


RULES = {"Attention": _attention}
