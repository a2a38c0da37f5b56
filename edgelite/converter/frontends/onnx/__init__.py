"""The ONNX frontend: :func:`lower` turns an ``onnx.ModelProto`` into the edgelite IR."""

from .frontend import lower

__all__ = ["lower"]
