"""Conversion errors: one clear message naming the model part at fault."""

from __future__ import annotations


class ConversionError(ValueError):
    """The model cannot be converted; the message names the node (name, op_type)."""


class UnsupportedOpsError(ConversionError):
    """Every node the frontend cannot lower, listed at once."""

    def __init__(self, nodes: list[tuple[str, str, int]]) -> None:
        self.nodes = nodes
        lines = [f"  {name or '<unnamed>'}: {op_type} (opset {opset})"
                 for name, op_type, opset in nodes]
        kinds = sorted({op for _, op, _ in nodes})
        super().__init__(f"{len(nodes)} node(s) use ONNX ops edgelite cannot convert "
                         f"({', '.join(kinds)}):\n" + "\n".join(lines))


class UnsupportedPartsError(ConversionError):
    """Every layer / op a (non-ONNX) frontend cannot lower, listed at once: ``parts`` are
    (name, kind) pairs, ``what`` says what they are ("Keras layer", "TF op")."""

    def __init__(self, what: str, parts: list[tuple[str, str]]) -> None:
        self.parts = parts
        kinds = sorted({kind for _, kind in parts})
        lines = [f"  {name or '<unnamed>'}: {kind}" for name, kind in parts]
        super().__init__(f"{len(parts)} {what}(s) edgelite cannot convert "
                         f"({', '.join(kinds)}):\n" + "\n".join(lines))
