"""ONNX ModelProto -> edgelite IR.

Walk-through:
1. fix the graph inputs' shapes (``input_shapes``; a free leading batch dim becomes 1)
   and run onnx's shape inference with data propagation, so every value has a shape;
2. mark the values known at conversion (initializers, Constant nodes, and nodes whose
   inputs are all known); list every other node without a lowering rule, and fail with
   all of them at once;
3. in graph order, evaluate known nodes with onnx's reference implementation (shape
   arithmetic, constant subgraphs) and lower the rest through the rule table
   (``rules/``), which emits TFLite builtins into one subgraph;
4. bring every graph output to the requested layout and give inputs and outputs their
   ONNX names.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from ....schema import ir
from ...errors import ConversionError, UnsupportedOpsError
from .context import Lowering, Value, channels_last
from .rules import RULES

# ops whose output is not a function of their inputs: never folded at conversion
_NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                     "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"}


def _np_dtype(elem_type: int) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def _fix_inputs(model: onnx.ModelProto, input_shapes: dict | None) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    given = dict(input_shapes or {})
    init = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in init:
            continue
        dims = inp.type.tensor_type.shape.dim
        if inp.name in given:
            shape = [int(d) for d in given.pop(inp.name)]
            if len(shape) != len(dims) and len(dims):
                raise ConversionError(f"input_shapes[{inp.name!r}] has rank {len(shape)}, the "
                                      f"model's input has rank {len(dims)}")
            del dims[:]
            for d in shape:
                dims.add().dim_value = d
            continue
        for k, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value >= 0:   # 0: a real empty dim
                continue
            if k == 0:
                d.dim_value = 1       # a free batch dimension
            else:
                raise ConversionError(
                    f"input {inp.name!r} has a dynamic dimension {k} "
                    f"({d.dim_param or '?'}): pass input_shapes={{'{inp.name}': [...]}} "
                    f"(CLI: --input-shape {inp.name}=...)")
    if given:
        raise ConversionError(f"input_shapes names unknown inputs: {sorted(given)}")
    return model


def _infer(model: onnx.ModelProto) -> dict[str, tuple]:
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:   # onnx raises several types; the message is what matters
        raise ConversionError(f"ONNX shape inference failed: {e}") from None
    info = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + \
            list(inferred.graph.input):
        t = vi.type.tensor_type
        if not t.HasField("elem_type") or t.elem_type == 0:
            continue
        shape = None
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shape = tuple(int(d.dim_value) for d in t.shape.dim)
        info[vi.name] = (shape, _np_dtype(t.elem_type))
    return info


def _evaluate(node: onnx.NodeProto, inputs: list, opset: int, domains) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    graph_inputs, feeds = [], {}
    for k, (name, value) in enumerate(zip(node.input, inputs)):
        if not name:
            continue
        vi = helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                           value.shape)
        graph_inputs.append(vi)
        feeds[name] = value
    outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
               for o in node.output if o]
    graph = helper.make_graph([node], "fold", graph_inputs, outputs)
    model = helper.make_model(graph, opset_imports=domains)
    model.ir_version = min(model.ir_version, 10)
    try:
        results = ReferenceEvaluator(model).run(None, feeds)
    except Exception:   # noqa: BLE001 - retried below where that is safe
        if node.op_type not in _SAME_AT_NEWER_OPSETS:
            raise
        # onnx's reference evaluator lacks the older versions of these; for int8/uint8
        # their arithmetic is unchanged since opset 10, so evaluate them at the newest
        newer = [helper.make_opsetid(d.domain, onnx.defs.onnx_opset_version())
                 if d.domain in ("", "ai.onnx") else d for d in domains]
        model = helper.make_model(graph, opset_imports=newer)
        model.ir_version = min(model.ir_version, 10)
        results = ReferenceEvaluator(model).run(None, feeds)
    return [np.asarray(r) for r in results]


_SAME_AT_NEWER_OPSETS = frozenset({"QuantizeLinear", "DequantizeLinear"})


def lower(model: onnx.ModelProto, *, input_shapes: dict | None = None,
          io_layout: str = "keep") -> ir.Model:
    if io_layout not in ("keep", "nhwc"):
        raise ConversionError(f"io_layout must be 'keep' or 'nhwc', not {io_layout!r}")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise ConversionError("the model imports no default-domain (ai.onnx) opset")
    if opset < 7:
        raise ConversionError(f"opset {opset} is older than the oldest supported (7)")
    model = _fix_inputs(model, input_shapes)
    info = _infer(model)
    graph = model.graph
    ctx = Lowering(opset)
    ctx.info = info

    known: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t)
                                    for t in graph.initializer}
    known_names = set(known)
    unsupported = []
    for node in graph.node:
        ins = [i for i in node.input if i]
        static_shape = node.op_type in ("Shape", "Size") and \
            (info.get(node.input[0], (None,))[0] is not None or node.input[0] in known_names)
        if node.op_type == "Constant" or static_shape or (
                node.op_type not in _NONDETERMINISTIC and ins
                and all(i in known_names for i in ins) and node.domain in ("", "ai.onnx")):
            known_names.update(o for o in node.output if o)
        elif node.op_type not in RULES or node.domain not in ("", "ai.onnx"):
            unsupported.append((node.name, node.op_type, opset))
    if unsupported:
        raise UnsupportedOpsError(unsupported)

    for inp in graph.input:
        if inp.name in known:
            continue
        t = inp.type.tensor_type
        shape = tuple(int(d.dim_value) for d in t.shape.dim)
        dtype = _np_dtype(t.elem_type)
        perm = channels_last(len(shape)) if io_layout == "nhwc" and len(shape) >= 3 else None
        v = Value(shape, dtype, perm=perm)
        v.index = ctx.new_tensor(inp.name, v.physical_shape, dtype)
        ctx.sg.inputs.append(v.index)
        if dtype in (np.float64, np.float16):
            ctx.node_name = inp.name
            v = ctx.emit("CAST", [v.index], [shape], [np.float32], perm=perm)[0]
        ctx.set(inp.name, v)
    for name, array in known.items():
        ctx.set(name, ctx.const_value(array))

    for node in graph.node:
        ctx.node_name = node.name or (node.output[0] if node.output else node.op_type)
        ctx.node = node
        if node.output and all(o in known_names for o in node.output if o):
            values = [ctx.get(i).const if i else None for i in node.input]
            if node.op_type in ("Shape", "Size") and values[0] is None:
                # the value is not known, its (static) shape is: evaluate on zeros
                v = ctx.get(node.input[0])
                values[0] = np.zeros(v.shape, v.dtype)
            try:
                results = _evaluate(node, values, opset, model.opset_import)
            except Exception as e:
                raise ctx.error(f"{node.op_type} on constant inputs could not be evaluated: "
                                f"{e}") from None
            for name, r in zip([o for o in node.output if o], results):
                ctx.set(name, ctx.const_value(r))
            continue
        ins = [ctx.get(i) if i else None for i in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        outs = RULES[node.op_type](ctx, node, ins, attrs)
        for name, v in zip(node.output, outs):
            if name and v is not None:
                ctx.set(name, v)

    _finish_outputs(ctx, graph, io_layout)
    return ir.Model([ctx.sg], description="edgelite ONNX converter")


def _finish_outputs(ctx: Lowering, graph, io_layout: str) -> None:
    used: set[int] = set(ctx.sg.inputs)
    for out in graph.output:
        v = ctx.get(out.name)
        ctx.node_name = out.name
        want = channels_last(v.rank) if io_layout == "nhwc" and v.rank >= 3 else None
        index = ctx.physical(v, want)
        tensor = ctx.sg.tensors[index]
        declared = ctx.info.get(out.name, (None, None))[1]
        if declared in (np.float64, np.float16) and tensor.dtype != declared:
            source, index = index, ctx.new_tensor(out.name + "_" + np.dtype(declared).name,
                                                  tensor.shape, declared)
            ctx.sg.operators.append(ir.Operator("CAST", [source], [index]))
            tensor = ctx.sg.tensors[index]
        if index in used or tensor.data is not None:
            # a graph input, a constant, or already another output: give it its own copy
            shape = tensor.shape
            shape_t = ctx.constant_index(np.array(shape, np.int32))
            copy = ctx.new_tensor(out.name, shape, tensor.dtype)
            ctx.sg.operators.append(ir.Operator("RESHAPE", [index, shape_t], [copy],
                                                {"new_shape": list(shape)}))
            index = copy
        else:
            ctx._names.discard(tensor.name)
            tensor.name = ctx.unique(out.name)
        used.add(index)
        ctx.sg.outputs.append(index)

