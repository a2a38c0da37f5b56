"""Arena size vs the liveness lower bound, and bytes allocated by invoke(), per model.

usage: python benchmarks/memory_plan.py [--out results.md]

For each float model of the corpus (../shared/corpus/tf) and the mediapipe set
(~/.cache/edgelite/mediapipe, fetched by scripts/setup_test_env.sh): the arena the
greedy-by-size planner chose, the most bytes alive at one step (no plan can do
better), the bytes a plan without sharing would need, and tracemalloc's peak during
one invoke(). Targets (issue 3): arena within 10% of the lower bound; invoke < 64 KiB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MEDIAPIPE = Path(os.environ.get("EDGELITE_MODEL_CACHE",
                                Path.home() / ".cache" / "edgelite" / "mediapipe"))
MODELS = [CORPUS / "tf" / "mobilenet_v2_035.float32.tflite",
          CORPUS / "tf" / "mobilenet_v2_035.float16.tflite"] + \
    [MEDIAPIPE / f"{n}.tflite" for n in ("face_detection_short_range", "face_landmark",
                                         "hand_landmark_lite", "selfie_segmentation",
                                         "pose_detection")]


def measure(path: Path) -> dict:
    from edgelite import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], rng.uniform(-1, 1, d["shape"]).astype(d["dtype"]))
    interp.invoke()
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {**interp.memory_report(), "invoke_peak_bytes": peak}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    lines = ["| model | arena (KiB) | lower bound (KiB) | arena / bound | no sharing (KiB) "
             "| invoke peak alloc (bytes) |", "|---|---:|---:|---:|---:|---:|"]
    for path in MODELS:
        if not path.exists():
            lines.append(f"| {path.stem} | missing: run scripts/setup_test_env.sh | | | | |")
            continue
        r = measure(path)
        lines.append(f"| {path.stem} | {r['arena_bytes'] / 1024:.0f} | "
                     f"{r['lower_bound_bytes'] / 1024:.0f} | "
                     f"{r['arena_bytes'] / max(r['lower_bound_bytes'], 1):.3f} | "
                     f"{r['naive_bytes'] / 1024:.0f} | {r['invoke_peak_bytes']} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
