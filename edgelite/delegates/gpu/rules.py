"""The GPU delegate's op table: op name -> (check, lower), one greppable place.

``check(op, inputs, outputs)`` sees TensorSpecs and says whether this instance can run
(beyond the common rule in ``delegate.py``: float32 in and out); ``lower(L, op)`` emits
the op's dispatches through a :class:`~.program.Lowering`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ops_elementwise as ew
from . import ops_layout as lay
from . import ops_matmul as mm
from . import ops_reduce as red


@dataclass(frozen=True)
class Rule:
    check: Callable
    lower: Callable


BUILTIN_RULES: dict[str, Rule] = {
    "CONV_2D": Rule(mm.check_conv, mm.lower_conv),
    "DEPTHWISE_CONV_2D": Rule(mm.check_depthwise, mm.lower_depthwise),
    "FULLY_CONNECTED": Rule(mm.check_fully_connected, mm.lower_fully_connected),
    "BATCH_MATMUL": Rule(mm.check_batch_matmul, mm.lower_batch_matmul),
    "TRANSPOSE_CONV": Rule(mm.check_transpose_conv, mm.lower_transpose_conv),
    **{name: Rule(ew.check_binary, ew.lower_binary) for name in ew._BINARY},
    **{name: Rule(ew.check_unary, ew.lower_unary)
       for name in (*ew._UNARY, "LEAKY_RELU", "GELU")},
    "PRELU": Rule(ew.check_prelu, ew.lower_prelu),
    "DEQUANTIZE": Rule(ew.check_dequantize, ew.lower_dequantize),
    "AVERAGE_POOL_2D": Rule(red.check_pool, red.lower_pool),
    "MAX_POOL_2D": Rule(red.check_pool, red.lower_pool),
    **{name: Rule(red.check_reduce, red.lower_reduce) for name in red._REDUCE},
    "SOFTMAX": Rule(red.check_softmax, red.lower_softmax),
    "LOG_SOFTMAX": Rule(red.check_softmax, red.lower_softmax),
    **{name: Rule(lay.check_copy, lay.lower_copy) for name in lay._COPIES},
    **{name: Rule(lay.check_table, lay.lower_table) for name in lay.TABLE_OPS},
    "RESIZE_BILINEAR": Rule(lay.check_bilinear, lay.lower_bilinear),
}

CUSTOM_RULES: dict[str, Rule] = {
    "Convolution2DTransposeBias": Rule(mm.check_transpose_conv_bias,
                                       mm.lower_transpose_conv_bias),
}


def rule_for(op) -> Rule | None:
    return (CUSTOM_RULES if op.custom else BUILTIN_RULES).get(op.opcode)
