"""WGSL text shared by every kernel: the binding header, literals, index arithmetic and
fused activations.

Every shader of a partition sees the same four bindings (one bind group, one pipeline
layout): ``A`` the partition's arena (its tensors at planned offsets, read-write),
``W`` its constants (weights, biases, repacked filters), ``IX`` its u32 index tables
(gather ops) and ``A32`` a second arena, always f32, for the tensors that fp16 mode keeps
wide (``storage.py``; ``ld32``/``st32``). Storage is ``T`` = f32, or f16 with
``precision="fp16"``; arithmetic is always f32 (``ld``/``wt`` widen, ``st`` narrows), so fp16 halves memory traffic without
f16 accumulation error. Shapes, strides and offsets are baked into the source as
literals: a shader is specialised to its op, and identical ops share one pipeline.
"""

from __future__ import annotations

import math

WORKGROUP = 64          # invocations per workgroup of elementwise-style kernels
MAX_GROUPS = 65535      # WebGPU's default maxComputeWorkgroupsPerDimension


def header(fp16: bool) -> str:
    t = "f16" if fp16 else "f32"
    return "\n".join([
        "enable f16;" if fp16 else "",
        f"alias T = {t};",
        "@group(0) @binding(0) var<storage, read_write> A: array<T>;",
        "@group(0) @binding(1) var<storage, read> W: array<T>;",
        "@group(0) @binding(2) var<storage, read> IX: array<u32>;",
        "fn ld(i: u32) -> f32 { return f32(A[i]); }",
        "fn wt(i: u32) -> f32 { return f32(W[i]); }",
        "fn st(i: u32, v: f32) { A[i] = T(v); }",
        "@group(0) @binding(3) var<storage, read_write> A32: array<f32>;",
        "fn ld32(i: u32) -> f32 { return A32[i]; }",
        "fn st32(i: u32, v: f32) { A32[i] = v; }",
        ""])


def f(x: float) -> str:
    """A float literal (f32)."""
    x = float(x)
    if math.isnan(x):
        raise ValueError("NaN literal")
    if math.isinf(x):
        return "3.4028234663852886e38" if x > 0 else "-3.4028234663852886e38"
    return f"f32({x!r})"


def u(n: int) -> str:
    return f"{int(n)}u"


def act(name: str, v: str) -> str:
    """The fused activation ``name`` applied to the f32 expression ``v``."""
    bounds = {"NONE": None, "RELU": (0.0, None), "RELU6": (0.0, 6.0),
              "RELU_N1_TO_1": (-1.0, 1.0)}[name or "NONE"]
    if bounds is None:
        return v
    lo, hi = bounds
    out = f"max({v}, {f(lo)})"
    return out if hi is None else f"min({out}, {f(hi)})"


SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1", None)


def unravel(shape, var: str, prefix: str) -> str:
    """WGSL lines binding ``{prefix}{d}`` to the coordinates of linear index ``var``."""
    if not shape:
        return ""
    lines = [f"var {prefix}_r = {var};"]
    for d in range(len(shape) - 1, 0, -1):
        lines.append(f"let {prefix}{d} = {prefix}_r % {u(shape[d])}; "
                     f"{prefix}_r = {prefix}_r / {u(shape[d])};")
    lines.append(f"let {prefix}0 = {prefix}_r;")
    return "\n  ".join(lines)


def strides(shape) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= int(d)
    return out[::-1]


def broadcast_index(in_shape, out_shape, prefix: str) -> str:
    """The linear index into an ``in_shape`` tensor broadcast to ``out_shape``, from the
    output coordinates ``{prefix}{d}`` (numpy broadcasting: leading ones, size-1 dims)."""
    rank = len(out_shape)
    padded = (1,) * (rank - len(in_shape)) + tuple(in_shape)
    terms = [f"{prefix}{d} * {u(s)}" if s != 1 else f"{prefix}{d}"
             for d, (n, s) in enumerate(zip(padded, strides(padded))) if n != 1]
    return " + ".join(terms) if terms else "0u"


def grid(count: int, per_group: int = WORKGROUP) -> tuple[int, int, int]:
    """Workgroups covering ``count`` invocations, folded into y past 65535."""
    groups = max(1, -(-count // per_group))
    x = min(groups, MAX_GROUPS)
    return x, -(-groups // x), 1
