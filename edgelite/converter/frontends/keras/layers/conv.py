"""Convolution, pooling and spatial-shape layers (channels-last only).

1-D layers run as their 2-D counterparts on a ``[N, 1, W, C]`` view. Keras' ``same`` and
``valid`` are TFLite's SAME and VALID (same split of the total padding); ``causal`` pads
the start explicitly.
"""

from __future__ import annotations

import numpy as np

from ...nhwc_builder import Builder, Value
from .activations import apply


def _pair(v, n=2):
    return tuple(int(a) for a in v) if isinstance(v, (list, tuple)) else (int(v),) * n


def _check_layout(b: Builder, cfg: dict) -> None:
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        raise b.error("data_format 'channels_first' is not supported (channels_last only)")


def _padding(b, cfg):
    p = str(cfg.get("padding", "valid")).lower()
    if p not in ("same", "valid", "causal"):
        raise b.error(f"padding {p!r} is not supported")
    return p


def _weights(w, use_bias):
    vs = w.vars()
    return vs[0].astype(np.float32), (vs[1].astype(np.float32) if use_bias and len(vs) > 1
                                      else None)


def _conv2d_core(b, x, kernel, bias, strides, padding, dilations, groups):
    if groups == 1:
        return b.conv2d(x, kernel, bias, strides, padding, dilations)
    cin = x.shape[-1]
    if groups == cin and kernel.shape[2] == 1:
        # one input channel per group: a depthwise conv with multiplier cout/cin
        kh, kw, _, cout = kernel.shape
        w = kernel.reshape(kh, kw, cin, cout // cin)
        return b.depthwise(x, w, bias, strides, padding, dilations)
    # grouped: TFLite's CONV_2D takes a filter with cin/groups input channels
    return b.conv2d(x, kernel, bias, strides, padding, dilations)


def _to_2d(b, x):
    n, w, c = x.shape
    return b.reshape(x, (n, 1, w, c))


def _from_2d(b, y):
    n, _, w, c = y.shape
    return b.reshape(y, (n, w, c))


def _causal(b, x, k, d):
    return b.pad(x, [(0, 0), ((k - 1) * d, 0), (0, 0)])


def conv(b: Builder, cfg, args, kwargs, w, rank: int = 2):
    _check_layout(b, cfg)
    x = args[0]
    kernel, bias = _weights(w, cfg.get("use_bias", True))
    strides, dil = _pair(cfg.get("strides", 1), rank), _pair(cfg.get("dilation_rate", 1), rank)
    padding, groups = _padding(b, cfg), int(cfg.get("groups", 1))
    if rank == 3:
        y = _conv3d(b, x, kernel, bias, strides, padding, dil)
    elif rank == 1:
        if padding == "causal":
            x, padding = _causal(b, x, kernel.shape[0], dil[0]), "valid"
        y = _conv2d_core(b, _to_2d(b, x), kernel[None], bias, (1, strides[0]),
                         padding.upper(), (1, dil[0]), groups)
        y = _from_2d(b, y)
    else:
        y = _conv2d_core(b, x, kernel, bias, strides, padding.upper(), dil, groups)
    return apply(b, cfg.get("activation"), y)


def _conv3d(b, x, kernel, bias, strides, padding, dil):
    from ...nhwc_builder import conv_out

    pad = padding.upper()
    shape = (x.shape[0],) + tuple(conv_out(x.shape[1 + i], kernel.shape[i], strides[i], dil[i],
                                           pad) for i in range(3)) + (kernel.shape[-1],)
    y = b.op1("CONV_3D", [x, b.const(kernel)], shape, options={
        "padding": pad, "stride_d": strides[0], "stride_h": strides[1], "stride_w": strides[2],
        "dilation_d_factor": dil[0], "dilation_h_factor": dil[1], "dilation_w_factor": dil[2],
        "fused_activation_function": "NONE"})
    return y if bias is None else b.binary("ADD", y, b.const(bias))


def depthwise(b: Builder, cfg, args, kwargs, w, rank: int = 2):
    _check_layout(b, cfg)
    x = args[0]
    kernel, bias = _weights(w, cfg.get("use_bias", True))
    strides, dil = _pair(cfg.get("strides", 1), rank), _pair(cfg.get("dilation_rate", 1), rank)
    padding = _padding(b, cfg)
    if rank == 1:
        if padding == "causal":
            x, padding = _causal(b, x, kernel.shape[0], dil[0]), "valid"
        y = _from_2d(b, b.depthwise(_to_2d(b, x), kernel[None], bias, (1, strides[0]),
                                    padding.upper(), (1, dil[0])))
    else:
        y = b.depthwise(x, kernel, bias, strides, padding.upper(), dil)
    return apply(b, cfg.get("activation"), y)


def separable(b: Builder, cfg, args, kwargs, w, rank: int = 2):
    _check_layout(b, cfg)
    vs = w.vars()
    dw, pw = vs[0].astype(np.float32), vs[1].astype(np.float32)
    bias = vs[2].astype(np.float32) if cfg.get("use_bias", True) and len(vs) > 2 else None
    strides, dil = _pair(cfg.get("strides", 1), rank), _pair(cfg.get("dilation_rate", 1), rank)
    padding = _padding(b, cfg).upper()
    x = args[0] if rank == 2 else _to_2d(b, args[0])
    if rank == 1:
        dw, pw, strides, dil = dw[None], pw[None], (1, strides[0]), (1, dil[0])
    y = b.depthwise(x, dw, None, strides, padding, dil)
    y = b.conv2d(y, pw, bias, (1, 1), "VALID")
    return apply(b, cfg.get("activation"), y if rank == 2 else _from_2d(b, y))


def conv_transpose(b: Builder, cfg, args, kwargs, w):
    _check_layout(b, cfg)
    x = args[0]
    kernel, bias = _weights(w, cfg.get("use_bias", True))     # (kh, kw, cout, cin)
    strides, padding = _pair(cfg.get("strides", 1)), _padding(b, cfg).upper()
    if _pair(cfg.get("dilation_rate", 1)) != (1, 1) or cfg.get("output_padding"):
        raise b.error("Conv2DTranspose with dilation or output_padding is not supported")
    kh, kw, cout, _ = kernel.shape
    n, h, wd, _ = x.shape
    if padding == "SAME":
        oh, ow = h * strides[0], wd * strides[1]
    else:
        oh, ow = (h - 1) * strides[0] + kh, (wd - 1) * strides[1] + kw
    filt = b.const(np.ascontiguousarray(np.transpose(kernel, (2, 0, 1, 3))))
    y = b.op1("TRANSPOSE_CONV", [b.ints([n, oh, ow, cout]), filt, x,
                                 None if bias is None else b.const(bias)],
              (n, oh, ow, cout), options={"padding": padding, "stride_h": strides[0],
                                          "stride_w": strides[1],
                                          "fused_activation_function": "NONE"})
    return apply(b, cfg.get("activation"), y)


# ---------------------------------------------------------------------------- pooling
def pool(opcode: str, rank: int):
    def rule(b, cfg, args, kwargs, w):
        _check_layout(b, cfg)
        x = args[0]
        size = _pair(cfg.get("pool_size", 2), rank)
        strides = _pair(cfg.get("strides") or size, rank)
        padding = _padding(b, cfg).upper()
        if rank == 1:
            return _from_2d(b, b.pool(opcode, _to_2d(b, x), (1, size[0]), (1, strides[0]),
                                      padding))
        return b.pool(opcode, x, size, strides, padding)
    return rule


def global_pool(opcode: str):
    def rule(b, cfg, args, kwargs, w):
        _check_layout(b, cfg)
        x = args[0]
        return b.reduce(opcode, x, range(1, x.rank - 1), bool(cfg.get("keepdims", False)))
    return rule


# ---------------------------------------------------------------------------- spatial
def _widths(spec, rank):
    if isinstance(spec, int):
        return [(spec, spec)] * rank
    out = []
    for s in spec:
        out.append((int(s), int(s)) if isinstance(s, int) else (int(s[0]), int(s[1])))
    if rank == 1 and len(out) == 2 and isinstance(spec[0], int):
        return [(int(spec[0]), int(spec[1]))]
    return out


def zero_padding(rank):
    def rule(b, cfg, args, kwargs, w):
        _check_layout(b, cfg)
        x = args[0]
        pads = _widths(cfg.get("padding", 1), rank)
        return b.pad(x, [(0, 0)] + pads + [(0, 0)])
    return rule


def cropping(rank):
    def rule(b, cfg, args, kwargs, w):
        _check_layout(b, cfg)
        x = args[0]
        crops = _widths(cfg.get("cropping", 1), rank)
        begin = [0] + [c[0] for c in crops] + [0]
        size = [x.shape[0]] + [x.shape[1 + i] - c[0] - c[1] for i, c in enumerate(crops)] + \
            [x.shape[-1]]
        return b.slice(x, begin, size)
    return rule


def upsampling2d(b, cfg, args, kwargs, w):
    _check_layout(b, cfg)
    x = args[0]
    sh, sw = _pair(cfg.get("size", 2))
    n, h, wd, c = x.shape
    interp = cfg.get("interpolation", "nearest")
    if interp not in ("nearest", "bilinear"):
        raise b.error(f"UpSampling2D interpolation {interp!r} is not supported")
    opcode = "RESIZE_NEAREST_NEIGHBOR" if interp == "nearest" else "RESIZE_BILINEAR"
    return b.op1(opcode, [x, b.ints([h * sh, wd * sw])], (n, h * sh, wd * sw, c),
                 options={"align_corners": False, "half_pixel_centers": interp == "bilinear"})


def upsampling1d(b, cfg, args, kwargs, w):
    x = args[0]
    n, t, c = x.shape
    k = int(cfg.get("size", 2))
    y = b.op1("BROADCAST_TO", [b.reshape(x, (n, t, 1, c)), b.ints([n, t, k, c])],
              (n, t, k, c))
    return b.reshape(y, (n, t * k, c))


RULES = {
    "Conv1D": lambda *a: conv(*a, rank=1), "Conv2D": conv,
    "Conv3D": lambda *a: conv(*a, rank=3),
    "DepthwiseConv2D": depthwise, "DepthwiseConv1D": lambda *a: depthwise(*a, rank=1),
    "SeparableConv2D": separable, "SeparableConv1D": lambda *a: separable(*a, rank=1),
    "Conv2DTranspose": conv_transpose,
    "MaxPooling2D": pool("MAX_POOL_2D", 2), "AveragePooling2D": pool("AVERAGE_POOL_2D", 2),
    "MaxPooling1D": pool("MAX_POOL_2D", 1), "AveragePooling1D": pool("AVERAGE_POOL_2D", 1),
    "MaxPool2D": pool("MAX_POOL_2D", 2), "AvgPool2D": pool("AVERAGE_POOL_2D", 2),
    "GlobalAveragePooling2D": global_pool("MEAN"), "GlobalAveragePooling1D": global_pool("MEAN"),
    "GlobalAveragePooling3D": global_pool("MEAN"),
    "GlobalMaxPooling2D": global_pool("REDUCE_MAX"),
    "GlobalMaxPooling1D": global_pool("REDUCE_MAX"),
    "GlobalMaxPooling3D": global_pool("REDUCE_MAX"),
    "GlobalAvgPool2D": global_pool("MEAN"), "GlobalMaxPool2D": global_pool("REDUCE_MAX"),
    "ZeroPadding1D": zero_padding(1), "ZeroPadding2D": zero_padding(2),
    "ZeroPadding3D": zero_padding(3),
    "Cropping1D": cropping(1), "Cropping2D": cropping(2), "Cropping3D": cropping(3),
    "UpSampling2D": upsampling2d, "UpSampling1D": upsampling1d,
}
