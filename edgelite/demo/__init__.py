"""``edgelite demo``: the bundled int8 EfficientNet-Lite0 on the bundled cat photo.

Prints the top-k ImageNet labels with their probabilities (the best first, so the first
line is the answer), then the model, the photo and the latency: the median of ``runs``
invokes (and of whole images, resizing included), and the first invoke, which includes
compiling the kernels on a fresh install (they are cached after). Needs nothing beyond
a plain ``pip install edgelite``: no network, no image library (the photo is a PNG read
with numpy + zlib).
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..vision import Classifier, bundled, read_png


def run_demo(image=None, threads: int | None = None, runs: int = 10, top_k: int = 5,
             out=print) -> list:
    """Classify ``image`` (a PNG path; default the bundled cat) and print the report."""
    path = bundled.CAT_PHOTO if image is None else image
    rgb = read_png(path)
    start = time.perf_counter()
    classifier = Classifier(bundled.CLASSIFIER, bundled.IMAGENET_LABELS, threads=threads)
    load_ms = (time.perf_counter() - start) * 1e3
    top = classifier.classify(rgb, top_k)
    first_ms = classifier.latency_ms
    times, totals = [], []
    for _ in range(runs):
        start = time.perf_counter()
        classifier.classify(rgb, top_k)
        totals.append((time.perf_counter() - start) * 1e3)
        times.append(classifier.latency_ms)
    width = max(len(c.label) for c in top)
    for c in top:
        out(f"{c.label:<{width}}  {c.score:6.1%}  (class {c.index})")
    name = os.path.basename(str(path))
    out(f"model: {bundled.CLASSIFIER.name} (int8), image: {name} "
        f"{rgb.shape[1]}x{rgb.shape[0]}, threads: {threads or 1}")
    if times:
        out(f"latency: {np.median(times):.1f} ms per invoke, {np.median(totals):.1f} ms per "
            f"image with preprocessing (medians of {runs}); first invoke {first_ms:.0f} ms, "
            f"model load {load_ms:.0f} ms")
    else:
        out(f"latency: first invoke {first_ms:.0f} ms, model load {load_ms:.0f} ms")
    return top
