"""Single-op models built through the IR, run in edgelite and in LiteRT, compared.

    model = op_model("ADD", [x, y], options={"fused_activation_function": "RELU"},
                     const=[False, True])
    compare(model, [x])            # feeds are the non-constant inputs, in order

Stateful ops (LSTM/RNN state) take ``variables=[...]`` flags: those inputs become
variable tensors (zero-initialised, persistent, not graph inputs), and
``compare(..., invokes=2)`` invokes both runtimes twice and compares after each invoke.

``compare`` runs LiteRT with its builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES,
the oracle for bit-exactness) and edgelite, and checks dtype, shape and values (exactly
for integer outputs, within ``rtol``/``atol`` for float).
"""

from __future__ import annotations

import numpy as np

from edgelite.kernels.api import PrepareContext, TensorSpec
from edgelite.kernels.registry import builtin_kernels, custom_kernels
from edgelite.schema import ir, write
from tests.litert_oracle import litert


def op_model(opcode: str, inputs: list, options: dict | None = None, *, const=None,
             outputs: list | None = None, version: int = 1, custom: bool = False,
             custom_options: bytes | None = None, input_quant: list | None = None,
             options_type: str | None = None, variables: list | None = None) -> ir.Model:
    """A one-op model. ``inputs``: arrays (values of constants; shape/dtype of the rest),
    or None for an omitted optional input. ``outputs``: list of (dtype, quantization or
    None); default one output of the first input's dtype. Output shapes are left empty:
    both runtimes compute them. ``variables``: flags marking inputs that are variable
    tensors (zero initial value, kept across invokes, not graph inputs)."""
    const = const or [False] * len(inputs)
    variables = list(variables or []) + [False] * (len(inputs) - len(variables or []))
    sg = ir.Subgraph(name="single_op")
    op_inputs = []
    for i, (value, is_const, is_var) in enumerate(zip(inputs, const, variables)):
        if value is None:
            op_inputs.append(-1)
            continue
        value = np.asarray(value)
        quant = input_quant[i] if input_quant else None
        index = sg.add_tensor(ir.Tensor(f"in{i}", value.shape, value.dtype,
                                        data=value if is_const else None, quantization=quant,
                                        is_variable=bool(is_var)))
        op_inputs.append(index)
        if not is_const and not is_var:
            sg.inputs.append(index)
    first = np.asarray(next(v for v in inputs if v is not None))
    outputs = outputs or [(first.dtype, None)]
    op_outputs = []
    for j, (dtype, quant) in enumerate(outputs):
        op_outputs.append(sg.add_tensor(ir.Tensor(f"out{j}", (), dtype, quantization=quant)))
    sg.outputs = list(op_outputs)
    sg.operators = [ir.Operator(opcode, op_inputs, op_outputs, dict(options or {}),
                                version=version, custom=custom or None,
                                custom_options=custom_options, options_type=options_type)]
    return ir.Model([sg])


def run_litert(model: ir.Model | bytes, feeds: list[np.ndarray],
               invokes: int = 1) -> list[np.ndarray]:
    lite = litert()
    blob = write(model) if isinstance(model, ir.Model) else model
    interp = lite.Interpreter(
        model_content=blob,
        experimental_op_resolver_type=lite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return _feed_and_run(interp, feeds, invokes)


def _feed_and_run(interp, feeds: list[np.ndarray], invokes: int = 1) -> list[np.ndarray]:
    """Resize inputs to the feeds' shapes, allocate, set, invoke; copies of the outputs.
    Works on LiteRT's and edgelite's Interpreter alike (same API). With ``invokes`` > 1
    the same feeds are invoked again and every invoke's outputs are returned, in order."""
    for d, x in zip(interp.get_input_details(), feeds):
        if list(d["shape"]) != list(np.shape(x)):
            interp.resize_tensor_input(d["index"], np.shape(x))
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    outputs = []
    for _ in range(invokes):
        interp.invoke()
        outputs += [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]
    return outputs


def run_kernel(model: ir.Model, feeds: list[np.ndarray], invokes: int = 1) -> list[np.ndarray]:
    """Run the model's single op straight through prepare/run, without the interpreter.
    Variable tensors get one zero-initialised array kept across the ``invokes``."""
    sg = model.subgraphs[0]
    (op,) = sg.operators
    feed_of = dict(zip(sg.inputs, feeds))

    def spec(i):
        if i < 0:
            return None
        t = sg.tensors[i]
        data = t.data if t.data is not None else feed_of.get(i)
        shape = t.shape if data is None else np.shape(data)
        is_const = t.data is not None
        return TensorSpec(i, t.name, tuple(shape), t.dtype, t.quantization,
                          data if is_const else None, sparsity=t.sparsity)

    ins = [spec(i) for i in op.inputs]
    outs = [spec(i) for i in op.outputs]
    table = custom_kernels() if op.custom else builtin_kernels()
    ctx = PrepareContext(op, 0, ins, outs)
    run = table[op.opcode].prepare(ctx)
    in_arrays = [None if i < 0 else (sg.tensors[i].data if sg.tensors[i].data is not None
                                     else np.zeros(sg.tensors[i].shape, sg.tensors[i].dtype)
                                     if sg.tensors[i].is_variable
                                     else np.ascontiguousarray(feed_of[i])) for i in op.inputs]
    outputs = []
    for _ in range(invokes):
        out_arrays = [None if k in ctx.dynamic_outputs else np.zeros(o.shape, o.dtype)
                      for k, o in enumerate(outs)]
        scratch = [np.zeros(shape, dtype) for shape, dtype in ctx.scratch_requests]
        run(in_arrays, out_arrays, scratch)
        outputs += out_arrays
    return outputs


def run_edgelite(model: ir.Model, feeds: list[np.ndarray],
                 invokes: int = 1) -> list[np.ndarray]:
    """Through ``edgelite.Interpreter`` once it exists, else straight through the kernel."""
    try:
        from edgelite.interpreter import Interpreter
    except ImportError:
        return run_kernel(model, feeds, invokes)
    interp = Interpreter(model_content=write(model))
    return _feed_and_run(interp, feeds, invokes)


def compare(model: ir.Model, feeds: list[np.ndarray], rtol: float = 1e-5, atol: float = 1e-6,
            exact: bool | None = None, invokes: int = 1) -> list[np.ndarray]:
    """Outputs of both runtimes must agree; with ``invokes`` > 1, after every invoke (the
    returned list holds each invoke's outputs in turn)."""
    expected = run_litert(model, feeds, invokes)
    got = run_edgelite(model, feeds, invokes)
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g.dtype == e.dtype, f"output {k}: dtype {g.dtype} != LiteRT {e.dtype}"
        assert g.shape == e.shape, f"output {k}: shape {g.shape} != LiteRT {e.shape}"
        if exact or (exact is None and e.dtype.kind in "iub"):
            np.testing.assert_array_equal(g, e, err_msg=f"output {k}")
        else:
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"output {k}")
    return got
