"""`edgelite benchmark`: figures and the per-op profile, as JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from edgelite.schema import write
from tests.interpreter.models import two_input_model


def test_benchmark_json_with_profile(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(write(two_input_model()))
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", str(path), "--runs",
                           "7", "--warmup", "1", "--profile", "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["runs"] == 7 and 0 < r["median_ms"] <= r["p90_ms"]
    assert {row["op"] for row in r["profile"]} == {"ADD", "MUL"}
    assert all(row["count"] >= 3 for row in r["profile"])
    assert abs(sum(row["percent"] for row in r["profile"]) - 100) < 1e-6


def test_benchmark_of_an_unsupported_model_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"nope" * 10)
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", str(bad)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def _small_model(tmp_path) -> str:
    path = tmp_path / "m.tflite"
    path.write_bytes(write(two_input_model()))
    return str(path)


def test_compare_litert_prints_both_runtimes_and_the_ratio(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", _small_model(tmp_path),
                           "--compare-litert", "--runs", "5", "--warmup", "1", "--profile"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines
            if line.startswith(("edgelite  ", "LiteRT (XNNPACK)  "))}
    assert set(rows) == {"edgelite", "LiteRT"}
    # init, first invoke, median, p90 (ms) per runtime
    for row in rows.values():
        init, first, median, p90 = (float(v) for v in row[-4:])
        assert min(init, first) >= 0 and 0 <= median <= p90
    assert any(line.startswith("ratio edgelite / LiteRT: median ") for line in lines)
    assert "max |output difference|: 0" in proc.stdout
    assert {"ADD", "MUL"} <= {line.split()[0] for line in lines}


def test_compare_litert_json_ratio_is_of_the_medians(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", _small_model(tmp_path),
                           "--compare-litert", "--runs", "6", "--warmup", "1", "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    ours, theirs = r["runtimes"]["edgelite"], r["runtimes"]["LiteRT"]
    assert r["runs"] == 6 and 0 < ours["median_ms"] <= ours["p90_ms"]
    assert 0 < theirs["median_ms"] <= theirs["p90_ms"]
    assert abs(r["ratio_median"] - ours["median_ms"] / theirs["median_ms"]) < 1e-9
    assert r["max_output_diff"] == 0


def test_compare_litert_passes_threads_to_both_runtimes(tmp_path, monkeypatch, capsys):
    from ai_edge_litert import interpreter as lite

    from edgelite import benchmark
    from edgelite.cli import main

    seen = {}
    real_lite = lite.Interpreter

    def recording_lite(*args, **kwargs):
        seen["LiteRT"] = kwargs.get("num_threads")
        return real_lite(*args, **kwargs)

    def recording_edgelite(path, threads):
        interp = benchmark.edgelite_interpreter(path, threads)
        seen["edgelite"] = interp._num_threads
        return interp

    monkeypatch.setattr(lite, "Interpreter", recording_lite)
    monkeypatch.setitem(benchmark.RUNTIMES, "edgelite", recording_edgelite)
    code = main(["benchmark", _small_model(tmp_path), "--compare-litert", "--threads", "2",
                 "--runs", "3", "--warmup", "1", "--json"])
    assert code == 0
    assert seen == {"edgelite": 2, "LiteRT": 2}
    assert json.loads(capsys.readouterr().out)["threads"] == 2


def test_compare_litert_of_a_missing_model_is_one_clear_line(tmp_path):
    missing = tmp_path / "absent.tflite"
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", str(missing),
                           "--compare-litert"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("edgelite benchmark: error:") and str(missing) in proc.stderr


def test_compare_litert_without_litert_says_what_to_install(tmp_path):
    # ai_edge_litert made unimportable: a None entry in sys.modules fails its import
    probe = ("import sys; sys.modules['ai_edge_litert'] = None\n"
             "from edgelite.cli import main\n"
             f"sys.exit(main(['benchmark', {_small_model(tmp_path)!r}, '--compare-litert']))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "LiteRT" in proc.stderr and "pip install ai-edge-litert" in proc.stderr
    assert proc.stdout == ""


def test_alternate_flips_the_order_every_round_and_times_only_the_runs():
    from edgelite.benchmark import alternate

    log = []
    times = alternate({"a": lambda: log.append("a"), "b": lambda: log.append("b")},
                      runs=3, warmup=1)
    assert log == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert {name: len(t) for name, t in times.items()} == {"a": 3, "b": 3}
    assert all(t >= 0 for ts in times.values() for t in ts)
