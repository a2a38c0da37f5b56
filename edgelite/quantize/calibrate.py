"""Calibration: run the float model in edgelite's interpreter over representative data
and record each float32 activation tensor's range.

``samples`` yields one list of input arrays per invoke (in the subgraph's input order),
as ``TFLiteConverter.representative_dataset`` does; a dict keyed by input name is
accepted too. Ranges are min/max over all samples (TensorFlow's default estimator).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..schema import ir, write


@dataclass
class Range:
    lo: float
    hi: float
    sample: list | None = None    # a strided subsample of the values seen
    channel_sum: np.ndarray | None = None   # per last-axis channel, over all samples
    count: int = 0
    extremes: list = field(default_factory=list)   # (min, max) of each sample
    size: int = 0                                  # values per sample

    def widen(self, values: np.ndarray, keep: int = 0) -> None:
        if values.size:
            lo, hi = float(values.min()), float(values.max())
            self.extremes.append((lo, hi))
            self.size = values.size
            self.lo = min(self.lo, lo)
            self.hi = max(self.hi, hi)
            if values.ndim:
                sums = values.reshape(-1, values.shape[-1]).sum(axis=0, dtype=np.float64)
                if self.channel_sum is None or self.channel_sum.shape != sums.shape:
                    self.channel_sum, self.count = np.zeros_like(sums), 0
                self.channel_sum += sums
                self.count += values.size // values.shape[-1]
            if keep:
                step = _coprime_step(values, keep)
                if self.sample is None:
                    self.sample = []
                self.sample.append(np.array(values.reshape(-1)[::step], np.float32))

    def channel_mean(self) -> np.ndarray | None:
        """Mean of each last-axis channel (NHWC: per feature map) over everything seen."""
        return None if not self.count else self.channel_sum / self.count

    def values(self) -> np.ndarray:
        return np.concatenate(self.sample) if self.sample else np.zeros(0, np.float32)


def _coprime_step(values: np.ndarray, keep: int) -> int:
    """A stride giving about ``keep`` values that visits every channel: a stride sharing a
    factor with the last (NHWC channel) axis would sample only some channels (stride 18
    over 24 channels sees 4 of them), and channels differ in range."""
    step = max(1, values.size // keep)
    channels = values.shape[-1] if values.ndim else 1
    while math.gcd(step, channels) != 1:
        step += 1
    return step


def _feeds(sample, details) -> list[np.ndarray]:
    if isinstance(sample, dict):
        missing = [d["name"] for d in details if d["name"] not in sample]
        if missing:
            raise ValueError(f"calibration sample lacks inputs {missing}")
        sample = [sample[d["name"]] for d in details]
    if isinstance(sample, np.ndarray):
        sample = [sample]
    sample = list(sample)
    if len(sample) != len(details):
        raise ValueError(f"a calibration sample has {len(sample)} arrays; the model takes "
                         f"{len(details)} inputs")
    feeds = []
    for x, d in zip(sample, details):
        x = np.asarray(x, dtype=d["dtype"])
        if x.size != int(np.prod(d["shape"])):
            raise ValueError(f"calibration sample for input {d['name']!r} has shape "
                             f"{list(x.shape)}; the model takes {[int(v) for v in d['shape']]}")
        feeds.append(x.reshape(d["shape"]))
    return feeds


def calibrate(model: ir.Model, samples: Iterable,
              progress: Callable[[int], None] | None = None,
              keep: int = 0, observers: dict | None = None) -> dict[int, Range]:
    """Ranges of the main subgraph's non-constant float32 tensors (index -> Range);
    ``keep`` > 0 also keeps about that many values per tensor and sample (for the
    range estimators in ``ranges``); ``observers`` (tensor index -> callables) see each
    value of those tensors too."""
    from ..interpreter import Interpreter

    interp = Interpreter(model_content=write(model), experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    details = interp.get_input_details()
    sg = model.subgraphs[0]
    wanted = [i for i, t in enumerate(sg.tensors)
              if t.dtype == np.float32 and not t.is_constant]
    ranges: dict[int, Range] = {}
    count = 0
    for sample in samples:
        for d, x in zip(details, _feeds(sample, details)):
            interp.set_tensor(d["index"], x)
        interp.invoke()
        for i in wanted:
            try:
                values = interp.get_tensor(i)
            except ValueError:   # a tensor the plan never materialised
                continue
            ranges.setdefault(i, Range(np.inf, -np.inf)).widen(values, keep)
            for observe in (observers or {}).get(i, ()):
                observe(values)
        count += 1
        if progress is not None:
            progress(count)
    if count == 0:
        raise ValueError("the representative dataset yielded no samples")
    return ranges
