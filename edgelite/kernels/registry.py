"""The builtin kernel table: op name -> :class:`KernelDef`, from the family modules.

Each module in ``edgelite/kernels`` that defines ``KERNELS`` (builtin ops, by TFLite name)
or ``CUSTOM_KERNELS`` (custom ops LiteRT ships, such as ``TFLite_Detection_PostProcess``)
contributes its entries. ``builtin_kernels()`` and ``custom_kernels()`` are lazy mappings
over a static index of which module defines which op: a module is imported the first time
one of its ops is looked up, so an interpreter imports (and numba loads) only the kernel
families its model uses (start-up time). ``tables()`` imports every module and gathers
their tables; the tests check the index against it, and that no op is claimed twice.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator, Mapping

from .api import KernelDef

# op name -> module of edgelite/kernels defining it (tests/kernels/test_registry.py keeps
# this in step with the modules' own tables)
BUILTIN_INDEX = {
    "ABS": "unary", "ADD": "elementwise", "ARG_MAX": "reduce", "ARG_MIN": "reduce",
    "ASSIGN_VARIABLE": "control_flow", "AVERAGE_POOL_2D": "pooling",
    "BATCH_MATMUL": "fully_connected", "BATCH_TO_SPACE_ND": "layout",
    "BIDIRECTIONAL_SEQUENCE_LSTM": "sequence", "BROADCAST_TO": "slicing",
    "CALL_ONCE": "control_flow", "CAST": "unary", "CEIL": "unary",
    "CONCATENATION": "layout", "CONV_2D": "conv", "CONV_3D": "conv", "COS": "unary",
    "CUMSUM": "reduce", "DENSIFY": "dequantize", "DEPTHWISE_CONV_2D": "conv",
    "DEPTH_TO_SPACE": "layout", "DEQUANTIZE": "dequantize", "DIV": "elementwise",
    "ELU": "activations", "EMBEDDING_LOOKUP": "gather", "EQUAL": "comparison",
    "EXP": "unary", "EXPAND_DIMS": "reshape", "FILL": "fill", "FLOOR": "unary",
    "FLOOR_DIV": "elementwise", "FLOOR_MOD": "elementwise",
    "FULLY_CONNECTED": "fully_connected", "GATHER": "gather", "GATHER_ND": "gather",
    "GELU": "activations", "GREATER": "comparison", "GREATER_EQUAL": "comparison",
    "HARD_SWISH": "activations", "IF": "control_flow", "L2_NORMALIZATION": "normalization",
    "LEAKY_RELU": "activations", "LESS": "comparison", "LESS_EQUAL": "comparison",
    "LOCAL_RESPONSE_NORMALIZATION": "normalization", "LOG": "unary",
    "LOGICAL_AND": "elementwise", "LOGICAL_NOT": "unary", "LOGICAL_OR": "elementwise",
    "LOGISTIC": "activations", "LOG_SOFTMAX": "activations", "MAXIMUM": "elementwise",
    "MAX_POOL_2D": "pooling", "MEAN": "reduce", "MINIMUM": "elementwise",
    "MIRROR_PAD": "pad", "MUL": "elementwise", "NEG": "unary",
    "NON_MAX_SUPPRESSION_V4": "detection", "NON_MAX_SUPPRESSION_V5": "detection",
    "NOT_EQUAL": "comparison", "ONE_HOT": "gather", "PACK": "layout", "PAD": "pad",
    "PADV2": "pad", "POW": "elementwise", "PRELU": "activations", "QUANTIZE": "quantize",
    "RANGE": "fill", "READ_VARIABLE": "control_flow", "REDUCE_MAX": "reduce",
    "REDUCE_MIN": "reduce", "REDUCE_PROD": "reduce", "RELU": "activations",
    "RELU6": "activations", "RELU_0_TO_1": "activations", "RELU_N1_TO_1": "activations",
    "RESHAPE": "reshape", "RESIZE_BILINEAR": "resize", "RESIZE_NEAREST_NEIGHBOR": "resize",
    "REVERSE_V2": "slicing", "ROUND": "unary", "RSQRT": "unary", "SCATTER_ND": "gather",
    "SELECT": "select", "SELECT_V2": "select", "SHAPE": "reshape", "SIGN": "unary",
    "SIN": "unary", "SLICE": "slicing", "SOFTMAX": "activations",
    "SPACE_TO_BATCH_ND": "layout", "SPACE_TO_DEPTH": "layout", "SPLIT": "layout",
    "SPLIT_V": "layout", "SQRT": "unary", "SQUARE": "unary",
    "SQUARED_DIFFERENCE": "elementwise", "SQUEEZE": "reshape", "STRIDED_SLICE": "slicing",
    "SUB": "elementwise", "SUM": "reduce", "TANH": "activations", "TILE": "slicing",
    "TOPK_V2": "reduce", "TRANSPOSE": "layout", "TRANSPOSE_CONV": "transpose_conv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "sequence", "UNIDIRECTIONAL_SEQUENCE_RNN": "sequence",
    "UNPACK": "layout", "VAR_HANDLE": "control_flow", "WHERE": "where",
    "WHILE": "control_flow", "ZEROS_LIKE": "unary",
}
CUSTOM_INDEX = {
    "Convolution2DTransposeBias": "transpose_conv",
    "TFLite_Detection_PostProcess": "detection",
}


class _LazyKernels(Mapping):
    """``index``'s ops, each imported from its module (``attr`` table) on first lookup."""

    def __init__(self, index: dict[str, str], attr: str) -> None:
        self._index, self._attr = index, attr

    def __getitem__(self, name: str) -> KernelDef:
        module = importlib.import_module(f"{__package__}.{self._index[name]}")
        return getattr(module, self._attr)[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


_BUILTINS = _LazyKernels(BUILTIN_INDEX, "KERNELS")
_CUSTOMS = _LazyKernels(CUSTOM_INDEX, "CUSTOM_KERNELS")


def builtin_kernels() -> Mapping[str, KernelDef]:
    return _BUILTINS


def custom_kernels() -> Mapping[str, KernelDef]:
    return _CUSTOMS


@functools.lru_cache(maxsize=1)
def tables() -> tuple[dict[str, KernelDef], dict[str, KernelDef], dict[str, str]]:
    """Every module's tables, imported: (builtins, customs, owner of each builtin and
    custom op as ``"KERNELS:NAME"`` -> module)."""
    builtins: dict[str, KernelDef] = {}
    customs: dict[str, KernelDef] = {}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(_package_path()), key=lambda i: i.name):
        if info.name in ("api", "registry") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for attr, table in (("KERNELS", builtins), ("CUSTOM_KERNELS", customs)):
            for name, kdef in getattr(module, attr, {}).items():
                key = f"{attr}:{name}"
                if name in table:
                    raise RuntimeError(f"kernel {name} registered by both {owner[key]} and "
                                       f"{info.name}")
                table[name] = kdef
                owner[key] = info.name
    return builtins, customs, owner


def _package_path():
    from pathlib import Path

    return [str(Path(__file__).parent)]
