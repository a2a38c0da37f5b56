"""Bias correction: per output channel, the mean shift that weight rounding causes,
removed from the bias.

A conv's output error is linear in its weight error ``dW``: over the calibration data
it averages to ``dW . E[patch]``, where ``E[patch]`` is the mean input patch (taps x
channels, zeros where the patch hangs over the border, as the kernel pads). Calibration
accumulates those means (``PatchMean``) with the op's own geometry, so borders and
strides are exact.
"""

from __future__ import annotations

import numpy as np

from ..schema import ir


def _pads(size: int, out: int, k: int, s: int, d: int, padding: str) -> int:
    if padding != "SAME":
        return 0
    return max((out - 1) * s + (k - 1) * d + 1 - size, 0) // 2


class PatchMean:
    """Accumulates the mean input patch of one CONV_2D / DEPTHWISE_CONV_2D (NHWC), or
    the mean input row of one FULLY_CONNECTED."""

    def __init__(self, sg: ir.Subgraph, op: ir.Operator):
        self.opcode = op.opcode
        w = sg.tensors[op.inputs[1]]
        out = sg.tensors[op.outputs[0]]
        o = op.options
        self.total, self.count = None, 0
        if op.opcode == "FULLY_CONNECTED":
            self.depth = w.shape[-1]
            return
        kh, kw = (w.shape[1], w.shape[2])
        x = sg.tensors[op.inputs[0]]
        sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
        dh, dw = o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)
        oh, ow = out.shape[1], out.shape[2]
        ph = _pads(x.shape[1], oh, kh, sh, dh, o.get("padding", "VALID"))
        pw = _pads(x.shape[2], ow, kw, sw, dw, o.get("padding", "VALID"))
        self.taps = [(i, j, _axis(i * dh - ph, sh, oh, x.shape[1]),
                      _axis(j * dw - pw, sw, ow, x.shape[2]))
                     for i in range(kh) for j in range(kw)]
        self.shape = (kh, kw, x.shape[3])
        self.positions = oh * ow

    def __call__(self, x: np.ndarray) -> None:
        if self.opcode == "FULLY_CONNECTED":
            rows = x.reshape(-1, self.depth).astype(np.float64)
            self._add(rows.sum(axis=0), rows.shape[0])
            return
        for n in range(x.shape[0]):
            sums = np.zeros(self.shape)
            for i, j, rows, cols in self.taps:
                if rows is not None and cols is not None:
                    sums[i, j] = x[n, rows, cols].sum(axis=(0, 1), dtype=np.float64)
            self._add(sums, self.positions)

    def _add(self, total: np.ndarray, count: int) -> None:
        self.total = total if self.total is None else self.total + total
        self.count += count

    def mean(self) -> np.ndarray | None:
        return None if not self.count else self.total / self.count


def _axis(start: int, stride: int, out: int, size: int):
    """The slice of input rows one tap reads over all ``out`` output rows (None if
    none is inside the input)."""
    first = 0 if start >= 0 else (-start + stride - 1) // stride
    last = min(out - 1, (size - 1 - start) // stride) if size - 1 - start >= 0 else -1
    if last < first:
        return None
    return slice(start + first * stride, start + last * stride + 1, stride)


def output_shift(opcode: str, dw: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Per output channel: ``dW . E[patch]`` (weights in TFLite layout)."""
    if opcode == "FULLY_CONNECTED":   # (units, depth)
        return dw.reshape(dw.shape[0], -1) @ mean
    if opcode == "DEPTHWISE_CONV_2D":   # (1, kh, kw, cout); output c reads channel c // mult
        cout = dw.shape[3]
        m = np.repeat(mean, cout // mean.shape[2], axis=2)
        return (dw[0] * m).sum(axis=(0, 1))
    cin_g = dw.shape[3]   # CONV_2D (cout, kh, kw, cin / groups)
    groups = mean.shape[2] // cin_g
    per_group = dw.shape[0] // groups
    out = np.empty(dw.shape[0])
    for c in range(dw.shape[0]):
        g = c // per_group
        out[c] = float((dw[c] * mean[:, :, g * cin_g:(g + 1) * cin_g]).sum())
    return out
