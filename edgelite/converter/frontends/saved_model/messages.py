"""The SavedModel messages edgelite reads, by field number (TensorFlow's ``.proto`` files:
saved_model, meta_graph, graph, node_def, attr_value, tensor, tensor_shape, function,
op_def, saved_object_graph, trackable_object_graph, tensor_bundle).

Each reader returns plain Python values: dicts, lists, numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .wire import (
    fields, first, float32, map_entries, packed_floats, packed_ints, signed, string, strings,
)

# DataType enum -> numpy (DT_RESOURCE / DT_VARIANT / DT_STRING map to object)
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8,
          7: np.object_, 8: np.complex64, 9: np.int64, 10: np.bool_, 14: np.uint16,
          17: np.uint16, 18: np.complex128, 19: np.float16, 20: np.object_, 21: np.object_,
          22: np.uint32, 23: np.uint64}
DT_STRING, DT_RESOURCE, DT_BFLOAT16 = 7, 20, 14


def np_dtype(dt: int) -> np.dtype:
    if dt not in DTYPES:
        raise ValueError(f"TF DataType {dt} is not supported")
    return np.dtype(DTYPES[dt])


def shape(buf) -> tuple[int, ...] | None:
    """TensorShapeProto -> dims (-1 unknown), None for an unknown rank."""
    f = fields(bytes(buf or b""))
    if first(f, 3, 0):
        return None
    return tuple(signed(first(fields(d), 1, 0)) for d in f.get(2, []))


def tensor(buf) -> np.ndarray:
    """TensorProto -> numpy array."""
    f = fields(bytes(buf))
    dt = first(f, 1, 0)
    dims = shape(first(f, 2, b"")) or ()
    count = int(np.prod(dims)) if dims else 1
    content = first(f, 4)
    if dt == DT_STRING:
        vals = [bytes(v) for v in f.get(8, [])]
        arr = np.empty(len(vals), object)
        arr[:] = vals
        return arr.reshape(dims) if len(vals) == count else np.full(dims, vals[0] if vals
                                                                     else b"", object)
    dtype = np_dtype(dt)
    if content is not None:
        return np.frombuffer(bytes(content), dtype).reshape(dims).copy()
    if dtype == np.float32:
        vals = packed_floats(f, 5)
    elif dtype == np.float64:
        vals = packed_floats(f, 6, "<d")
    elif dtype in (np.int64,):
        vals = packed_ints(f, 10)
    elif dtype == np.bool_:
        vals = packed_ints(f, 11)
    elif dtype == np.float16:
        vals = np.array(packed_ints(f, 13), np.uint16).view(np.float16).tolist()
    elif dtype in (np.uint32, np.uint64):
        vals = packed_ints(f, 16 if dtype == np.uint32 else 17)
    else:
        vals = packed_ints(f, 7)
    if not vals:
        return np.zeros(dims, dtype)
    arr = np.array(vals).astype(dtype)
    return arr.reshape(dims) if arr.size == count else np.full(dims, arr[-1], dtype)


def attr_value(buf):
    """AttrValue -> python value (list, str, int, float, bool, dtype code, shape, array,
    or ("func", name, attrs))."""
    f = fields(bytes(buf))
    if 1 in f:
        lv = fields(first(f, 1))
        if 2 in lv:
            return strings(lv, 2)
        if 3 in lv:
            return packed_ints(lv, 3)
        if 4 in lv:
            return packed_floats(lv, 4)
        if 5 in lv:
            return [bool(v) for v in packed_ints(lv, 5)]
        if 6 in lv:
            return packed_ints(lv, 6)
        if 7 in lv:
            return [shape(s) for s in lv[7]]
        if 8 in lv:
            return [tensor(t) for t in lv[8]]
        if 9 in lv:
            return [_func(v) for v in lv[9]]
        return []
    if 2 in f:
        return bytes(first(f, 2)).decode("utf-8", "replace")
    if 3 in f:
        return signed(first(f, 3))
    if 4 in f:
        return float32(first(f, 4))
    if 5 in f:
        return bool(first(f, 5))
    if 6 in f:
        return first(f, 6)
    if 7 in f:
        return shape(first(f, 7))
    if 8 in f:
        return tensor(first(f, 8))
    if 10 in f:
        return _func(first(f, 10))
    return None


def _func(buf):
    f = fields(bytes(buf))
    return ("func", string(f, 1), {k.decode(): attr_value(v) for k, v in map_entries(f, 2)})


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    attrs: dict


def node_def(buf) -> Node:
    f = fields(bytes(buf))
    return Node(string(f, 1), string(f, 2), strings(f, 3),
                {k.decode(): attr_value(v) for k, v in map_entries(f, 5)})


@dataclass
class Function:
    name: str
    inputs: list[str]                      # input arg names
    outputs: list[str]                     # output arg names
    nodes: list[Node]
    ret: dict[str, str]                    # output arg -> "node:out_arg:index"


def _arg_names(buf_list) -> list[str]:
    return [string(fields(bytes(a)), 1) for a in buf_list]


def function_def(buf) -> Function:
    f = fields(bytes(buf))
    sig = fields(first(f, 1, b""))
    return Function(string(sig, 1), _arg_names(sig.get(2, [])), _arg_names(sig.get(3, [])),
                    [node_def(n) for n in f.get(3, [])],
                    {k.decode(): bytes(v).decode() for k, v in map_entries(f, 4)})


@dataclass
class Graph:
    nodes: list[Node]
    functions: dict[str, Function]


def graph_def(buf) -> Graph:
    f = fields(bytes(buf))
    lib = fields(first(f, 2, b""))
    funcs = [function_def(b) for b in lib.get(1, [])]
    return Graph([node_def(n) for n in f.get(1, [])], {fn.name: fn for fn in funcs})


@dataclass
class TensorInfo:
    name: str
    dtype: int
    shape: tuple | None


@dataclass
class Signature:
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]


def _tensor_info(buf) -> TensorInfo:
    f = fields(bytes(buf))
    return TensorInfo(string(f, 1), first(f, 2, 0), shape(first(f, 3, b"")))


def signature_def(buf) -> Signature:
    f = fields(bytes(buf))
    return Signature({k.decode(): _tensor_info(v) for k, v in map_entries(f, 1)},
                     {k.decode(): _tensor_info(v) for k, v in map_entries(f, 2)})


@dataclass
class ObjectGraph:
    """SavedObjectGraph: per node its kind and children; concrete functions' bound inputs."""
    kinds: list[str] = field(default_factory=list)
    constants: dict[int, str] = field(default_factory=dict)   # node id -> Const op name
    bound_inputs: dict[str, list[int]] = field(default_factory=dict)


_KINDS = {4: "user_object", 5: "asset", 6: "function", 7: "variable",
          8: "bare_concrete_function", 9: "constant", 10: "resource", 12: "captured_tensor"}


def object_graph(buf) -> ObjectGraph:
    f = fields(bytes(buf or b""))
    g = ObjectGraph()
    for node in f.get(1, []):
        nf = fields(bytes(node))
        g.kinds.append(next((k for n, k in _KINDS.items() if n in nf), "unknown"))
        if 9 in nf:
            g.constants[len(g.kinds) - 1] = string(fields(bytes(first(nf, 9))), 1)
    for name, value in map_entries(f, 2):
        g.bound_inputs[name.decode()] = packed_ints(fields(bytes(value)), 2)
    return g


@dataclass
class MetaGraph:
    tags: set[str]
    graph: Graph
    signatures: dict[str, Signature]
    objects: ObjectGraph


def saved_model(buf) -> list[MetaGraph]:
    out = []
    for mg in fields(buf).get(2, []):
        f = fields(bytes(mg))
        info = fields(first(f, 1, b""))
        out.append(MetaGraph(set(strings(info, 4)), graph_def(first(f, 2, b"")),
                             {k.decode(): signature_def(v) for k, v in map_entries(f, 5)},
                             object_graph(first(f, 7, b""))))
    return out


def trackable_checkpoint_keys(buf) -> list[dict[str, str]]:
    """TrackableObjectGraph: per node, attribute name -> checkpoint key."""
    out = []
    for node in fields(buf).get(1, []):
        attrs = {}
        for a in fields(bytes(node)).get(2, []):
            af = fields(bytes(a))
            attrs[string(af, 1)] = string(af, 3)
        out.append(attrs)
    return out
