"""edgelite.converter: framework models -> .tflite (see ../shared/DESIGN.md)."""

from .api import Converter, Optimize, OpsSet, TargetSpec
from .errors import ConversionError, UnsupportedOpsError, UnsupportedPartsError

__all__ = ["ConversionError", "Converter", "Optimize", "OpsSet", "TargetSpec",
           "UnsupportedOpsError", "UnsupportedPartsError"]
