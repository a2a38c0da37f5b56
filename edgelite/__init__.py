"""edgelite: a TensorFlow-Lite-compatible converter, quantizer and interpreter in Python."""

from .interpreter import Delegate, Interpreter, OpResolver, OpResolverType, load_delegate

__version__ = "0.1.0"

__all__ = ["Delegate", "Interpreter", "OpResolver", "OpResolverType", "load_delegate"]
