"""Data movement with static parameters: RESHAPE, SQUEEZE, EXPAND_DIMS, PAD, PADV2,
CONCATENATION, DEPTH_TO_SPACE, SPACE_TO_DEPTH, TRANSPOSE (any dtype; quantized tensors
pass through when input and output quantization agree, which TFLite requires here)."""

from __future__ import annotations

import numpy as np

from . import fused_activation
from .api import KernelDef, PrepareContext


def _known(ctx: PrepareContext, i: int, what: str) -> np.ndarray:
    spec = ctx.input(i)
    ctx.check(spec is not None and spec.data is not None,
              f"{what} must be known before invoke (non-constant {what} not supported yet)")
    return np.asarray(spec.data)


def _copy_as(shape):
    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[0].reshape(outs[0].shape))
    return run


def prepare_reshape(ctx: PrepareContext):
    x = ctx.input(0)
    if ctx.input(1) is not None:
        shape = _known(ctx, 1, "shape").reshape(-1).astype(np.int64).tolist()
    else:
        shape = list(ctx.options.get("new_shape", []))
    if shape.count(-1) == 1:
        rest = int(np.prod([d for d in shape if d != -1])) or 1
        shape[shape.index(-1)] = x.size // rest
    ctx.check(int(np.prod(shape)) == x.size,
              f"cannot reshape {list(x.shape)} ({x.size} values) to {shape}")
    ctx.set_output(0, shape, x.dtype)
    return _copy_as(shape)


def prepare_squeeze(ctx: PrepareContext):
    x = ctx.input(0)
    dims = [d % len(x.shape) for d in ctx.options.get("squeeze_dims", [])]
    shape = [s for d, s in enumerate(x.shape) if not (s == 1 and (not dims or d in dims))]
    ctx.set_output(0, shape, x.dtype)
    return _copy_as(shape)


def prepare_expand_dims(ctx: PrepareContext):
    x = ctx.input(0)
    axis = int(_known(ctx, 1, "axis").reshape(-1)[0])
    rank = len(x.shape)
    ctx.check(-rank - 1 <= axis <= rank, f"axis {axis} out of range for rank {rank}")
    shape = list(x.shape)
    shape.insert(axis if axis >= 0 else axis + rank + 1, 1)
    ctx.set_output(0, shape, x.dtype)
    return _copy_as(shape)


def prepare_pad(ctx: PrepareContext):
    x = ctx.input(0)
    pads = _known(ctx, 1, "paddings").reshape(-1, 2).astype(np.int64)
    ctx.check(pads.shape[0] == len(x.shape) and (pads >= 0).all(),
              f"paddings {pads.tolist()} do not fit rank {len(x.shape)}")
    shape = [s + int(a) + int(b) for s, (a, b) in zip(x.shape, pads)]
    ctx.set_output(0, shape, x.dtype)
    value = 0
    if ctx.opcode == "PADV2" and ctx.input(2) is not None:
        value = _known(ctx, 2, "constant_values").reshape(-1)[0]
    elif x.quantization is not None and len(x.quantization.zero_points):
        value = x.zero_point
    inner = tuple(slice(int(a), int(a) + s) for s, (a, _) in zip(x.shape, pads))

    def run(ins, outs, scratch):
        outs[0].fill(value)
        np.copyto(outs[0][inner], ins[0])
    return run


def prepare_concatenation(ctx: PrepareContext):
    specs = [s for s in ctx.inputs if s is not None]
    rank = len(specs[0].shape)
    axis = ctx.options.get("axis", 0)
    ctx.check(-rank <= axis < max(rank, 1), f"axis {axis} out of range for rank {rank}")
    axis %= rank
    for s in specs:
        same = all(a == b for d, (a, b) in enumerate(zip(s.shape, specs[0].shape)) if d != axis)
        ctx.check(len(s.shape) == rank and same and s.dtype == specs[0].dtype,
                  f"input {list(s.shape)} {s.dtype} does not concatenate with "
                  f"{list(specs[0].shape)} {specs[0].dtype} on axis {axis}")
    shape = list(specs[0].shape)
    shape[axis] = sum(s.shape[axis] for s in specs)
    ctx.set_output(0, shape, specs[0].dtype)
    slices, start = [], 0
    for s in specs:
        slices.append((slice(None),) * axis + (slice(start, start + s.shape[axis]),))
        start += s.shape[axis]
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE"))

    def run(ins, outs, scratch):
        for x, where in zip(ins, slices):
            np.copyto(outs[0][where], x)
        fused_activation.apply_float(outs[0], bounds)
    return run


def prepare_depth_to_space(ctx: PrepareContext):
    x = ctx.input(0)
    b = ctx.options["block_size"]
    n, h, w, c = x.shape
    ctx.check(b > 0 and c % (b * b) == 0, f"{c} channels do not split into {b}x{b} blocks")
    co = c // (b * b)
    ctx.set_output(0, (n, h * b, w * b, co), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, h, b, w, b, co),
                  ins[0].reshape(n, h, w, b, b, co).transpose(0, 1, 3, 2, 4, 5))
    return run


def prepare_space_to_depth(ctx: PrepareContext):
    x = ctx.input(0)
    b = ctx.options["block_size"]
    n, h, w, c = x.shape
    ctx.check(b > 0 and h % b == 0 and w % b == 0, f"{h}x{w} does not split into {b}x{b}")
    ctx.set_output(0, (n, h // b, w // b, c * b * b), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, h // b, w // b, b, b, c),
                  ins[0].reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5))
    return run


def prepare_transpose(ctx: PrepareContext):
    x = ctx.input(0)
    perm = _known(ctx, 1, "perm").reshape(-1).astype(np.int64).tolist()
    ctx.check(sorted(p % max(len(x.shape), 1) for p in perm) == list(range(len(x.shape))),
              f"perm {perm} is not a permutation of rank {len(x.shape)}")
    perm = [p % len(x.shape) for p in perm]
    ctx.set_output(0, [x.shape[p] for p in perm], x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[0].transpose(perm))
    return run


KERNELS = {
    "RESHAPE": KernelDef(prepare_reshape, 1),
    "SQUEEZE": KernelDef(prepare_squeeze, 1),
    "EXPAND_DIMS": KernelDef(prepare_expand_dims, 1),
    "PAD": KernelDef(prepare_pad, 4),
    "PADV2": KernelDef(prepare_pad, 4),
    "CONCATENATION": KernelDef(prepare_concatenation, 4),
    "DEPTH_TO_SPACE": KernelDef(prepare_depth_to_space, 2),
    "SPACE_TO_DEPTH": KernelDef(prepare_space_to_depth, 2),
    "TRANSPOSE": KernelDef(prepare_transpose, 6),
}
