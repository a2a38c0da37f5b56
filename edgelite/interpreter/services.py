"""What kernels may ask of the interpreter: other subgraphs (control flow) and resources.

Passed to every ``PrepareContext`` as ``ctx.services``. Subgraph executors are created on
first use and shared, so WHILE/IF/CALL_ONCE bodies are prepared once.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


class Services:
    def __init__(self, model, make_executor: Callable) -> None:
        self.model = model
        self._make_executor = make_executor
        self._executors: dict = {}
        # resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE): id -> value
        self.resource_ids: dict[tuple[str, str], int] = {}
        self.resources: dict[int, np.ndarray] = {}
        self.called_once: set[int] = set()

    def executor(self, index: int):
        if index not in self._executors:
            self._executors[index] = self._make_executor(index)
        return self._executors[index]

    def prepared_executor(self, index: int):
        """The executor of subgraph ``index``, prepared (for control-flow kernels)."""
        executor = self.executor(index)
        if not executor.prepared:
            executor.prepare()
        return executor

    def resource_id(self, container: str, shared_name: str) -> int:
        key = (container, shared_name)
        if key not in self.resource_ids:
            self.resource_ids[key] = len(self.resource_ids)
        return self.resource_ids[key]

    def reset_variables(self) -> None:
        """Variable tensors back to their initial values. As in LiteRT, resource
        variables and CALL_ONCE's done-flag survive a reset."""
        for executor in self._executors.values():
            for t in executor.variables:
                executor.reset_variable(t)
