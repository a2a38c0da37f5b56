"""edgelite against LiteRT (default delegates: XNNPACK) and onnxruntime, as latency ratios.

usage: python benchmarks/vs_litert.py [--runs 50] [--warmup 10] [--threads 1,2] [--out FILE]

Models: MobileNetV2-035 float32 and int8 (../shared/corpus/tf), mediapipe's
face_detection_short_range ($EDGELITE_MODEL_CACHE, as in tests/conftest.py),
EfficientNet-Lite0 converted by this checkout's edgelite from ../shared/corpus/onnx
(``--io-layout nhwc``; for that one onnxruntime runs the ONNX file itself, the same input
transposed to NCHW, and LiteRT runs edgelite's .tflite), and MobileNetV2-1.0-224 float32
and int8 made by ``benchmarks/make_mobilenet_v2.py`` (TensorFlow's converter, run once in
a separate venv with TensorFlow) in ``$EDGELITE_BENCH_MODELS`` (default
``~/.cache/edgelite/models``); when those two are missing their rows say how to make them.

For each model and thread count, every runtime is built with that many threads and given the
same seeded random input, invoked once (numba loads, caches warm), then all are invoked in
turn for ``--warmup`` untimed and ``--runs`` timed rounds, the order reversed every other
round, in this one process, so machine noise hits them alike. Reported: median and p90 invoke
latency and edgelite / other ratios of the medians, against the targets of issue 7; each
runtime's speed-up from 1 to 2 threads; the five op types where edgelite spends most of an
invoke (1 thread).

edgelite's kernels split their work over numba's thread pool (numpy's BLAS is held at one
thread inside ``invoke``). onnxruntime gets ``intra_op_num_threads`` and sequential
execution, with thread-pool spinning off: a pool spinning after its run would otherwise
steal the second core from the runtime invoked next. LiteRT's invoke and onnxruntime's
``run_with_iobinding`` both exclude input copies, like edgelite's ``invoke``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))

import numpy as np

CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MEDIAPIPE_CACHE = Path(os.environ.get("EDGELITE_MODEL_CACHE",
                                      Path.home() / ".cache" / "edgelite" / "mediapipe"))
ONNX_MODEL = CORPUS / "onnx" / "efficientnet_lite0.onnx"
BENCH_MODELS = Path(os.environ.get("EDGELITE_BENCH_MODELS",
                                   Path.home() / ".cache" / "edgelite" / "models"))
# (label, .tflite path or None for the converted EfficientNet, issue 7's target ratio)
CASES = [("MobileNetV2-035 float32", CORPUS / "tf" / "mobilenet_v2_035.float32.tflite", 1.5),
         ("MobileNetV2-035 int8", CORPUS / "tf" / "mobilenet_v2_035.int8.tflite", 2.0),
         ("face_detection_short_range", MEDIAPIPE_CACHE / "face_detection_short_range.tflite",
          1.5),
         ("EfficientNet-Lite0 (converted)", None, 1.5),
         ("MobileNetV2-1.0-224 float32", BENCH_MODELS / "mobilenet_v2_100_224.float32.tflite",
          None),
         ("MobileNetV2-1.0-224 int8", BENCH_MODELS / "mobilenet_v2_100_224.int8.tflite", 2.0)]
OPTIONAL = {"MobileNetV2-1.0-224 float32", "MobileNetV2-1.0-224 int8"}
# issue 7: two threads speed MobileNetV2-1.0 float up by at least this much over one
THREAD_TARGETS = {"MobileNetV2-1.0-224 float32": 1.6}


def _convert_efficientnet(out_dir: Path) -> Path:
    from edgelite.converter import Converter
    from edgelite.schema import write

    conv = Converter.from_onnx(str(ONNX_MODEL))
    conv.io_layout = "nhwc"
    path = out_dir / "efficientnet_lite0.nhwc.tflite"
    path.write_bytes(write(conv.convert_to_ir()))
    return path


def _check_present(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"missing model(s): {', '.join(missing)} (the corpus lives in "
                         f"../shared/corpus or $EDGELITE_CORPUS; the mediapipe models are "
                         f"fetched by ../shared/corpus/scripts/fetch_mediapipe_models.sh)")


def _ort_invoke(threads: int, x_nhwc: np.ndarray):
    """onnxruntime on the ONNX file, bound to the NCHW copy of ``x_nhwc``: (invoke, what the
    binding points at, to keep alive while invoking)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(ONNX_MODEL), opts, providers=["CPUExecutionProvider"])
    binding = sess.io_binding()
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    binding.bind_cpu_input(sess.get_inputs()[0].name, x)
    for o in sess.get_outputs():
        binding.bind_output(o.name)
    sess.run_with_iobinding(binding)   # first run: allocations, kernel selection
    return lambda: sess.run_with_iobinding(binding), (binding, x)


def measure(label: str, path: Path, threads: int, runs: int, warmup: int,
            with_ort: bool) -> dict:
    from edgelite.benchmark import (
        alternate,
        edgelite_interpreter,
        latency_stats,
        litert_interpreter,
        profile_ops,
        random_inputs,
        set_inputs,
    )

    ours = edgelite_interpreter(str(path), threads)
    ours.allocate_tensors()
    inputs = random_inputs(ours)
    theirs = litert_interpreter(str(path), threads)
    theirs.allocate_tensors()
    invokes = {}
    for name, interp in (("edgelite", ours), ("LiteRT", theirs)):
        set_inputs(interp, inputs)
        interp.invoke()
        invokes[name] = interp.invoke
    keep = None
    if with_ort:
        invokes["onnxruntime"], keep = _ort_invoke(threads, inputs[0])
    times = alternate(invokes, runs=runs, warmup=warmup)
    rounds = max(runs // 5, 5)
    ops = profile_ops(ours, rounds) if threads == 1 else []
    del keep
    return {"model": label, "threads": threads,
            **{name: latency_stats(t) for name, t in times.items()}, "profile": ops[:5],
            "ops_per_invoke": sum(p["count"] for p in ops) // rounds}


def _cell(row: dict, name: str) -> str:
    return (f"{row[name]['median_ms']:.2f} / {row[name]['p90_ms']:.2f}"
            if name in row else "–")


def _ratio(row: dict, name: str) -> float | None:
    return row["edgelite"]["median_ms"] / row[name]["median_ms"] if name in row else None


def measure_scaling(label: str, path: Path, runs: int, warmup: int) -> dict:
    """edgelite alone on 1 and on 2 threads, alternating, in a fresh process: its own
    speed-up, which the rows above understate (another runtime's thread pool, still
    spinning after its invoke, shares the cores with the edgelite invoke that follows
    it; in this process the other runtimes' pools stay alive)."""
    import json
    import subprocess

    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import vs_litert; "
            "print(json.dumps(vs_litert._scaling_here(sys.argv[2], sys.argv[3], "
            "int(sys.argv[4]), int(sys.argv[5]))))")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), label,
                           str(path), str(runs), str(warmup)], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _scaling_here(label: str, path, runs: int, warmup: int) -> dict:
    from edgelite.benchmark import (
        alternate,
        edgelite_interpreter,
        latency_stats,
        random_inputs,
        set_inputs,
    )

    invokes, inputs = {}, None
    for threads in (1, 2):
        interp = edgelite_interpreter(str(path), threads)
        interp.allocate_tensors()
        inputs = inputs if inputs is not None else random_inputs(interp)
        set_inputs(interp, inputs)
        interp.invoke()
        invokes[f"{threads}"] = interp.invoke
    times = alternate(invokes, runs=runs, warmup=warmup)
    one, two = (latency_stats(times[k])["median_ms"] for k in ("1", "2"))
    return {"model": label, "one_ms": one, "two_ms": two}


def _scaling(rows: list[dict], alone: list[dict]) -> list[str]:
    """Each runtime's speed-up from 1 to 2 threads (median 1-thread / 2-thread latency),
    and edgelite's measured alone against issue 7's target."""
    by = {(r["model"], r["threads"]): r for r in rows}
    out = []
    for (model, threads), one in by.items():
        two = by.get((model, 2))
        if threads != 1 or two is None:
            continue
        cells = [f"{name} {one[name]['median_ms'] / two[name]['median_ms']:.2f}x"
                 for name in ("edgelite", "LiteRT", "onnxruntime") if name in one]
        out.append(f"- {model}: " + ", ".join(cells))
    for a in alone:
        ratio = a["one_ms"] / a["two_ms"]
        target = THREAD_TARGETS[a["model"]]
        out.append(f"- {a['model']}, edgelite alone (1 and 2 threads alternating): "
                   f"{a['one_ms']:.2f} / {a['two_ms']:.2f} ms = {ratio:.2f}x; target >= "
                   f"{target:.1f}x: {'met' if ratio >= target else 'not met'}")
    return ["", "Speed-up from 1 to 2 threads:", ""] + out if out else []


def format_report(rows: list[dict], targets: dict, runs: int, warmup: int,
                  load: tuple[float, float], alone: list[dict] = ()) -> str:
    lines = [(f"edgelite vs LiteRT (XNNPACK) and onnxruntime: {runs} alternating runs after "
              f"{warmup} warmup rounds per row; median / p90 in ms"),
             (f"{os.cpu_count()} CPUs; 1-minute load average {load[0]:.2f} at start, "
              f"{load[1]:.2f} at end (other processes share the machine)"), "",
             ("| model | threads | edgelite | LiteRT XNNPACK | onnxruntime | "
              "edgelite / LiteRT | target | met | edgelite / ORT |"),
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for row in rows:
        lite, ort = _ratio(row, "LiteRT"), _ratio(row, "onnxruntime")
        target = targets[row["model"]]
        goal = ("–", "–") if target is None else \
            (f"<= {target:.1f}x", "yes" if lite <= target else "no")
        lines.append(f"| {row['model']} | {row['threads']} | {_cell(row, 'edgelite')} | "
                     f"{_cell(row, 'LiteRT')} | {_cell(row, 'onnxruntime')} | "
                     f"{lite:.2f}x | {goal[0]} | {goal[1]} | "
                     + (f"{ort:.2f}x |" if ort is not None else "– |"))
    lines += _scaling(rows, list(alone))
    lines += ["", "Top 5 op types by edgelite time (1 thread, ms per invoke, share of invoke):",
              ""]
    for row in rows:
        if row["profile"]:
            ops = ", ".join(f"{p['op']} {p['ms_per_invoke']:.2f} ({p['percent']:.0f}%)"
                            for p in row["profile"])
            per_op = 1e3 * row["edgelite"]["median_ms"] / row["ops_per_invoke"]
            lines.append(f"- {row['model']} ({row['ops_per_invoke']} ops, "
                         f"{per_op:.0f} µs per op on average): {ops}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    _check_present([p for label, p, _ in CASES if p is not None and label not in OPTIONAL]
                   + [ONNX_MODEL])
    skipped = [label for label, p, _ in CASES if label in OPTIONAL and not p.exists()]
    targets = {label: target for label, _, target in CASES}
    rows, alone = [], []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, _ in CASES:
            if label in skipped:
                continue
            with_ort = path is None
            path = path or _convert_efficientnet(Path(tmp))
            for threads in thread_counts:
                rows.append(measure(label, path, threads, args.runs, args.warmup, with_ort))
                print(f"measured {label}, {threads} thread(s)", file=sys.stderr)
            if label in THREAD_TARGETS and 2 in thread_counts:
                alone.append(measure_scaling(label, path, args.runs, args.warmup))
    text = format_report(rows, targets, args.runs, args.warmup,
                         (load_start, os.getloadavg()[0]), alone)
    for label in skipped:
        text += (f"\n\n{label}: not measured, {BENCH_MODELS} has no such file; make it with "
                 f"`python benchmarks/make_mobilenet_v2.py` in a venv with TensorFlow")
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
