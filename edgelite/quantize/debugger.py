"""The quantization debugger: where a quantized model departs from its float original.

Both models run in edgelite's interpreter on the same samples with every tensor kept;
each quantized activation (int8/int16 with a scale) is dequantized and compared with the
float tensor of the same name (the quantizer keeps names): SQNR and MSE over all
samples. ``worst_ops`` names the integer ops whose own output loses the most against
their inputs, for selective quantization (``Converter.quantize_denylist``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..schema import read


@dataclass
class TensorReport:
    name: str
    opcode: str            # the op that writes the tensor in the quantized model
    op_index: int
    sqnr_db: float
    mse: float
    scale: float


def _run_all(blob: bytes, samples: list) -> list[dict[str, np.ndarray]]:
    from ..interpreter import Interpreter
    from .calibrate import _feeds

    interp = Interpreter(model_content=blob, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    details = interp.get_input_details()
    runs = []
    for sample in samples:
        for d, x in zip(details, _feeds_for(sample, details, _feeds)):
            interp.set_tensor(d["index"], x)
        interp.invoke()
        values = {}
        for d in interp.get_tensor_details():
            try:
                values[d["name"]] = np.array(interp.get_tensor(d["index"]))
            except ValueError:
                continue
        runs.append(values)
    return runs


def _feeds_for(sample, details, feeds):
    """A float sample for a model whose inputs may be integer: quantized as it expects."""
    out = []
    for x, d in zip(feeds(sample, [{**d, "dtype": np.float32} for d in details]), details):
        if np.dtype(d["dtype"]).kind in "iu" and d["quantization"][0]:
            scale, zp = d["quantization"]
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / scale) + zp, info.min, info.max)
        out.append(np.asarray(x, d["dtype"]))
    return out


def compare(float_blob: bytes, quant_blob: bytes, samples: Iterable) -> list[TensorReport]:
    """Per quantized activation tensor, its error against the float model, worst first."""
    samples = list(samples)
    if not samples:
        raise ValueError("the debugger needs at least one sample")
    want, got = _run_all(float_blob, samples), _run_all(quant_blob, samples)
    sg = read(quant_blob).subgraphs[0]
    writer = {o: (k, op.opcode) for k, op in enumerate(sg.operators) for o in op.outputs}
    reports = []
    for index, t in enumerate(sg.tensors):
        q = t.quantization
        if t.is_constant or t.dtype not in (np.int8, np.int16) or q is None \
                or len(q.scales) != 1 or index not in writer:
            continue
        # the quantizer renames a graph input/output's integer tensor "<name>_int8"
        name = t.name if t.name in want[0] else t.name.removesuffix("_int8")
        if any(name not in w for w in want):
            continue
        signal = noise = 0.0
        for w, g in zip(want, got):
            ref = w[name].astype(np.float64)
            deq = (g[t.name].astype(np.float64) - int(q.zero_points[0])) * float(q.scales[0])
            if ref.shape != deq.shape:
                break
            signal += float(np.sum(ref ** 2))
            noise += float(np.sum((ref - deq) ** 2))
        else:
            count = sum(w[name].size for w in want)
            sqnr = np.inf if noise == 0 else 10 * np.log10(max(signal, 1e-30) / noise)
            k, opcode = writer[index]
            reports.append(TensorReport(t.name, opcode, k, float(sqnr), noise / count,
                                        float(q.scales[0])))
    return sorted(reports, key=lambda r: r.sqnr_db)


def worst_ops(reports: list[TensorReport], count: int) -> list[str]:
    """Output tensor names of the ``count`` computing ops (data movement excluded) with
    the lowest output SQNR: candidates to keep in float."""
    movement = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "QUANTIZE", "GATHER",
                "STRIDED_SLICE", "SLICE", "CONCATENATION", "PAD", "MAX_POOL_2D"}
    picked = [r.name for r in reports if r.opcode not in movement]
    return picked[:count]


def format_report(reports: list[TensorReport], top: int | None = None) -> str:
    rows = reports if top is None else reports[:top]
    lines = [f"{'SQNR dB':>8}  {'MSE':>10}  {'scale':>10}  op  tensor"]
    for r in rows:
        lines.append(f"{r.sqnr_db:8.2f}  {r.mse:10.3g}  {r.scale:10.3g}  "
                     f"{r.op_index}:{r.opcode}  {r.name}")
    return "\n".join(lines)
