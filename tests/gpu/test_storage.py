"""``storage.wide_tensors`` on tiny graphs (no GPU needed): which tensors fp16 mode keeps
f32, by the graph alone."""

from __future__ import annotations

import numpy as np

from edgelite.delegates.gpu.storage import wide_tensors
from edgelite.kernels.api import TensorSpec
from edgelite.schema import ir


class _Graph:
    """Specs and (index, operator) pairs built op by op; constants get data."""

    def __init__(self) -> None:
        self.specs: list[TensorSpec] = []
        self.ops: list[tuple[int, ir.Operator]] = []

    def tensor(self, shape, const: bool = False) -> int:
        data = np.zeros(shape, np.float32) if const else None
        i = len(self.specs)
        self.specs.append(TensorSpec(i, f"t{i}", tuple(shape), np.dtype(np.float32), data=data))
        return i

    def op(self, opcode: str, inputs: list[int], shape, **opts) -> int:
        out = self.tensor(shape)
        self.ops.append((len(self.ops), ir.Operator(opcode, inputs, [out], opts)))
        return out


def _encoder_decoder(upsample: bool):
    """x -> CONV -> skip (8x8) -> CONV/2 -> low (4x4) -> [RESIZE -> up (8x8) -> ADD skip]
    -> CONV -> RELU -> CONV (logits) -> LOGISTIC -> out."""
    g = _Graph()
    x = g.tensor((1, 8, 8, 4))
    w = g.tensor((4, 3, 3, 4), const=True)
    skip = g.op("CONV_2D", [x, w], (1, 8, 8, 4))
    low = g.op("CONV_2D", [skip, w], (1, 4, 4, 4))
    named = {"x": x, "skip": skip, "low": low}
    if upsample:
        size = g.tensor((2,), const=True)
        named["up"] = g.op("RESIZE_BILINEAR", [low, size], (1, 8, 8, 4))
        named["sum"] = g.op("ADD", [named["up"], skip], (1, 8, 8, 4))
        shape = (1, 8, 8, 4)
    else:
        shape = (1, 4, 4, 4)
    last = named["sum"] if upsample else low
    named["conv"] = g.op("CONV_2D", [last, w], shape)
    named["relu"] = g.op("RELU", [named["conv"]], shape)
    named["logits"] = g.op("CONV_2D", [named["relu"], w], shape[:3] + (1,))
    named["out"] = g.op("LOGISTIC", [named["logits"]], shape[:3] + (1,))
    wide = wide_tensors(g.ops, g.specs, [x], [named["out"]])
    return {name for name, t in named.items() if t in wide}, set(named)


def test_without_upsampling_only_io_and_logits_stay_f32():
    wide, _ = _encoder_decoder(upsample=False)
    assert wide == {"x", "out", "logits", "relu"}


def test_everything_up_to_the_last_upsampling_stays_f32():
    wide, names = _encoder_decoder(upsample=True)
    # the skip is read after the resize but written before it: f32 too
    assert wide == {"x", "out", "logits", "relu", "skip", "low", "up"}
    assert names - wide == {"sum", "conv"}   # the final full-resolution stage is f16
