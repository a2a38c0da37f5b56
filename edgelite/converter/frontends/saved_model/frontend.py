"""TF SavedModel directory -> edgelite IR (TensorFlow not needed).

Walk-through:
1. parse ``saved_model.pb`` (:mod:`.messages`) and pick the MetaGraph with the wanted tags
   and the signature (default ``serving_default``);
2. the signature's outputs are produced by a call node in the main graph; its last
   arguments are the captured variables, which the SavedObjectGraph names (the concrete
   function's ``bound_inputs``: object-graph node ids) and the checkpoint's object graph
   maps to bundle keys (:mod:`.bundle`);
3. list every TF op reachable from that call (through nested function calls) that
   edgelite can neither evaluate at conversion nor lower, and fail with all at once;
4. inline the function graphs: each node either evaluates with numpy (all inputs known:
   variable reads, shape arithmetic, batch-norm constants) or lowers through
   :data:`.tf_ops.RULES`; the free batch dimension becomes 1. FakeQuant ops (QAT) become
   QUANTIZE -> DEQUANTIZE pairs and quantized weights (:mod:`.fake_quant`), which the
   converter folds into integer ops with ``quantize.qdq.fold_qdq``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


from ....schema import ir
from ...errors import ConversionError, UnsupportedPartsError
from ..nhwc_builder import Builder, Value
from . import fake_quant, messages
from .bundle import Bundle
from .const_ops import CONST_OPS
from .tf_ops import RULES
from .while_lstm import LIST_RULES, TensorList, Unavailable, lower_while

_CALLS = ("StatefulPartitionedCall", "PartitionedCall")
_SKIP = ("NoOp",)
# ops with several output args: where each arg's outputs start in the flat output list
_OUTPUT_ARGS = {"FusedBatchNormV3": ["y", "batch_mean", "batch_variance", "reserve_space_1",
                                     "reserve_space_2", "reserve_space_3"],
                "FusedBatchNorm": ["y", "batch_mean", "batch_variance", "reserve_space_1",
                                   "reserve_space_2"]}


@dataclass
class Resource:
    key: str                       # checkpoint key of the variable's value


class _Lowering:
    def __init__(self, graph: messages.Graph, bundle: Bundle | None) -> None:
        self.functions = graph.functions
        self.bundle = bundle
        self.b = Builder()
        self.weight_scales: list = []     # scales of FakeQuant-quantized weights

    def read(self, handle) -> Value:
        if not isinstance(handle, Resource):
            raise self.b.error("ReadVariableOp of something that is not a captured variable")
        if self.bundle is None:
            raise ConversionError("the SavedModel has no variables/ bundle")
        return self.b.const(self.bundle.get(handle.key))

    def call(self, name: str, args: list) -> list:
        fn = self.functions.get(name)
        if fn is None:
            raise ConversionError(f"function {name!r} is not in the SavedModel's library")
        env: dict[str, list] = {a: [v] for a, v in zip(fn.inputs, args)}
        nodes = {n.name: n for n in fn.nodes}
        for node in _order(fn, nodes):
            if node.name in fn.inputs:
                continue
            ins = [self.resolve(env, nodes, ref) for ref in node.inputs
                   if not ref.startswith("^")]
            env[node.name] = self.node(node, ins)
        return [self.resolve(env, nodes, fn.ret[o]) for o in fn.outputs]

    def resolve(self, env, nodes, ref: str):
        parts = ref.split(":")
        if len(parts) == 1:
            return env[parts[0]][0]
        if len(parts) == 2:                         # main graph style: node:index
            return env[parts[0]][int(parts[1])]
        name, arg, k = parts[0], parts[1], int(parts[2])
        offsets = _OUTPUT_ARGS.get(nodes[name].op) if name in nodes else None
        base = offsets.index(arg) if offsets and arg in offsets else 0
        return env[name][base + k]

    def node(self, node: messages.Node, ins: list) -> list:
        b = self.b
        b.where = f"node {node.name!r} ({node.op})"
        op = node.op
        if op == "Const":
            return [b.const(node.attrs["value"])]
        if op == "ReadVariableOp":
            return [self.read(ins[0])]
        if op in _CALLS:
            return self.call(node.attrs["f"][1], ins)
        if op in _SKIP:
            return []
        if op == "While":
            return lower_while(self, node, ins)
        if op in fake_quant.OPS:
            return fake_quant.lower(b, node, ins, self.weight_scales)
        if op in LIST_RULES:
            return LIST_RULES[op](b, node, ins)
        if any(isinstance(v, Resource) for v in ins):
            raise b.error("this op takes a variable handle (only ReadVariableOp is supported)")
        if any(isinstance(v, TensorList) for v in ins):
            raise b.error("this op takes a TensorList (only Keras' LSTM loops are supported)")
        for v in ins:
            if isinstance(v, Unavailable):
                raise b.error(f"it reads {v.what}, which edgelite's lowering does not keep")
        if op in CONST_OPS and all(v is not None and v.const is not None for v in ins):
            try:
                return [b.const(r) for r in CONST_OPS[op](node, [v.const for v in ins])]
            except Exception as e:   # numpy raised: report which node
                raise b.error(f"could not be evaluated at conversion: {e}") from None
        if op not in RULES:
            raise b.error("this op needs run-time inputs edgelite cannot lower")
        return RULES[op](b, node, ins)


def _order(fn: messages.Function, nodes: dict) -> list:
    """The nodes the outputs need, dependencies first (iterative DFS)."""
    needed = [fn.ret[o].split(":")[0] for o in fn.outputs]
    order, state = [], {}
    for root in needed:
        stack = [(root, False)]
        while stack:
            name, done = stack.pop()
            if name not in nodes:
                continue
            if done:
                if state.get(name) != 2:
                    state[name] = 2
                    order.append(nodes[name])
                continue
            if state.get(name):
                continue
            state[name] = 1
            stack.append((name, True))
            for ref in nodes[name].inputs:
                dep = ref.lstrip("^").split(":")[0]
                if state.get(dep) is None:
                    stack.append((dep, False))
    return order


def _reachable_unsupported(graph: messages.Graph, root: str) -> list[tuple[str, str]]:
    missing, seen, todo = [], set(), [root]
    while todo:
        name = todo.pop()
        if name in seen or name not in graph.functions:
            continue
        seen.add(name)
        fn = graph.functions[name]
        nodes = {n.name: n for n in fn.nodes}
        for node in _order(fn, nodes):
            if node.op in _CALLS:
                todo.append(node.attrs["f"][1])
            elif node.op not in RULES and node.op not in CONST_OPS and node.op not in \
                    LIST_RULES and node.op not in ("Const", "ReadVariableOp", "While") + \
                    _SKIP + fake_quant.OPS:
                missing.append((f"{name}/{node.name}", node.op))
    return missing


def _meta_graph(path: str, tags) -> messages.MetaGraph:
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        metas = messages.saved_model(f.read())
    want = set(tags) if tags else {"serve"}
    for mg in metas:
        if mg.tags == want:
            return mg
    have = [sorted(mg.tags) for mg in metas]
    raise ConversionError(f"{path!r} has no MetaGraph with tags {sorted(want)} (it has "
                          f"{have})")


def _signature(mg, key):
    sigs = {k: v for k, v in mg.signatures.items() if not k.startswith("__")}
    if key is None:
        key = "serving_default" if "serving_default" in sigs else (
            next(iter(sigs)) if len(sigs) == 1 else None)
    if key not in sigs:
        raise ConversionError(f"signature {key!r} not found; the SavedModel has "
                              f"{sorted(sigs)}")
    return key, sigs[key]


def _checkpoint_keys(bundle: Bundle | None) -> list[dict]:
    if bundle is None or "_CHECKPOINTABLE_OBJECT_GRAPH" not in bundle:
        return []
    blob = bundle.get("_CHECKPOINTABLE_OBJECT_GRAPH").reshape(-1)[0]
    return messages.trackable_checkpoint_keys(bytes(blob))


def lower(path, *, signature_key=None, tags=None, input_shapes=None,
          weight_scales: list | None = None) -> ir.Model:
    """The float IR of the SavedModel's signature; ``weight_scales``, when given, receives
    the scales of the weights FakeQuant ops quantized (for ``quantize.qdq.fold_qdq``)."""
    path = os.fspath(path)
    mg = _meta_graph(path, tags)
    key, sig = _signature(mg, signature_key)
    prefix = os.path.join(path, "variables", "variables")
    bundle = Bundle(prefix) if os.path.exists(prefix + ".index") else None
    ckpt = _checkpoint_keys(bundle)
    main = {n.name: n for n in mg.graph.nodes}
    out_nodes = {info.name.split(":")[0] for info in sig.outputs.values()}
    calls = [main[n] for n in out_nodes if n in main]
    if len(calls) != 1 or calls[0].op not in _CALLS:
        raise ConversionError(f"signature {key!r}: its outputs do not come from one "
                              f"function call (a TF1 graph?), which is not supported")
    call = calls[0]
    fname = call.attrs["f"][1]
    missing = _reachable_unsupported(mg.graph, fname)
    if missing:
        raise UnsupportedPartsError("TF op", missing)

    low = _Lowering(mg.graph, bundle)
    b = low.b
    given = dict(input_shapes or {})
    by_tensor = {}
    for name, info in sorted(sig.inputs.items()):
        shape = _fix_shape(name, info.shape, given)
        by_tensor[info.name.split(":")[0]] = b.input(name, shape, messages.np_dtype(info.dtype))
    if given:
        raise ConversionError(f"input_shapes names unknown inputs: {sorted(given)}")
    bound = mg.objects.bound_inputs.get(fname, [])
    refs = [r for r in call.inputs if not r.startswith("^")]
    n_plain = len(refs) - len(bound)
    args = []
    for ref in refs[:n_plain]:
        node = ref.split(":")[0]
        if node not in by_tensor:
            raise ConversionError(f"the signature call reads {ref!r}, not a signature input")
        args.append(by_tensor[node])
    for node_id in bound:
        attrs = ckpt[node_id] if node_id < len(ckpt) else {}
        const = mg.objects.constants.get(node_id)
        if const is not None and const in main and main[const].op == "Const":
            args.append(b.const(main[const].attrs["value"]))
            continue
        if "VARIABLE_VALUE" not in attrs:
            raise ConversionError(f"captured object {node_id} is not a variable in the "
                                  f"checkpoint")
        args.append(Resource(attrs["VARIABLE_VALUE"]))
    outs = low.call(fname, args)
    if weight_scales is not None:
        weight_scales.extend(low.weight_scales)
    for name, info in sorted(sig.outputs.items()):
        k = int(info.name.split(":")[1]) if ":" in info.name else 0
        b.where = f"output {name!r}"
        v = outs[k]
        if v.index < 0:
            v = Value(v.shape, v.dtype, index=b.tensor(v))
        b.output(v, name)
    return ir.Model([b.sg], description="edgelite SavedModel converter")


def _fix_shape(name, shape, given) -> tuple[int, ...]:
    if name in given:
        return tuple(int(d) for d in given.pop(name))
    if shape is None:
        raise ConversionError(f"input {name!r} has an unknown rank: pass input_shapes")
    dims = []
    for k, d in enumerate(shape):
        if d < 0:
            if k:
                raise ConversionError(f"input {name!r} has a dynamic dimension {k}: pass "
                                      f"input_shapes={{'{name}': [...]}}")
            d = 1
        dims.append(int(d))
    return tuple(dims)
