"""DEQUANTIZE (v1-6: float16 -> float32; int8/uint8/int16 -> float32 per tensor or per
channel) and DENSIFY (v1: sparse constant -> dense). Both usually see constants and are
folded by the interpreter at prepare, so the weights of float16 / sparse models are
expanded once, never per invoke."""

from __future__ import annotations

import numpy as np

from ..schema import ir
from .api import KernelDef, PrepareContext


def prepare_dequantize(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None, "needs an input")
    ctx.set_output(0, x.shape, np.float32)
    if x.dtype == np.float16:
        def run(ins, outs, scratch):
            np.copyto(outs[0], ins[0], casting="unsafe")
        return run
    ctx.check(x.dtype in (np.int8, np.uint8, np.int16, np.int32),
              f"cannot dequantize {x.dtype}")
    q = x.quantization
    ctx.check(q is not None and len(q.scales), "the input has no quantization parameters")
    shape = [1] * len(x.shape)
    if len(q.scales) > 1:
        shape[q.axis] = len(q.scales)
    scale = np.asarray(q.scales, np.float32).reshape(shape)
    zero = (np.asarray(q.zero_points, np.float32) if len(q.zero_points)
            else np.zeros(len(q.scales), np.float32)).reshape(shape)

    def run(ins, outs, scratch):
        np.subtract(ins[0], zero, out=outs[0], casting="unsafe")
        np.multiply(outs[0], scale, out=outs[0])
    return run


def densify(values: np.ndarray, shape: tuple, sparsity: ir.Sparsity) -> np.ndarray:
    """Expand TFLite's sparse (TACO-style) encoding to a dense array of ``shape``.

    Level k of the encoding walks tensor dimension ``traversal_order[k]`` (dimensions past
    the rank are block dimensions of ``block_map``); DENSE levels enumerate
    ``dense_size`` positions, SPARSE_CSR levels list the positions present between two
    segment offsets. The position reached after the last level indexes ``values``."""
    rank = len(shape)
    order, dims = list(sparsity.traversal_order), sparsity.dim_metadata
    block_of = {d: rank + j for j, d in enumerate(sparsity.block_map)}
    block_size = {d: dims[order.index(b)].dense_size for d, b in block_of.items()}
    out = np.zeros(shape, values.dtype)
    coords = [0] * len(order)

    def place(pos: int) -> None:
        index = tuple(coords[d] * block_size.get(d, 1) + (coords[block_of[d]]
                      if d in block_of else 0) for d in range(rank))
        out[index] = values[pos]

    def walk(level: int, pos: int) -> None:
        if level == len(order):
            place(pos)
            return
        meta, dim = dims[level], order[level]
        if meta.format == "DENSE":
            for i in range(meta.dense_size):
                coords[dim] = i
                walk(level + 1, pos * meta.dense_size + i)
        else:
            seg, idx = meta.array_segments, meta.array_indices
            for k in range(int(seg[pos]), int(seg[pos + 1])):
                coords[dim] = int(idx[k])
                walk(level + 1, k)

    walk(0, 0)
    return out


def prepare_densify(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None and x.sparsity is not None and x.data is not None,
              "the input must be a sparse constant")
    ctx.set_output(0, x.shape, x.dtype)
    dense = densify(np.asarray(x.data).reshape(-1), x.shape, x.sparsity)

    def run(ins, outs, scratch):
        np.copyto(outs[0], dense)
    return run


KERNELS = {
    "DEQUANTIZE": KernelDef(prepare_dequantize, 6),
    "DENSIFY": KernelDef(prepare_densify, 1),
}
