"""TFLite's output-size and padding arithmetic for windowed ops (conv, pooling)."""

from __future__ import annotations


def out_size(padding: str, size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def pad_before(padding: str, size: int, kernel: int, stride: int, dilation: int,
               out: int) -> int:
    """Cells of implicit zero padding before the first input cell (SAME: half, rounded down)."""
    if padding != "SAME":
        return 0
    effective = (kernel - 1) * dilation + 1
    return max((out - 1) * stride + effective - size, 0) // 2
