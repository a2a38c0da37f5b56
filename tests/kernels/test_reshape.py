"""RESHAPE, SQUEEZE, EXPAND_DIMS and SHAPE against LiteRT: ranks 0-8, dtypes, shape and
axis inputs known at prepare or only at invoke, quantized pass-through, the errors, and
SHAPE's value reaching a RESHAPE statically."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.schema import ir, write
from tests.kernels.harness import run_litert
from tests.kernels.movement_helpers import (
    DTYPES,
    invoke_fails,
    prepare_fails,
    quant,
    run_op,
    values,
)

I32 = np.int32


@pytest.mark.parametrize("in_shape,new_shape", [
    ((6,), (2, 3)), ((2, 3, 4), (4, -1)), ((2, 3, 4), (-1,)), ((1, 5), (5,)),
    ((2, 3, 2, 2), (3, 2, 2, 2)), ((2, 1, 3, 1, 2), (2, 3, 2, 1, 1)),
    ((2, 3, 1, 2, 1, 2), (-1, 2, 3)), ((1,), ()), ((), (1, 1)), ((4, 0), (0, 2, 2))])
@pytest.mark.parametrize("const", [True, False])
def test_reshape_shape_input(in_shape, new_shape, const):
    x = values(np.random.default_rng(len(in_shape)), in_shape, np.float32)
    run_op("RESHAPE", [x, np.array(new_shape, I32)], const=[False, const])


@pytest.mark.parametrize("new_shape,out_shape", [([3, 4], (3, 4)), ([-1, 6], (2, 6)),
                                                 ([0], ()), ([12], (12,))])
def test_reshape_new_shape_option(new_shape, out_shape):
    x = np.arange(12 if out_shape else 1, dtype=np.float32).reshape(-1)
    got = run_op("RESHAPE", [x], {"new_shape": new_shape})
    assert got[0].shape == out_shape


def test_reshape_int64_shape_input_falls_back_to_the_option():
    x = np.arange(6, dtype=np.float32)
    run_op("RESHAPE", [x, np.array([6, 1], np.int64)], {"new_shape": [3, 2]},
           const=[False, True])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16, np.uint32])
@pytest.mark.parametrize("opcode", ["RESHAPE", "SQUEEZE", "EXPAND_DIMS"])
def test_dtypes(opcode, dtype):
    x = values(np.random.default_rng(3), (2, 1, 3), dtype)
    inputs = {"RESHAPE": [x, np.array([3, 2], I32)], "SQUEEZE": [x],
              "EXPAND_DIMS": [x, np.array(-1, I32)]}[opcode]
    run_op(opcode, inputs, const=[False, True][:len(inputs)])


@pytest.mark.parametrize("opcode", ["RESHAPE", "SQUEEZE", "EXPAND_DIMS"])
def test_quantized_int8_passes_through(opcode):
    x = values(np.random.default_rng(4), (1, 4, 3), np.int8, -128, 127)
    q = quant(0.25, -3)
    inputs = {"RESHAPE": [x, np.array([12], I32)], "SQUEEZE": [x],
              "EXPAND_DIMS": [x, np.array(0, I32)]}[opcode]
    run_op(opcode, inputs, const=[False, True][:len(inputs)], input_quant=[q, None],
           outputs=[(np.int8, q)])


@pytest.mark.parametrize("new_shape,match", [((4, 2), "cannot reshape 6 values"),
                                             ((-1, -1), "more than one -1"),
                                             ((4, -1), "cannot reshape")])
def test_reshape_wrong_element_count(new_shape, match):
    x = np.zeros((2, 3), np.float32)
    prepare_fails("RESHAPE", [x, np.array(new_shape, I32)], const=[False, True], match=match)


def test_reshape_wrong_count_at_invoke_fails_naming_the_op():
    x = np.zeros((2, 3), np.float32)
    invoke_fails("RESHAPE", [x, np.array([4, 2], I32)], match="cannot reshape")


@pytest.mark.parametrize("shape,dims", [((1, 3, 1, 2), []), ((1, 3, 1, 2), [0]),
                                        ((1, 3, 1, 2), [-2]), ((1, 3, 1, 2), [2, 0, -4]),
                                        ((1, 1, 1), []), ((3,), []),
                                        ((2, 1, 2, 1, 2, 1, 1, 2), [1, -3]),
                                        ((1, 2, 1, 2, 1, 2, 1, 1), [])])
def test_squeeze(shape, dims):
    x = values(np.random.default_rng(len(shape)), shape, np.float32)
    run_op("SQUEEZE", [x], {"squeeze_dims": dims})


@pytest.mark.parametrize("dims", [[1], [3], [-5]])
def test_squeeze_bad_dims(dims):
    prepare_fails("SQUEEZE", [np.zeros((1, 3, 1), np.float32)], {"squeeze_dims": dims},
                  match="cannot squeeze")


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3, 2), (2, 1, 2, 1, 2, 2)])
@pytest.mark.parametrize("axis_type", [np.int32, np.int64])
@pytest.mark.parametrize("const", [True, False])
def test_expand_dims(shape, axis_type, const):
    x = values(np.random.default_rng(len(shape)), shape, np.float32)
    for axis in range(-len(shape) - 1, len(shape) + 1):
        run_op("EXPAND_DIMS", [x, np.array([axis], axis_type)], const=[False, const])


@pytest.mark.parametrize("const", [True, False])
def test_expand_dims_axis_out_of_range(const):
    x, axis = np.zeros((2, 3), np.float32), np.array(3, I32)
    if const:
        prepare_fails("EXPAND_DIMS", [x, axis], const=[False, True], match="out of range")
    else:
        invoke_fails("EXPAND_DIMS", [x, axis], match="out of range")


# no scalar input: LiteRT cannot hand back SHAPE's 0-element output
@pytest.mark.parametrize("shape", [(5,), (2, 3), (1, 2, 3, 4, 5, 6)])
@pytest.mark.parametrize("out_type", ["INT32", "INT64"])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_])
def test_shape(shape, out_type, dtype):
    x = values(np.random.default_rng(1), shape, dtype)
    out = np.int32 if out_type == "INT32" else np.int64
    got = run_op("SHAPE", [x], {"out_type": out_type}, outputs=[(out, None)])
    np.testing.assert_array_equal(got[0], np.array(shape, out))


def test_shape_out_type_must_be_an_integer():
    prepare_fails("SHAPE", [np.zeros(3, np.float32)], {"out_type": "FLOAT32"},
                  match="out_type FLOAT32")


def _shape_then_reshape() -> ir.Model:
    """y reshaped to the shape of x: SHAPE's value is known at prepare."""
    sg = ir.Subgraph(name="shape_reshape")
    x = sg.add_tensor(ir.Tensor("x", (2, 6), np.dtype(np.float32)))
    y = sg.add_tensor(ir.Tensor("y", (3, 4), np.dtype(np.float32)))
    s = sg.add_tensor(ir.Tensor("s", (2,), np.dtype(np.int32)))
    out = sg.add_tensor(ir.Tensor("out", (), np.dtype(np.float32)))
    sg.inputs, sg.outputs = [x, y], [out]
    sg.operators = [ir.Operator("SHAPE", [x], [s], {"out_type": "INT32"}),
                    ir.Operator("RESHAPE", [y, s], [out], {})]
    return ir.Model([sg])


def test_shape_value_makes_a_downstream_reshape_static():
    model = _shape_then_reshape()
    rng = np.random.default_rng(0)
    feeds = [values(rng, (2, 6), np.float32), values(rng, (3, 4), np.float32)]
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], v)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_array_equal(got, run_litert(model, feeds)[0])
    assert got.shape == (2, 6)
    assert not any(step.dynamic for step in interp._executor(0).steps)
