"""``edgelite benchmark``: latency, start-up and memory of one model, like TFLite's
``benchmark_model`` (init, first invoke, steady-state median/p90, peak RSS, op profile).

``--compare-litert`` times LiteRT's Interpreter (default delegates, i.e. XNNPACK) on the
same model and the same random inputs in the same process. The two are invoked in turn,
round after round, with the order flipped every round, so machine noise (other processes,
frequency changes, cache state left by the previous invoke) hits both alike; the figure
that matters is the ratio edgelite / LiteRT of the medians.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import numpy as np

LITERT_HINT = "pip install ai-edge-litert"


class LiteRTMissing(RuntimeError):
    """``--compare-litert`` without ai_edge_litert importable."""


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


def random_inputs(interp, seed: int = 0) -> list[np.ndarray]:
    """Seeded random inputs matching ``interp``'s input details, in their order."""
    return _inputs(interp.get_input_details(), seed)


def set_inputs(interp, inputs: list[np.ndarray]) -> None:
    details = interp.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"model has {len(details)} inputs, got {len(inputs)}")
    for d, x in zip(details, inputs):
        if tuple(d["shape"]) != x.shape:
            raise ValueError(f"input {d['name']!r}: shape {tuple(d['shape'])}, got {x.shape}")
        interp.set_tensor(d["index"], x)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def alternate(invokes: dict[str, Callable[[], object]], *, runs: int,
              warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call of each of ``invokes``, called in turn for ``warmup`` untimed
    and ``runs`` timed rounds; every other round runs them in reverse order."""
    names = list(invokes)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + runs):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            call = invokes[name]
            t0 = time.perf_counter()
            call()
            elapsed = time.perf_counter() - t0
            if round_ >= warmup:
                times[name].append(elapsed * 1e3)
    return times


def latency_stats(times_ms: list[float]) -> dict:
    return {"median_ms": statistics.median(times_ms),
            "p90_ms": float(np.percentile(times_ms, 90))}


def profile_ops(interp, rounds: int) -> list[dict]:
    """Per-op-type time of ``rounds`` profiled invokes of an edgelite Interpreter, most
    expensive first; ``ms_per_invoke`` is the op type's share of one invoke."""
    from ._threads import limit_blas, restore_blas

    totals: dict = {}
    changed = limit_blas(interp._num_threads)   # as invoke() sets numpy's BLAS
    try:
        with np.errstate(all="ignore"):
            for _ in range(rounds):
                interp._main.invoke_profiled(totals)
    finally:
        restore_blas(changed)
    grand = sum(spent for _, spent in totals.values()) or 1.0
    return [{"op": name, "count": count, "total_ms": spent * 1e3,
             "ms_per_invoke": spent * 1e3 / rounds, "percent": 100 * spent / grand}
            for name, (count, spent) in sorted(totals.items(), key=lambda kv: -kv[1][1])]


def run_benchmark(path: str, *, threads: int = 1, runs: int = 50, warmup: int = 5,
                  profile: bool = False, gpu: str | None = None) -> dict:
    """``gpu``: None (CPU kernels), or "fp32"/"fp16" to run with the GPU delegate; its
    init time includes compiling the partitions' pipelines."""
    from .interpreter import Interpreter

    t0 = time.perf_counter()
    delegates, gpu_info = [], {}
    if gpu is not None:
        from .delegates.gpu import GpuDelegate

        delegate = GpuDelegate(precision=gpu)
        delegates = [delegate]
        gpu_info = {"gpu": delegate.adapter_name, "gpu_precision": delegate.precision_used}
    interp = Interpreter(model_path=path, num_threads=threads, experimental_delegates=delegates)
    interp.allocate_tensors()
    init = time.perf_counter() - t0
    if gpu is not None:
        gpu_info.update(delegated_ops=interp.delegated_ops,
                        ops=len(interp._model.subgraphs[0].operators))
    set_inputs(interp, random_inputs(interp))
    t0 = time.perf_counter()
    interp.invoke()
    first = time.perf_counter() - t0
    times = alternate({"edgelite": interp.invoke}, runs=runs, warmup=warmup)["edgelite"]
    result = {
        "model": path, "threads": threads, "init_ms": init * 1e3,
        "first_invoke_ms": first * 1e3, **latency_stats(times), "runs": runs,
        "peak_rss_mb": _peak_rss_mb(), **interp.memory_report(), **gpu_info,
    }
    if profile:
        result["profile"] = profile_ops(interp, max(runs // 5, 3))
    return result


def edgelite_interpreter(path: str, threads: int):
    from .interpreter import Interpreter

    return Interpreter(model_path=path, num_threads=threads)


def litert_interpreter(path: str, threads: int):
    """LiteRT's Interpreter with its default op resolver (builtin kernels + XNNPACK)."""
    try:
        from ai_edge_litert import interpreter as lite
    except ImportError as e:
        raise LiteRTMissing(f"--compare-litert needs LiteRT, which is not installed "
                            f"({e}); install it with: {LITERT_HINT}") from None
    return lite.Interpreter(model_path=path, num_threads=threads)


# the runtimes --compare-litert builds, each called as make(path, threads)
RUNTIMES: dict[str, Callable] = {"edgelite": edgelite_interpreter, "LiteRT": litert_interpreter}


def _prepared(make: Callable, path: str, threads: int, inputs) -> tuple[object, dict]:
    t0 = time.perf_counter()
    interp = make(path, threads)
    interp.allocate_tensors()
    init = time.perf_counter() - t0
    if inputs is None:
        inputs = random_inputs(interp)
    set_inputs(interp, inputs)
    t0 = time.perf_counter()
    interp.invoke()
    first = time.perf_counter() - t0
    return interp, {"init_ms": init * 1e3, "first_invoke_ms": first * 1e3}


def _max_output_diff(a, b) -> float:
    diff = 0.0
    for da, db in zip(a.get_output_details(), b.get_output_details()):
        xa = np.asarray(a.get_tensor(da["index"]), np.float64)
        xb = np.asarray(b.get_tensor(db["index"]), np.float64)
        if xa.shape != xb.shape:
            return float("inf")
        if xa.size:
            diff = max(diff, float(np.max(np.abs(xa - xb))))
    return diff


def run_comparison(path: str, *, threads: int = 1, runs: int = 50, warmup: int = 5,
                   profile: bool = False) -> dict:
    """edgelite against LiteRT on ``path``: both get ``threads`` threads and the same random
    inputs, and are invoked alternately (see the module docstring)."""
    make_lite = RUNTIMES["LiteRT"]
    ours, ours_start = _prepared(RUNTIMES["edgelite"], path, threads, None)
    inputs = random_inputs(ours)
    theirs, theirs_start = _prepared(make_lite, path, threads, inputs)
    times = alternate({"edgelite": ours.invoke, "LiteRT": theirs.invoke},
                      runs=runs, warmup=warmup)
    top = profile_ops(ours, max(runs // 5, 3)) if profile else None
    stats = {name: {**start, **latency_stats(times[name])}
             for name, start in (("edgelite", ours_start), ("LiteRT", theirs_start))}
    result = {
        "model": path, "threads": threads, "runs": runs, "warmup": warmup,
        "runtimes": stats,
        "ratio_median": stats["edgelite"]["median_ms"] / stats["LiteRT"]["median_ms"],
        "ratio_p90": stats["edgelite"]["p90_ms"] / stats["LiteRT"]["p90_ms"],
        "max_output_diff": _max_output_diff(ours, theirs),
    }
    if top is not None:
        result["profile"] = top
    return result


def _profile_lines(rows: list[dict]) -> list[str]:
    lines = [f"{'op':<28}{'count':>7}{'total ms':>11}{'%':>7}"]
    for row in rows:
        lines.append(f"{row['op']:<28}{row['count']:>7}{row['total_ms']:>11.2f}"
                     f"{row['percent']:>7.1f}")
    return lines


def format_result(r: dict) -> str:
    lines = [f"model: {r['model']} (threads={r['threads']})"]
    if "gpu" in r:
        lines.append(f"GPU: {r['gpu']}, {r['gpu_precision']}; {r['delegated_ops']} of "
                     f"{r['ops']} ops delegated (the rest folded at prepare or on the CPU)")
    lines += [f"init (load + allocate_tensors): {r['init_ms']:.1f} ms",
              f"first invoke: {r['first_invoke_ms']:.1f} ms",
              (f"steady state over {r['runs']} runs: median {r['median_ms']:.3f} ms, "
               f"p90 {r['p90_ms']:.3f} ms"),
              (f"peak RSS: {r['peak_rss_mb']:.1f} MB; arena {r['arena_bytes'] / 1024:.0f} KiB "
               f"(lower bound {r['lower_bound_bytes'] / 1024:.0f} KiB)")]
    if "profile" in r:
        lines += _profile_lines(r["profile"])
    return "\n".join(lines)


def format_comparison(r: dict) -> str:
    lines = [f"model: {r['model']} (threads={r['threads']}, both runtimes)",
             f"{r['runs']} alternating runs after {r['warmup']} warmup rounds, same inputs",
             f"{'runtime':<24}{'init ms':>10}{'first ms':>10}{'median ms':>11}{'p90 ms':>10}"]
    for name, s in r["runtimes"].items():
        label = "LiteRT (XNNPACK)" if name == "LiteRT" else name
        lines.append(f"{label:<24}{s['init_ms']:>10.1f}{s['first_invoke_ms']:>10.1f}"
                     f"{s['median_ms']:>11.3f}{s['p90_ms']:>10.3f}")
    lines.append(f"ratio edgelite / LiteRT: median {r['ratio_median']:.2f}x, "
                 f"p90 {r['ratio_p90']:.2f}x")
    lines.append(f"max |output difference|: {r['max_output_diff']:.3g}")
    if "profile" in r:
        lines.append("edgelite per-op profile:")
        lines += _profile_lines(r["profile"])
    return "\n".join(lines)
