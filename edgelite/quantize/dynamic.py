"""Post-training dynamic-range quantization (TFLiteConverter's ``optimizations=[DEFAULT]``
without a ``representative_dataset``): int8 weights, float activations, hybrid kernels.

Walk-through, following what TensorFlow's converter writes (see the corpus's
``mobilenet_v2_035.dynamic.tflite``):

1. Only weights of ops with a hybrid kernel in LiteRT and edgelite are touched
   (``HYBRID``): CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (per channel, along the
   output-channel axis), BATCH_MATMUL's constant right-hand side and the weight matrices
   of UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN and BIDIRECTIONAL_SEQUENCE_LSTM (per tensor).
   Biases, peepholes, layer-norm weights and every activation stay float32.
2. A weight must be a float32 constant with at least ``MIN_ELEMENTS`` (1024, TF's
   ``minimum_elements_for_weights``) elements; smaller ones stay float. Sequence ops are
   all-or-nothing: their hybrid kernels need every weight matrix in int8, so one small
   matrix keeps all of that op's weights float.
3. Weights are symmetric int8 in [-127, 127] with zero point 0; ``scale = max|w| / 127``
   (per channel or per tensor; computed in double, stored as float32, 1.0 for an all-zero
   slice) and ``q = round(w / scale)`` with ties away from zero, as TF rounds.
4. Ops whose options carry ``asymmetric_quantize_inputs`` (FULLY_CONNECTED, BATCH_MATMUL,
   the sequence ops) get it set: their kernels then quantize each input row with its own
   zero point, as TF's converter asks.
5. A constant read by float ops too (or quantized differently by two ops) keeps its float
   tensor for them; each quantized use reads its own int8 copy, so no float reader ever
   sees int8 data.

Op versions are not set here: the converter sets them last, from the final dtypes.
"""

from __future__ import annotations

import copy

import numpy as np

from ..schema import ir

MIN_ELEMENTS = 1024   # TF's minimum_elements_for_weights for dynamic-range weights

_LSTM_WEIGHTS = tuple(range(1, 12)) + (16,)
_BIDI_WEIGHTS = _LSTM_WEIGHTS + tuple(range(18, 29)) + (33,) + tuple(range(40, 48))

# op -> (weight inputs, per-channel axis or None for per-tensor, all-or-nothing)
HYBRID: dict[str, tuple[tuple[int, ...], int | None, bool]] = {
    "CONV_2D": ((1,), 0, False),
    "DEPTHWISE_CONV_2D": ((1,), 3, False),
    "FULLY_CONNECTED": ((1,), 0, False),
    "BATCH_MATMUL": ((1,), None, False),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (_LSTM_WEIGHTS, None, True),
    "BIDIRECTIONAL_SEQUENCE_LSTM": (_BIDI_WEIGHTS, None, True),
    "UNIDIRECTIONAL_SEQUENCE_RNN": ((1, 2), None, True),
}

_ASYMMETRIC_INPUTS = frozenset({
    "FULLY_CONNECTED", "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "BIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN",
})


def _round_away(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (numpy's ``round`` goes half to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def symmetric_int8(data, axis: int | None) -> tuple[np.ndarray, ir.Quantization]:
    """(int8 values, quantization) of float weights ``data``: narrow-range symmetric,
    per channel along ``axis`` or per tensor when ``axis`` is None."""
    w = np.asarray(data, np.float32).astype(np.float64)
    if axis is None:
        peaks = np.array([np.abs(w).max(initial=0.0)])
        shape = [1] * w.ndim
    else:
        peaks = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1,
                                                                                initial=0.0)
        shape = [1] * w.ndim
        shape[axis] = -1
    scales = np.where(peaks > 0, peaks / 127.0, 1.0).astype(np.float32)
    q = _round_away(w / scales.astype(np.float64).reshape(shape))
    q = np.clip(q, -127, 127).astype(np.int8)
    quant = ir.Quantization(scales=scales, zero_points=np.zeros(len(scales), np.int64),
                            axis=0 if axis is None else axis)
    return q, quant


def _is_float_weight(sg: ir.Subgraph, t: int) -> bool:
    if t < 0:
        return False
    tensor = sg.tensors[t]
    return tensor.is_constant and tensor.dtype == np.float32 and tensor.quantization is None


def _planned_uses(sg: ir.Subgraph) -> dict[int, list[tuple[ir.Operator, int, int | None]]]:
    """Constant tensor -> [(op, input position, axis)] of the weights to quantize."""
    uses: dict[int, list] = {}
    for op in sg.operators:
        if op.opcode not in HYBRID:
            continue
        positions, axis, all_or_nothing = HYBRID[op.opcode]
        present = [k for k in positions if k < len(op.inputs) and op.inputs[k] >= 0]
        ok = [k for k in present if _is_float_weight(sg, op.inputs[k])
              and sg.tensors[op.inputs[k]].data.size >= MIN_ELEMENTS]
        if not ok or (all_or_nothing and len(ok) != len(present)):
            continue
        if op.opcode == "BATCH_MATMUL" and sg.tensors[op.inputs[0]].dtype != np.float32:
            continue
        for k in ok:
            uses.setdefault(op.inputs[k], []).append((op, k, axis))
    return uses


def _other_readers(sg: ir.Subgraph, planned: dict) -> dict[int, int]:
    """Tensor -> how many reads of it are not planned for quantization."""
    count: dict[int, int] = {}
    for op in sg.operators:
        for t in op.inputs:
            if t in planned:
                count[t] = count.get(t, 0) + 1
    for t in sg.outputs:
        if t in planned:
            count[t] = count.get(t, 0) + 1
    return {t: n - len(planned[t]) for t, n in count.items()}


def _quantize_subgraph(sg: ir.Subgraph) -> int:
    planned = _planned_uses(sg)
    others = _other_readers(sg, planned)
    quantized = 0
    for t, uses in planned.items():
        original = sg.tensors[t]
        axes = {axis for _, _, axis in uses}
        in_place = others.get(t, 0) == 0 and len(axes) == 1
        made: dict[int | None, int] = {}
        for op, k, axis in uses:
            if axis not in made:
                q, quant = symmetric_int8(original.data, axis)
                tensor = ir.Tensor(original.name, original.shape, np.int8, data=q,
                                   quantization=quant,
                                   shape_signature=original.shape_signature)
                if in_place:
                    sg.tensors[t] = tensor
                    made[axis] = t
                else:
                    tensor.name = f"{original.name}_int8"
                    made[axis] = sg.add_tensor(tensor)
                quantized += 1
            op.inputs[k] = made[axis]
            if op.opcode in _ASYMMETRIC_INPUTS:
                op.options = dict(op.options or {}, asymmetric_quantize_inputs=True)
    return quantized


def quantize_dynamic(model: ir.Model) -> ir.Model:
    """A dynamic-range copy of ``model``: int8 weights for the hybrid ops of every
    subgraph (see the module doc); ``model`` itself is not changed."""
    model = copy.deepcopy(model)
    for sg in model.subgraphs:
        _quantize_subgraph(sg)
    return model
