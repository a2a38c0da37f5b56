"""Custom ops through the user's door, selective registration, unresolved-op errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Interpreter, OpResolver
from edgelite.interpreter import PrepareError
from edgelite.schema import ir, write
from tests.interpreter.models import two_input_model


def _custom_model(name: str = "Double") -> bytes:
    sg = ir.Subgraph()
    x = sg.add_tensor(ir.Tensor("x", (2, 3), np.float32))
    y = sg.add_tensor(ir.Tensor("y", (2, 3), np.float32))
    z = sg.add_tensor(ir.Tensor("z", (2, 3), np.float32))
    sg.inputs, sg.outputs = [x], [z]
    sg.operators = [ir.Operator(name, [x], [y], custom_options=b"\x02"),
                    ir.Operator("ADD", [y, x], [z], {"fused_activation_function": "NONE"})]
    return write(ir.Model([sg]))


def test_custom_op_registered_with_the_decorator_runs():
    resolver = OpResolver()
    seen = {}

    @resolver.custom_op("Double")
    def prepare_double(ctx):
        seen["options"] = ctx.op.custom_options
        x = ctx.inputs[0]
        ctx.set_output(0, x.shape, x.dtype)
        factor = float(ctx.op.custom_options[0])

        def run(ins, outs, scratch):
            np.multiply(ins[0], factor, out=outs[0])
        return run

    interp = Interpreter(model_content=_custom_model(), op_resolver=resolver)
    interp.allocate_tensors()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    interp.set_tensor(0, x)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(2), 3 * x)
    assert seen["options"] == b"\x02"


def test_unresolved_custom_op_fails_at_allocate_with_a_hint():
    interp = Interpreter(model_content=_custom_model("Mystery"))
    with pytest.raises(PrepareError, match=r"operator 0 \(Mystery\).*register_custom"):
        interp.allocate_tensors()


def test_selective_registration_keeps_only_what_the_model_needs():
    blob = write(two_input_model())
    resolver = OpResolver.for_model(blob)
    assert resolver.names == {"ADD", "MUL"}
    Interpreter(model_content=blob, op_resolver=resolver).allocate_tensors()
    narrow = OpResolver(only=["ADD"])
    with pytest.raises(PrepareError, match=r"operator 1 \(MUL\).*left out by selective"):
        Interpreter(model_content=blob, op_resolver=narrow).allocate_tensors()


def test_kernel_errors_name_the_op():
    resolver = OpResolver()

    @resolver.custom_op("Double")
    def broken(ctx):
        raise KeyError("oops")

    interp = Interpreter(model_content=_custom_model(), op_resolver=resolver)
    with pytest.raises(PrepareError, match=r"subgraph 0, operator 0 \(Double\): failed to "
                                           r"prepare: KeyError"):
        interp.allocate_tensors()


def test_bad_model_content_is_a_value_error():
    with pytest.raises(ValueError, match="identifier"):
        Interpreter(model_content=b"\x00" * 64)
    with pytest.raises(ValueError, match="Could not open"):
        Interpreter(model_path="/nonexistent/model.tflite")
