"""``edgelite warmup``: compile the kernels a model needs into the numba cache ahead of use.

Each model is loaded, allocated and invoked once with zero inputs, which makes numba compile
(or load from the cache) every kernel specialisation that model reaches. Which of them were
compiled now and which were already cached is read from numba's own per-dispatcher
counters, so nothing here knows which op uses which kernel.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MODELS_DIR = Path(__file__).with_name("models")


@dataclass
class WarmupResult:
    model: str
    seconds: float
    compiled: list[str] = field(default_factory=list)   # "module.function" compiled now
    loaded: list[str] = field(default_factory=list)     # found in the cache


def bundled_models() -> list[Path]:
    """The ``.tflite`` files shipped in ``edgelite/models``."""
    return sorted(MODELS_DIR.glob("*.tflite"))


def _kernel_dispatchers() -> dict[str, object]:
    """Every numba dispatcher defined in an imported ``edgelite.kernels`` module, by name."""
    if "numba" not in sys.modules:
        return {}
    from numba.core.dispatcher import Dispatcher

    found: dict[str, object] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("edgelite.kernels.") or module is None:
            continue
        short = name.rpartition(".")[2]
        for attr, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == name:
                found[f"{short}.{attr}"] = value
    return found


def _counts(dispatchers: dict[str, object]) -> dict[str, tuple[int, int]]:
    """(compiled, loaded) specialisations per dispatcher, from numba's cache counters."""
    return {name: (sum(d.stats.cache_misses.values()), sum(d.stats.cache_hits.values()))
            for name, d in dispatchers.items()}


def _zeros_for(details: dict):
    import numpy as np

    return np.zeros(details["shape"], dtype=details["dtype"])


def warm_model(path: str | Path) -> WarmupResult:
    """Load, allocate and invoke ``path`` once with zeros; report the kernels it compiled."""
    from .interpreter import Interpreter

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model {str(path)!r} does not exist")
    before = _counts(_kernel_dispatchers())
    t0 = time.perf_counter()
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    for details in interpreter.get_input_details():
        interpreter.set_tensor(details["index"], _zeros_for(details))
    interpreter.invoke()
    result = WarmupResult(str(path), time.perf_counter() - t0)
    for name, (compiled, loaded) in sorted(_counts(_kernel_dispatchers()).items()):
        old_compiled, old_loaded = before.get(name, (0, 0))
        if compiled > old_compiled:
            result.compiled.append(name)
        elif loaded > old_loaded:
            result.loaded.append(name)
    return result


def format_result(result: WarmupResult) -> str:
    n = len(result.compiled)
    head = (f"{result.model}: {n} kernel{'' if n == 1 else 's'} compiled, "
            f"{len(result.loaded)} loaded from the cache, {result.seconds:.2f} s")
    lines = [head]
    if result.compiled:
        lines.append("  compiled: " + ", ".join(result.compiled))
    return "\n".join(lines)


def warmup(models: list[str]) -> list[WarmupResult]:
    """Warm every model given, or the bundled ones when none is; print as it goes."""
    from ._cache import cache_info, describe

    paths = [Path(m) for m in models] or bundled_models()
    if not paths:
        raise ValueError(f"no model given and none bundled in {MODELS_DIR}: "
                         "pass one, e.g. `edgelite warmup model.tflite`")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"model {missing[0]!r} does not exist")
    print(describe(cache_info()))
    results = []
    for path in paths:
        results.append(warm_model(path))
        print(format_result(results[-1]), flush=True)
    total = sum(r.seconds for r in results)
    print(f"warmed {len(results)} model(s) in {total:.2f} s")
    return results
