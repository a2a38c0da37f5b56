"""Post-training float16 quantization (TFLiteConverter's ``optimizations=[DEFAULT]`` with
``target_spec.supported_types=[tf.float16]``): float16 weights, float32 compute.

As TensorFlow's converter writes it (see the corpus's ``mobilenet_v2_035.float16.tflite``):
every float32 constant that an op reads -- weights, biases and small constants alike, no
minimum size -- is stored as float16 (values clamped to +-65504, float16's largest) and
one DEQUANTIZE per constant (version 3: float16 -> float32) turns it back into the
float32 tensor all its readers share. The DEQUANTIZE ops come first in the subgraph, so
they run before any reader. A constant that is itself a graph output stays float32.
The model gets TF's ``reduced_precision_support`` metadata (``fp16accfp32``: float16
inference allowed, float32 accumulation), which runtimes such as XNNPACK read as
permission to compute in float16 on hardware with native float16 arithmetic.

Runtimes fold a DEQUANTIZE of a constant once, at prepare, so the float32 weights
exist once in memory while the file holds half the bytes.
"""

from __future__ import annotations

import copy

import numpy as np

from ..schema import ir

FLOAT16_MAX = 65504.0
REDUCED_PRECISION_KEY = "reduced_precision_support"
REDUCED_PRECISION_VALUE = b"fp16accfp32"


def _read_constants(sg: ir.Subgraph) -> list[int]:
    """Float32 constants some op reads, in order of first read."""
    seen: dict[int, None] = {}
    for op in sg.operators:
        for t in op.inputs:
            if t < 0 or t in seen:
                continue
            tensor = sg.tensors[t]
            if tensor.is_constant and tensor.dtype == np.float32 \
                    and tensor.quantization is None:
                seen[t] = None
    return list(seen)


def to_float16(data) -> np.ndarray:
    """float32 values as float16, clamped to float16's finite range (as TF converts)."""
    return np.clip(np.asarray(data, np.float32), -FLOAT16_MAX, FLOAT16_MAX).astype(
        np.float16)


def _quantize_subgraph(sg: ir.Subgraph) -> int:
    constants = _read_constants(sg)
    outputs = set(sg.outputs)
    dequantize, expanded_of = [], {}
    for t in constants:
        original = sg.tensors[t]
        half = ir.Tensor(original.name, original.shape, np.float16,
                         data=to_float16(original.data),
                         shape_signature=original.shape_signature)
        if t in outputs:   # the graph output keeps the float32 constant
            source = sg.add_tensor(half)
        else:
            sg.tensors[t], source = half, t
        expanded_of[t] = sg.add_tensor(ir.Tensor(
            f"{original.name}/dequantize", original.shape, np.float32,
            shape_signature=original.shape_signature))
        dequantize.append(ir.Operator("DEQUANTIZE", [source], [expanded_of[t]], version=3))
    for op in sg.operators:
        op.inputs = [expanded_of.get(i, i) for i in op.inputs]
    sg.operators = dequantize + sg.operators
    return len(dequantize)


def quantize_float16(model: ir.Model) -> ir.Model:
    """A float16-weight copy of ``model`` (every subgraph; see the module doc);
    ``model`` itself is not changed."""
    model = copy.deepcopy(model)
    for sg in model.subgraphs:
        _quantize_subgraph(sg)
    model.metadata = dict(model.metadata)
    model.metadata[REDUCED_PRECISION_KEY] = REDUCED_PRECISION_VALUE
    return model
