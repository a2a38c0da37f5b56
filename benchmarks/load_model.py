"""Load time and extra RSS of a ~100 MB .tflite: edgelite.schema.read vs LiteRT.

usage: python benchmarks/load_model.py [--mb 100] [--repeats 5] [--out results.md]

The model (one FULLY_CONNECTED with a 100 MB float32 weight, plus a few small ops) is
built through the IR and written once. Each measurement runs in a fresh subprocess so
RSS starts clean; the two loaders alternate, and medians are reported with their ratio.
The target (issue 2): edgelite's load under 50 ms and under 10 MB of extra RSS, which
only holds if constants stay zero-copy views of the memory-mapped file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_PROBE = r"""
import json, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
which, path = sys.argv[1], sys.argv[2]
if which == 'edgelite':
    from edgelite.schema import read
    load = lambda: read(path)
else:
    from ai_edge_litert.interpreter import Interpreter
    load = lambda: Interpreter(model_path=path)
before = rss()
t0 = time.perf_counter()
model = load()
elapsed = time.perf_counter() - t0
print(json.dumps({'seconds': elapsed, 'rss_bytes': rss() - before}))
"""


def build_model(path: Path, megabytes: int) -> None:
    from edgelite.schema import ir, write

    units = int(np.sqrt(megabytes * 2**20 / 4))
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((units, units), dtype=np.float32)
    sg = ir.Subgraph(name="big")
    x = sg.add_tensor(ir.Tensor("x", (1, units), np.float32))
    w = sg.add_tensor(ir.Tensor("w", weights.shape, np.float32, data=weights))
    b = sg.add_tensor(ir.Tensor("b", (units,), np.float32, data=np.zeros(units, np.float32)))
    y = sg.add_tensor(ir.Tensor("y", (1, units), np.float32))
    z = sg.add_tensor(ir.Tensor("z", (1, units), np.float32))
    sg.inputs, sg.outputs = [x], [z]
    sg.operators = [ir.Operator("FULLY_CONNECTED", [x, w, b], [y]),
                    ir.Operator("RELU", [y], [z])]
    path.write_bytes(write(ir.Model([sg])))


def measure(which: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, which, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.tflite"
        build_model(path, args.mb)
        size_mb = path.stat().st_size / 2**20
        runs: dict[str, list[dict]] = {"edgelite": [], "litert": []}
        for _ in range(args.repeats):
            for which in runs:
                runs[which].append(measure(which, path))
    med = {w: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "rss_bytes")}
           for w, rs in runs.items()}
    lines = [f"Loading a {size_mb:.1f} MB model (median of {args.repeats} fresh processes)", "",
             "| loader | load time (ms) | extra RSS (MB) |", "|---|---:|---:|"]
    for w, m in med.items():
        lines.append(f"| {w} | {m['seconds'] * 1e3:.2f} | {m['rss_bytes'] / 2**20:.2f} |")
    ratio = med["edgelite"]["seconds"] / med["litert"]["seconds"]
    lines += ["", f"edgelite / LiteRT load time: {ratio:.2f}x",
              f"target: edgelite < 50 ms and < 10 MB -> "
              f"{'met' if med['edgelite']['seconds'] < 0.05 and med['edgelite']['rss_bytes'] < 10 * 2**20 else 'NOT met'}"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
