"""The ONNX op -> lowering rule table, gathered from the family modules.

A rule is ``rule(ctx, node, ins, attrs) -> list[Value]``: ``ins`` are the node's inputs as
:class:`~..context.Value` (None for omitted optional inputs), ``attrs`` its attributes as
Python values; it emits TFLite ops through ``ctx`` and returns the node's outputs.
Each module defines ``RULES = {"OnnxOp": rule}``; an op claimed twice is an error.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

RULES: dict = {}
for _info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _op, _rule in getattr(_module, "RULES", {}).items():
        if _op in RULES:
            raise RuntimeError(f"ONNX op {_op} has rules in two modules")
        RULES[_op] = _rule
