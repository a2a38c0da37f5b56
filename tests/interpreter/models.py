"""Small models built through the IR for interpreter tests."""

from __future__ import annotations

import numpy as np

from edgelite.schema import ir


def two_input_model() -> ir.Model:
    """out = (x + y) * c, with a dynamic batch dimension and a signature."""
    sg = ir.Subgraph(name="main")
    x = sg.add_tensor(ir.Tensor("x", (1, 4, 4, 3), np.float32, shape_signature=(-1, 4, 4, 3)))
    y = sg.add_tensor(ir.Tensor("y", (3,), np.float32))
    s = sg.add_tensor(ir.Tensor("sum", (1, 4, 4, 3), np.float32))
    c = sg.add_tensor(ir.Tensor("c", (3,), np.float32,
                                data=np.array([1.0, -2.0, 0.5], np.float32)))
    out = sg.add_tensor(ir.Tensor("out", (1, 4, 4, 3), np.float32,
                                  shape_signature=(-1, 4, 4, 3)))
    sg.inputs, sg.outputs = [x, y], [out]
    sg.operators = [ir.Operator("ADD", [x, y], [s], {"fused_activation_function": "NONE"}),
                    ir.Operator("MUL", [s, c], [out], {"fused_activation_function": "RELU"})]
    model = ir.Model([sg])
    model.signature_defs = [ir.SignatureDef("serving_default", 0, {"x": x, "y": y},
                                            {"out": out})]
    return model


def counter_loop_model(limit: int = 10) -> ir.Model:
    """WHILE i < limit: i += 1; acc *= 2 -- three subgraphs."""
    main = ir.Subgraph(name="main")
    i0 = main.add_tensor(ir.Tensor("i0", (), np.int32))
    a0 = main.add_tensor(ir.Tensor("acc0", (2,), np.float32))
    i1 = main.add_tensor(ir.Tensor("i", (), np.int32))
    a1 = main.add_tensor(ir.Tensor("acc", (2,), np.float32))
    main.inputs, main.outputs = [i0, a0], [i1, a1]
    main.operators = [ir.Operator("WHILE", [i0, a0], [i1, a1],
                                  {"cond_subgraph_index": 1, "body_subgraph_index": 2})]
    cond = ir.Subgraph(name="cond")
    ci = cond.add_tensor(ir.Tensor("i", (), np.int32))
    ca = cond.add_tensor(ir.Tensor("acc", (2,), np.float32))
    lim = cond.add_tensor(ir.Tensor("limit", (), np.int32, data=np.array(limit, np.int32)))
    co = cond.add_tensor(ir.Tensor("go", (), np.bool_))
    cond.inputs, cond.outputs = [ci, ca], [co]
    cond.operators = [ir.Operator("LESS", [ci, lim], [co])]
    body = ir.Subgraph(name="body")
    bi = body.add_tensor(ir.Tensor("i", (), np.int32))
    ba = body.add_tensor(ir.Tensor("acc", (2,), np.float32))
    one = body.add_tensor(ir.Tensor("one", (), np.int32, data=np.array(1, np.int32)))
    two = body.add_tensor(ir.Tensor("two", (), np.float32, data=np.array(2, np.float32)))
    bi2 = body.add_tensor(ir.Tensor("i_next", (), np.int32))
    ba2 = body.add_tensor(ir.Tensor("acc_next", (2,), np.float32))
    body.inputs, body.outputs = [bi, ba], [bi2, ba2]
    body.operators = [ir.Operator("ADD", [bi, one], [bi2], {"fused_activation_function": "NONE"}),
                      ir.Operator("MUL", [ba, two], [ba2], {"fused_activation_function": "NONE"})]
    return ir.Model([main, cond, body])


def variable_model() -> ir.Model:
    """CALL_ONCE initialises a resource variable to [1, 2]; each invoke adds x to it and
    returns the running total."""
    main = ir.Subgraph(name="main")
    x = main.add_tensor(ir.Tensor("x", (2,), np.float32))
    h = main.add_tensor(ir.Tensor("h", (), ir.dtype_of("RESOURCE")))
    v = main.add_tensor(ir.Tensor("v", (2,), np.float32))
    s = main.add_tensor(ir.Tensor("total", (2,), np.float32))
    main.inputs, main.outputs = [x], [s]
    var = {"container": "", "shared_name": "total"}
    main.operators = [
        ir.Operator("CALL_ONCE", [], [], {"init_subgraph_index": 1}),
        ir.Operator("VAR_HANDLE", [], [h], dict(var)),
        ir.Operator("READ_VARIABLE", [h], [v]),
        ir.Operator("ADD", [v, x], [s], {"fused_activation_function": "NONE"}),
        ir.Operator("ASSIGN_VARIABLE", [h, s], []),
    ]
    init = ir.Subgraph(name="init")
    ih = init.add_tensor(ir.Tensor("h", (), ir.dtype_of("RESOURCE")))
    iv = init.add_tensor(ir.Tensor("init", (2,), np.float32,
                                   data=np.array([1, 2], np.float32)))
    init.operators = [ir.Operator("VAR_HANDLE", [], [ih], dict(var)),
                      ir.Operator("ASSIGN_VARIABLE", [ih, iv], [])]
    return ir.Model([main, init])
