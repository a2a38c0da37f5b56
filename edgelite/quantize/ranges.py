"""Range estimators: the [lo, hi] an int8 tensor should cover, from calibration values.

* ``minmax``: everything seen (TensorFlow's estimator);
* ``percentile``: the 0.01% and 99.99% quantiles of the sampled values (outliers clipped);
* ``mse`` (the default): min/max, clipped only where clipping clearly pays, widened where
  the calibration extremes are unreliable:

  1. search shrink factors of the min/max range for the int8 grid that reconstructs the
     sampled values with the least mean squared error (rounding inside, clipping outside);
  2. keep that clipped range only if its error is at most ``CLIP_GAIN`` x min/max's. The
     per-tensor MSE undervalues clipping: clipping error is one-sided and correlated, so
     it survives the sums and averages downstream (global pooling, the next conv) that
     shrink independent rounding noise. Heavy-tailed tensors (trained nets' outliers)
     clear the bar easily; near-Gaussian ones do not and keep min/max;
  3. a small tensor (under ``SMALL_TENSOR`` values per sample: attention heads, logits,
     squeeze-excite vectors) kept at min/max is widened by one standard deviation of the
     per-sample extremes: with few values per sample the extreme of each sample varies
     widely, and 16 calibration samples under-cover the next one.
"""

from __future__ import annotations

import numpy as np

from .calibrate import Range

_SHRINK = np.linspace(0.2, 1.0, 41)
PERCENTILE_TAIL = 1e-4
CLIP_GAIN = 0.6
SMALL_TENSOR = 2000


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
    full = _qdq_error(values, lo, hi)
    best = (full, 1.0)
    for f in _SHRINK:
        err = _qdq_error(values, lo * f, hi * f)
        if err < best[0]:
            best = (err, f)
    if best[0] <= CLIP_GAIN * full:
        return lo * best[1], hi * best[1]
    if r.size < SMALL_TENSOR and len(r.extremes) > 1:
        extremes = np.asarray(r.extremes)
        return r.lo - float(extremes[:, 0].std()), r.hi + float(extremes[:, 1].std())
    return r.lo, r.hi
