"""SELECT (versions 1-4) and SELECT_V2 (1-2): ``out = condition ? x : y``.

SELECT_V2 broadcasts condition, x and y together. SELECT keeps TFLite's older rule: x and
y have one shape, and the condition has it too, or is a scalar, or is rank 1 and picks
whole slices along the first dimension. Both copy values of any 8/16/32/64-bit dtype as
they are (quantized ones included: nothing is rescaled). Versions add int8 (SELECT 2),
rank 5 (SELECT 3) and uint32 (SELECT 4, SELECT_V2 2).
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run, TensorSpec


def prepare_select(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3 and None not in ctx.inputs,
              "needs a condition and two values")
    c, x, y = ctx.inputs
    ctx.check(c.dtype == np.bool_, f"the condition must be bool, not {c.dtype}")
    ctx.check(x.dtype == y.dtype and x.dtype.metadata == y.dtype.metadata,
              f"value dtypes differ: {x.dtype} vs {y.dtype}")
    tagged = (x.dtype.metadata or {}).get("tflite_type")
    ctx.check(x.dtype.kind in "biuf" and not tagged, f"{tagged or x.dtype} values are not "
              "supported")
    shape, cs, xs, ys = _shapes(ctx, c, x, y)
    ctx.set_output(0, shape, x.dtype)

    def run(ins, outs, scratch):
        out = outs[0]
        np.copyto(out, ins[2].reshape(ys))
        np.copyto(out, ins[1].reshape(xs), where=ins[0].reshape(cs))
    return run


def _shapes(ctx: PrepareContext, c: TensorSpec, x: TensorSpec, y: TensorSpec):
    """The output shape, then the shapes to view condition, x and y in so that each
    broadcasts to it."""
    declared = ctx.outputs[0].shape
    if c.size == x.size == y.size == 1 and int(np.prod(declared)) == 1:
        # TFLite keeps the model's output shape when every tensor holds one element
        return declared, declared, declared, declared
    if c.shape == x.shape == y.shape:
        return x.shape, c.shape, x.shape, y.shape
    if ctx.opcode == "SELECT_V2":
        return ctx.broadcast(c, x, y), c.shape, x.shape, y.shape
    ctx.check(x.shape == y.shape, f"x and y have different shapes {list(x.shape)} and "
              f"{list(y.shape)} (SELECT does not broadcast; SELECT_V2 does)")
    if c.shape == ():
        return x.shape, (), x.shape, y.shape
    ctx.check(len(c.shape) == 1 and len(x.shape) >= 1 and c.shape[0] == x.shape[0],
              f"condition shape {list(c.shape)} does not fit values of shape "
              f"{list(x.shape)}: it must be the same, a scalar, or rank 1 over the first "
              "dimension")
    return x.shape, c.shape + (1,) * (len(x.shape) - 1), x.shape, y.shape


KERNELS = {
    "SELECT": KernelDef(prepare_select, 4),
    "SELECT_V2": KernelDef(prepare_select, 2),
}
