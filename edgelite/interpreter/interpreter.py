"""``Interpreter``: a drop-in for ``ai_edge_litert.interpreter.Interpreter``.

Same constructor arguments, methods, detail-dict keys and error types/messages as
LiteRT's Python wrapper, so a script switches by changing its import. Work happens in
``allocate_tensors`` (see ``executor.py``); ``invoke`` only runs the prepared steps.
"""

from __future__ import annotations

import enum
import os
import sys

import numpy as np

from .._threads import limit_blas, restore_blas
from ..kernels.api import PrepareError
from ..schema import SchemaError, ir, read
from .executor import SubgraphExecutor
from .resolver import OpResolver
from .services import Services
from .signature import SignatureRunner


class OpResolverType(enum.Enum):
    """LiteRT's resolver choices; edgelite has one kernel set, so all behave alike."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


_UNSAFE = """There is at least 1 reference to internal data
      in the interpreter in the form of a numpy array or slice. Be sure to
      only hold the function returned from tensor() if you are using raw
      data access."""


class Interpreter:
    def __init__(self, model_path=None, model_content=None, experimental_delegates=None,
                 num_threads=None, experimental_op_resolver_type=OpResolverType.AUTO,
                 experimental_preserve_all_tensors=False, op_resolver=None, **_ignored):
        if not isinstance(experimental_op_resolver_type, OpResolverType) and \
                type(experimental_op_resolver_type).__name__ != "OpResolverType":
            raise ValueError("Unrecognized passed in op resolver type: "
                             f"{experimental_op_resolver_type}")
        if num_threads is not None:
            if not isinstance(num_threads, int):
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
        if model_path is not None and model_content is None:
            if not os.path.isfile(os.fspath(model_path)):
                raise ValueError(f"Could not open '{os.fspath(model_path)}'.")
            source = model_path
        elif model_content is not None and model_path is None:
            source = model_content
        elif model_path is None:
            raise ValueError("`model_path` or `model_content` must be specified.")
        else:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        try:
            self._model: ir.Model = read(source)
        except SchemaError as e:
            raise ValueError(str(e)) from None
        self._resolver = op_resolver or OpResolver()
        self._delegates = list(experimental_delegates or [])
        self._services = Services(self._model, self._new_executor)
        self._num_threads = num_threads or 1
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._main = self._services.executor(0)
        self._arena_refs = None
        self._signature_defs = self.get_signature_list()

    def _new_executor(self, index: int) -> SubgraphExecutor:
        return SubgraphExecutor(self._model, index, self._resolver,
                                num_threads=self._num_threads,
                                preserve_all=self._preserve_all, services=self._services,
                                delegates=self._delegates if index == 0 else ())

    # ------------------------------------------------------------------ lifecycle
    def allocate_tensors(self):
        self._ensure_safe()
        self._allocate(0)

    def _allocate(self, subgraph_index: int) -> None:
        executor = self._services.executor(subgraph_index)
        executor.prepare()
        if subgraph_index == 0:
            self._arena_refs = sys.getrefcount(executor.arena)

    def _safe_to_run(self) -> bool:
        return self._arena_refs is None or sys.getrefcount(self._main.arena) <= self._arena_refs

    def _ensure_safe(self) -> None:
        if not self._safe_to_run():
            raise RuntimeError(_UNSAFE)

    def invoke(self):
        self._ensure_safe()
        if not self._main.prepared:
            raise RuntimeError("Invoke called on model that is not ready.")
        self._run(self._main)

    def _run(self, executor: SubgraphExecutor) -> None:
        """Invoke ``executor`` with numpy's BLAS on ``num_threads`` threads; IEEE results
        (inf, nan) are values here, as in LiteRT, not warnings."""
        changed = limit_blas(self._num_threads)
        try:
            with np.errstate(all="ignore"):
                executor.invoke()
        finally:
            restore_blas(changed)

    def reset_all_variables(self):
        self._services.reset_variables()

    def num_subgraphs(self) -> int:
        return len(self._model.subgraphs)

    def memory_report(self) -> dict:
        """Arena size of the primary subgraph's plan, its liveness lower bound, and the
        bytes a plan without any sharing would need."""
        return dict(self._main.report)

    @property
    def delegated_ops(self) -> int:
        """How many ops of the primary subgraph run inside delegate kernels."""
        return self._main.delegated_ops

    # ------------------------------------------------------------------ details
    def _executor(self, subgraph_index: int) -> SubgraphExecutor:
        if not 0 <= subgraph_index < len(self._model.subgraphs):
            raise ValueError(f"subgraph_index is out of range: {subgraph_index} for the model,"
                             f" which has {len(self._model.subgraphs)} subgraphs.")
        return self._services.executor(subgraph_index)

    def _check_index(self, tensor_index, subgraph_index: int = 0) -> int:
        n = len(self._model.subgraphs[subgraph_index].tensors)
        index = int(tensor_index)
        if not 0 <= index < n:
            raise ValueError(f"Invalid tensor index {index} exceeds max tensor index {n}")
        return index

    def _get_tensor_details(self, tensor_index, subgraph_index):
        index = self._check_index(tensor_index, subgraph_index)
        executor = self._executor(subgraph_index)
        tensor = executor.sg.tensors[index]
        shape = executor.specs[index].shape if executor.prepared else \
            executor.input_shapes.get(index, tensor.shape)
        q = tensor.quantization
        scales = np.asarray(q.scales, np.float32) if q is not None else np.zeros(0, np.float32)
        zps = np.asarray(q.zero_points, np.int32) if q is not None else np.zeros(0, np.int32)
        return {
            "name": tensor.name,
            "index": index,
            "shape": np.array(shape, np.int32),
            "shape_signature": np.array(tensor.shape_signature if tensor.shape_signature
                                        is not None else tensor.shape, np.int32),
            "dtype": _numpy_type(tensor),
            "quantization": (float(scales[0]) if len(scales) == 1 else 0.0,
                             int(zps[0]) if len(zps) == 1 else 0),
            "quantization_parameters": {"scales": scales, "zero_points": zps,
                                        "quantized_dimension": q.axis if q else 0,
                                        "block_size": 0},
            "sparsity_parameters": _sparsity_details(tensor.sparsity),
        }

    def get_tensor_details(self, subgraph_index=0):
        executor = self._executor(subgraph_index)
        return [self._get_tensor_details(i, subgraph_index)
                for i in range(len(executor.sg.tensors))]

    def get_input_details(self):
        return [self._get_tensor_details(i, 0) for i in self._model.subgraphs[0].inputs]

    def get_output_details(self):
        return [self._get_tensor_details(i, 0) for i in self._model.subgraphs[0].outputs]

    def _get_op_details(self, op_index):
        sg = self._model.subgraphs[0]
        op = sg.operators[op_index]

        def types(indices):
            return [_numpy_type(sg.tensors[i]) for i in indices if i != -1]

        return {"index": int(op_index), "op_name": op.opcode,
                "inputs": np.array(op.inputs, np.int32), "outputs": np.array(op.outputs, np.int32),
                "operand_types": types(op.inputs), "result_types": types(op.outputs)}

    def _get_ops_details(self):
        return [self._get_op_details(i) for i in range(len(self._model.subgraphs[0].operators))]

    # ------------------------------------------------------------------ data
    def set_tensor(self, tensor_index, value, subgraph_index=0):
        index = self._check_index(tensor_index, subgraph_index)
        executor = self._executor(subgraph_index)
        target = executor.arrays[index] if executor.prepared else None
        if target is None or not target.flags.writeable:
            raise ValueError("Cannot set tensor: Tensor is unallocated. Try calling "
                             "allocate_tensors() first")
        value = np.asarray(value)
        tensor = executor.sg.tensors[index]
        if value.dtype != target.dtype:
            raise ValueError(f"Cannot set tensor: Got value of type {_type_name(value.dtype)} "
                             f"but expected type {_type_name(target.dtype)} for input {index}, "
                             f"name: {tensor.name} ")
        if value.ndim != target.ndim:
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {value.ndim} but "
                             f"expected {target.ndim} for input {index}.")
        for d, (got, want) in enumerate(zip(value.shape, target.shape)):
            if got != want:
                raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {got} but "
                                 f"expected {want} for dimension {d} of input {index}.")
        np.copyto(target, value)

    def get_tensor(self, tensor_index, subgraph_index=0):
        index = self._check_index(tensor_index, subgraph_index)
        executor = self._executor(subgraph_index)
        array = executor.arrays[index] if executor.prepared else None
        if array is None:
            raise ValueError(f"Tensor data is null. Run allocate_tensors() first")
        return np.array(array, copy=True)

    def tensor(self, tensor_index):
        index = self._check_index(tensor_index)
        return lambda: self._main.arrays[index][...]

    def resize_tensor_input(self, input_index, tensor_size, strict=False, subgraph_index=0):
        self._ensure_safe()
        executor = self._executor(subgraph_index)
        index = self._check_index(input_index, subgraph_index)
        if index not in executor.sg.inputs:
            raise ValueError(f"ResizeInputTensor: tensor {index} is not an input of "
                             f"subgraph {subgraph_index}")
        shape = tuple(int(d) for d in np.array(tensor_size, dtype=np.int32))
        tensor = executor.sg.tensors[index]
        if strict:
            signature = tensor.shape_signature or tensor.shape
            for d, (old, new, sig) in enumerate(zip(tensor.shape, shape, signature)):
                if sig != -1 and old != new:
                    raise ValueError(
                        f"Attempting to resize dimension {d} of tensor {index} with value "
                        f"{old} to {new}. ResizeInputTensorStrict only allows mutating unknown "
                        f"dimensions identified by -1.")
        if any(d < 0 for d in shape):
            raise ValueError(f"Cannot resize tensor {index} to {list(shape)}")
        executor.input_shapes[index] = shape
        executor.prepared = False

    # ------------------------------------------------------------------ signatures
    def _get_full_signature_list(self):
        return {sig.key: {"inputs": dict(sorted(sig.inputs.items())),
                          "outputs": dict(sorted(sig.outputs.items()))}
                for sig in self._model.signature_defs}

    def get_signature_list(self):
        return {key: {"inputs": list(v["inputs"]), "outputs": list(v["outputs"])}
                for key, v in self._get_full_signature_list().items()}

    def get_signature_runner(self, signature_key=None):
        if signature_key is None:
            if len(self._signature_defs) != 1:
                raise ValueError(
                    f"SignatureDef signature_key is None and model has "
                    f"{len(self._signature_defs)} Signatures. None is only allowed when the "
                    f"model has 1 SignatureDef")
            signature_key = next(iter(self._signature_defs))
        return SignatureRunner(interpreter=self, signature_key=signature_key)

    def _subgraph_of_signature(self, key: str) -> int:
        return next(s.subgraph_index for s in self._model.signature_defs if s.key == key)


def _numpy_type(tensor: ir.Tensor):
    tagged = (tensor.dtype.metadata or {}).get("tflite_type")
    if tagged in ("RESOURCE", "VARIANT"):
        return np.int32
    return tensor.dtype.type


def _type_name(dtype: np.dtype) -> str:
    try:
        return ir.tensor_type_of(dtype)
    except ValueError:
        return str(dtype).upper()


def _sparsity_details(sp: ir.Sparsity | None) -> dict:
    if sp is None:
        return {}
    return {"traversal_order": np.array(sp.traversal_order, np.int32),
            "block_map": np.array(sp.block_map, np.int32),
            "dim_metadata": [{"format": 0 if d.format == "DENSE" else 1,
                              "dense_size": d.dense_size,
                              "array_segments": d.array_segments,
                              "array_indices": d.array_indices} for d in sp.dim_metadata]}


__all__ = ["Interpreter", "OpResolver", "OpResolverType", "PrepareError"]
