"""Start-up time: cold (empty numba cache) and warm (cache filled) against LiteRT.

usage: python benchmarks/startup.py [--cold 3] [--warm 7] [--models a.tflite ...]
                                    [--out startup.md] [--profile]

What is timed, in a fresh subprocess each time, from before the first import to after the
first ``invoke()`` returns: ``import edgelite``, ``Interpreter(model_path=...)``,
``allocate_tensors()``, ``invoke()``. The same for ``ai_edge_litert`` as the yardstick.
Reported per phase (medians) plus the subprocess's whole wall time (interpreter start-up
and exit included).

* cold: every repeat gets a new, empty ``EDGELITE_CACHE_DIR``, so numba compiles all the
  kernels the model reaches (and writes them into that directory);
* warm: one directory filled by an untimed run, then ``--warm`` runs that only load.

Children run with bytecode caching on (``PYTHONPYCACHEPREFIX`` in a temp directory,
filled by the untimed run) even when ``PYTHONDONTWRITEBYTECODE`` is set here, as a pip
install compiles ``.pyc`` files: otherwise every run would also pay for compiling
edgelite's sources. ``NUMBA_CACHE_DIR`` is removed from the children's environment.

Models: MobileNetV2-035 float32 and int8 (../shared/corpus/tf or $EDGELITE_CORPUS) and
mediapipe's face_detection_short_range ($EDGELITE_MODEL_CACHE, as in tests/conftest.py).
Issue 7's target: warm start at most 0.5 s for both MobileNetV2 files.
``--profile`` adds the imports over 10 ms (``-X importtime``) and the top of a cProfile
of one warm start of the first model.
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
MEDIAPIPE_CACHE = Path(os.environ.get("EDGELITE_MODEL_CACHE",
                                      Path.home() / ".cache" / "edgelite" / "mediapipe"))
MODELS = [CORPUS / "tf" / "mobilenet_v2_035.float32.tflite",
          CORPUS / "tf" / "mobilenet_v2_035.int8.tflite",
          MEDIAPIPE_CACHE / "face_detection_short_range.tflite"]
TARGET_S = 0.5
PHASES = ("import", "load", "allocate", "invoke", "total")

# Timed in the child; prints one JSON line. argv: runtime, model path.
_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
if sys.argv[1] == "edgelite":
    from edgelite import Interpreter
else:
    from ai_edge_litert.interpreter import Interpreter
t1 = time.perf_counter()
it = Interpreter(model_path=sys.argv[2])
t2 = time.perf_counter()
it.allocate_tensors()
t3 = time.perf_counter()
it.invoke()
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "allocate": t3 - t2,
                  "invoke": t4 - t3, "total": t4 - t0}))
"""


def _child_env(cache_dir: Path, pyc_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPYCACHEPREFIX"] = str(pyc_dir)
    env["EDGELITE_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def run_once(runtime: str, model: Path, env: dict[str, str]) -> dict[str, float]:
    """One fresh process: the probe's phase times plus ``wall``, the whole subprocess."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, runtime, str(model)], env=env,
                          capture_output=True, text=True, cwd=str(REPO), check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{runtime} on {model.name} failed:\n{proc.stderr[-3000:]}")
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    times["wall"] = wall
    return times


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def measure(model: Path, cold: int, warm: int, work: Path) -> dict[str, dict[str, float]]:
    """Medians of cold and warm edgelite starts and of LiteRT starts, for one model."""
    pyc = work / "pyc"
    cold_runs = []
    for k in range(cold):
        cache = work / f"cold-{model.stem}-{k}"
        cold_runs.append(run_once("edgelite", model, _child_env(cache, pyc)))
    warm_env = _child_env(work / f"warm-{model.stem}", pyc)
    run_once("edgelite", model, warm_env)            # fills the cache (and the .pyc files)
    warm_runs, litert_runs = [], []
    for _ in range(warm):                           # alternate, so noise hits both alike
        warm_runs.append(run_once("edgelite", model, warm_env))
        litert_runs.append(run_once("litert", model, warm_env))
    rows = {"edgelite cold": _medians(cold_runs)} if cold_runs else {}
    return rows | {"edgelite warm": _medians(warm_runs), "LiteRT": _medians(litert_runs)}


def format_table(results: dict[str, dict[str, dict[str, float]]], cold: int,
                 warm: int) -> str:
    head = "| model | runtime | " + " | ".join(PHASES) + " | process wall | target |"
    title = (f"Start-up to the end of the first invoke, seconds, medians "
             f"(cold: {cold} runs, warm and LiteRT: {warm} runs each).")
    lines = [title, "", head, "|" + "---|" * (len(PHASES) + 4)]
    for model, rows in results.items():
        for runtime, t in rows.items():
            mark = ""
            if runtime == "edgelite warm" and model.startswith("mobilenet"):
                mark = "ok" if t["total"] <= TARGET_S else f"over {TARGET_S} s"
            cells = " | ".join(f"{t[p]:.3f}" for p in PHASES)
            lines.append(f"| {model} | {runtime} | {cells} | {t['wall']:.3f} | {mark} |")
    return "\n".join(lines)


def profile_warm(model: Path, work: Path) -> str:
    """The slowest imports and a cProfile summary of one warm start."""
    env = _child_env(work / f"warm-{model.stem}", work / "pyc")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _PROBE, "edgelite",
                           str(model)], env=env, capture_output=True, text=True, check=False)
    rows = []   # kept in importtime's order, so the indentation still shows the nesting
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and int(parts[1]) >= 10_000:
            rows.append(f"{int(parts[1]) / 1000:>7.1f} ms {parts[2].rstrip()}")
    text = ["Imports over 10 ms (cumulative, -X importtime):", "```", *rows, "```", ""]
    script = ("import cProfile, pstats, sys\n"
              "pr = cProfile.Profile(); pr.enable()\n" + _PROBE +
              "pr.disable(); pstats.Stats(pr).sort_stats('cumulative').print_stats(25)\n")
    proc = subprocess.run([sys.executable, "-c", script, "edgelite", str(model)], env=env,
                          capture_output=True, text=True, check=False)
    text += ["cProfile of one warm start (cumulative):", "```",
             proc.stdout.strip()[-6000:], "```"]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="cold runs per model")
    parser.add_argument("--warm", type=int, default=7, help="warm runs per model")
    parser.add_argument("--models", nargs="*", type=Path, default=MODELS)
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        parser.error(f"missing models: {', '.join(missing)} (see tests/conftest.py)")
    with tempfile.TemporaryDirectory(prefix="edgelite-startup-") as tmp:
        work = Path(tmp)
        results = {}
        for model in args.models:
            results[model.stem] = measure(model, args.cold, args.warm, work)
            print(f"measured {model.name}", file=sys.stderr, flush=True)
        text = format_table(results, args.cold, args.warm)
        if args.profile:
            text += "\n\n" + profile_warm(args.models[0], work)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
