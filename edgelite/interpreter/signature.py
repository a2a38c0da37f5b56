"""``SignatureRunner``: call a SignatureDef by its input names, get a dict of outputs."""

from __future__ import annotations

import numpy as np


class SignatureRunner:
    def __init__(self, interpreter=None, signature_key=None):
        if not interpreter:
            raise ValueError("None interpreter provided.")
        if not signature_key:
            raise ValueError("None signature_key provided.")
        signature_defs = interpreter._get_full_signature_list()
        if signature_key not in signature_defs:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        self._interpreter = interpreter
        self._signature_key = signature_key
        self._inputs = signature_defs[signature_key]["inputs"]
        self._outputs = signature_defs[signature_key]["outputs"]
        self._subgraph_index = interpreter._subgraph_of_signature(signature_key)

    def __call__(self, **kwargs):
        if len(kwargs) != len(self._inputs):
            raise ValueError("Invalid number of inputs provided for running a SignatureDef, "
                             f"expected {len(self._inputs)} vs provided {len(kwargs)}")
        interp, sg = self._interpreter, self._subgraph_index
        executor = interp._executor(sg)
        for name, value in kwargs.items():
            if name not in self._inputs:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef")
            index = self._inputs[name]
            shape = tuple(np.shape(value))
            if executor.input_shapes.get(index) != shape:
                interp.resize_tensor_input(index, shape, subgraph_index=sg)
        if not executor.prepared:
            interp._allocate(sg)
        for name, value in kwargs.items():
            interp.set_tensor(self._inputs[name], value, subgraph_index=sg)
        interp._run(executor)
        return {name: interp.get_tensor(index, sg) for name, index in self._outputs.items()}

    def get_input_details(self):
        return {name: self._interpreter._get_tensor_details(index, self._subgraph_index)
                for name, index in self._inputs.items()}

    def get_output_details(self):
        return {name: self._interpreter._get_tensor_details(index, self._subgraph_index)
                for name, index in self._outputs.items()}
