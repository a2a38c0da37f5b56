"""Small float models for the quantization tests, built with onnx.helper and converted by
edgelite (NHWC I/O), and a calibration/test input generator."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def _const(name: str, arr) -> object:
    return numpy_helper.from_array(np.asarray(arr, np.float32), name)


def small_cnn(seed: int = 0, extra_nodes=(), extra_inits=(), tail: str = "a1"):
    """Conv+Relu, MaxPool, grouped (depthwise) Conv+Clip, residual Add, global average
    pool, Gemm, Softmax; ``extra_nodes`` splice in after the Add (reading ``a1``, ending
    at ``tail``)."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("Add", ["r2", "p1"], ["a1"]),
        *extra_nodes,
        helper.make_node("GlobalAveragePool", [tail], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"]),
    ]
    inits = [_const("w1", rng.normal(0, .3, (8, 3, 3, 3))), _const("b1", rng.normal(0, .1, 8)),
             _const("w2", rng.normal(0, .3, (8, 1, 3, 3))), _const("b2", rng.normal(0, .1, 8)),
             _const("lo", 0.0), _const("hi", 6.0),
             _const("w3", rng.normal(0, .3, (10, 8))), _const("b3", rng.normal(0, .1, 10)),
             *extra_inits]
    graph = helper.make_graph(
        nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def inputs(seed: int, count: int, shape=(1, 16, 16, 3)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, shape).astype(np.float32) for _ in range(count)]
