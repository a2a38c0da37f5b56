"""Keras 3 ``.keras`` archives and legacy ``.h5`` models -> edgelite IR (no Keras needed)."""

from .frontend import lower

__all__ = ["lower"]
