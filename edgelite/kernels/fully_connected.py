"""FULLY_CONNECTED (v1-14, float32, DEFAULT weights format) and BATCH_MATMUL (v1-4).

FULLY_CONNECTED computes ``y = x W^T + b`` with ``W`` as ``[units, depth]``: the input is
flattened to ``[-1, depth]`` rows; ``keep_num_dims`` keeps its leading dimensions in the
output instead of collapsing them to ``[rows, units]``. Constant weights are repacked once
to ``[depth, units]`` (sparse ones densified first) so the GEMM writes straight into the
output; weights or bias only known at run time are used as they come. Bias + fused
activation run in one pass afterwards.

BATCH_MATMUL multiplies the last two dimensions (``adj_x``/``adj_y`` transpose them) and
broadcasts the leading (batch) dimensions, numpy-style. A constant operand is transposed
once in prepare.

Integer and hybrid (int8 weights, float input) FULLY_CONNECTED is in conv_quantized.py.
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .conv import activation_bounds, bias_operand, epilogue, float_operand
from .dequantize import densify
from .quant import is_hybrid_op, is_integer_op


def _fc_weights(ctx: PrepareContext) -> np.ndarray | None:
    """Constant weights as a contiguous ``[depth, units]`` matrix; None if not constant."""
    w = ctx.input(1)
    if w.data is None:
        return None
    data = np.asarray(w.data, np.float32)
    if w.sparsity is not None:
        data = densify(data.reshape(-1), w.shape, w.sparsity)
    return np.ascontiguousarray(data.reshape(w.shape).T)


def prepare_fully_connected(ctx: PrepareContext) -> Run:
    quantized = is_integer_op(ctx) or is_hybrid_op(ctx)
    if quantized:
        x, w = ctx.input(0), ctx.input(1)
        ctx.check(w is not None and len(w.shape) == 2, "needs 2-D weights (input 1)")
    else:
        x = float_operand(ctx, 0, "input")
        w = float_operand(ctx, 1, "weights", 2)
    o = ctx.options
    ctx.check(o.get("weights_format", "DEFAULT") == "DEFAULT",
              f"weights format {o.get('weights_format')} is not supported")
    units, depth = w.shape
    ctx.check(depth > 0 and x.size % depth == 0,
              f"input {list(x.shape)} does not flatten to rows of {depth} values")
    ctx.check(w.sparsity is None or w.data is not None, "sparse weights must be constant")
    rows = x.size // depth
    if o.get("keep_num_dims", False):
        ctx.check(len(x.shape) > 0 and x.shape[-1] == depth,
                  f"keep_num_dims needs the input's last dimension to be {depth}, "
                  f"got {list(x.shape)}")
        ctx.set_output(0, tuple(x.shape[:-1]) + (units,), np.float32)
    else:
        ctx.set_output(0, (rows, units), np.float32)
    if quantized:   # the integer kernels' modules only for integer/hybrid models
        from .conv_quantized import prepare_fully_connected_quantized
        return prepare_fully_connected_quantized(ctx, rows, units, depth)
    packed = _fc_weights(ctx)
    bias = bias_operand(ctx, 2, units)
    if packed is not None and (bias is not None or ctx.input(2) is None):
        # as a 1x1 convolution over ``rows`` pixels: one numba call with the epilogue,
        # split over the threads by rows or (few rows) by output units
        from . import conv_gemm
        run = conv_gemm.prepare(ctx, (rows, 1, 1, depth), (1, 1), (1, 1), (1, 1), (0, 0),
                                (1, 1), packed[None], bias, *activation_bounds(ctx))
        if run is not None:
            return run
    finish = epilogue(ctx, 2, units)

    def run(ins, outs, scratch):
        out2d = outs[0].reshape(rows, units)
        np.matmul(ins[0].reshape(rows, depth), packed if packed is not None else ins[1].T,
                  out=out2d)
        if finish is not None:
            finish(ins, out2d)
    return run


def _operand(ctx: PrepareContext, i: int, adjoint: bool):
    """(matrix rows, cols after the adjoint, constant value pre-transposed or None)."""
    spec = float_operand(ctx, i, "lhs" if i == 0 else "rhs")
    ctx.check(2 <= len(spec.shape) <= 5,
              f"input {i} must have rank 2 to 5, got {list(spec.shape)}")
    rows, cols = spec.shape[-2:]
    if adjoint:
        rows, cols = cols, rows
    value = None
    if spec.data is not None:
        value = np.asarray(spec.data, np.float32)
        value = np.ascontiguousarray(np.swapaxes(value, -1, -2) if adjoint else value)
    return rows, cols, value


def prepare_batch_matmul(ctx: PrepareContext) -> Run:
    adj_x, adj_y = bool(ctx.options.get("adj_x")), bool(ctx.options.get("adj_y"))
    if is_integer_op(ctx):
        from .conv_quantized import prepare_batch_matmul_quantized
        return prepare_batch_matmul_quantized(ctx, adj_x, adj_y)
    if is_hybrid_op(ctx):
        from .matmul_hybrid import prepare_batch_matmul_hybrid
        return prepare_batch_matmul_hybrid(ctx, adj_x, adj_y)
    m, k, lhs = _operand(ctx, 0, adj_x)
    k2, n, rhs = _operand(ctx, 1, adj_y)
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(k == k2, f"inner dimensions differ: {list(a.shape)} (adj_x={adj_x}) x "
                       f"{list(b.shape)} (adj_y={adj_y})")
    try:
        batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise ctx.error(f"batch dimensions of {list(a.shape)} and {list(b.shape)} "
                        f"do not broadcast") from None
    ctx.set_output(0, tuple(batch) + (m, n), np.float32)

    def run(ins, outs, scratch):
        x = lhs if lhs is not None else np.swapaxes(ins[0], -1, -2) if adj_x else ins[0]
        y = rhs if rhs is not None else np.swapaxes(ins[1], -1, -2) if adj_y else ins[1]
        np.matmul(x, y, out=outs[0])
    return run


KERNELS = {"FULLY_CONNECTED": KernelDef(prepare_fully_connected, 14),
           "BATCH_MATMUL": KernelDef(prepare_batch_matmul, 4)}
