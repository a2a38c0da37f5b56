"""im2col for NHWC convolutions, shared by the float and the integer CONV_2D.

A window inside the image is copied a kernel row (``kw * cin`` contiguous values) at a
time when it can be, else gathered through precomputed offsets; windows over the border
go tap by tap, filling outside cells with the pad value (0, or the input zero point).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .views import view1d


@njit(cache=True)
def im2col(x, col, row0, c0, cg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, pad, offsets):
    """Rows ``row0 ..`` of the unrolled NHWC input (row ``q`` is output pixel ``q`` in
    batch, y, x order), channels ``c0 .. c0+cg``; cells outside the image hold ``pad``.
    ``offsets``: each column's flat offset from the window's first cell
    (``window_offsets``)."""
    _, h, w, cin = x.shape
    flat = view1d(x)
    span = kw * cin if dw == 1 and cg == cin else 0
    q = row0   # the first row's pixel; later rows step it (no divisions per row)
    ox = q % ow
    q //= ow
    oy = q % oh
    n = q // oh
    for r in range(col.shape[0]):
        y0 = oy * sh - ph
        x0 = ox * sw - pw
        dst = col[r]
        if y0 >= 0 and y0 + (kh - 1) * dh < h and x0 >= 0 and x0 + (kw - 1) * dw < w:
            base = ((n * h + y0) * w + x0) * cin + c0
            if span == 9:   # 3 channels, 3 wide (first layers): a fixed-length copy
                for i in range(kh):
                    src = flat[base + i * dh * w * cin:]
                    row = dst[i * 9:]
                    for v in range(9):
                        row[v] = src[v]
            elif span:
                for i in range(kh):
                    src = flat[base + i * dh * w * cin:]
                    row = dst[i * span:(i + 1) * span]
                    for v in range(span):
                        row[v] = src[v]
            else:
                for k in range(offsets.shape[0]):
                    dst[k] = flat[base + offsets[k]]
        else:
            k = 0
            for i in range(kh):
                iy = y0 + i * dh
                for j in range(kw):
                    ix = x0 + j * dw
                    if 0 <= iy < h and 0 <= ix < w:
                        for ch in range(cg):
                            dst[k + ch] = x[n, iy, ix, c0 + ch]
                    else:
                        for ch in range(cg):
                            dst[k + ch] = pad
                    k += cg
        ox += 1
        if ox == ow:
            ox = 0
            oy += 1
            if oy == oh:
                oy = 0
                n += 1


def window_offsets(kernel, dilations, width: int, cin: int, cg: int) -> np.ndarray:
    """Flat input offset of each im2col column (tap-major, then channel) from the window's
    first cell, for ``im2col``."""
    (kh, kw), (dh, dw) = kernel, dilations
    return np.array([(i * dh * width + j * dw) * cin + ch
                     for i in range(kh) for j in range(kw) for ch in range(cg)], np.int64)
