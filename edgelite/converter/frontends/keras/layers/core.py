"""Dense, normalization, merging, reshaping, preprocessing and inference-identity layers."""

from __future__ import annotations

import numpy as np

from ...nhwc_builder import Builder, Value
from .activations import apply


def _x(args) -> Value:
    x = args[0]
    return x[0] if isinstance(x, list) else x


def dense(b: Builder, cfg, args, kwargs, w):
    vs = w.vars()
    bias = vs[1] if cfg.get("use_bias", True) and len(vs) > 1 else None
    return apply(b, cfg.get("activation"), b.dense(_x(args), vs[0], bias))


def identity(b, cfg, args, kwargs, w):
    return _x(args)


# ---------------------------------------------------------------------------- norms
def _channel_affine(b: Builder, x: Value, scale, shift, axis) -> Value:
    """x * scale + shift with per-``axis`` constants (MUL + ADD: the passes fold them into
    a preceding convolution or dense layer)."""
    axis = axis % x.rank
    shape = [1] * x.rank
    shape[axis] = -1
    if axis == x.rank - 1:
        shape = [-1]
    scale = np.asarray(scale, np.float32).reshape(shape)
    shift = np.asarray(shift, np.float32).reshape(shape)
    y = x if np.all(scale == 1) else b.binary("MUL", x, b.const(scale))
    return y if np.all(shift == 0) else b.binary("ADD", y, b.const(shift))


def batch_norm(b, cfg, args, kwargs, w):
    x = _x(args)
    vs = [v.astype(np.float64) for v in w.vars()]
    k = 0
    gamma = beta = None
    if cfg.get("scale", True):
        gamma, k = vs[k], k + 1
    if cfg.get("center", True):
        beta, k = vs[k], k + 1
    mean, var = vs[k], vs[k + 1]
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) else axis
    inv = 1.0 / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
    scale = inv * (gamma if gamma is not None else 1.0)
    shift = (beta if beta is not None else 0.0) - mean * scale
    return _channel_affine(b, x, scale, shift, axis)


def layer_norm(b, cfg, args, kwargs, w):
    x = _x(args)
    axes = cfg.get("axis", -1)
    axes = [a % x.rank for a in (axes if isinstance(axes, list) else [axes])]
    if cfg.get("rms_scaling"):
        raise b.error("LayerNormalization with rms_scaling is not supported")
    vs = w.vars()
    k = 0
    gamma = beta = None
    if cfg.get("scale", True):
        gamma, k = vs[k], k + 1
    if cfg.get("center", True):
        beta = vs[k]
    eps = float(cfg.get("epsilon", 1e-3))
    mean = b.reduce("MEAN", x, axes, True)
    var = b.reduce("MEAN", b.binary("SQUARED_DIFFERENCE", x, mean), axes, True)
    inv = b.unary("RSQRT", b.binary("ADD", var, b.scalar(eps)))
    if gamma is not None:
        gshape = [x.shape[i] if i in axes else 1 for i in range(x.rank)]
        inv = b.binary("MUL", inv, b.const(gamma.astype(np.float32).reshape(
            gshape if axes != [x.rank - 1] else gamma.shape)))
    # (x - mean) * inv as x * inv - mean * inv, then + beta: constants second, the
    # operand order the int8 quantizer handles
    y = b.binary("SUB", b.binary("MUL", x, inv), b.binary("MUL", mean, inv))
    if beta is not None:
        bshape = [x.shape[i] if i in axes else 1 for i in range(x.rank)]
        y = b.binary("ADD", y, b.const(beta.astype(np.float32).reshape(
            bshape if axes != [x.rank - 1] else beta.shape)))
    return y


def rescaling(b, cfg, args, kwargs, w):
    x = _x(args)
    scale = np.asarray(cfg.get("scale", 1.0), np.float32)
    offset = np.asarray(cfg.get("offset", 0.0), np.float32)
    y = x if np.all(scale == 1) else b.binary("MUL", x, b.const(scale))
    return y if np.all(offset == 0) else b.binary("ADD", y, b.const(offset))


def normalization(b, cfg, args, kwargs, w):
    x = _x(args)
    if cfg.get("mean") is not None:
        mean = np.asarray(cfg["mean"], np.float64)
        var = np.asarray(cfg["variance"], np.float64)
    else:
        vs = w.vars()
        mean, var = vs[0].astype(np.float64), vs[1].astype(np.float64)
    std = np.maximum(np.sqrt(var), 1e-7)         # Keras: max(sqrt(var), epsilon())
    if cfg.get("invert"):
        scale, shift = std, mean
    else:
        scale, shift = 1.0 / std, -mean / std
    scale = np.broadcast_to(scale, np.broadcast_shapes(scale.shape, mean.shape))
    shift = np.broadcast_to(shift, scale.shape)
    y = x if np.all(scale == 1) else b.binary("MUL", x, b.const(scale.astype(np.float32)))
    return y if np.all(shift == 0) else b.binary("ADD", y, b.const(shift.astype(np.float32)))


# ---------------------------------------------------------------------------- merges
def merge(opcode: str):
    def rule(b, cfg, args, kwargs, w):
        xs = args[0] if isinstance(args[0], list) else list(args)
        y = xs[0]
        for v in xs[1:]:
            y = b.binary(opcode, y, v)
        return y
    return rule


def average(b, cfg, args, kwargs, w):
    xs = args[0] if isinstance(args[0], list) else list(args)
    return b.binary("MUL", merge("ADD")(b, cfg, [xs], kwargs, w), b.scalar(1.0 / len(xs)))


def concatenate(b, cfg, args, kwargs, w):
    xs = args[0] if isinstance(args[0], list) else list(args)
    return b.concat(xs, int(cfg.get("axis", -1)))


# ---------------------------------------------------------------------------- shapes
def reshape(b, cfg, args, kwargs, w):
    x = _x(args)
    return b.reshape(x, (x.shape[0],) + tuple(cfg["target_shape"]))


def flatten(b, cfg, args, kwargs, w):
    x = _x(args)
    return b.reshape(x, (x.shape[0], int(np.prod(x.shape[1:]))))


def permute(b, cfg, args, kwargs, w):
    return b.transpose(_x(args), [0] + [int(d) for d in cfg["dims"]])


def repeat_vector(b, cfg, args, kwargs, w):
    x = _x(args)
    n = int(cfg["n"])
    return b.op1("BROADCAST_TO", [b.reshape(x, (x.shape[0], 1, x.shape[1])),
                                  b.ints([x.shape[0], n, x.shape[1]])],
                 (x.shape[0], n, x.shape[1]))


def embedding(b, cfg, args, kwargs, w):
    x = _x(args)
    table = w.vars()[0].astype(np.float32)
    if x.dtype.kind == "f":
        x = b.op1("CAST", [x], x.shape, np.int32)
    elif x.dtype != np.int32:
        x = b.op1("CAST", [x], x.shape, np.int32)
    return b.op1("GATHER", [b.const(table), x], x.shape + table.shape[1:],
                 options={"axis": 0, "batch_dims": 0})


IDENTITY = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
            "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
            "Identity", "Masking")

RULES = {
    "Dense": dense, "BatchNormalization": batch_norm, "LayerNormalization": layer_norm,
    "Rescaling": rescaling, "Normalization": normalization,
    "Add": merge("ADD"), "Subtract": merge("SUB"), "Multiply": merge("MUL"),
    "Maximum": merge("MAXIMUM"), "Minimum": merge("MINIMUM"), "Average": average,
    "Concatenate": concatenate, "Reshape": reshape, "Flatten": flatten, "Permute": permute,
    "RepeatVector": repeat_vector, "Embedding": embedding,
    **{name: identity for name in IDENTITY},
}
