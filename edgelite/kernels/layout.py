"""Ops that move elements between axes and tensors.

    op              dtypes                              versions   parameters
    TRANSPOSE       any, rank <= 8                      1-9        perm input (int32)
    CONCATENATION   f16 f32 i8 u8 i16 i32 u32 i64 bool  1-7        axis option
    PACK            f32 i8 u8 i16 i32 u32 i64           1-5        axis, values_count
    UNPACK          f16 f32 i8 u8 i16 i32 bool          1-6        axis, num
    SPLIT           f32 i8 u8 i16 i32 i64               1-5        axis input 0 (int32)
    SPLIT_V         f32 i8 u8 i16 i32 i64               1-3        size_splits (one -1
                                                                   allowed), axis input 2
    DEPTH_TO_SPACE  f32 i8 u8 i32 i64, NHWC             1-2        block_size
    SPACE_TO_DEPTH  f32 i8 u8 i32 i64, NHWC             1-2        block_size
    SPACE_TO_BATCH_ND  f32 i8 u8 i16 i32 i64, rank 3-4  1-4        block_shape, paddings
                                                                   (pad: output zero point)
    BATCH_TO_SPACE_ND  f32 i8 u8 i16 i32 i64, rank 3-4  1-4        block_shape, crops

"any" is float16/32/64, (u)int8/16/32, int64 and bool. Quantized tensors are copied as
stored. As in TFLite, TRANSPOSE, SPLIT(_V) and DEPTH/SPACE_TO_DEPTH copy whatever the
output's quantization says; PACK, UNPACK and *_ND need it equal to the input's; in
CONCATENATION uint8 inputs
quantized unlike the output are rescaled as TFLite does (float32 ``q * s + b``, rounded half
away from zero), int16 ones are copied as stored (zero points must be 0), int8 ones must
match the output, as LiteRT requires. CONCATENATION takes no fused
activation: TFLite's kernel refuses one, so no model LiteRT runs carries it. A perm,
axis or size input only known at invoke makes the outputs dynamic, as in TFLite.
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .quant import is_quantized
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    INT32,
    BadArgs,
    Plan,
    arg_input,
    axis_value,
    data_input,
    ints,
    planned,
    same_output,
)

_CONCAT_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 uint32 int64 bool")
_PACK_TYPES = dtypes("float32 int8 uint8 int16 int32 uint32 int64")
_UNPACK_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 bool")
_SPLIT_TYPES = dtypes("float32 int8 uint8 int16 int32 int64")
_BLOCK_TYPES = dtypes("float32 int8 uint8 int32 int64")
_BATCH_TYPES = dtypes("float32 int8 uint8 int16 int32 int64")


def _along(axis: int, index) -> tuple:
    return (slice(None),) * axis + (index,)


def prepare_transpose(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    rank = len(x.shape)
    ctx.check(rank <= 8, f"rank {rank} is over TFLite's 8")
    arg_input(ctx, 1, "perm", INT32, rank=1, size=rank)

    def plan(perm: np.ndarray) -> Plan:
        p = [axis_value(v, rank, "perm entry") for v in ints(perm)]
        if sorted(p) != list(range(rank)):
            raise BadArgs(f"perm {ints(perm)} is not a permutation of {rank} axes")

        def body(ins, outs, scratch):
            np.copyto(outs[0], ins[0].transpose(p))
        return Plan([tuple(x.shape[a] for a in p)], body)
    return planned(ctx, [1], plan, [x.dtype])


def prepare_concatenation(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) >= 1 and None not in ctx.inputs, "needs its inputs")
    activation = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(activation == "NONE", f"fused activation {activation}: TFLite's "
                                    "CONCATENATION takes none")
    specs = [data_input(ctx, i, _CONCAT_TYPES) for i in range(len(ctx.inputs))]
    first, rank = specs[0], len(specs[0].shape)
    axis = int(ctx.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    ctx.check(0 <= axis < rank or (rank == 0 and axis == 0),
              f"axis {ctx.options.get('axis', 0)} is out of range for rank {rank}")
    for s in specs:
        ctx.check(s.dtype == first.dtype, f"inputs mix {first.dtype} and {s.dtype}")
    rescale = _concat_rescaling(ctx, specs)
    for s in specs:
        fits = len(s.shape) == rank and all(
            a == b for d, (a, b) in enumerate(zip(s.shape, first.shape)) if d != axis)
        ctx.check(fits, f"shape {list(s.shape)} does not concatenate with "
                        f"{list(first.shape)} on axis {axis}")
    if rank == 0:   # TFLite stacks scalars only when they are all constant
        ctx.check(all(s.is_const for s in specs), "non-constant scalar inputs")
        sizes, shape = [1] * len(specs), [len(specs)]
    else:
        sizes = [s.shape[axis] for s in specs]
        shape = list(first.shape)
        shape[axis] = sum(sizes)
    ctx.set_output(0, shape, first.dtype)
    starts = np.cumsum([0] + sizes).tolist()
    where = [_along(axis, slice(a, b)) for a, b in itertools.pairwise(starts)]
    pieces = [s.shape if rank else (1,) for s in specs]

    if any(r is not None for r in rescale):
        return _concat_with_scaling(shape, axis, starts, rescale, ctx.outputs[0].zero_point)

    def run(ins, outs, scratch):
        for x, index, piece in zip(ins, where, pieces):
            np.copyto(outs[0][index], x.reshape(piece))
    return run


def _concat_rescaling(ctx: PrepareContext, specs: list) -> list:
    """Per input, None (copied as stored) or the float32 (scale, bias) that maps its uint8
    values to the output's, as TFLite's uint8 CONCATENATION does. int8 inputs must be
    quantized exactly like the output; int16 ones need zero point 0 and are copied as
    stored whatever their scale (LiteRT does not rescale them)."""
    out = ctx.outputs[0]
    ctx.check(out.dtype == specs[0].dtype,
              f"output is {out.dtype}, not {specs[0].dtype} like its inputs")
    rescale: list = [None] * len(specs)
    if out.dtype == np.int16 and any(map(is_quantized, specs + [out])):
        for s in specs + [out]:
            ctx.check(s.zero_point == 0, f"int16 tensor {s.name!r} needs zero point 0")
        return rescale
    if out.dtype != np.uint8:
        for s in specs:
            same_output(ctx, s)
        return rescale
    out_scale = np.float32(out.scale)
    for k, s in enumerate(specs):
        if np.float32(s.scale) == out_scale and s.zero_point == out.zero_point:
            continue
        ctx.check(out_scale > 0, f"input {k} needs rescaling to an output without a scale")
        scale = np.float32(np.float32(s.scale) * (np.float32(1.0) / out_scale))
        rescale[k] = (scale, np.float32(np.float32(-s.zero_point) * scale))
    return rescale


@njit(cache=True)
def _rescale_uint8(x, scale, bias, out_zero_point, out):
    """``out = clamp(round_half_away(float32(x * scale + bias)) + zp)``; 2-D views."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = np.float32(np.float32(np.float32(x[i, j]) * scale) + bias)
            r = np.floor(np.float64(v) + 0.5) if v >= 0 else -np.floor(-np.float64(v) + 0.5)
            q = np.int64(r) + out_zero_point
            out[i, j] = 0 if q < 0 else (255 if q > 255 else q)


def _concat_with_scaling(shape, axis, starts, rescale, out_zero_point) -> Run:
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    columns = [(a * inner, b * inner) for a, b in itertools.pairwise(starts)]

    def run(ins, outs, scratch):
        out2 = outs[0].reshape(outer, -1)
        for x, (a, b), r in zip(ins, columns, rescale):
            if r is None:
                np.copyto(out2[:, a:b], x.reshape(outer, b - a))
            else:
                _rescale_uint8(x.reshape(outer, b - a), r[0], r[1], out_zero_point,
                               out2[:, a:b])
    return run


def prepare_pack(ctx: PrepareContext) -> Run:
    n = len(ctx.inputs)
    ctx.check(n >= 1 and None not in ctx.inputs, "needs its inputs")
    ctx.check(ctx.options.get("values_count") == n,
              f"values_count {ctx.options.get('values_count')} != {n} inputs")
    specs = [data_input(ctx, i, _PACK_TYPES) for i in range(n)]
    first = specs[0]
    for s in specs:
        same_output(ctx, s)
        ctx.check(s.shape == first.shape and s.dtype == first.dtype,
                  f"input {list(s.shape)} {s.dtype} differs from {list(first.shape)} "
                  f"{first.dtype}")
    try:
        axis = axis_value(ctx.options.get("axis", 0), len(first.shape) + 1)
    except BadArgs as e:
        raise ctx.error(str(e)) from None
    shape = list(first.shape)
    shape.insert(axis, n)
    ctx.set_output(0, shape, first.dtype)
    where = [_along(axis, slice(k, k + 1)) for k in range(n)]
    piece = tuple(shape[:axis]) + (1,) + tuple(shape[axis + 1:])

    def run(ins, outs, scratch):
        for x, index in zip(ins, where):
            np.copyto(outs[0][index], x.reshape(piece))
    return run


def _copy_pieces(where: list, source: int = 0):
    def body(ins, outs, scratch):
        for out, index in zip(outs, where):
            np.copyto(out, ins[source][index])
    return body


def prepare_unpack(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, _UNPACK_TYPES)
    ctx.check(x.size > 0, f"input of shape {list(x.shape)} is empty")
    try:
        axis = axis_value(ctx.options.get("axis", 0), len(x.shape))
    except BadArgs as e:
        raise ctx.error(str(e)) from None
    n = x.shape[axis]
    ctx.check(ctx.options.get("num") == n == len(ctx.outputs),
              f"num {ctx.options.get('num')} and {len(ctx.outputs)} outputs must equal "
              f"dimension {axis} ({n})")
    shape = x.shape[:axis] + x.shape[axis + 1:]
    for k in range(n):
        same_output(ctx, x, k)
        ctx.set_output(k, shape, x.dtype)
    return _copy_pieces([_along(axis, k) for k in range(n)])


def _split_plan(x, sizes: list[int], axis: int) -> tuple[list, list]:
    """Output shapes and source slices of consecutive pieces ``sizes`` long on ``axis``."""
    starts = np.cumsum([0] + sizes).tolist()
    where = [_along(axis, slice(a, b)) for a, b in itertools.pairwise(starts)]
    return [x.shape[:axis] + (n,) + x.shape[axis + 1:] for n in sizes], where


def prepare_split(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (axis, value)")
    x = data_input(ctx, 1, _SPLIT_TYPES)
    n = int(ctx.options.get("num_splits", 0))
    ctx.check(n == len(ctx.outputs), f"num_splits {n} != {len(ctx.outputs)} outputs")
    arg_input(ctx, 0, "axis", INT32, size=1)
    for k in range(n):
        same_output(ctx, x, k, typed_by_input=True, raw=True)

    def plan(axis: np.ndarray) -> Plan:
        a = axis_value(ints(axis)[0], len(x.shape))
        if x.shape[a] % n:
            raise BadArgs(f"dimension {a} ({x.shape[a]}) does not split into {n} equal parts")
        shapes, where = _split_plan(x, [x.shape[a] // n] * n, a)
        return Plan(shapes, _copy_pieces(where, source=1))
    return planned(ctx, [0], plan, [x.dtype] * n)


def prepare_split_v(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3, "needs 3 inputs (value, size_splits, axis)")
    x = data_input(ctx, 0, _SPLIT_TYPES)
    n = int(ctx.options.get("num_splits", 0))
    ctx.check(n == len(ctx.outputs), f"num_splits {n} != {len(ctx.outputs)} outputs")
    arg_input(ctx, 1, "size_splits", INDEX_TYPES, rank=1, size=n)
    arg_input(ctx, 2, "axis", INT32, size=1)
    for k in range(n):
        same_output(ctx, x, k, typed_by_input=True, raw=True)

    def plan(size_splits: np.ndarray, axis: np.ndarray) -> Plan:
        a = axis_value(ints(axis)[0], len(x.shape))
        sizes, total = ints(size_splits), x.shape[a]
        if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
            raise BadArgs(f"size_splits {sizes} may hold one -1 and no other negative")
        if -1 in sizes:
            rest = total - (sum(sizes) + 1)
            if rest < 0:
                raise BadArgs(f"size_splits {sizes} exceed dimension {a} ({total})")
            sizes[sizes.index(-1)] = rest
        if sum(sizes) != total:
            raise BadArgs(f"size_splits {sizes} do not add up to dimension {a} ({total})")
        shapes, where = _split_plan(x, sizes, a)
        return Plan(shapes, _copy_pieces(where))
    return planned(ctx, [1, 2], plan, [x.dtype] * n)


def _block_input(ctx: PrepareContext):
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, _BLOCK_TYPES)
    same_output(ctx, x, raw=True)
    ctx.check(len(x.shape) == 4, f"input must be 4-D NHWC, not {list(x.shape)}")
    b = int(ctx.options.get("block_size", 0))
    ctx.check(b > 0, f"block_size {b} must be positive")
    return x, b


def prepare_depth_to_space(ctx: PrepareContext) -> Run:
    x, b = _block_input(ctx)
    n, h, w, c = x.shape
    ctx.check(c % (b * b) == 0, f"{c} channels do not split into {b}x{b} blocks")
    co = c // (b * b)
    ctx.set_output(0, (n, h * b, w * b, co), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, h, b, w, b, co),
                  ins[0].reshape(n, h, w, b, b, co).transpose(0, 1, 3, 2, 4, 5))
    return run


def prepare_space_to_depth(ctx: PrepareContext) -> Run:
    x, b = _block_input(ctx)
    n, h, w, c = x.shape
    ctx.check(h % b == 0 and w % b == 0, f"{h}x{w} does not split into {b}x{b} blocks")
    ho, wo = h // b, w // b
    ctx.set_output(0, (n, ho, wo, c * b * b), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, ho, wo, b, b, c),
                  ins[0].reshape(n, ho, b, wo, b, c).transpose(0, 1, 3, 2, 4, 5))
    return run


def _block_args(ctx: PrepareContext, what: str):
    """The data input (rank 3-4, quantized like the output) of SPACE_TO_BATCH_ND /
    BATCH_TO_SPACE_ND; block_shape and ``what`` (paddings / crops) are int32."""
    ctx.check(len(ctx.inputs) == 3, f"needs 3 inputs (input, block_shape, {what})")
    x = data_input(ctx, 0, _BATCH_TYPES)
    ctx.check(3 <= len(x.shape) <= 4, f"input must have rank 3 or 4, not {len(x.shape)}")
    same_output(ctx, x)
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and ctx.outputs[0].zero_point == 0,
                  "int16 tensors need zero point 0")
    m = len(x.shape) - 2
    arg_input(ctx, 1, "block_shape", INT32, rank=1, size=m)
    arg_input(ctx, 2, what, INT32, rank=2, size=2 * m)
    return x, m


def _blocks(values: np.ndarray, m: int) -> list[int]:
    blocks = ints(values)
    if any(b <= 0 for b in blocks):
        raise BadArgs(f"block_shape {blocks} must be positive")
    return blocks


def prepare_space_to_batch_nd(ctx: PrepareContext) -> Run:
    x, m = _block_args(ctx, "paddings")
    # 8-bit (and 16-bit) tensors pad with the output's zero point, stored as the type does
    fill = np.array(ctx.outputs[0].zero_point if x.dtype.itemsize <= 2 and
                    x.dtype.kind in "iub" else 0).astype(np.int64).astype(x.dtype)
    batch, rest = x.shape[0], tuple(x.shape[m + 1:])

    def plan(block_shape: np.ndarray, paddings: np.ndarray) -> Plan:
        blocks = _blocks(block_shape, m)
        pads = [(int(a), int(b)) for a, b in np.asarray(paddings).reshape(m, 2)]
        padded = [n + a + b for n, (a, b) in zip(x.shape[1:m + 1], pads)]
        if any(a < 0 or b < 0 for a, b in pads) or any(
                p % b for p, b in zip(padded, blocks)):
            raise BadArgs(f"paddings {[list(p) for p in pads]} do not make dimensions "
                          f"{list(x.shape[1:m + 1])} multiples of block_shape {blocks}")
        outer = [p // b for p, b in zip(padded, blocks)]
        split = (batch,) + tuple(v for o, b in zip(outer, blocks) for v in (o, b)) + rest
        order = [2 + 2 * k for k in range(m)] + [0] + [1 + 2 * k for k in range(m)] + \
            list(range(2 * m + 1, 2 * m + 1 + len(rest)))
        out_shape = (batch * int(np.prod(blocks)),) + tuple(outer) + rest
        inner = (slice(None),) + tuple(slice(a, a + n) for (a, _), n in
                                       zip(pads, x.shape[1:m + 1]))
        scratch_shape = (batch,) + tuple(padded) + rest

        def body(ins, outs, scratch):
            buf = scratch[0]
            buf.fill(fill)
            np.copyto(buf[inner], ins[0])
            np.copyto(outs[0].reshape([split[i] for i in order]),
                      buf.reshape(split).transpose(order))
        return Plan([out_shape], body, [(scratch_shape, x.dtype)])
    return planned(ctx, [1, 2], plan, [x.dtype])


def prepare_batch_to_space_nd(ctx: PrepareContext) -> Run:
    x, m = _block_args(ctx, "crops")
    batch, rest = x.shape[0], tuple(x.shape[m + 1:])

    def plan(block_shape: np.ndarray, crops: np.ndarray) -> Plan:
        blocks = _blocks(block_shape, m)
        cuts = [(int(a), int(b)) for a, b in np.asarray(crops).reshape(m, 2)]
        total = int(np.prod(blocks))
        full = [n * b for n, b in zip(x.shape[1:m + 1], blocks)]
        if batch % total or any(a < 0 or b < 0 or a + b > f for (a, b), f in
                                zip(cuts, full)):
            raise BadArgs(f"block_shape {blocks} / crops {[list(c) for c in cuts]} do not "
                          f"fit input {list(x.shape)}")
        ob = batch // total
        split = tuple(blocks) + (ob,) + tuple(x.shape[1:m + 1]) + rest
        # [b1..bm, B, I1..Im, R] -> [B, I1, b1, ..., Im, bm, R]
        order = [m] + [v for k in range(m) for v in (m + 1 + k, k)] + \
            list(range(2 * m + 1, 2 * m + 1 + len(rest)))
        keep = (slice(None),) + tuple(slice(a, f - b) for (a, b), f in zip(cuts, full))
        out_shape = (ob,) + tuple(f - a - b for (a, b), f in zip(cuts, full)) + rest

        whole = (ob,) + tuple(full) + rest

        def body(ins, outs, scratch):
            buf = scratch[0]
            np.copyto(buf.reshape([split[i] for i in order]),
                      ins[0].reshape(split).transpose(order))
            np.copyto(outs[0], buf[keep])
        return Plan([out_shape], body, [(whole, x.dtype)])
    return planned(ctx, [1, 2], plan, [x.dtype])


KERNELS = {
    "SPACE_TO_BATCH_ND": KernelDef(prepare_space_to_batch_nd, 4),
    "BATCH_TO_SPACE_ND": KernelDef(prepare_batch_to_space_nd, 4),
    "TRANSPOSE": KernelDef(prepare_transpose, 9),
    "CONCATENATION": KernelDef(prepare_concatenation, 7),
    "PACK": KernelDef(prepare_pack, 5),
    "UNPACK": KernelDef(prepare_unpack, 6),
    "SPLIT": KernelDef(prepare_split, 5),
    "SPLIT_V": KernelDef(prepare_split_v, 3),
    "DEPTH_TO_SPACE": KernelDef(prepare_depth_to_space, 2),
    "SPACE_TO_DEPTH": KernelDef(prepare_space_to_depth, 2),
}
