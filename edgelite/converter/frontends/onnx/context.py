"""The lowering context: ONNX values mapped to IR tensors, with lazily tracked layouts.

Each ONNX value becomes a :class:`Value`: its *logical* (ONNX) shape and dtype, the IR
tensor holding it, and ``perm``, the order in which that tensor stores the logical axes
(``physical = logical.transpose(perm)``; None means as-is). Conv-like rules ask for
channels-last (``NHWC``) and produce channels-last; layout-agnostic rules (elementwise,
activations) pass the layout through; axis-taking rules (concat, softmax, reductions)
remap their axes; everything else asks for the logical layout. A TRANSPOSE is emitted
only where a consumer needs a layout its producer did not make, so a CNN converts
with none in its body; a transpose that moves only size-1 axes is emitted as RESHAPE.

Constants stay numpy arrays (``Value.const``) until a rule needs them as tensors; equal
constants share one IR tensor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ....schema import ir
from ...errors import ConversionError
from ..tensors import TensorFactory


def channels_last(rank: int) -> tuple[int, ...]:
    """The perm storing an N, C, spatial... tensor as N, spatial..., C."""
    return (0,) + tuple(range(2, rank)) + (1,)


def channels_first(rank: int) -> tuple[int, ...]:
    """Inverse of :func:`channels_last`."""
    return (0, rank - 1) + tuple(range(1, rank - 1))


def compute_dtype(dtype) -> np.dtype:
    """The dtype a value is computed in: float64 and float16 run as float32 between CASTs
    at the graph's edges (TFLite kernels have almost no float64 or float16 paths)."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype in (np.float64, np.float16) else dtype


def _is_identity(perm) -> bool:
    return perm is None or tuple(perm) == tuple(range(len(perm)))


@dataclass
class Value:
    shape: tuple[int, ...]             # logical (ONNX) shape
    dtype: np.dtype
    index: int = -1                    # IR tensor (-1: constant not yet materialized)
    perm: Optional[tuple[int, ...]] = None
    const: Optional[np.ndarray] = None   # logical value when known at conversion

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def physical_shape(self) -> tuple[int, ...]:
        return self.shape if self.perm is None else tuple(self.shape[p] for p in self.perm)


class Lowering(TensorFactory):
    """Builds one IR subgraph from an ONNX graph; rules call ``emit``/``physical``."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.sg = ir.Subgraph(name="main")
        self.values: dict[str, Value] = {}
        self._names: set[str] = set()
        self._const_cache: dict[tuple, int] = {}
        self._layout_cache: dict[tuple, int] = {}
        self.node_name = ""          # the node being lowered (for messages)

    # ---------------------------------------------------------------- errors
    def error(self, message: str) -> ConversionError:
        return ConversionError(f"node {self.node_name!r}: {message}")

    # ---------------------------------------------------------------- tensors
    def constant_index(self, array: np.ndarray, name: str = "const") -> int:
        """An IR constant tensor holding ``array`` (shared with any equal constant)."""
        array = np.array(array, order="C")   # (ascontiguousarray would make 0-d 1-d)
        if array.dtype in (np.float64, np.float16):
            array = array.astype(np.float32)
        key = (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        if key not in self._const_cache:
            self._const_cache[key] = self.new_tensor(name, array.shape, array.dtype,
                                                     data=array)
        return self._const_cache[key]

    def const_value(self, array, dtype=None) -> Value:
        array = np.asarray(array, dtype=dtype)
        return Value(array.shape, array.dtype, const=array)

    # ---------------------------------------------------------------- values
    def set(self, name: str, value: Value) -> None:
        self.values[name] = value

    def get(self, name: str) -> Optional[Value]:
        if not name:
            return None
        try:
            return self.values[name]
        except KeyError:
            raise self.error(f"input {name!r} is not produced by any earlier node") from None

    # ---------------------------------------------------------------- layouts
    def physical(self, v: Value, perm=None) -> int:
        """The IR tensor holding ``v`` with its logical axes stored in order ``perm``
        (None: logical order), emitting a TRANSPOSE (or RESHAPE) when needed."""
        want = None if _is_identity(perm) else tuple(perm)
        if v.const is not None:
            data = v.const if want is None else np.transpose(v.const, want)
            return self.constant_index(data)
        have = None if _is_identity(v.perm) else tuple(v.perm)
        if have == want:
            return v.index
        key = (v.index, want)
        if key in self._layout_cache:
            return self._layout_cache[key]
        rank = v.rank
        cur = have or tuple(range(rank))
        tgt = want or tuple(range(rank))
        where = {axis: i for i, axis in enumerate(cur)}
        tperm = [where[a] for a in tgt]
        out_shape = tuple(v.shape[a] for a in tgt)
        name = self.sg.tensors[v.index].name + ("_nhwc" if want else "_nchw")
        out = self.new_tensor(name, out_shape, v.dtype)
        moved = [i for i in tperm if v.shape[cur[i]] != 1]
        if moved == sorted(moved):   # only size-1 axes move: same bytes
            shape = self.constant_index(np.array(out_shape, np.int32))
            self.sg.operators.append(ir.Operator("RESHAPE", [v.index, shape], [out],
                                                 {"new_shape": list(out_shape)}))
        else:
            p = self.constant_index(np.array(tperm, np.int32))
            self.sg.operators.append(ir.Operator("TRANSPOSE", [v.index, p], [out]))
        self._layout_cache[key] = out
        return out

    def logical(self, v: Value) -> int:
        return self.physical(v, None)

    # ---------------------------------------------------------------- ops
    def emit(self, opcode: str, inputs: list, out_shapes: list, out_dtypes: list,
             options: dict | None = None, *, version: int = 1, perm=None,
             names: list[str] | None = None, options_type: str | None = None) -> list[Value]:
        """Append one IR operator. ``inputs``: IR tensor indices (-1 for omitted).
        ``out_shapes`` are *logical* shapes; outputs are stored in layout ``perm``."""
        outs, values = [], []
        for k, (shape, dtype) in enumerate(zip(out_shapes, out_dtypes)):
            dtype = compute_dtype(dtype)
            v = Value(tuple(int(d) for d in shape), dtype,
                      perm=None if _is_identity(perm) else tuple(perm))
            name = names[k] if names and k < len(names) else f"{self.node_name}_{opcode}_{k}"
            v.index = self.new_tensor(name, v.physical_shape, dtype)
            outs.append(v.index)
            values.append(v)
        self.sg.operators.append(ir.Operator(opcode, list(inputs), outs, dict(options or {}),
                                             version=version, options_type=options_type))
        return values
