"""TFLite schema v3 (``TFL3``): the wire format, the edgelite IR, and read/write/verify.

``read(path | bytes | memoryview) -> ir.Model`` (zero-copy constants),
``write(ir.Model) -> bytes``, ``verify(model_or_bytes)``; malformed input raises
:class:`SchemaError` (a ``ValueError``) naming the part at fault.
"""

from . import ir
from .errors import SchemaError
from .reader import read
from .verify import verify

__all__ = ["SchemaError", "ir", "read", "verify", "write"]


def __getattr__(name: str):
    # the writer (~8 ms of import) only when something writes: an interpreter never does
    if name == "write":
        from .writer import write
        return write
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
