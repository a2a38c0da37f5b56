"""int8 against float32 MobileNetV2-035 in edgelite, with LiteRT's builtin kernels alongside.

usage: python benchmarks/int8_vs_float.py [--runs 30] [--threads 1] [--out results.md]

All four interpreters (edgelite and LiteRT-builtin, each on the int8 and the float32 model of
../shared/corpus/tf) live in one process and are invoked in turn, round after round, so
machine noise hits them alike. Reported: median and p90 invoke latency, and the ratios
int8/float32 within each runtime and edgelite/LiteRT per model. Target (issue 4): edgelite's
int8 invoke is not slower than its float32 invoke.

The edgelite measured is this checkout's (not whichever one the environment has
installed), and numpy's BLAS gets ``--threads`` threads (OPENBLAS_NUM_THREADS, unless set):
an idle BLAS thread spinning against other processes on a small machine otherwise makes
every GEMM-bound float and int8 layer erratic.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _blas_threads() -> None:
    """OPENBLAS_NUM_THREADS from ``--threads``, before numpy loads its BLAS."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=1)
    known, _ = pre.parse_known_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(known.threads))


if __name__ == "__main__":
    _blas_threads()
    sys.path.insert(0, str(REPO))

import numpy as np

CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MODELS = {"int8": CORPUS / "tf" / "mobilenet_v2_035.int8.tflite",
          "float32": CORPUS / "tf" / "mobilenet_v2_035.float32.tflite"}


def _prepared(make, path: Path, threads: int):
    interp = make(str(path), threads)
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        dtype = np.dtype(d["dtype"])
        x = rng.uniform(-1, 1, d["shape"]) if dtype.kind == "f" else \
            rng.integers(-128, 128, d["shape"])
        interp.set_tensor(d["index"], x.astype(dtype))
    interp.invoke()   # first invoke (numba loads, caches warm)
    return interp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from ai_edge_litert import interpreter as lite

    from edgelite import Interpreter

    def edgelite(path, n):
        return Interpreter(model_path=path, num_threads=n)

    def litert(path, n):
        return lite.Interpreter(
            model_path=path, num_threads=n,
            experimental_op_resolver_type=lite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)

    runners = {(rt, prec): _prepared(make, path, args.threads)
               for rt, make in (("edgelite", edgelite), ("LiteRT builtin", litert))
               for prec, path in MODELS.items()}
    times = {key: [] for key in runners}
    for _ in range(args.runs):
        for key, interp in runners.items():
            t0 = time.perf_counter()
            interp.invoke()
            times[key].append((time.perf_counter() - t0) * 1e3)
    med = {k: float(np.median(v)) for k, v in times.items()}
    p90 = {k: float(np.percentile(v, 90)) for k, v in times.items()}
    lines = [f"MobileNetV2-035 (96x96), {args.threads} thread(s), {args.runs} alternating runs",
             "", "| runtime | model | median ms | p90 ms |", "|---|---|---:|---:|"]
    lines += [f"| {rt} | {prec} | {med[(rt, prec)]:.2f} | {p90[(rt, prec)]:.2f} |"
              for rt, prec in runners]
    lines += ["", "| ratio | value |", "|---|---:|"]
    for rt in ("edgelite", "LiteRT builtin"):
        lines.append(f"| {rt} int8 / float32 | "
                     f"{med[(rt, 'int8')] / med[(rt, 'float32')]:.2f} |")
    for prec in MODELS:
        lines.append(f"| edgelite / LiteRT builtin, {prec} | "
                     f"{med[('edgelite', prec)] / med[('LiteRT builtin', prec)]:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
