"""MultiHeadAttention (Keras 3), as TFLite's converter lowers it: per-head projections by
FULLY_CONNECTED, heads split by RESHAPE + TRANSPOSE, scores and context by BATCH_MATMUL.

Keras: ``q = (x_q Wq + bq) / sqrt(key_dim)``, ``scores = q k^T`` per head, softmax over
the keys, ``context = p v``, ``out = context Wo + bo`` (Wq: [dim, heads, key_dim],
Wo: [heads, value_dim, out]). The 1/sqrt(key_dim) scale is folded into Wq and bq.
"""

from __future__ import annotations

import numpy as np

from ...nhwc_builder import Builder, Value


def _proj(b: Builder, x: Value, dense, use_bias: bool, scale: float = 1.0) -> Value:
    vs = dense.vars()
    kernel = vs[0].astype(np.float64)                     # [dim, heads, size]
    dim, heads, size = kernel.shape
    w = (kernel.reshape(dim, heads * size) * scale).astype(np.float32)
    bias = (vs[1].astype(np.float64).reshape(-1) * scale).astype(np.float32) \
        if use_bias and len(vs) > 1 else None
    y = b.dense(x, w, bias)                               # [N, T, heads * size]
    n, t = x.shape[0], x.shape[1]
    y = b.reshape(y, (n, t, heads, size))
    return b.transpose(y, (0, 2, 1, 3))                   # [N, heads, T, size]


def multi_head_attention(b: Builder, cfg, args, kwargs, w):
    args = list(args)
    query = kwargs.get("query", args[0] if args else None)
    value = kwargs.get("value", args[1] if len(args) > 1 else None)
    key = kwargs.get("key", args[2] if len(args) > 2 else None) or value
    if kwargs.get("attention_mask") is not None or kwargs.get("use_causal_mask") or \
            kwargs.get("return_attention_scores"):
        raise b.error("attention masks, causal masks and returned scores are not supported")
    axes = cfg.get("attention_axes")
    if query.rank != 3 or (axes is not None and list(axes) not in ([1], [-2])):
        raise b.error("only [batch, seq, features] inputs attending over axis 1 are supported")
    if cfg.get("use_gate") or cfg.get("sliding_window"):
        raise b.error("use_gate / sliding_window are not supported")
    use_bias = cfg.get("use_bias", True)
    key_dim = int(cfg["key_dim"])
    q = _proj(b, query, w.sub("query_dense"), use_bias, 1.0 / np.sqrt(key_dim))
    k = _proj(b, key, w.sub("key_dense"), use_bias)
    v = _proj(b, value, w.sub("value_dense"), use_bias)
    scores = b.batch_matmul(q, k, adj_y=True)             # [N, heads, Tq, Tk]
    ctx = b.batch_matmul(b.softmax(scores), v)            # [N, heads, Tq, value_dim]
    ctx = b.transpose(ctx, (0, 2, 1, 3))
    n, t, heads, vdim = ctx.shape
    ctx = b.reshape(ctx, (n, t, heads * vdim))
    vs = w.sub("output_dense").vars()
    wo = vs[0].astype(np.float32)
    wo = wo.reshape(heads * vdim, -1)
    bo = vs[1].astype(np.float32).reshape(-1) if use_bias and len(vs) > 1 else None
    out = b.dense(ctx, wo, bo)
    out_shape = cfg.get("output_shape")
    if out_shape is not None and isinstance(out_shape, (list, tuple)) and len(out_shape) > 1:
        out = b.reshape(out, (n, t) + tuple(out_shape))
    return out


RULES = {"MultiHeadAttention": multi_head_attention}
