"""Helpers shared by the rule modules: output shapes, broadcasting in a layout, casts."""

from __future__ import annotations

import numpy as np

from ..context import Lowering, Value


def out_info(ctx: Lowering, k: int = 0):
    """(shape or None, dtype or None) that ONNX shape inference found for output ``k``."""
    name = ctx.node.output[k] if k < len(ctx.node.output) else ""
    return ctx.info.get(name, (None, None))


def out_shape(ctx: Lowering, fallback, k: int = 0) -> tuple:
    shape, _ = out_info(ctx, k)
    return tuple(shape) if shape is not None else tuple(int(d) for d in fallback)


def pick_layout(values: list, rank: int):
    """The perm the first non-constant full-rank input is stored in (None: logical)."""
    for v in values:
        if v is not None and v.const is None and v.rank == rank and v.perm is not None:
            return v.perm
    return None


def aligned(ctx: Lowering, v: Value, rank: int, perm) -> int:
    """``v`` as an IR tensor that broadcasts against a rank-``rank`` tensor stored in
    layout ``perm`` (leading 1s added, then the axes permuted)."""
    if perm is None:
        return ctx.logical(v)
    if v.const is not None:
        data = v.const.reshape((1,) * (rank - v.rank) + v.shape)
        return ctx.constant_index(np.transpose(data, perm))
    if v.rank == rank:
        return ctx.physical(v, perm)
    padded = (1,) * (rank - v.rank) + v.shape
    shape_t = ctx.constant_index(np.array(padded, np.int32))
    r = ctx.emit("RESHAPE", [ctx.logical(v), shape_t], [padded], [v.dtype],
                 {"new_shape": list(padded)})[0]
    return ctx.physical(r, perm)


def int_array(v: Value, what: str, ctx: Lowering) -> np.ndarray:
    """A constant integer input (shape, axes, pads...) as int64, or an error."""
    if v is None or v.const is None:
        raise ctx.error(f"{what} must be a constant (computed before conversion)")
    return np.asarray(v.const).astype(np.int64).reshape(-1)


def norm_axis(axis: int, rank: int, ctx: Lowering) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def physical_axis(v: Value, axis: int) -> int:
    """Where logical axis ``axis`` of ``v`` sits in its stored layout."""
    return axis if v.perm is None else v.perm.index(axis)
