"""The phase-split, zero-bordered input copy of the depthwise row kernels (float in
depthwise.py, integer in depthwise_quantized.py): ``xp[y, phase, col]`` holds padded
column ``col * sw + phase``, so that every tap's inputs for a whole output row are one
contiguous run."""

from __future__ import annotations

from numba import njit

from .views import view1d


@njit(cache=True)
def pad_phases(x, n, zp_in, mult, ph, pw, xp):
    """``xp[y, phase, col] = x[n, y - ph, col * sw + phase - pw] - zp_in`` (each input
    channel repeated ``mult`` times), 0 outside the image. A row's columns inside the
    image are one contiguous copy when the stride is 1 and ``mult`` 1."""
    _, h, w, cin = x.shape
    hp, sw, wq, cw = xp.shape
    for y in range(hp):
        iy = y - ph
        for phase in range(sw):
            row = view1d(xp[y, phase])
            if iy < 0 or iy >= h:
                row[:] = 0
                continue
            # the columns whose input column ``col * sw + phase - pw`` is in the image
            c_lo = max(0, (pw - phase + sw - 1) // sw)
            c_hi = max(c_lo, min(wq, (w - 1 + pw - phase) // sw + 1))
            row[:c_lo * cw] = 0
            row[c_hi * cw:] = 0
            src = view1d(x[n, iy])
            if mult == 1 and sw == 1:
                s0 = (c_lo - pw) * cin
                length = (c_hi - c_lo) * cin
                dst = row[c_lo * cin:c_lo * cin + length]
                s = src[s0:s0 + length]
                for k in range(length):
                    dst[k] = s[k] - zp_in
                continue
            for col in range(c_lo, c_hi):
                s = src[(col * sw + phase - pw) * cin:]
                dst = row[col * cw:]
                if mult == 1:
                    for c in range(cin):
                        dst[c] = s[c] - zp_in
                else:
                    for c in range(cin):
                        v = s[c] - zp_in
                        for k in range(mult):
                            dst[c * mult + k] = v
