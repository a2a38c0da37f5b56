"""Keras MobileNetV2 (.keras fixture) -> full-integer int8 .tflite with 16 calibration
samples, end to end (read, lower, optimize, calibrate, quantize, write), timed.

    python benchmarks/convert_keras.py [--runs 3] [--model PATH.keras]

The fixture comes from scripts/make_keras_fixtures.sh. Issue 9's target: <= 3 s (TF's
TFLiteConverter: 9.7 s on the same job). The first run includes numba's cached-kernel
loading; the best of ``--runs`` is reported too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fixtures = os.environ.get("EDGELITE_KERAS_FIXTURES",
                              os.path.expanduser("~/.cache/edgelite/keras-fixtures"))
    p.add_argument("--model", default=os.path.join(fixtures, "mobilenet_v2.keras"))
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    if not os.path.exists(args.model):
        sys.exit(f"{args.model} is missing: run 'bash scripts/make_keras_fixtures.sh'")
    calib = np.random.default_rng(0).uniform(-1, 1, (16, 224, 224, 3)).astype(np.float32)
    t0 = time.perf_counter()
    from edgelite import Converter
    from edgelite.converter import Optimize
    times = []
    for k in range(args.runs):
        start = time.perf_counter()
        conv = Converter.from_keras(args.model)
        conv.optimizations = [Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([c[None]] for c in calib)
        blob = conv.convert()
        times.append(time.perf_counter() - start)
        if k == 0:
            first = time.perf_counter() - t0
    print(f"MobileNetV2 .keras -> int8 ({len(blob) / 1e6:.2f} MB), 16 calibration samples: "
          f"first {first:.2f} s (with imports), best {min(times):.2f} s, "
          f"runs {', '.join(f'{t:.2f}' for t in times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
