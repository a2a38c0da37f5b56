"""Elementwise ops: ADD/SUB/MUL/DIV/MAXIMUM/MINIMUM/SQUARED_DIFFERENCE/POW with numpy
broadcasting and fused activations; the activations (RELU*, LEAKY_RELU, PRELU, LOGISTIC,
TANH, HARD_SWISH, GELU, ELU) and float unary math; DEQUANTIZE of a constant.

One invocation per output element. A broadcast operand's index comes from the output
coordinates with its size-1 (or missing leading) dimensions dropped; operands of the
output's own shape use the linear index directly.
"""

from __future__ import annotations

import numpy as np

from . import wgsl
from .wgsl import f

_BINARY = {
    "ADD": "a + b", "SUB": "a - b", "MUL": "a * b", "DIV": "a / b",
    "MAXIMUM": "max(a, b)", "MINIMUM": "min(a, b)",
    "SQUARED_DIFFERENCE": "(a - b) * (a - b)", "POW": "pow(a, b)",
}


def _operand(L, t: int, out_shape, prefix: str) -> str:
    shape = L.spec(t).shape
    if tuple(shape) == tuple(out_shape):
        return L.load(t, "i")
    return L.load(t, wgsl.broadcast_index(shape, out_shape, prefix))


def check_binary(op, ins, outs) -> bool:
    return len(ins) == 2 and op.options.get("fused_activation_function", "NONE") in \
        wgsl.SUPPORTED_ACTIVATIONS


def lower_binary(L, op) -> None:
    out = op.outputs[0]
    shape = L.spec(out).shape
    a = _operand(L, op.inputs[0], shape, "c")
    b = _operand(L, op.inputs[1], shape, "c")
    expr = _BINARY[op.opcode]
    if op.opcode == "MAXIMUM":   # NaN wins, as in TFLite (and numpy)
        expr = "select(max(a, b), a + b, a != a || b != b)"
    elif op.opcode == "MINIMUM":
        expr = "select(min(a, b), a + b, a != a || b != b)"
    value = wgsl.act(op.options.get("fused_activation_function", "NONE"), "r")
    body = (f"{wgsl.unravel(shape, 'i', 'c')}\n  let a = {a};\n  let b = {b};\n"
            f"  let r = {expr};\n  {L.store(out, 'i', value)}")
    L.elementwise(L.spec(out).size, body)


# x is the input (f32); every expression follows the CPU kernel's formula
_UNARY = {
    "RELU": "max(x, 0.0)",
    "RELU6": "min(max(x, 0.0), 6.0)",
    "RELU_N1_TO_1": "min(max(x, -1.0), 1.0)",
    "RELU_0_TO_1": "min(max(x, 0.0), 1.0)",
    "LOGISTIC": "1.0 / (1.0 + exp(-x))",
    "TANH": "tanh(x)",
    "HARD_SWISH": "(x * f32(0.1666666716337204)) * min(max(x + 3.0, 0.0), 6.0)",
    "ELU": "select(x, exp(x) - 1.0, x < 0.0)",
    "ABS": "abs(x)", "NEG": "-x", "EXP": "exp(x)", "LOG": "log(x)", "SQRT": "sqrt(x)",
    "RSQRT": "inverseSqrt(x)", "SQUARE": "x * x", "SIN": "sin(x)", "COS": "cos(x)",
    "FLOOR": "floor(x)", "CEIL": "ceil(x)", "SIGN": "sign(x)",
    "ROUND": "round(x)",   # WGSL rounds half to even, as TFLite's ROUND
}

# x/2 erfc(-x/sqrt2); erfc from the rational Chebyshev fit of Numerical Recipes (erfcc,
# fractional error < 1.2e-7 everywhere), evaluated in f32
_ERFC = """
fn erfc_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277))))))));
  let r = t * exp(p);
  return select(2.0 - r, r, x >= 0.0);
}
"""


def check_unary(op, ins, outs) -> bool:
    return True


def lower_unary(L, op) -> None:
    x, out = op.inputs[0], op.outputs[0]
    opcode = op.opcode
    helpers = ""
    if opcode == "LEAKY_RELU":
        alpha = float(np.float32(op.options.get("alpha", 0.0)))
        expr = f"select(x * {f(alpha)}, x, x > 0.0)"
    elif opcode == "GELU" and op.options.get("approximate", False):
        expr = "0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))"
    elif opcode == "GELU":
        helpers, expr = _ERFC, "0.5 * x * erfc_(x * -0.7071067811865476)"
    else:
        expr = _UNARY[opcode]
    if opcode == "LOGISTIC":   # e^-x overflows to inf for x < -88: the result is 0
        expr = "select(1.0 / (1.0 + exp(-x)), 0.0, x < -88.0)"
    if opcode == "TANH":       # WGSL's tanh is undefined past |x| ~ 44 on some drivers
        expr = "select(tanh(x), sign(x), abs(x) > 20.0)"
    body = f"let x = {L.load(x, 'i')};\n  {L.store(out, 'i', expr)}"
    src_count = L.spec(out).size
    if helpers:
        gx, gy, gz = wgsl.grid(src_count)
        L.kernel(helpers + _wrap(src_count, gx, body), (gx, gy, gz))
    else:
        L.elementwise(src_count, body)


def _wrap(count: int, gx: int, body: str) -> str:
    return (f"@compute @workgroup_size({wgsl.WORKGROUP})\n"
            f"fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n"
            f"  let i = gid.x + gid.y * {gx * wgsl.WORKGROUP}u;\n"
            f"  if (i >= {count}u) {{ return; }}\n  {body}\n}}\n")


def check_prelu(op, ins, outs) -> bool:
    return len(ins) == 2 and ins[1] is not None


def lower_prelu(L, op) -> None:
    out = op.outputs[0]
    shape = L.spec(out).shape
    x = _operand(L, op.inputs[0], shape, "c")
    alpha = _operand(L, op.inputs[1], shape, "c")
    body = (f"{wgsl.unravel(shape, 'i', 'c')}\n  let x = {x};\n  let al = {alpha};\n"
            f"  {L.store(out, 'i', 'select(x * al, x, x >= 0.0)')}")
    L.elementwise(L.spec(out).size, body)


def check_dequantize(op, ins, outs) -> bool:
    """Only constants (float16 / int8 weights): dequantized once, at prepare."""
    return ins[0] is not None and ins[0].data is not None


def lower_dequantize(L, op) -> None:
    x, out = L.spec(op.inputs[0]), op.outputs[0]
    data = np.asarray(x.data)
    if data.dtype.kind in "iu" and x.quantization is not None:
        q = x.quantization
        scales = np.asarray(q.scales, np.float32)
        zps = np.asarray(q.zero_points, np.float32)
        axis = q.axis if scales.size > 1 else None
        shape = [1] * data.ndim
        if axis is not None:
            shape[axis] = -1
        value = (data.astype(np.float32) - zps.reshape(shape)) * scales.reshape(shape)
    else:
        value = data.astype(np.float32)
    off = L.const(value, key=("dequantize", op.outputs[0]))
    L.elementwise(L.spec(out).size, L.store(out, "i", f"wt({off}u + i)"))
