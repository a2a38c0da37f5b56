"""The edgelite interpreter: a drop-in for LiteRT's Python ``Interpreter``."""

from ..kernels.api import PrepareError
from .delegate import Delegate, load_delegate
from .interpreter import Interpreter, OpResolverType
from .resolver import OpResolver
from .signature import SignatureRunner

__all__ = ["Delegate", "Interpreter", "OpResolver", "OpResolverType", "PrepareError",
           "SignatureRunner", "load_delegate"]
