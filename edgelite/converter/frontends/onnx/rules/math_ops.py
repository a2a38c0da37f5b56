"""Math ops TFLite has no builtin for, composed from ones it has: Tan, Sinh, Cosh, Asinh,
Acosh, Atanh, Atan, Asin, Acos, Shrink, EyeLike, CumProd, SwiGLU and BitwiseNot.

The hyperbolic functions and their inverses use their exp/log definitions (asinh in the
sign-symmetric form, so negative inputs do not cancel). Atan reduces its argument twice
(``|x| > 1``: pi/2 - atan(1/|x|); ``t > tan(pi/8)``: pi/4 + atan((t-1)/(t+1))) and sums the
Taylor series to the 11th power on ``|u| <= tan(pi/8)`` (error below 1e-6); Asin and Acos
are atan(x / sqrt(1 - x^2)) and pi/2 minus it. CumProd is an unrolled running
product over the axis' slices (SPLIT_V, MUL, CONCATENATION): exact, unlike exp(cumsum(log)),
and bounded to short axes. With the axis known only at run time, the product is built for
every axis and the right one picked by a SELECT_V2 on the axis value.
"""

from __future__ import annotations

import numpy as np

from ._common import norm_axis
from .elementwise import binary, scalar, select, unary

_MAX_UNROLL = 64


def _half(ctx, x):
    return scalar(ctx, 0.5, x.dtype)


def _tan(ctx, node, ins, attrs):
    x = ins[0]
    return [binary(ctx, "DIV", unary(ctx, "SIN", x), unary(ctx, "COS", x))]


def _exp_pair(ctx, x):
    return unary(ctx, "EXP", x), unary(ctx, "EXP", unary(ctx, "NEG", x))


def _sinh(ctx, node, ins, attrs):
    ep, en = _exp_pair(ctx, ins[0])
    return [binary(ctx, "MUL", binary(ctx, "SUB", ep, en), _half(ctx, ins[0]))]


def _cosh(ctx, node, ins, attrs):
    ep, en = _exp_pair(ctx, ins[0])
    return [binary(ctx, "MUL", binary(ctx, "ADD", ep, en), _half(ctx, ins[0]))]


def _asinh(ctx, node, ins, attrs):
    # sign(x) * log(|x| + sqrt(x^2 + 1))
    x = ins[0]
    a = unary(ctx, "ABS", x)
    root = unary(ctx, "SQRT", binary(ctx, "ADD", binary(ctx, "MUL", a, a),
                                     scalar(ctx, 1.0, x.dtype)))
    return [binary(ctx, "MUL", unary(ctx, "SIGN", x),
                   unary(ctx, "LOG", binary(ctx, "ADD", a, root)))]


def _acosh(ctx, node, ins, attrs):
    # log(x + sqrt(x^2 - 1)); NaN below 1 as ONNX's
    x = ins[0]
    root = unary(ctx, "SQRT", binary(ctx, "SUB", binary(ctx, "MUL", x, x),
                                     scalar(ctx, 1.0, x.dtype)))
    return [unary(ctx, "LOG", binary(ctx, "ADD", x, root))]


def _atanh(ctx, node, ins, attrs):
    # (log(1 + x) - log(1 - x)) / 2
    x = ins[0]
    one = scalar(ctx, 1.0, x.dtype)
    d = binary(ctx, "SUB", unary(ctx, "LOG", binary(ctx, "ADD", one, x)),
               unary(ctx, "LOG", binary(ctx, "SUB", one, x)))
    return [binary(ctx, "MUL", d, _half(ctx, x))]


def _atan_of(ctx, x):
    f = x.dtype
    one = scalar(ctx, 1.0, f)
    a = unary(ctx, "ABS", x)
    big = binary(ctx, "GREATER", a, one)
    t = select(ctx, big, binary(ctx, "DIV", one, a), a)            # in [0, 1]
    mid = binary(ctx, "GREATER", t, scalar(ctx, float(np.tan(np.pi / 8)), f))
    u = select(ctx, mid, binary(ctx, "DIV", binary(ctx, "SUB", t, one),
                                binary(ctx, "ADD", t, one)), t)   # |u| <= tan(pi/8)
    u2 = binary(ctx, "MUL", u, u)
    poly = scalar(ctx, -1.0 / 11, f)
    for k in (9, 7, 5, 3):       # Horner: 1 - u2/3 + u2^2/5 - ... - u2^5/11
        poly = binary(ctx, "ADD", binary(ctx, "MUL", poly, u2),
                      scalar(ctx, (1.0 if k % 4 == 1 else -1.0) / k, f))
    r = binary(ctx, "MUL", u, binary(ctx, "ADD", binary(ctx, "MUL", poly, u2), one))
    r = select(ctx, mid, binary(ctx, "ADD", r, scalar(ctx, np.pi / 4, f)), r)
    r = select(ctx, big, binary(ctx, "SUB", scalar(ctx, np.pi / 2, f), r), r)
    return binary(ctx, "MUL", unary(ctx, "SIGN", x), r)


def _atan(ctx, node, ins, attrs):
    return [_atan_of(ctx, ins[0])]


def _asin_of(ctx, x):
    one = scalar(ctx, 1.0, x.dtype)
    root = unary(ctx, "SQRT", binary(ctx, "SUB", one, binary(ctx, "MUL", x, x)))
    return _atan_of(ctx, binary(ctx, "DIV", x, root))    # |x| = 1: x / 0 = +-inf -> +-pi/2


def _asin(ctx, node, ins, attrs):
    return [_asin_of(ctx, ins[0])]


def _acos(ctx, node, ins, attrs):
    x = ins[0]
    return [binary(ctx, "SUB", scalar(ctx, np.pi / 2, x.dtype), _asin_of(ctx, x))]


def _shrink(ctx, node, ins, attrs):
    x = ins[0]
    lambd, bias = float(attrs.get("lambd", 0.5)), float(attrs.get("bias", 0.0))
    cast = (lambda v: v) if x.dtype.kind == "f" else int
    below = binary(ctx, "LESS", x, scalar(ctx, cast(-lambd), x.dtype))
    above = binary(ctx, "GREATER", x, scalar(ctx, cast(lambd), x.dtype))
    zero = scalar(ctx, 0, x.dtype)
    y = select(ctx, above, binary(ctx, "SUB", x, scalar(ctx, cast(bias), x.dtype)), zero)
    return [select(ctx, below, binary(ctx, "ADD", x, scalar(ctx, cast(bias), x.dtype)), y)]


def _eye_like(ctx, node, ins, attrs):
    """A constant: it depends only on the (static) input shape."""
    from onnx import helper

    x = ins[0]
    if x.rank != 2:
        raise ctx.error(f"EyeLike needs a rank-2 input, got shape {list(x.shape)}")
    dtype = helper.tensor_dtype_to_np_dtype(attrs["dtype"]) if "dtype" in attrs else x.dtype
    return [ctx.const_value(np.eye(x.shape[0], x.shape[1], int(attrs.get("k", 0)),
                                   dtype=dtype))]


def _cumprod_axis(ctx, x, axis: int, exclusive: bool, reverse: bool):
    n = x.shape[axis]
    if n > _MAX_UNROLL:
        raise ctx.error(f"CumProd over an axis of {n} elements (more than {_MAX_UNROLL}) "
                        f"is not supported")
    if n == 0:
        return x
    piece = x.shape[:axis] + (1,) + x.shape[axis + 1:]
    parts = ctx.emit("SPLIT_V", [ctx.logical(x), ctx.constant_index(np.ones(n, np.int32)),
                                 ctx.constant_index(np.array(axis, np.int32))],
                     [piece] * n, [x.dtype] * n, {"num_splits": n})
    order = list(range(n))[::-1] if reverse else list(range(n))
    running, out = None, {}
    for i in order:
        if exclusive:
            out[i] = running if running is not None else \
                ctx.const_value(np.ones(piece, x.dtype))
        running = parts[i] if running is None else binary(ctx, "MUL", running, parts[i])
        if not exclusive:
            out[i] = running
    return ctx.emit("CONCATENATION", [ctx.logical(out[i]) for i in range(n)], [x.shape],
                    [x.dtype], {"axis": axis, "fused_activation_function": "NONE"})[0]


def _cumprod(ctx, node, ins, attrs):
    x, axis_v = ins
    exclusive, reverse = bool(attrs.get("exclusive", 0)), bool(attrs.get("reverse", 0))
    if axis_v.const is not None:
        axis = norm_axis(int(np.asarray(axis_v.const).reshape(-1)[0]), x.rank, ctx)
        return [_cumprod_axis(ctx, x, axis, exclusive, reverse)]
    if x.rank == 1:
        return [_cumprod_axis(ctx, x, 0, exclusive, reverse)]
    a = axis_v if axis_v.dtype == np.int32 else unary(ctx, "CAST", axis_v, dtype=np.int32)
    a = binary(ctx, "FLOOR_MOD", a, scalar(ctx, x.rank, np.int32))    # -r..r-1 -> 0..r-1
    y = None
    for axis in range(x.rank):
        candidate = _cumprod_axis(ctx, x, axis, exclusive, reverse)
        if y is None:
            y = candidate
            continue
        pick = binary(ctx, "EQUAL", a, scalar(ctx, axis, np.int32))
        if pick.shape != ():
            pick = ctx.emit("RESHAPE", [pick.index, ctx.constant_index(np.zeros(0, np.int32))],
                            [()], [np.bool_], {"new_shape": []})[0]
        y = select(ctx, pick, candidate, y)
    return [y]


RULES = {"Tan": _tan, "Sinh": _sinh, "Cosh": _cosh, "Asinh": _asinh, "Acosh": _acosh,
         "Atanh": _atanh, "Shrink": _shrink, "EyeLike": _eye_like, "CumProd": _cumprod}


def _swiglu(ctx, node, ins, attrs):
    a, b = ins
    alpha = float(attrs.get("alpha", 1.0))
    s = a if alpha == 1.0 else binary(ctx, "MUL", a, scalar(ctx, alpha, a.dtype))
    return [binary(ctx, "MUL", binary(ctx, "MUL", a, unary(ctx, "LOGISTIC", s)), b)]


def _bitwise_not(ctx, node, ins, attrs):
    """~x: ``-1 - x`` for signed integers (no overflow), ``max - x`` for unsigned ones."""
    x = ins[0]
    if x.dtype.kind not in "iu":
        raise ctx.error(f"BitwiseNot of {x.dtype} is not supported (integers only)")
    top = -1 if x.dtype.kind == "i" else np.iinfo(x.dtype).max
    return [binary(ctx, "SUB", scalar(ctx, top, x.dtype), x)]


RULES.update({"SwiGLU": _swiglu, "BitwiseNot": _bitwise_not, "Atan": _atan, "Asin": _asin,
              "Acos": _acos})
