"""Keras activations (by name, as configs spell them) and the activation layers."""

from __future__ import annotations

import numpy as np

from ...nhwc_builder import Builder, Value

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _softplus(b: Builder, x: Value) -> Value:
    # log(1 + exp(x)) without overflow: max(x, 0) + log(1 + exp(-|x|))
    e = b.unary("EXP", b.unary("NEG", b.unary("ABS", x)))
    return b.binary("ADD", b.unary("RELU", x), b.unary("LOG", b.binary("ADD", e, b.scalar(1))))


def _swish(b, x):
    return b.binary("MUL", x, b.unary("LOGISTIC", x))


def _hard_sigmoid(b, x):
    # Keras 3: relu6(x + 3) / 6
    return b.binary("MUL", b.unary("RELU6", b.binary("ADD", x, b.scalar(3.0))),
                    b.scalar(1.0 / 6.0))


def _selu(b, x):
    neg = b.binary("MINIMUM", b.unary("ELU", x), b.scalar(0.0))
    return b.binary("ADD", b.binary("MUL", b.unary("RELU", x), b.scalar(_SELU_SCALE)),
                    b.binary("MUL", neg, b.scalar(_SELU_SCALE * _SELU_ALPHA)))


ACTIVATIONS = {
    "linear": lambda b, x: x,
    "relu": lambda b, x: b.unary("RELU", x),
    "relu6": lambda b, x: b.unary("RELU6", x),
    "sigmoid": lambda b, x: b.unary("LOGISTIC", x),
    "tanh": lambda b, x: b.unary("TANH", x),
    "softmax": lambda b, x: b.softmax(x),
    "log_softmax": lambda b, x: b.unary("LOG_SOFTMAX", x),
    "swish": _swish, "silu": _swish,
    "hard_sigmoid": _hard_sigmoid,
    "hard_swish": lambda b, x: b.unary("HARD_SWISH", x),
    "hard_silu": lambda b, x: b.unary("HARD_SWISH", x),
    "elu": lambda b, x: b.unary("ELU", x),
    "selu": _selu,
    "gelu": lambda b, x: b.unary("GELU", x, {"approximate": False}),
    "leaky_relu": lambda b, x: b.unary("LEAKY_RELU", x, {"alpha": 0.2}),
    "softplus": _softplus,
    "softsign": lambda b, x: b.binary("DIV", x, b.binary("ADD", b.unary("ABS", x),
                                                          b.scalar(1.0))),
    "exponential": lambda b, x: b.unary("EXP", x),
    "mish": lambda b, x: b.binary("MUL", x, b.unary("TANH", _softplus(b, x))),
}


def activation_name(spec) -> str:
    if spec is None:
        return "linear"
    if isinstance(spec, dict):
        spec = spec.get("config", {}).get("name") or spec.get("class_name", "linear")
    return str(spec).lower()


def apply(b: Builder, spec, x: Value) -> Value:
    name = activation_name(spec)
    if name not in ACTIVATIONS:
        raise b.error(f"activation {name!r} is not supported "
                      f"({', '.join(sorted(ACTIVATIONS))})")
    return ACTIVATIONS[name](b, x)


def _activation(b, cfg, args, kwargs, w):
    return apply(b, cfg.get("activation"), args[0])


def _relu(b, cfg, args, kwargs, w):
    x = args[0]
    max_value = cfg.get("max_value")
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    threshold = float(cfg.get("threshold", 0.0) or 0.0)
    if threshold != 0.0:
        raise b.error("ReLU with a threshold is not supported")
    if slope == 0.0 and max_value is None:
        return b.unary("RELU", x)
    if slope == 0.0 and float(max_value) == 6.0:
        return b.unary("RELU6", x)
    y = b.unary("LEAKY_RELU", x, {"alpha": slope}) if slope else b.unary("RELU", x)
    if max_value is not None:
        y = b.binary("MINIMUM", y, b.scalar(float(max_value)))
    return y


def _leaky_relu(b, cfg, args, kwargs, w):
    alpha = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return b.unary("LEAKY_RELU", args[0], {"alpha": float(alpha)})


def _elu(b, cfg, args, kwargs, w):
    alpha = float(cfg.get("alpha", 1.0))
    y = b.unary("ELU", args[0])
    if alpha == 1.0:
        return y
    # alpha * elu for x < 0: relu(x) + alpha * min(elu(x), 0)
    return b.binary("ADD", b.unary("RELU", args[0]),
                    b.binary("MUL", b.binary("MINIMUM", y, b.scalar(0.0)), b.scalar(alpha)))


def _prelu(b, cfg, args, kwargs, w):
    alpha = w.vars()[0].astype(np.float32)
    x = args[0]
    alpha = alpha.reshape(alpha.shape[-x.rank + 1:]) if alpha.ndim >= x.rank else alpha
    return b.op1("PRELU", [x, b.const(alpha)], x.shape)


def _softmax(b, cfg, args, kwargs, w):
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    x = args[0]
    if axis % x.rank != x.rank - 1:
        raise b.error(f"Softmax over axis {axis} (only the last axis) is not supported")
    return b.softmax(x)


RULES = {"Activation": _activation, "ReLU": _relu, "LeakyReLU": _leaky_relu, "ELU": _elu,
         "PReLU": _prelu, "Softmax": _softmax}
