"""Elementwise ONNX ops: arithmetic, comparisons, logic, unary math and activations.

All are layout-agnostic: the output is stored in the layout of the first channels-last
input (constants are permuted to match at conversion), so they never add transposes.
"""

from __future__ import annotations

import numpy as np

from ._common import aligned, pick_layout

_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Pow": "POW", "Equal": "EQUAL",
           "Less": "LESS", "Greater": "GREATER", "LessOrEqual": "LESS_EQUAL",
           "GreaterOrEqual": "GREATER_EQUAL", "And": "LOGICAL_AND", "Or": "LOGICAL_OR",
           "Xor": "NOT_EQUAL", "Max": "MAXIMUM", "Min": "MINIMUM", "Sum": "ADD"}
_COMPARE = {"EQUAL", "LESS", "GREATER", "LESS_EQUAL", "GREATER_EQUAL", "LOGICAL_AND",
            "LOGICAL_OR", "NOT_EQUAL"}
_FUSABLE = {"ADD", "SUB", "MUL", "DIV"}
_UNARY = {"Abs": "ABS", "Neg": "NEG", "Sqrt": "SQRT", "Exp": "EXP", "Log": "LOG",
          "Sin": "SIN", "Cos": "COS", "Floor": "FLOOR", "Ceil": "CEIL", "Round": "ROUND",
          "Sign": "SIGN", "Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH",
          "Not": "LOGICAL_NOT", "HardSwish": "HARD_SWISH"}


# TFLite's arithmetic/comparison kernels take float32, int32 and int64 (and bool where
# logical); other numeric types are computed in a wider one between CASTs.
_WIDER = {np.dtype(t): np.dtype(w) for t, w in (
    (np.int8, np.int32), (np.uint8, np.int32), (np.int16, np.int32), (np.uint16, np.int32),
    (np.uint32, np.int64), (np.uint64, np.int64), (np.float16, np.float32))}
_FLOAT_ONLY = {"POW"}        # exponents mix types in ONNX: compute in float32 if they differ
_INT32_ONLY = {"DIV", "POW"}   # TFLite's DIV and POW: float32 and int32


def _widened(ctx, opcode, a, b):
    """(a, b, dtype to cast the result back to or None)."""
    wide_a, wide_b = _WIDER.get(a.dtype, a.dtype), _WIDER.get(b.dtype, b.dtype)
    if opcode in _FLOAT_ONLY and a.dtype != b.dtype:
        wide_a = wide_b = np.dtype(np.float32)
    if opcode in _INT32_ONLY and wide_a == np.int64 and wide_b == np.int64:
        wide_a = wide_b = np.dtype(np.int32)
    if wide_a == a.dtype and wide_b == b.dtype:
        return a, b, None
    def cast(v, dtype):
        if v.dtype == dtype:
            return v
        if v.const is not None:
            return ctx.const_value(np.asarray(v.const).astype(dtype))
        return unary(ctx, "CAST", v, dtype=dtype)
    return cast(a, wide_a), cast(b, wide_b), a.dtype


def binary(ctx, opcode: str, a, b, dtype=None, options=None):
    """``opcode(a, b)`` with numpy broadcasting, in the inputs' layout."""
    a, b, back = _widened(ctx, opcode, a, b)
    if back is not None:
        out = binary(ctx, opcode, a, b, dtype, options)
        return out if out.dtype == np.bool_ or out.dtype == back else \
            unary(ctx, "CAST", out, dtype=back)
    shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    perm = pick_layout([a, b], len(shape))
    ia, ib = aligned(ctx, a, len(shape), perm), aligned(ctx, b, len(shape), perm)
    if dtype is None:
        dtype = np.bool_ if opcode in _COMPARE else a.dtype
    if opcode in _FUSABLE and options is None:
        options = {"fused_activation_function": "NONE"}
    return ctx.emit(opcode, [ia, ib], [shape], [dtype], options, perm=perm)[0]


def unary(ctx, opcode: str, x, options=None, dtype=None):
    return ctx.emit(opcode, [x.index if x.const is None else ctx.logical(x)], [x.shape],
                    [dtype or x.dtype], options, perm=x.perm if x.const is None else None)[0]


def scalar(ctx, value, dtype):
    return ctx.const_value(np.array(value, dtype=dtype))


def _binary_rule(opcode):
    def rule(ctx, node, ins, attrs):
        vals = [v for v in ins if v is not None]
        if len(vals) == 1:          # variadic Max/Min/Sum of one input
            return [vals[0]]
        acc = binary(ctx, opcode, vals[0], vals[1])
        for v in vals[2:]:
            acc = binary(ctx, opcode, acc, v)
        return [acc]
    return rule


def _unary_rule(opcode):
    def rule(ctx, node, ins, attrs):
        return [unary(ctx, opcode, ins[0])]
    return rule


def _div(ctx, node, ins, attrs):
    # ONNX integer Div truncates toward zero; so does TFLite's integer DIV
    return [binary(ctx, "DIV", *ins)]


def _mean(ctx, node, ins, attrs):
    vals = [v for v in ins if v is not None]
    acc = _binary_rule("ADD")(ctx, node, vals, attrs)[0]
    if len(vals) == 1:
        return [acc]
    return [binary(ctx, "MUL", acc, scalar(ctx, 1.0 / len(vals), acc.dtype))]


def _mod(ctx, node, ins, attrs):
    a, b = ins
    if attrs.get("fmod", 0) == 0:
        return [binary(ctx, "FLOOR_MOD", a, b)]
    if a.dtype.kind == "f":
        # C fmod: a - trunc(a / b) * b
        q = binary(ctx, "DIV", a, b)
        t = _trunc(ctx, q)
        return [binary(ctx, "SUB", a, binary(ctx, "MUL", t, b))]
    # integers: truncated remainder = floor_mod adjusted where signs differ
    fm = binary(ctx, "FLOOR_MOD", a, b)
    sign_differs = binary(ctx, "NOT_EQUAL", binary(ctx, "LESS", a, scalar(ctx, 0, a.dtype)),
                          binary(ctx, "LESS", b, scalar(ctx, 0, b.dtype)))
    nonzero = binary(ctx, "NOT_EQUAL", fm, scalar(ctx, 0, a.dtype))
    fix = binary(ctx, "LOGICAL_AND", sign_differs, nonzero)
    return [select(ctx, fix, binary(ctx, "SUB", fm, b), fm)]


def _trunc(ctx, x):
    neg = binary(ctx, "LESS", x, scalar(ctx, 0.0, x.dtype))
    return select(ctx, neg, unary(ctx, "CEIL", x), unary(ctx, "FLOOR", x))


def select(ctx, cond, a, b):
    shape = tuple(np.broadcast_shapes(cond.shape, a.shape, b.shape))
    perm = pick_layout([cond, a, b], len(shape))
    idx = [aligned(ctx, v, len(shape), perm) for v in (cond, a, b)]
    return ctx.emit("SELECT_V2", idx, [shape], [a.dtype], perm=perm)[0]


def _where(ctx, node, ins, attrs):
    return [select(ctx, *ins)]


def _identity(ctx, node, ins, attrs):
    return [ins[0]]


def _reciprocal(ctx, node, ins, attrs):
    x = ins[0]
    return [binary(ctx, "DIV", scalar(ctx, 1, x.dtype), x)]


def _leaky_relu(ctx, node, ins, attrs):
    return [unary(ctx, "LEAKY_RELU", ins[0], {"alpha": float(attrs.get("alpha", 0.01))})]


def _elu(ctx, node, ins, attrs):
    x, alpha = ins[0], float(attrs.get("alpha", 1.0))
    if alpha == 1.0:
        return [unary(ctx, "ELU", x)]
    # alpha * (exp(min(x, 0)) - 1) + max(x, 0)
    neg = binary(ctx, "MINIMUM", x, scalar(ctx, 0.0, x.dtype))
    em1 = binary(ctx, "SUB", unary(ctx, "EXP", neg), scalar(ctx, 1.0, x.dtype))
    return [binary(ctx, "ADD", binary(ctx, "MUL", em1, scalar(ctx, alpha, x.dtype)),
                   unary(ctx, "RELU", x))]


def _selu(ctx, node, ins, attrs):
    x = ins[0]
    alpha = float(attrs.get("alpha", 1.67326319217681884765625))
    gamma = float(attrs.get("gamma", 1.05070102214813232421875))
    neg = binary(ctx, "MINIMUM", x, scalar(ctx, 0.0, x.dtype))
    em1 = binary(ctx, "SUB", unary(ctx, "EXP", neg), scalar(ctx, 1.0, x.dtype))
    s = binary(ctx, "ADD", binary(ctx, "MUL", em1, scalar(ctx, alpha, x.dtype)),
               unary(ctx, "RELU", x))
    return [binary(ctx, "MUL", s, scalar(ctx, gamma, x.dtype))]


def _celu(ctx, node, ins, attrs):
    x, alpha = ins[0], float(attrs.get("alpha", 1.0))
    neg = binary(ctx, "MINIMUM", binary(ctx, "DIV", x, scalar(ctx, alpha, x.dtype)),
                 scalar(ctx, 0.0, x.dtype))
    em1 = binary(ctx, "SUB", unary(ctx, "EXP", neg), scalar(ctx, 1.0, x.dtype))
    return [binary(ctx, "ADD", binary(ctx, "MUL", em1, scalar(ctx, alpha, x.dtype)),
                   unary(ctx, "RELU", x))]


def _softplus_of(ctx, x):
    # log(1 + exp(x)) computed stably: max(x, 0) + log(1 + exp(-|x|))
    e = unary(ctx, "EXP", unary(ctx, "NEG", unary(ctx, "ABS", x)))
    return binary(ctx, "ADD", unary(ctx, "RELU", x),
                  unary(ctx, "LOG", binary(ctx, "ADD", e, scalar(ctx, 1.0, x.dtype))))


def _softplus(ctx, node, ins, attrs):
    return [_softplus_of(ctx, ins[0])]


def _softsign(ctx, node, ins, attrs):
    x = ins[0]
    return [binary(ctx, "DIV", x, binary(ctx, "ADD", unary(ctx, "ABS", x),
                                         scalar(ctx, 1.0, x.dtype)))]


def _mish(ctx, node, ins, attrs):
    x = ins[0]
    return [binary(ctx, "MUL", x, unary(ctx, "TANH", _softplus_of(ctx, x)))]


def _hard_sigmoid(ctx, node, ins, attrs):
    x = ins[0]
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    y = binary(ctx, "ADD", binary(ctx, "MUL", x, scalar(ctx, alpha, x.dtype)),
               scalar(ctx, beta, x.dtype))
    return [unary(ctx, "RELU_0_TO_1", y)]


def _thresholded_relu(ctx, node, ins, attrs):
    x, alpha = ins[0], float(attrs.get("alpha", 1.0))
    keep = binary(ctx, "GREATER", x, scalar(ctx, alpha, x.dtype))
    return [select(ctx, keep, x, scalar(ctx, 0.0, x.dtype))]


def _prelu(ctx, node, ins, attrs):
    x, slope = ins
    shape = tuple(np.broadcast_shapes(x.shape, slope.shape))
    perm = pick_layout([x], len(shape))
    return [ctx.emit("PRELU", [aligned(ctx, x, len(shape), perm),
                               aligned(ctx, slope, len(shape), perm)],
                     [shape], [x.dtype], perm=perm)[0]]


def _gelu(ctx, node, ins, attrs):
    approx = attrs.get("approximate", "none")
    approx = approx.decode() if isinstance(approx, bytes) else approx
    return [unary(ctx, "GELU", ins[0], {"approximate": approx == "tanh"})]


def _clip(ctx, node, ins, attrs):
    x = ins[0]
    if ctx.opset < 11:
        lo, hi = attrs.get("min", -np.inf), attrs.get("max", np.inf)
    else:
        lo = ins[1].const if len(ins) > 1 and ins[1] is not None else None
        hi = ins[2].const if len(ins) > 2 and ins[2] is not None else None
        if (len(ins) > 1 and ins[1] is not None and lo is None) or \
                (len(ins) > 2 and ins[2] is not None and hi is None):
            out = x
            if len(ins) > 1 and ins[1] is not None:
                out = binary(ctx, "MAXIMUM", out, ins[1])
            if len(ins) > 2 and ins[2] is not None:
                out = binary(ctx, "MINIMUM", out, ins[2])
            return [out]
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
    if x.dtype == np.float32:
        named = {(0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1", (0.0, 1.0): "RELU_0_TO_1",
                 (0.0, np.inf): "RELU"}.get((float(lo), float(hi)))
        if named:
            return [unary(ctx, named, x)]
    out = x
    if lo != -np.inf and not (x.dtype.kind in "iu" and lo <= np.iinfo(x.dtype).min):
        out = binary(ctx, "MAXIMUM", out, scalar(ctx, lo, x.dtype))
    if hi != np.inf and not (x.dtype.kind in "iu" and hi >= np.iinfo(x.dtype).max):
        out = binary(ctx, "MINIMUM", out, scalar(ctx, hi, x.dtype))
    return [out]


def _isnan(ctx, node, ins, attrs):
    return [binary(ctx, "NOT_EQUAL", ins[0], ins[0])]


def _isinf(ctx, node, ins, attrs):
    x = ins[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if pos and neg:
        return [binary(ctx, "EQUAL", unary(ctx, "ABS", x), scalar(ctx, np.inf, x.dtype))]
    if pos:
        return [binary(ctx, "EQUAL", x, scalar(ctx, np.inf, x.dtype))]
    if neg:
        return [binary(ctx, "EQUAL", x, scalar(ctx, -np.inf, x.dtype))]
    return [binary(ctx, "NOT_EQUAL", x, x)]   # nothing detected: all False (x != x is NaN)


def _cast(ctx, node, ins, attrs):
    from onnx import helper

    x = ins[0]
    from ..context import compute_dtype

    to = compute_dtype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
    if to == compute_dtype(x.dtype):
        return [x]
    return [unary(ctx, "CAST", x, dtype=to)]


def _cast_like(ctx, node, ins, attrs):
    from ..context import compute_dtype

    x, like = ins
    if compute_dtype(like.dtype) == compute_dtype(x.dtype):
        return [x]
    return [unary(ctx, "CAST", x, dtype=like.dtype)]


RULES = {op: _binary_rule(tfl) for op, tfl in _BINARY.items()}
RULES.update({op: _unary_rule(tfl) for op, tfl in _UNARY.items()})
RULES.update({
    "Div": _div, "Mean": _mean, "Mod": _mod, "Where": _where, "Identity": _identity,
    "Reciprocal": _reciprocal, "LeakyRelu": _leaky_relu, "Elu": _elu, "Selu": _selu,
    "Celu": _celu, "Softplus": _softplus, "Softsign": _softsign, "Mish": _mish,
    "HardSigmoid": _hard_sigmoid, "ThresholdedRelu": _thresholded_relu, "PRelu": _prelu,
    "Gelu": _gelu, "Clip": _clip, "IsNaN": _isnan, "IsInf": _isinf, "Cast": _cast,
    "CastLike": _cast_like,
})
