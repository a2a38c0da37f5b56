"""Tensor naming and creation shared by the frontends' graph builders."""

from __future__ import annotations

import numpy as np

from ...schema import ir


class TensorFactory:
    """Mixin for a builder with an IR subgraph ``sg`` and a name set ``_names``: tensors
    get unique names (``name``, ``name_1``, ...)."""

    sg: ir.Subgraph
    _names: set[str]

    def unique(self, name: str) -> str:
        base, k = name or "t", 1
        while name in self._names or not name:
            name = f"{base}_{k}"
            k += 1
        self._names.add(name)
        return name

    def new_tensor(self, name: str, shape, dtype, data=None) -> int:
        return self.sg.add_tensor(ir.Tensor(self.unique(name), tuple(shape), np.dtype(dtype),
                                            data=data))
