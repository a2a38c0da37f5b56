"""edgelite: a TensorFlow-Lite-compatible converter, quantizer and interpreter in Python."""

from __future__ import annotations

from . import _cache

# Before anything imports numba: where the compiled kernels are cached (see _cache.py).
_cache.configure()

from .interpreter import Delegate, Interpreter, OpResolver, OpResolverType, load_delegate

__version__ = "0.1.0"

__all__ = [
    "Converter",
    "Delegate",
    "GpuDelegate",
    "Interpreter",
    "OpResolver",
    "OpResolverType",
    "OpsSet",
    "Optimize",
    "load_delegate",
]

# The converter is imported when first used, not by `import edgelite`: running a model
# (the start-up path) never needs it.
_CONVERTER_NAMES = ("Converter", "Optimize", "OpsSet")


def __getattr__(name: str):
    if name == "GpuDelegate":   # the WebGPU delegate (wgpu is imported only when used)
        from .delegates.gpu import GpuDelegate

        globals()[name] = GpuDelegate
        return GpuDelegate
    if name in _CONVERTER_NAMES:
        from . import converter

        value = getattr(converter, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CONVERTER_NAMES) | {"GpuDelegate"})
