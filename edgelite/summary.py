"""What ``edgelite inspect`` reports about a model, as a dict and as text."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .schema import ir


def _tensor_entry(sg: ir.Subgraph, index: int) -> dict:
    t = sg.tensors[index]
    entry = {"index": index, "name": t.name, "shape": list(t.shape),
             "dtype": t.tensor_type.lower()}
    if t.shape_signature is not None and list(t.shape_signature) != list(t.shape):
        entry["shape_signature"] = list(t.shape_signature)
    q = t.quantization
    if q is not None and len(q.scales):
        if len(q.scales) == 1:
            entry["quantization"] = {"scale": float(q.scales[0]),
                                     "zero_point": int(q.zero_points[0])
                                     if len(q.zero_points) else 0}
        else:
            entry["quantization"] = {"per_channel": len(q.scales), "axis": q.axis}
    return entry


def summarize(model: ir.Model) -> dict:
    """A JSON-ready description: subgraphs, signatures, I/O, op histogram, constants."""
    ops: Counter[str] = Counter()
    const_bytes: Counter[str] = Counter()
    n_tensors = 0
    subgraphs = []
    for s, sg in enumerate(model.subgraphs):
        sg_ops = Counter(op.opcode for op in sg.operators)
        ops.update(sg_ops)
        n_tensors += len(sg.tensors)
        for t in sg.tensors:
            if t.data is not None:
                const_bytes[t.tensor_type.lower()] += int(np.asarray(t.data).nbytes)
        subgraphs.append({
            "index": s, "name": sg.name, "tensors": len(sg.tensors),
            "operators": len(sg.operators),
            "inputs": [_tensor_entry(sg, i) for i in sg.inputs],
            "outputs": [_tensor_entry(sg, i) for i in sg.outputs],
        })
    return {
        "version": model.version,
        "description": model.description,
        "subgraphs": subgraphs,
        "signatures": [{"key": sig.key, "subgraph_index": sig.subgraph_index,
                        "inputs": list(sig.inputs), "outputs": list(sig.outputs)}
                       for sig in model.signature_defs],
        "op_histogram": dict(ops.most_common()),
        "tensor_count": n_tensors,
        "constant_bytes_by_dtype": dict(const_bytes.most_common()),
        "constant_bytes": sum(const_bytes.values()),
        "metadata": sorted(model.metadata),
    }


def _io_line(entry: dict) -> str:
    text = f"    [{entry['index']}] {entry['name']}: {entry['dtype']}{entry['shape']}"
    if "shape_signature" in entry:
        text += f" (signature {entry['shape_signature']})"
    q = entry.get("quantization")
    if q and "scale" in q:
        text += f" scale={q['scale']:.6g} zero_point={q['zero_point']}"
    elif q:
        text += f" per-channel x{q['per_channel']} (axis {q['axis']})"
    return text


def format_summary(info: dict, title: str) -> str:
    lines = [f"{title}: schema v{info['version']}"
             + (f", {info['description']!r}" if info["description"] else "")]
    for sg in info["subgraphs"]:
        lines.append(f"subgraph {sg['index']}{' ' + repr(sg['name']) if sg['name'] else ''}: "
                     f"{sg['operators']} ops, {sg['tensors']} tensors")
        lines.append("  inputs:")
        lines += [_io_line(e) for e in sg["inputs"]]
        lines.append("  outputs:")
        lines += [_io_line(e) for e in sg["outputs"]]
    for sig in info["signatures"]:
        lines.append(f"signature {sig['key']!r} -> subgraph {sig['subgraph_index']}: "
                     f"inputs {sig['inputs']}, outputs {sig['outputs']}")
    lines.append(f"operators ({sum(info['op_histogram'].values())}):")
    width = max((len(k) for k in info["op_histogram"]), default=0)
    lines += [f"  {name:<{width}}  {count}" for name, count in info["op_histogram"].items()]
    lines.append(f"tensors: {info['tensor_count']}")
    lines.append(f"constants: {info['constant_bytes']:,} bytes")
    lines += [f"  {dtype:<9} {n:,}" for dtype, n in info["constant_bytes_by_dtype"].items()]
    if info["metadata"]:
        lines.append(f"metadata: {', '.join(info['metadata'])}")
    return "\n".join(lines)
