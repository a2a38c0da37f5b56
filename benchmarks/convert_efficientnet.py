"""Converting the pretrained EfficientNet-Lite0 (../shared/corpus/onnx) to .tflite.

usage: python benchmarks/convert_efficientnet.py [--repeats 5] [--out results.md]

Each repeat runs `edgelite convert MODEL -o OUT --io-layout nhwc` as a fresh process, the
way a user runs it, and records the wall time of the whole command (interpreter start,
imports, conversion, atomic write), the time of the conversion call alone (measured
inside the process) and the process's peak RSS. The target (issue 5): under 1 s and
under 400 MB peak RSS. For scale: onnx2tf 1.x needed all of TensorFlow and took 60 s and
2 GB here (the issue's figure; TensorFlow is not installed to re-measure it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MODEL = CORPUS / "onnx" / "efficientnet_lite0.onnx"

_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from edgelite.cli import main
t1 = time.perf_counter()
code = main(["convert", sys.argv[1], "-o", sys.argv[2], "--io-layout", "nhwc"])
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"code": code, "import_s": t1 - t0, "convert_s": t2 - t1,
                  "peak_rss": peak}))
"""


def run_once(out: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(MODEL), str(out)],
                          capture_output=True, text=True, check=False, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"conversion failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not MODEL.exists():
        raise SystemExit(f"{MODEL} is missing (the corpus lives in ../shared/corpus)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "efficientnet_lite0.tflite"
        runs = [run_once(out) for _ in range(args.repeats)]
        size = out.stat().st_size
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("wall_s", "import_s", "convert_s", "peak_rss")}
    lines = [f"EfficientNet-Lite0 ONNX -> .tflite (nhwc), {args.repeats} fresh processes, "
             "medians", "",
             "| measure | value | target |", "|---|---:|---:|",
             f"| whole command, wall | {med['wall_s']:.3f} s | < 1 s |",
             f"| imports | {med['import_s']:.3f} s | |",
             f"| conversion call | {med['convert_s']:.3f} s | |",
             f"| peak RSS | {med['peak_rss'] / 2**20:.0f} MB | < 400 MB |",
             f"| output size | {size / 2**20:.1f} MB | |"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
