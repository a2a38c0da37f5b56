"""Convolutions, normalization and dense layers (NCHW in ONNX, NHWC in TFLite).

Spatial ops take their input channels-last and leave their output channels-last; the
logical (ONNX) shapes are unchanged. ONNX's explicit pads become TFLite's SAME or VALID
when they match, otherwise a PAD/PADV2 op in front and VALID.
"""

from __future__ import annotations

import numpy as np

from ..context import channels_last
from ._common import out_shape
from .elementwise import binary


# --------------------------------------------------------------------------- padding
def _same_pads(size, k, stride, dilation):
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _explicit_pads(ctx, attrs, spatial, kernel, strides, dilations):
    """(begin, end) per spatial dim, from auto_pad or pads."""
    n = len(spatial)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for s, k, st, d in zip(spatial, kernel, strides, dilations):
            b, e = _same_pads(s, k, st, d)
            pads.append((b, e) if auto == "SAME_UPPER" else (e, b))
        return pads
    if auto == "VALID":
        return [(0, 0)] * n
    p = list(attrs.get("pads", [0] * (2 * n)))
    return [(int(p[i]), int(p[i + n])) for i in range(n)]


def _padding_mode(spatial, kernel, strides, dilations, pads):
    if all(b == 0 and e == 0 for b, e in pads):
        return "VALID"
    if all((b, e) == _same_pads(s, k, st, d) for s, k, st, d, (b, e)
           in zip(spatial, kernel, strides, dilations, pads)):
        return "SAME"
    return None


def _pad_input(ctx, x_nhwc_index, x, pads, value=None):
    """Explicit PAD (zeros) or PADV2 (``value``) of a channels-last tensor; returns the new
    tensor index and its logical shape."""
    rank = x.rank
    widths = [[0, 0]] + [list(p) for p in pads] + [[0, 0]]          # NHWC order
    padded = (x.shape[0], x.shape[1]) + tuple(s + b + e for s, (b, e)
                                               in zip(x.shape[2:], pads))
    perm = channels_last(rank)
    pad_t = ctx.constant_index(np.array(widths, np.int32))
    if value is None:
        v = ctx.emit("PAD", [x_nhwc_index, pad_t], [padded], [x.dtype], perm=perm)[0]
    else:
        c = ctx.constant_index(np.array(value, x.dtype))
        v = ctx.emit("PADV2", [x_nhwc_index, pad_t, c], [padded], [x.dtype], perm=perm)[0]
    return v.index, padded


def _geometry(ctx, attrs, x, kernel):
    n = len(kernel)
    strides = [int(s) for s in attrs.get("strides", [1] * n)]
    dilations = [int(d) for d in attrs.get("dilations", [1] * n)]
    pads = _explicit_pads(ctx, attrs, x.shape[2:], kernel, strides, dilations)
    return strides, dilations, pads


# --------------------------------------------------------------------------- conv
def _conv(ctx, node, ins, attrs):
    x, w, b = (ins + [None])[:3]
    rank = x.rank
    if w.const is None and rank != 4:
        raise ctx.error("Conv weights known only at run time are supported for 2-D "
                        "convolutions only")
    if rank == 3:      # Conv1D as a 2-D conv over H = 1
        return [_conv1d(ctx, node, x, w, b, attrs)]
    if rank not in (4, 5):
        raise ctx.error(f"Conv on a rank-{rank} input is not supported")
    kernel = list(w.shape[2:])
    strides, dilations, pads = _geometry(ctx, attrs, x, kernel)
    group = int(attrs.get("group", 1))
    cin, cout = x.shape[1], w.shape[0]
    xi = ctx.physical(x, channels_last(rank))
    mode = _padding_mode(x.shape[2:], kernel, strides, dilations, pads)
    if mode is None:
        xi, _ = _pad_input(ctx, xi, x, pads)
        mode = "VALID"
    bias = b.const.astype(np.float32) if b is not None and b.const is not None else \
        np.zeros(cout, w.dtype)
    bias_i = ctx.constant_index(bias.astype(w.dtype)) if b is None or b.const is not None \
        else ctx.logical(b)
    shape = out_shape(ctx, [])
    perm = channels_last(rank)
    weights = w.const
    if rank == 5:
        if group != 1:
            raise ctx.error("grouped 3-D Conv is not supported")
        wt = np.ascontiguousarray(np.transpose(weights, (2, 3, 4, 1, 0)))   # D H W I O
        opts = {"padding": mode, "stride_d": strides[0], "stride_h": strides[1],
                "stride_w": strides[2], "dilation_d_factor": dilations[0],
                "dilation_h_factor": dilations[1], "dilation_w_factor": dilations[2],
                "fused_activation_function": "NONE"}
        return ctx.emit("CONV_3D", [xi, ctx.constant_index(wt), bias_i], [shape], [x.dtype],
                        opts, perm=perm)
    opts = {"padding": mode, "stride_h": strides[0], "stride_w": strides[1],
            "dilation_h_factor": dilations[0], "dilation_w_factor": dilations[1],
            "fused_activation_function": "NONE"}
    if group == cin and group > 1 and cout % cin == 0:
        opts["depth_multiplier"] = cout // cin
        return ctx.emit("DEPTHWISE_CONV_2D", [xi, _weights(ctx, w, (1, 2, 3, 0)), bias_i],
                        [shape], [x.dtype], opts,        # [1, kh, kw, cout]
                        perm=perm, version=2 if max(dilations) > 1 else 1)
    return ctx.emit("CONV_2D", [xi, _weights(ctx, w, (0, 2, 3, 1)), bias_i],   # OHWI
                    [shape], [x.dtype], opts, perm=perm, version=6 if group > 1 else 1)


def _weights(ctx, w, perm) -> int:
    """ONNX weights permuted to TFLite's layout: once at conversion, or a TRANSPOSE."""
    if w.const is not None:
        return ctx.constant_index(np.ascontiguousarray(np.transpose(w.const, perm)))
    shape = tuple(w.shape[p] for p in perm)
    return ctx.emit("TRANSPOSE", [ctx.logical(w), ctx.constant_index(np.array(perm, np.int32))],
                    [shape], [w.dtype])[0].index


def _conv_transpose(ctx, node, ins, attrs):
    """ConvTranspose (2-D, and 1-D over height 1), one group, no dilation: TFLite's
    TRANSPOSE_CONV computes the full ``(in - 1) * stride + k`` output (VALID), which is
    then cropped by the ONNX pads (zero-extended for output_padding) and biased."""
    x, w, b = (ins + [None])[:3]
    if x.rank == 3:
        n, c, length = x.shape
        flat = out_shape(ctx, [])
        a4 = {k: v for k, v in attrs.items()}
        for key in ("strides", "dilations", "output_padding", "kernel_shape", "output_shape"):
            if key in attrs:
                a4[key] = [1] + list(attrs[key])
        if "pads" in attrs:
            a4["pads"] = [0, attrs["pads"][0], 0, attrs["pads"][1]]
        x4 = _reshape_logical(ctx, x, (n, c, 1, length))
        w4 = _reshape_logical(ctx, w, w.shape[:2] + (1,) + w.shape[2:])
        y = _conv_transpose_2d(ctx, x4, w4, b, a4, flat[:2] + (1,) + flat[2:])
        return [_reshape_logical(ctx, y, flat)]
    if x.rank != 4:
        raise ctx.error(f"ConvTranspose on a rank-{x.rank} input is not supported")
    return [_conv_transpose_2d(ctx, x, w, b, attrs, out_shape(ctx, []))]


def _conv_transpose_2d(ctx, x, w, b, attrs, shape):
    if int(attrs.get("group", 1)) != 1:
        raise ctx.error("grouped ConvTranspose is not supported")
    if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
        raise ctx.error("dilated ConvTranspose is not supported")
    n, cin, h, wd = x.shape
    cout = w.shape[1]
    kernel = w.shape[2:]
    strides = [int(s) for s in attrs.get("strides", [1, 1])]
    out_pad = [int(p) for p in attrs.get("output_padding", [0, 0])]
    full = [(i - 1) * s + k for i, s, k in zip((h, wd), strides, kernel)]
    out = list(shape[2:])
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if "pads" in attrs and auto == "NOTSET" and "output_shape" not in attrs:
        begin = [int(p) for p in attrs["pads"][:2]]
    else:
        total = [f + op - o for f, op, o in zip(full, out_pad, out)]
        begin = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
    perm = channels_last(4)
    xi = ctx.physical(x, perm)
    wi = _weights(ctx, w, (1, 2, 3, 0))         # [cout, kh, kw, cin]
    full_shape = (n, full[0], full[1], cout)
    y = ctx.emit("TRANSPOSE_CONV", [ctx.constant_index(np.array(full_shape, np.int32)), wi, xi],
                 [(n, cout, full[0], full[1])], [x.dtype],
                 {"padding": "VALID", "stride_h": strides[0], "stride_w": strides[1],
                  "fused_activation_function": "NONE"}, perm=perm)[0]
    extra = [max(0, bg + o - f) for bg, o, f in zip(begin, out, full)]
    if any(extra) or min(begin) < 0:
        pads = np.zeros((4, 2), np.int32)
        pads[1:3, 0] = [max(0, -bg) for bg in begin]
        pads[1:3, 1] = extra
        ext = (n, cout, full[0] + pads[1].sum(), full[1] + pads[2].sum())
        y = ctx.emit("PAD", [y.index, ctx.constant_index(pads)], [ext], [x.dtype],
                     perm=perm)[0]
        begin = [max(0, bg) for bg in begin]
    size = (n, out[0], out[1], cout)
    y = ctx.emit("SLICE", [y.index, ctx.constant_index(np.array([0, begin[0], begin[1], 0],
                                                                 np.int32)),
                           ctx.constant_index(np.array(size, np.int32))],
                 [(n, cout, out[0], out[1])], [x.dtype], perm=perm)[0]
    if b is not None:
        from .elementwise import binary
        bias = ctx.const_value(np.asarray(b.const).reshape(1, cout, 1, 1)) \
            if b.const is not None else _reshape_logical(ctx, b, (1, cout, 1, 1))
        y = binary(ctx, "ADD", y, bias)
    return y


def _conv1d(ctx, node, x, w, b, attrs):
    """[N, C, L] -> [N, C, 1, L], 2-D conv, back to [N, C', L']."""
    x4 = _reshape_logical(ctx, x, x.shape[:2] + (1,) + x.shape[2:])
    w4 = ctx.const_value(w.const.reshape(w.shape[:2] + (1,) + w.shape[2:]))
    a4 = dict(attrs)
    for key, fill in (("strides", 1), ("dilations", 1)):
        if key in attrs:
            a4[key] = [fill] + list(attrs[key])
    if "kernel_shape" in attrs:
        a4["kernel_shape"] = [1] + list(attrs["kernel_shape"])
    if "pads" in attrs:
        p = list(attrs["pads"])
        a4["pads"] = [0, p[0], 0, p[1]]
    shape = out_shape(ctx, [])
    saved = ctx.info.get(ctx.node.output[0])
    ctx.info[ctx.node.output[0]] = (shape[:2] + (1,) + shape[2:], x.dtype)
    y4 = _conv(ctx, ctx.node, [x4, w4, b], a4)[0]
    ctx.info[ctx.node.output[0]] = saved
    return _reshape_logical(ctx, y4, shape)


def _reshape_logical(ctx, v, shape):
    shape = tuple(int(d) for d in shape)
    if v.const is not None:
        return ctx.const_value(v.const.reshape(shape))
    shape_t = ctx.constant_index(np.array(shape, np.int32))
    return ctx.emit("RESHAPE", [ctx.logical(v), shape_t], [shape], [v.dtype],
                    {"new_shape": list(shape)})[0]


# --------------------------------------------------------------------------- norms
def _batch_norm(ctx, node, ins, attrs):
    x, scale, bias, mean, var = ins[:5]
    eps = float(attrs.get("epsilon", 1e-5))
    if attrs.get("training_mode", 0):
        raise ctx.error("BatchNormalization in training mode is not supported")
    if any(v.const is None for v in (scale, bias, mean, var)):
        from .composite import batch_norm_runtime

        return [batch_norm_runtime(ctx, x, scale, bias, mean, var, eps)]
    mul = (scale.const / np.sqrt(var.const.astype(np.float64) + eps)).astype(x.dtype)
    add = (bias.const - mean.const * mul).astype(x.dtype)
    tail = (1,) * (x.rank - 2)
    y = binary(ctx, "MUL", x, ctx.const_value(mul.reshape((-1,) + tail)))
    return [binary(ctx, "ADD", y, ctx.const_value(add.reshape((-1,) + tail)))]


# --------------------------------------------------------------------------- dense
def _fully_connected(ctx, a, weights_nk, bias, shape, keep_num_dims):
    w_i = ctx.constant_index(np.ascontiguousarray(weights_nk))
    b_i = -1 if bias is None else ctx.constant_index(np.ascontiguousarray(bias))
    opts = {"fused_activation_function": "NONE", "keep_num_dims": keep_num_dims}
    return ctx.emit("FULLY_CONNECTED", [ctx.logical(a), w_i, b_i], [shape], [a.dtype], opts,
                    version=5 if keep_num_dims else 1)[0]


def _gemm(ctx, node, ins, attrs):
    a, b, c = (ins + [None])[:3]
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    if attrs.get("transA", 0):
        a = _transpose_logical(ctx, a, (1, 0))
    shape = out_shape(ctx, [])
    n = shape[1]
    if b.const is not None and a.dtype == np.float32:
        w = b.const if attrs.get("transB", 0) else b.const.T
        w = (w * alpha).astype(np.float32) if alpha != 1.0 else w.astype(np.float32)
        bias = None
        if c is not None and c.const is not None and c.const.size in (1, n) and \
                (c.rank < 2 or c.shape[0] == 1):
            bias = np.broadcast_to((c.const * beta).astype(np.float32).reshape(-1), (n,))
            c = None
        y = _fully_connected(ctx, a, w, bias, shape, False)
    else:
        if attrs.get("transB", 0):
            b = _transpose_logical(ctx, b, (1, 0))
        y = ctx.emit("BATCH_MATMUL", [ctx.logical(a), ctx.logical(b)], [shape], [a.dtype],
                     {"adj_x": False, "adj_y": False})[0]
        if alpha != 1.0:
            y = binary(ctx, "MUL", y, ctx.const_value(np.array(alpha, a.dtype)))
    if c is not None and beta != 0.0:
        cc = c if beta == 1.0 else (ctx.const_value((c.const * beta).astype(c.dtype))
                                    if c.const is not None else
                                    binary(ctx, "MUL", c, ctx.const_value(
                                        np.array(beta, c.dtype))))
        y = binary(ctx, "ADD", y, cc)
    return [y]


def _transpose_logical(ctx, v, perm):
    if v.const is not None:
        return ctx.const_value(np.transpose(v.const, perm))
    shape = tuple(v.shape[p] for p in perm)
    p = ctx.constant_index(np.array(perm, np.int32))
    return ctx.emit("TRANSPOSE", [ctx.logical(v), p], [shape], [v.dtype])[0]


def _matmul(ctx, node, ins, attrs):
    a, b = ins
    shape = out_shape(ctx, [])
    if a.rank == 1 or b.rank == 1:
        a2 = _reshape_logical(ctx, a, (1,) + a.shape) if a.rank == 1 else a
        b2 = _reshape_logical(ctx, b, b.shape + (1,)) if b.rank == 1 else b
        y = _matmul_nd(ctx, a2, b2, tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
                       + (a2.shape[-2], b2.shape[-1]))
        return [_reshape_logical(ctx, y, shape)]
    return [_matmul_nd(ctx, a, b, shape)]


def _matmul_nd(ctx, a, b, shape):
    if b.const is not None and b.rank == 2 and a.dtype == np.float32 and a.const is None:
        return _fully_connected(ctx, a, b.const.T.astype(np.float32), None, shape, True)
    return ctx.emit("BATCH_MATMUL", [ctx.logical(a), ctx.logical(b)], [shape], [a.dtype],
                    {"adj_x": False, "adj_y": False})[0]


RULES = {
    "Conv": _conv, "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm, "Gemm": _gemm, "MatMul": _matmul,
}
