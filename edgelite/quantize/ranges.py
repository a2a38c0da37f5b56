"""Range estimators: the [lo, hi] an int8 tensor should cover, from calibration values.

* ``minmax``: everything seen (TensorFlow's estimator);
* ``percentile``: the 0.01% and 99.99% quantiles of the sampled values (outliers clipped);
* ``mse``: the clipped range whose int8 grid reconstructs the sampled values with the
  least mean squared error (rounding error inside the range, clipping error outside),
  searched over shrink factors of the min/max range.
"""

from __future__ import annotations

import numpy as np

from .calibrate import Range

_SHRINK = np.linspace(0.2, 1.0, 41)
PERCENTILE_TAIL = 1e-4


def _qdq_error(values: np.ndarray, lo: float, hi: float) -> float:
    from .int8 import activation_params

    scale, zp = activation_params(lo, hi)
    q = np.clip(np.round(values / scale) + zp, -128, 127)
    return float(np.mean(((q - zp) * scale - values) ** 2))


def estimate(r: Range, method: str) -> tuple[float, float]:
    if method == "minmax" or r.sample is None:
        return r.lo, r.hi
    if method not in ("mse", "percentile"):
        raise ValueError(f"unknown range estimator {method!r} (minmax, percentile, mse)")
    values = r.values()
    if values.size == 0:
        return r.lo, r.hi
    if method == "percentile":
        lo, hi = np.quantile(values, [PERCENTILE_TAIL, 1 - PERCENTILE_TAIL])
        return float(lo), float(hi)
    lo, hi = min(r.lo, 0.0), max(r.hi, 0.0)
    best = (np.inf, lo, hi)
    for f in _SHRINK:
        err = _qdq_error(values, lo * f, hi * f)
        if err < best[0]:
            best = (err, lo * f, hi * f)
    return best[1], best[2]
