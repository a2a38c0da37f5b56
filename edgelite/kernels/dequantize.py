"""DEQUANTIZE (v1-6) and DENSIFY (v1).

DEQUANTIZE: float16 -> float32, and int8 / uint8 / int16 / int4 (v6, two values a byte,
low nibble first) -> float32, ``scale * (q - zero_point)``, per tensor or per channel
along the quantized dimension; as in TFLite, int16 needs zero point 0. Rounding follows
LiteRT's x86 kernels: per channel ``(q - zero_point) * scale``; per tensor the 8-wide
vector body's ``q * scale - zero_point * scale`` and, for the scalar tail of ``size % 8``
elements, ``(q - zero_point) * scale`` (the two differ by several ulps where the
subtraction cancels), both reproduced.

DENSIFY: a sparse constant (TACO-style ``ir.Sparsity``: a traversal order over the
tensor's dimensions followed by block dimensions, each level DENSE or SPARSE_CSR) ->
dense, in the input's dtype (float32 / float16 / int8, as TFLite accepts).

Both usually see constants and are folded by the interpreter at prepare, so the weights
of float16 / int4 / sparse models are expanded once, never per invoke.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..schema import ir
from .api import KernelDef, PrepareContext

_INTEGER = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


@njit(cache=True)
def _unpack_int4(packed, out):
    """Sign-extend two int4 values per byte (low nibble first) into int8 ``out``."""
    for i in range(out.shape[0]):
        byte = np.int32(packed[i // 2]) & 0xFF
        nibble = byte & 0xF if i % 2 == 0 else byte >> 4
        out[i] = nibble - 16 if nibble >= 8 else nibble


def _affine(ctx: PrepareContext, x) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) as float32 arrays broadcastable against the input."""
    q = x.quantization
    ctx.check(q is not None and len(q.scales) > 0, "the input has no quantization parameters")
    shape = [1] * len(x.shape)
    if len(q.scales) > 1:
        ctx.check(0 <= q.axis < len(x.shape) and x.shape[q.axis] == len(q.scales),
                  f"{len(q.scales)} scales do not match dimension {q.axis} of "
                  f"{list(x.shape)}")
        shape[q.axis] = len(q.scales)
    zero = np.asarray(q.zero_points if len(q.zero_points) else [0], np.float32)
    ctx.check(len(zero) in (1, len(q.scales)), "zero points do not match the scales")
    scale = np.asarray(q.scales, np.float32).reshape(shape)
    return scale, np.broadcast_to(zero, (len(q.scales),)).reshape(shape).copy()


def prepare_dequantize(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None and len(ctx.outputs) == 1, "needs one input and one output")
    ctx.set_output(0, x.shape, np.float32)
    if x.dtype == np.float16:
        def run(ins, outs, scratch):
            np.copyto(outs[0], ins[0], casting="unsafe")
        return run
    tagged = (x.dtype.metadata or {}).get("tflite_type")
    int4 = tagged == "INT4"
    ctx.check(int4 or (not tagged and x.dtype in _INTEGER),
              f"cannot dequantize {ir.tensor_type_of(x.dtype)} (expects float16, int4, int8, "
              f"uint8 or int16)")
    scale, zero = _affine(ctx, x)
    ctx.check(x.dtype != np.int16 or not zero.any(), "int16 input needs zero point 0")
    per_channel = scale.size > 1
    offset = zero * scale        # per-tensor: LiteRT subtracts the rounded zp * scale
    if int4:
        ctx.check(x.data is None or np.asarray(x.data).size == (x.size + 1) // 2,
                  f"packed int4 data holds {np.asarray(x.data).size} bytes, expected "
                  f"{(x.size + 1) // 2}")
        ctx.scratch((x.size,), np.int8)

    def run(ins, outs, scratch):
        q = ins[0]
        if int4:
            _unpack_int4(q.reshape(-1), scratch[0])
            q = scratch[0].reshape(outs[0].shape)
        if per_channel:
            np.subtract(q, zero, out=outs[0], casting="unsafe")
            np.multiply(outs[0], scale, out=outs[0])
        else:
            np.multiply(q, scale, out=outs[0], casting="unsafe")
            np.subtract(outs[0], offset, out=outs[0])
            flat, tail = outs[0].reshape(-1), outs[0].size // 8 * 8
            if tail < flat.size:   # the scalar tail: (q - zero point) * scale
                qt = q.reshape(-1)[tail:]
                np.subtract(qt, zero.reshape(()), out=flat[tail:], casting="unsafe")
                np.multiply(flat[tail:], scale.reshape(()), out=flat[tail:])
    return run


def _expand_level(meta: ir.DimensionMetadata, pos: np.ndarray, coords: list):
    """Positions and coordinates of every child of the nodes ``pos`` at one level."""
    if meta.format == "DENSE":
        n = int(meta.dense_size)
        child = np.tile(np.arange(n, dtype=np.int64), len(pos))
        return np.repeat(pos, n) * n + child, [np.repeat(c, n) for c in coords] + [child]
    seg = np.asarray(meta.array_segments, np.int64)
    idx = np.asarray(meta.array_indices, np.int64)
    if len(pos) and (pos.max() + 1 >= len(seg) or np.any(np.diff(seg) < 0) or seg[0] < 0):
        raise ValueError("array_segments are too short or not increasing")
    starts, counts = seg[pos], seg[pos + 1] - seg[pos]
    parent = np.repeat(np.arange(len(pos)), counts)
    child = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    if len(child) and child.max() >= len(idx):
        raise ValueError("array_segments point past array_indices")
    return child, [c[parent] for c in coords] + [idx[child]]


def densify(values: np.ndarray, shape: tuple, sparsity: ir.Sparsity) -> np.ndarray:
    """Expand TFLite's sparse encoding to a dense array of ``shape`` (ValueError if the
    encoding is malformed).

    Level k walks dimension ``traversal_order[k]``; the first ``rank`` levels are the
    tensor's dimensions (blocked ones counting blocks), the rest block dimensions, block
    j of size ``dim_metadata[traversal_order[rank + j]].dense_size`` splitting dimension
    ``block_map[j]``. DENSE levels enumerate ``dense_size`` children, SPARSE_CSR levels
    the ``array_indices`` between two ``array_segments``. Leaves take ``values`` in
    traversal order."""
    rank, order, dims = len(shape), list(sparsity.traversal_order), sparsity.dim_metadata
    block_map = list(sparsity.block_map)
    levels = rank + len(block_map)
    if sorted(order) != list(range(levels)) or len(dims) != levels or \
            sorted(order[:rank]) != list(range(rank)):
        raise ValueError(f"traversal_order {order} / {len(dims)} dim_metadata do not fit "
                         f"rank {rank} with {len(block_map)} block dimensions")
    block_size = [int(dims[order[rank + j]].dense_size) for j in range(len(block_map))]
    if any(m.format != "DENSE" for m in dims[rank:]) or \
            any(b <= 0 or shape[d] % b for d, b in zip(block_map, block_size)):
        raise ValueError(f"blocks must be dense and divide their dimension (block_map "
                         f"{block_map}, sizes {block_size}, shape {list(shape)})")
    pos, coords = np.zeros(1, np.int64), []
    for meta in dims:
        pos, coords = _expand_level(meta, pos, coords)
    values = np.asarray(values).reshape(-1)
    if len(pos) > len(values):
        raise ValueError(f"the encoding has {len(pos)} entries but {len(values)} values")
    index = [None] * rank
    for level in range(rank):
        index[order[level]] = coords[level]
    for level in range(rank, levels):
        j = order[level] - rank
        index[block_map[j]] = index[block_map[j]] * block_size[j] + coords[level]
    out = np.zeros(shape, values.dtype)
    if len(pos):
        out.reshape(-1)[np.ravel_multi_index(index, shape)] = values[:len(pos)]
    return out


def prepare_densify(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None and x.sparsity is not None and x.data is not None,
              "the input must be a sparse constant")
    ctx.check(x.dtype in (np.float32, np.float16, np.int8) and not x.dtype.metadata,
              f"cannot densify {ir.tensor_type_of(x.dtype)} (expects float32/float16/int8)")
    ctx.set_output(0, x.shape, x.dtype)
    try:
        dense = densify(np.asarray(x.data), x.shape, x.sparsity)
    except ValueError as e:
        raise ctx.error(f"bad sparsity of tensor {x.name!r}: {e}") from None

    def run(ins, outs, scratch):
        np.copyto(outs[0], dense)
    return run


KERNELS = {
    "DEQUANTIZE": KernelDef(prepare_dequantize, 6),
    "DENSIFY": KernelDef(prepare_densify, 1),
}
