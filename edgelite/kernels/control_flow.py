"""Control flow and resource variables: WHILE, IF, CALL_ONCE, VAR_HANDLE, READ_VARIABLE,
ASSIGN_VARIABLE (TFLite v1 of each).

Called subgraphs are prepared through ``ctx.services`` with the caller's input shapes and
run with ``executor.invoke()``; values cross by ``np.copyto`` into the callee's input
arrays and back out of its output arrays, so the loop allocates nothing. Loop bodies and
branches must keep their output shapes equal to the shapes they were prepared with
(TFLite's dynamic-shape WHILE is not supported yet and fails at prepare).
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext


def _prepare_callee(ctx: PrepareContext, index: int, specs: list):
    executor = ctx.services.executor(index)
    sg = executor.sg
    ctx.check(len(sg.inputs) == len(specs),
              f"subgraph {index} takes {len(sg.inputs)} inputs, the op passes {len(specs)}")
    for t, spec in zip(sg.inputs, specs):
        executor.input_shapes[t] = spec.shape
    executor.prepare()
    return executor


def _outputs_of(executor) -> list:
    return [executor.arrays[t] for t in executor.sg.outputs]


def _copy_all(dst: list, src: list) -> None:
    for d, s in zip(dst, src):
        np.copyto(d, s)


def prepare_while(ctx: PrepareContext):
    specs = list(ctx.inputs)
    cond = _prepare_callee(ctx, ctx.options["cond_subgraph_index"], specs)
    body = _prepare_callee(ctx, ctx.options["body_subgraph_index"], specs)
    for k, (spec, t) in enumerate(zip(specs, body.sg.outputs)):
        ctx.check(body.specs[t].shape == spec.shape,
                  f"loop variable {k} changes shape in the body ({list(spec.shape)} -> "
                  f"{list(body.specs[t].shape)}): dynamic WHILE shapes are not supported yet")
        ctx.set_output(k, spec.shape, spec.dtype)
    cond_in = [cond.arrays[t] for t in cond.sg.inputs]
    body_in = [body.arrays[t] for t in body.sg.inputs]
    cond_out = cond.arrays[cond.sg.outputs[0]]
    body_out = _outputs_of(body)

    def run(ins, outs, scratch):
        _copy_all(outs, ins)
        while True:
            _copy_all(cond_in, outs)
            cond.invoke()
            if not bool(cond_out.reshape(-1)[0]):
                break
            _copy_all(body_in, outs)
            body.invoke()
            _copy_all(outs, body_out)

    return run


def prepare_if(ctx: PrepareContext):
    specs = list(ctx.inputs[1:])
    branches = [_prepare_callee(ctx, ctx.options[key], specs)
                for key in ("then_subgraph_index", "else_subgraph_index")]
    then_specs = [branches[0].specs[t] for t in branches[0].sg.outputs]
    else_specs = [branches[1].specs[t] for t in branches[1].sg.outputs]
    for k, (a, b) in enumerate(zip(then_specs, else_specs)):
        ctx.check(a.shape == b.shape, f"output {k} has shape {list(a.shape)} in the then "
                  f"branch but {list(b.shape)} in the else branch: not supported yet")
        ctx.set_output(k, a.shape, a.dtype)
    wiring = [([b.arrays[t] for t in b.sg.inputs], _outputs_of(b), b) for b in branches]

    def run(ins, outs, scratch):
        branch_in, branch_out, executor = wiring[0 if bool(ins[0].reshape(-1)[0]) else 1]
        _copy_all(branch_in, ins[1:])
        executor.invoke()
        _copy_all(outs, branch_out)

    return run


def prepare_call_once(ctx: PrepareContext):
    index = ctx.options["init_subgraph_index"]
    services = ctx.services
    init = _prepare_callee(ctx, index, [])

    def run(ins, outs, scratch):
        if index not in services.called_once:
            init.invoke()
            services.called_once.add(index)

    return run


def prepare_var_handle(ctx: PrepareContext):
    rid = ctx.services.resource_id(ctx.options.get("container", ""),
                                   ctx.options.get("shared_name", ""))
    ctx.set_output(0, (), np.int32)
    ctx.outputs[0].data = np.array(rid, np.int32)   # known now: readers resolve it at prepare

    def run(ins, outs, scratch):
        pass

    return run


def _resource_id(ctx: PrepareContext) -> int:
    spec = ctx.inputs[0]
    ctx.check(spec is not None and spec.data is not None,
              "the resource handle must come from VAR_HANDLE in the same subgraph")
    return int(spec.data)


def prepare_assign_variable(ctx: PrepareContext):
    rid, resources = _resource_id(ctx), ctx.services.resources

    def run(ins, outs, scratch):
        current = resources.get(rid)
        if current is None or current.shape != ins[1].shape or current.dtype != ins[1].dtype:
            resources[rid] = np.array(ins[1], copy=True)
        else:
            np.copyto(current, ins[1])

    return run


def prepare_read_variable(ctx: PrepareContext):
    rid, resources = _resource_id(ctx), ctx.services.resources
    out = ctx.outputs[0]
    ctx.check(all(d >= 0 for d in out.shape), "the variable's shape must be static")

    def run(ins, outs, scratch):
        value = resources.get(rid)
        if value is None:
            raise RuntimeError(f"operator {ctx.op_index} (READ_VARIABLE): variable {rid} is "
                               f"read before any ASSIGN_VARIABLE")
        np.copyto(outs[0], value.reshape(outs[0].shape))

    return run


KERNELS = {
    "WHILE": KernelDef(prepare_while, 1, pure=False),
    "IF": KernelDef(prepare_if, 1, pure=False),
    "CALL_ONCE": KernelDef(prepare_call_once, 1, pure=False),
    "VAR_HANDLE": KernelDef(prepare_var_handle, 1, pure=False),
    "ASSIGN_VARIABLE": KernelDef(prepare_assign_variable, 1, pure=False),
    "READ_VARIABLE": KernelDef(prepare_read_variable, 1, pure=False),
}
