"""``edgelite benchmark``: latency, start-up and memory of one model, like TFLite's
``benchmark_model`` (init, first invoke, steady-state median/p90, peak RSS, op profile)."""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np


def _inputs(details: list[dict], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        dtype = np.dtype(d["dtype"])
        if dtype.kind == "f":
            out.append(rng.uniform(-1, 1, d["shape"]).astype(dtype))
        elif dtype.kind == "b":
            out.append(rng.integers(0, 2, d["shape"]).astype(dtype))
        else:
            info = np.iinfo(dtype)
            out.append(rng.integers(max(info.min, -128), min(info.max, 127) + 1, d["shape"],
                                    dtype=dtype))
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_benchmark(path: str, *, threads: int = 1, runs: int = 50, warmup: int = 5,
                  profile: bool = False) -> dict:
    from .interpreter import Interpreter

    t0 = time.perf_counter()
    interp = Interpreter(model_path=path, num_threads=threads)
    interp.allocate_tensors()
    init = time.perf_counter() - t0
    for d, x in zip(interp.get_input_details(), _inputs(interp.get_input_details())):
        interp.set_tensor(d["index"], x)
    t0 = time.perf_counter()
    interp.invoke()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - t0)
    result = {
        "model": path, "threads": threads, "init_ms": init * 1e3, "first_invoke_ms": first * 1e3,
        "median_ms": statistics.median(times) * 1e3,
        "p90_ms": float(np.percentile(times, 90)) * 1e3, "runs": runs,
        "peak_rss_mb": _peak_rss_mb(), **interp.memory_report(),
    }
    if profile:
        totals: dict = {}
        for _ in range(max(runs // 5, 3)):
            interp._main.invoke_profiled(totals)
        grand = sum(spent for _, spent in totals.values()) or 1.0
        result["profile"] = [{"op": name, "count": count, "total_ms": spent * 1e3,
                              "percent": 100 * spent / grand}
                             for name, (count, spent) in
                             sorted(totals.items(), key=lambda kv: -kv[1][1])]
    return result


def format_result(r: dict) -> str:
    lines = [f"model: {r['model']} (threads={r['threads']})",
             f"init (load + allocate_tensors): {r['init_ms']:.1f} ms",
             f"first invoke: {r['first_invoke_ms']:.1f} ms",
             f"steady state over {r['runs']} runs: median {r['median_ms']:.3f} ms, "
             f"p90 {r['p90_ms']:.3f} ms",
             f"peak RSS: {r['peak_rss_mb']:.1f} MB; arena {r['arena_bytes'] / 1024:.0f} KiB "
             f"(lower bound {r['lower_bound_bytes'] / 1024:.0f} KiB)"]
    if "profile" in r:
        lines.append(f"{'op':<28}{'count':>7}{'total ms':>11}{'%':>7}")
        for row in r["profile"]:
            lines.append(f"{row['op']:<28}{row['count']:>7}{row['total_ms']:>11.2f}"
                         f"{row['percent']:>7.1f}")
    return "\n".join(lines)
