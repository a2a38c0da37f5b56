"""edgelite: a TensorFlow-Lite-compatible converter, quantizer and interpreter in Python."""

from .converter import Converter, Optimize, OpsSet
from .interpreter import Delegate, Interpreter, OpResolver, OpResolverType, load_delegate

__version__ = "0.1.0"

__all__ = ["Converter", "Delegate", "Interpreter", "OpResolver", "OpResolverType", "Optimize",
           "OpsSet", "load_delegate"]
