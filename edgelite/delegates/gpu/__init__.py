"""The WebGPU delegate (``wgpu``): ``GpuDelegate(precision="fp32"|"fp16", adapter=None)``,
also ``load_delegate("gpu")``. Modules: ``device`` (adapter and device), ``program`` (a
partition compiled: lowering, arena plan, pipelines, run), ``wgsl`` (shared shader text),
``ops_*`` (op lowerings), ``rules`` (the op table)."""

from .delegate import GpuDelegate
from .device import GpuUnavailableError

__all__ = ["GpuDelegate", "GpuUnavailableError"]
