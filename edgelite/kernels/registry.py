"""The builtin kernel table: op name -> :class:`KernelDef`, gathered from the family modules.

Each module in ``edgelite/kernels`` that defines ``KERNELS`` (builtin ops, by TFLite name)
or ``CUSTOM_KERNELS`` (custom ops LiteRT ships, such as ``TFLite_Detection_PostProcess``)
contributes its entries; an op claimed twice is an error at import.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from .api import KernelDef


@functools.lru_cache(maxsize=1)
def tables() -> tuple[dict[str, KernelDef], dict[str, KernelDef]]:
    builtins: dict[str, KernelDef] = {}
    customs: dict[str, KernelDef] = {}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(_package_path()),
                       key=lambda i: i.name):
        if info.name in ("api", "registry") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for attr, table in (("KERNELS", builtins), ("CUSTOM_KERNELS", customs)):
            for name, kdef in getattr(module, attr, {}).items():
                key = (attr, name)
                if name in table:
                    raise RuntimeError(f"kernel {name} registered by both {owner[key]} and "
                                       f"{info.name}")
                table[name] = kdef
                owner[key] = info.name
    return builtins, customs


def _package_path():
    from pathlib import Path

    return [str(Path(__file__).parent)]


def builtin_kernels() -> dict[str, KernelDef]:
    return tables()[0]


def custom_kernels() -> dict[str, KernelDef]:
    return tables()[1]
