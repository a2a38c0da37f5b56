"""Float32 activations: RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1, LEAKY_RELU, PRELU, LOGISTIC,
TANH, HARD_SWISH, ELU, GELU, SOFTMAX, LOG_SOFTMAX. Each writes its output in place with
``out=`` ufuncs; PRELU and SOFTMAX use an arena scratch buffer."""

from __future__ import annotations

import math

import numpy as np

from .api import KernelDef, PrepareContext


def _unary_float(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None, "needs an input")
    ctx.check(x.dtype == np.float32,
              f"{x.dtype} input is not supported yet (quantized kernels come later)")
    ctx.set_output(0, x.shape, np.float32)
    return x


def _clamp(lo, hi):
    def prepare(ctx: PrepareContext):
        _unary_float(ctx)

        def run(ins, outs, scratch):
            np.clip(ins[0], lo, hi, out=outs[0])
        return run
    return prepare


def prepare_leaky_relu(ctx: PrepareContext):
    _unary_float(ctx)
    alpha = np.float32(ctx.options.get("alpha", 0.0))

    def run(ins, outs, scratch):
        x, out = ins[0], outs[0]
        np.multiply(x, alpha, out=out)
        np.maximum(out, x, out=out) if alpha <= 1 else np.minimum(out, x, out=out)
    return run


def prepare_prelu(ctx: PrepareContext):
    x, alpha = _unary_float(ctx), ctx.input(1)
    ctx.check(alpha is not None and alpha.dtype == np.float32, "alpha must be float32")
    shape = ctx.broadcast(x, alpha)
    ctx.set_output(0, shape, np.float32)
    neg = ctx.scratch(shape, np.float32)

    def run(ins, outs, scratch):
        tmp = scratch[neg]
        np.minimum(ins[0], 0, out=tmp)
        np.multiply(tmp, ins[1], out=tmp)
        np.maximum(ins[0], 0, out=outs[0])
        np.add(outs[0], tmp, out=outs[0])
    return run


def prepare_logistic(ctx: PrepareContext):
    _unary_float(ctx)

    def run(ins, outs, scratch):
        out = outs[0]   # 1 / (1 + e^-x) written as 0.5 (1 + tanh(x / 2)): no overflow
        np.multiply(ins[0], 0.5, out=out)
        np.tanh(out, out=out)
        np.add(out, 1.0, out=out)
        np.multiply(out, 0.5, out=out)
    return run


def prepare_tanh(ctx: PrepareContext):
    _unary_float(ctx)

    def run(ins, outs, scratch):
        np.tanh(ins[0], out=outs[0])
    return run


def prepare_hard_swish(ctx: PrepareContext):
    _unary_float(ctx)

    def run(ins, outs, scratch):
        out = outs[0]
        np.add(ins[0], 3.0, out=out)
        np.clip(out, 0.0, 6.0, out=out)
        np.multiply(out, ins[0], out=out)
        np.multiply(out, np.float32(1 / 6), out=out)
    return run


def prepare_elu(ctx: PrepareContext):
    _unary_float(ctx)
    neg = ctx.scratch(ctx.input(0).shape, np.float32)

    def run(ins, outs, scratch):
        tmp = scratch[neg]
        np.minimum(ins[0], 0, out=tmp)
        np.expm1(tmp, out=tmp)
        np.maximum(ins[0], 0, out=outs[0])
        np.add(outs[0], tmp, out=outs[0])
    return run


def prepare_gelu(ctx: PrepareContext):
    _unary_float(ctx)
    tmp_id = ctx.scratch(ctx.input(0).shape, np.float32)
    approximate = bool(ctx.options.get("approximate", False))
    c = np.float32(math.sqrt(2 / math.pi))

    def run(ins, outs, scratch):
        x, out, tmp = ins[0], outs[0], scratch[tmp_id]
        if approximate:   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            np.multiply(x, x, out=tmp)
            np.multiply(tmp, x, out=tmp)
            np.multiply(tmp, np.float32(0.044715), out=tmp)
            np.add(tmp, x, out=tmp)
            np.multiply(tmp, c, out=tmp)
            np.tanh(tmp, out=tmp)
        else:             # 0.5 x (1 + erf(x / sqrt 2)), erf from its tanh-free series
            _erf(x, tmp)
        np.add(tmp, 1.0, out=tmp)
        np.multiply(tmp, x, out=out)
        np.multiply(out, 0.5, out=out)
    return run


def _erf(x, out):
    from .special import erf_scaled
    erf_scaled(x, out)


def _softmax_axis_last(ctx: PrepareContext):
    x = _unary_float(ctx)
    ctx.check(len(x.shape) >= 1, "input must have at least one dimension")
    return ctx.scratch(tuple(x.shape[:-1]) + (1,), np.float32)


def prepare_softmax(ctx: PrepareContext):
    col = _softmax_axis_last(ctx)
    beta = np.float32(ctx.options.get("beta", 1.0))

    def run(ins, outs, scratch):
        x, out, m = ins[0], outs[0], scratch[col]
        np.max(x, axis=-1, keepdims=True, out=m)
        np.subtract(x, m, out=out)
        np.multiply(out, beta, out=out)
        np.exp(out, out=out)
        np.sum(out, axis=-1, keepdims=True, out=m)
        np.divide(out, m, out=out)
    return run


def prepare_log_softmax(ctx: PrepareContext):
    col = _softmax_axis_last(ctx)
    tmp = ctx.scratch(ctx.input(0).shape, np.float32)

    def run(ins, outs, scratch):
        x, out, m, t = ins[0], outs[0], scratch[col], scratch[tmp]
        np.max(x, axis=-1, keepdims=True, out=m)
        np.subtract(x, m, out=out)
        np.exp(out, out=t)
        np.sum(t, axis=-1, keepdims=True, out=m)
        np.log(m, out=m)
        np.subtract(out, m, out=out)
    return run


KERNELS = {
    "RELU": KernelDef(_clamp(0.0, np.inf), 3),
    "RELU6": KernelDef(_clamp(0.0, 6.0), 3),
    "RELU_N1_TO_1": KernelDef(_clamp(-1.0, 1.0), 2),
    "RELU_0_TO_1": KernelDef(_clamp(0.0, 1.0), 1),
    "LEAKY_RELU": KernelDef(prepare_leaky_relu, 2),
    "PRELU": KernelDef(prepare_prelu, 1),
    "LOGISTIC": KernelDef(prepare_logistic, 3),
    "TANH": KernelDef(prepare_tanh, 3),
    "HARD_SWISH": KernelDef(prepare_hard_swish, 1),
    "ELU": KernelDef(prepare_elu, 1),
    "GELU": KernelDef(prepare_gelu, 2),
    "SOFTMAX": KernelDef(prepare_softmax, 3),
    "LOG_SOFTMAX": KernelDef(prepare_log_softmax, 2),
}
