"""A graph with an op the GPU delegate lacks in the middle: two GPU partitions around one
CPU op, tensors crossing the partition boundaries both ways, the CPU's answer."""

from __future__ import annotations

import numpy as np

from edgelite import GpuDelegate, Interpreter, OpResolver, load_delegate
from edgelite.schema import ir, write
from tests.gpu.helpers import cpu_steps, gpu


def _prepare_square(ctx):
    """A user's custom op (CPU only): out = x * x."""
    ctx.set_output(0, ctx.inputs[0].shape, np.float32)

    def run(ins, outs, scratch):
        np.multiply(ins[0], ins[0], out=outs[0])
    return run


def _mixed_model() -> ir.Model:
    """x -> CONV_2D -> t0 -> RELU -> t1 -> Square (custom, CPU) -> t2;
    ADD(t2, t0) -> t3 -> MEAN over H, W -> out."""
    rng = np.random.default_rng(3)
    sg = ir.Subgraph(name="mixed")
    x = sg.add_tensor(ir.Tensor("x", (1, 6, 6, 4), np.float32))
    w = sg.add_tensor(ir.Tensor("w", (5, 3, 3, 4), np.float32,
                                data=rng.uniform(-1, 1, (5, 3, 3, 4)).astype(np.float32)))
    b = sg.add_tensor(ir.Tensor("b", (5,), np.float32,
                                data=rng.uniform(-1, 1, 5).astype(np.float32)))
    axes = sg.add_tensor(ir.Tensor("axes", (2,), np.int32, data=np.array([1, 2], np.int32)))
    t = [sg.add_tensor(ir.Tensor(f"t{i}", (1, 6, 6, 5), np.float32)) for i in range(4)]
    out = sg.add_tensor(ir.Tensor("out", (1, 5), np.float32))
    sg.inputs, sg.outputs = [x], [out]
    none = {"fused_activation_function": "NONE"}
    sg.operators = [
        ir.Operator("CONV_2D", [x, w, b], [t[0]], {"padding": "SAME", "stride_h": 1,
                                                   "stride_w": 1, **none}),
        ir.Operator("RELU", [t[0]], [t[1]]),
        ir.Operator("Square", [t[1]], [t[2]], custom=True, custom_options=b""),
        ir.Operator("ADD", [t[2], t[0]], [t[3]], dict(none)),
        ir.Operator("MEAN", [t[3], axes], [out], {"keep_dims": False})]
    return ir.Model([sg])


def _run(delegates):
    resolver = OpResolver()
    resolver.register_custom("Square", _prepare_square)
    interp = Interpreter(model_content=write(_mixed_model()), op_resolver=resolver,
                         experimental_delegates=delegates)
    interp.allocate_tensors()
    x = np.random.default_rng(4).uniform(-1, 1, (1, 6, 6, 4)).astype(np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp, interp.get_tensor(interp.get_output_details()[0]["index"])


def test_two_gpu_partitions_around_a_cpu_op():
    delegate = gpu("fp32")
    before = len(delegate.programs)
    interp, got = _run([delegate])
    _, want = _run([])
    assert interp.delegated_ops == 4
    assert cpu_steps(interp) == ["Square"]
    assert [s.name for s in interp._main.steps] == ["DELEGATE:gpu", "Square", "DELEGATE:gpu"]
    first, second = delegate.programs[before:]
    assert first.outputs == [4, 5]            # t0 (read again by ADD) and t1 (by Square)
    assert sorted(second.inputs) == [4, 6]    # t0 from the first partition, t2 from the CPU
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_load_delegate_gpu_and_the_package_name():
    delegate = load_delegate("gpu", {"precision": "fp32"})
    assert isinstance(delegate, GpuDelegate) and delegate.precision_used == "fp32"
    _, got = _run([delegate])
    _, want = _run([])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_fp16_falls_back_to_fp32_only_without_shader_f16():
    delegate = gpu("fp16")
    has_f16 = "shader-f16" in delegate.adapter.features
    assert delegate.precision_used == ("fp16" if has_f16 else "fp32")
