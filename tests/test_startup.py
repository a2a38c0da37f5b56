"""Start-up: edgelite's numba cache directory, its fallback, the BLAS-probe hook, warmup.

Each behaviour that depends on what happens before numba is imported runs in a fresh
subprocess with its own cache directory. The model is a one-op float SOFTMAX: one numba
kernel (``activations._softmax_rows``), so a cold compile takes about a second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgelite import _cache, _import_hook, warmup
from edgelite._import_hook import after_import
from edgelite.schema import write
from tests.conftest import CORPUS
from tests.kernels.harness import op_model

REPO = Path(__file__).resolve().parents[1]
KERNEL = "activations._softmax_rows"

# Runs the model, then reports what the cache setup chose and what numba saw.
_RUN = r"""
import json, sys
import edgelite, numba, numpy
from edgelite import _cache
it = edgelite.Interpreter(model_path=sys.argv[1])
it.allocate_tensors()
it.set_tensor(it.get_input_details()[0]["index"], numpy.arange(10, dtype="f4")[None])
it.invoke()
out = it.get_tensor(it.get_output_details()[0]["index"])
info = _cache.cache_info()
print(json.dumps({"path": info.path, "source": info.source, "reason": info.reason,
                  "numba_dir": numba.config.CACHE_DIR, "sum": float(out.sum()),
                  "argmax": int(out.argmax()), "scipy_linalg": "scipy.linalg" in sys.modules,
                  "probe_entry": "scipy.linalg.cython_blas" in sys.modules}))
"""


@pytest.fixture(scope="module")
def softmax_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "softmax.tflite"
    model = op_model("SOFTMAX", [np.zeros((1, 10), np.float32)], {"beta": 1.0})
    path.write_bytes(write(model))
    return path


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("NUMBA_CACHE_DIR", "EDGELITE_CACHE_DIR", "EDGELITE_NUMBA_BLAS_PROBE",
                "EDGELITE_NUMBA_EAGER_REFRESH"):
        env.pop(key, None)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _python(args: list[str], env: dict[str, str], prefix: list[str] | None = None):
    return subprocess.run([*(prefix or []), sys.executable, *args], env=env, cwd=str(REPO),
                          capture_output=True, text=True, check=False)


def _run_model(model: Path, env: dict[str, str], prefix: list[str] | None = None) -> dict:
    proc = _python(["-c", _RUN, str(model)], env, prefix)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr           # no warning, no traceback
    result = json.loads(proc.stdout)
    assert result["argmax"] == 9 and abs(result["sum"] - 1.0) < 1e-5
    return result


def _index_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.nbi"))


def test_edgelite_cache_dir_holds_the_compiled_kernels(softmax_model, tmp_path):
    cache = tmp_path / "cache"
    result = _run_model(softmax_model, _env(EDGELITE_CACHE_DIR=str(cache)))
    assert result["source"] == "EDGELITE_CACHE_DIR" and result["numba_dir"] == str(cache)
    names = [p.name for p in _index_files(cache)]
    assert len(names) == 1 and names[0].startswith(KERNEL)
    assert not result["probe_entry"]                # the BLAS-probe block was taken out


def test_xdg_cache_home_and_home_name_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGELITE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.default_dir() == (tmp_path / "xdg" / "edgelite" / "numba", "XDG")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cache.default_dir()[0] == tmp_path / "home" / ".cache" / "edgelite" / "numba"
    monkeypatch.setenv("EDGELITE_CACHE_DIR", "~/elsewhere")
    assert _cache.default_dir() == (tmp_path / "home" / "elsewhere", "EDGELITE_CACHE_DIR")


def test_default_dir_is_used_without_edgelite_cache_dir(softmax_model, tmp_path):
    result = _run_model(softmax_model, _env(XDG_CACHE_HOME=str(tmp_path / "xdg")))
    assert result["source"] == "XDG"
    assert len(_index_files(tmp_path / "xdg" / "edgelite" / "numba")) == 1


def test_a_numba_cache_dir_set_by_the_user_wins(softmax_model, tmp_path):
    mine, ours = tmp_path / "numba", tmp_path / "edgelite"
    result = _run_model(softmax_model, _env(NUMBA_CACHE_DIR=str(mine),
                                            EDGELITE_CACHE_DIR=str(ours)))
    assert result["source"] == "NUMBA_CACHE_DIR" and result["numba_dir"] == str(mine)
    assert len(_index_files(mine)) == 1 and not ours.exists()


def test_a_cache_dir_that_cannot_be_created_falls_back_quietly(softmax_model, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = _run_model(softmax_model, _env(EDGELITE_CACHE_DIR=str(blocker / "numba")))
    assert result["source"] == "fallback" and "not writable" in result["reason"]
    assert result["numba_dir"] == result["path"]
    assert not Path(result["path"]).exists()        # the private directory went at exit


def _without_root_override() -> list[str]:
    """A command prefix under which permission bits bind (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root: the read-only test needs `setpriv` (util-linux) to "
                    "drop CAP_DAC_OVERRIDE; install util-linux or run as a normal user")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_a_read_only_cache_dir_falls_back_quietly(softmax_model, tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        result = _run_model(softmax_model, _env(EDGELITE_CACHE_DIR=str(read_only)),
                            prefix=_without_root_override())
    finally:
        read_only.chmod(0o755)
    assert result["source"] == "fallback" and "Permission denied" in result["reason"]
    assert list(read_only.iterdir()) == []


def test_the_blas_probe_hook_leaves_scipy_and_np_dot_working(softmax_model, tmp_path):
    code = _RUN + r"""
import numpy as np
from numba import njit
import scipy.linalg.cython_blas  # importable again once numba's probe has run
assert njit(lambda a, b: np.dot(a, b))(np.ones(3), np.arange(3.0)) == 3.0
"""
    cache = str(tmp_path / "cache")
    proc = _python(["-c", code, str(softmax_model)], _env(EDGELITE_CACHE_DIR=cache))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert not result["scipy_linalg"] and not result["probe_entry"]
    # numba's own behaviour, when asked (a cold cache: compiling imports numba.np.arraymath)
    probe_on = _run_model(softmax_model, _env(EDGELITE_CACHE_DIR=str(tmp_path / "cold"),
                                              EDGELITE_NUMBA_BLAS_PROBE="1"))
    assert probe_on["scipy_linalg"]


# A float CONV_2D big enough to run on numba's thread pool (a parfor, which needs its
# threading layer launched when loaded from the cache), then a new jitted function that
# needs the registries a lazy load skipped (array methods, a dict).
_LAZY = r"""
import json, sys
import numpy as np, edgelite
it = edgelite.Interpreter(model_path=sys.argv[1], num_threads=2)
it.allocate_tensors()
d = it.get_input_details()[0]
it.set_tensor(d["index"], np.random.default_rng(0).random(d["shape"], dtype=np.float32))
it.invoke()
out = it.get_tensor(it.get_output_details()[0]["index"])
refreshed = "numba.typed.dictimpl" in sys.modules
from numba import njit
@njit
def compiled_after(a):
    table = {}
    table[1] = a.sum()
    return table[1]
print(json.dumps({"out": out.ravel().tolist(), "refreshed": refreshed,
                  "compiled_after": float(compiled_after(np.arange(4.0)))}))
"""


def test_a_warm_start_loads_without_refreshing_numba_and_still_compiles(tmp_path):
    """The lazy-load hook (``_cache._lazy_load``): a run from a filled cache loads its
    kernels, threaded ones included, without numba's registry refresh, gives the cold
    run's outputs, and numba still compiles new code afterwards."""
    rng = np.random.default_rng(1)
    model = op_model("CONV_2D", [np.zeros((1, 40, 40, 8), np.float32),
                                 rng.standard_normal((16, 3, 3, 8)).astype(np.float32),
                                 rng.standard_normal(16).astype(np.float32)],
                     {"padding": "SAME", "stride_h": 1, "stride_w": 1,
                      "dilation_h_factor": 1, "dilation_w_factor": 1,
                      "fused_activation_function": "RELU6"}, const=[False, True, True])
    path = tmp_path / "conv.tflite"
    path.write_bytes(write(model))
    cache = str(tmp_path / "cache")
    runs = {}
    for name, extra in (("cold", {}), ("warm", {}),
                        ("eager", {"EDGELITE_NUMBA_EAGER_REFRESH": "1"})):
        proc = _python(["-c", _LAZY, str(path)], _env(EDGELITE_CACHE_DIR=cache, **extra))
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        runs[name] = json.loads(proc.stdout)
        assert runs[name]["compiled_after"] == 6.0
    assert runs["cold"]["refreshed"] and runs["eager"]["refreshed"]   # compiling refreshes
    assert not runs["warm"]["refreshed"]
    assert runs["warm"]["out"] == runs["cold"]["out"] == runs["eager"]["out"]
    assert max(runs["warm"]["out"]) == 6.0 and min(runs["warm"]["out"]) == 0.0   # RELU6


def test_import_hook_runs_around_the_first_import_only(tmp_path, monkeypatch):
    (tmp_path / "hooked_mod.py").write_text("VALUE = 1\n")
    (tmp_path / "hooked_bad.py").write_text("raise RuntimeError('broken module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []
    after_import("hooked_mod", before=lambda: calls.append("before") or "token",
                 after=lambda module, token: calls.append((module.VALUE, token)))
    after_import("hooked_bad", before=lambda: "t2", after=lambda m, t: calls.append(t))
    import hooked_mod

    assert calls == ["before", (1, "token")]
    assert type(hooked_mod.__loader__).__name__ == "SourceFileLoader"
    assert hooked_mod.__spec__.loader is hooked_mod.__loader__
    with pytest.raises(RuntimeError, match="broken module"):
        import hooked_bad  # noqa: F401
    assert calls[-1] == "t2"                         # `after` ran although the body raised
    pending = _import_hook._finder.pending
    assert "hooked_mod" not in pending and "hooked_bad" not in pending
    assert (_import_hook._finder in sys.meta_path) == bool(pending)   # leaves when done
    for name in ("hooked_mod", "hooked_bad"):
        sys.modules.pop(name, None)


def test_import_edgelite_loads_neither_numba_nor_the_converter():
    code = ("import sys, edgelite; print(sorted(m for m in ('numba', 'edgelite.converter') "
            "if m in sys.modules)); print(edgelite.Converter.__name__)")
    proc = _python(["-c", code], _env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "Converter"]


_WARM_MODULES = ("numba.np.arrayobj", "numba.np.arraymath", "numba.np.npyimpl",
                 "numba.typed.dictimpl")


def _model_run_modules(model: Path, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh process running ``model`` once has imported."""
    code = ("import sys, numpy as np, edgelite\n"
            "it = edgelite.Interpreter(model_path=sys.argv[1]); it.allocate_tensors()\n"
            "d = it.get_input_details()[0]\n"
            "it.set_tensor(d['index'], np.zeros(d['shape'], d['dtype'])); it.invoke()\n"
            f"print(sorted(m for m in {modules!r} if m in sys.modules))\n")
    proc = _python(["-c", code, str(model)], _env())
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout)   # a printed list of str


def _corpus_model(name: str) -> Path:
    model = CORPUS / "tf" / name
    if not model.exists():
        pytest.fail(f"{model} is missing: the corpus lives in ../shared/corpus")
    return model


def test_running_a_float_model_imports_no_writer_and_no_integer_kernels():
    """Start-up: an interpreter running a float model (CONV_2D, DEPTHWISE, ADD, RELU6,
    FULLY_CONNECTED, SOFTMAX) needs neither the schema writer nor the integer kernels'
    modules (tens of milliseconds of import between them)."""
    heavy = ("edgelite.schema.writer", "edgelite.kernels.conv_quantized",
             "edgelite.kernels.elementwise_quantized", "edgelite.kernels.activations_quantized",
             "edgelite.kernels.depthwise_quantized", "edgelite.kernels.quantized_operands")
    assert _model_run_modules(_corpus_model("mobilenet_v2_035.float32.tflite"), heavy) == []


@pytest.mark.parametrize("name", ["mobilenet_v2_035.float32.tflite",
                                  "mobilenet_v2_035.int8.tflite"])
def test_a_warm_mobilenet_loads_none_of_numbas_libraries(name):
    """Start-up: MobileNetV2's kernels, loaded from the cache, need none of numba's array,
    ufunc or typed-container libraries (their import is ~60 ms of a ~0.4 s warm start):
    no kernel on the path reshapes, allocates or copies slices through numba's array
    code (see ``kernels/views.py``), and the lazy-load hook skips the registry refresh.
    The first run fills the cache if it is cold (and then compiles, which imports all)."""
    model = _corpus_model(name)
    _model_run_modules(model, ())
    assert _model_run_modules(model, _WARM_MODULES) == []


def _warmup_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return _python(["-m", "edgelite", "warmup", *args], _env(EDGELITE_CACHE_DIR=str(cache)))


def test_warmup_compiles_into_the_cache_then_finds_it_there(softmax_model, tmp_path):
    cache = tmp_path / "cache"
    first = _warmup_cli(str(softmax_model), cache=cache)
    assert first.returncode == 0, first.stderr
    assert f"numba cache: {cache} (from EDGELITE_CACHE_DIR)" in first.stdout
    assert "1 kernel compiled, 0 loaded from the cache" in first.stdout
    assert f"compiled: {KERNEL}" in first.stdout and "warmed 1 model(s)" in first.stdout
    assert len(_index_files(cache)) == 1
    second = _warmup_cli(str(softmax_model), cache=cache)
    assert second.returncode == 0, second.stderr
    assert "0 kernels compiled, 1 loaded from the cache" in second.stdout


def test_warmup_of_a_missing_model_is_one_clear_line(softmax_model, tmp_path):
    missing = tmp_path / "missing.tflite"
    proc = _warmup_cli(str(softmax_model), str(missing), cache=tmp_path / "cache")
    assert proc.returncode == 2 and proc.stdout == ""   # checked before anything runs
    assert proc.stderr == f"edgelite warmup: error: model '{missing}' does not exist\n"


def test_warmup_defaults_to_the_bundled_models(softmax_model, tmp_path, monkeypatch, capsys):
    bundled = tmp_path / "models"
    bundled.mkdir()
    monkeypatch.setattr(warmup, "MODELS_DIR", bundled)
    with pytest.raises(ValueError, match="no model given and none bundled.*pass one"):
        warmup.warmup([])
    shutil.copy(softmax_model, bundled / "softmax.tflite")
    (result,) = warmup.warmup([])
    assert result.model == str(bundled / "softmax.tflite")
    out = capsys.readouterr().out   # (the kernel may already be compiled in this process)
    assert f"{bundled / 'softmax.tflite'}: " in out and "warmed 1 model(s)" in out
