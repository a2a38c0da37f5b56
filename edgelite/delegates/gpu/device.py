"""Finding a WebGPU adapter and opening a device on it.

``wgpu`` (wgpu-native) picks Vulkan on Linux (Raspberry Pi 4/5: Mesa's v3dv), Metal on
macOS and D3D12 on Windows. A machine without a GPU still has Mesa's lavapipe, a Vulkan
device on the CPU (``apt-get install mesa-vulkan-drivers``): the tests run there.
One device per adapter is opened and shared by every delegate in the process.
"""

from __future__ import annotations

INSTALL_HINT = ("pip install 'edgelite[gpu]' (the wgpu package) and a Vulkan/Metal/D3D12 "
                "driver; on Linux without a GPU: apt-get install mesa-vulkan-drivers (lavapipe)")


class GpuUnavailableError(RuntimeError):
    """No wgpu module or no adapter: the message says what to install."""


_DEVICES: dict = {}


def import_wgpu():
    try:
        import wgpu
    except ImportError:
        raise GpuUnavailableError(f"the GPU delegate needs wgpu: {INSTALL_HINT}") from None
    return wgpu


def find_adapter(adapter=None):
    """``adapter``: None (the high-performance one), a wgpu adapter, or a substring of an
    adapter's device/description/backend name (e.g. ``"llvmpipe"``, ``"NVIDIA"``)."""
    wgpu = import_wgpu()
    if adapter is not None and not isinstance(adapter, str):
        return adapter
    try:
        if adapter is None:
            found = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
            if found is not None:
                return found
        else:
            for candidate in wgpu.gpu.enumerate_adapters_sync():
                info = candidate.info
                names = " ".join(str(info.get(k, "")) for k in
                                 ("device", "description", "vendor", "backend_type"))
                if adapter.lower() in names.lower():
                    return candidate
    except Exception as e:  # noqa: BLE001 -- wgpu-native raises various errors when no backend starts
        raise GpuUnavailableError(f"no WebGPU adapter ({type(e).__name__}: {e}); "
                                  f"{INSTALL_HINT}") from None
    what = "no WebGPU adapter found" if adapter is None else f"no adapter matches {adapter!r}"
    raise GpuUnavailableError(f"{what}: {INSTALL_HINT}")


def open_device(adapter, want_f16: bool):
    """(device, has_f16): a device with ``shader-f16`` when asked for and available."""
    has_f16 = want_f16 and "shader-f16" in adapter.features
    key = (id(adapter), has_f16)
    if key not in _DEVICES:
        limits = adapter.limits
        required = {k: limits[k] for k in ("max-storage-buffer-binding-size",
                                           "max-buffer-size",
                                           "max-compute-workgroup-storage-size")
                    if k in limits}
        device = adapter.request_device_sync(
            required_features=["shader-f16"] if has_f16 else [], required_limits=required)
        _DEVICES[key] = (adapter, device)   # keeps the adapter alive with its device
    return _DEVICES[key][1], has_f16


def describe(adapter) -> str:
    info = adapter.info
    return f"{info.get('device', '?')} ({info.get('backend_type', '?')}, " \
           f"{info.get('adapter_type', '?')})"
