"""Which ops full-integer quantization turns into integer ops, and under what constraints
(TFLite's int8 quantization spec, as LiteRT's integer kernels require it).

* ``WEIGHTED``: ops with a weight (per-channel symmetric int8, zero point 0, on the given
  axis) and an optional int32 bias (scale = input scale x weight scale):
  op -> (weight input, weight axis, bias input).
* ``FIXED_OUTPUT``: the output's (scale, zero point) is fixed by the kernel.
* ``SAME_SCALE``: the listed float inputs and the outputs share one (scale, zero point),
  as the integer kernels pass values through unchanged.
* ``FREE``: integer kernels with their own output scale; every float input is quantized
  with its own range.
Ops in none of these stay float, between DEQUANTIZE and QUANTIZE.
"""

from __future__ import annotations

WEIGHTED = {
    "CONV_2D": (1, 0, 2),
    "DEPTHWISE_CONV_2D": (1, 3, 2),
    "FULLY_CONNECTED": (1, 0, 2),
}

FIXED_OUTPUT = {
    "LOGISTIC": (1 / 256, -128),
    "SOFTMAX": (1 / 256, -128),
    "TANH": (1 / 128, 0),
    "LOG_SOFTMAX": (16 / 256, 127),
    "L2_NORMALIZATION": (1 / 128, 0),
}

# op -> indices of the inputs that share the output's parameters (None: all inputs)
SAME_SCALE = {
    "RESHAPE": (0,), "SQUEEZE": (0,), "EXPAND_DIMS": (0,), "TRANSPOSE": (0,),
    "MAX_POOL_2D": (0,), "AVERAGE_POOL_2D": (0,), "PAD": (0,), "PADV2": (0, 2),
    "MIRROR_PAD": (0,), "SLICE": (0,), "STRIDED_SLICE": (0,), "GATHER": (0,),
    "GATHER_ND": (0,), "SPLIT": (1,), "SPLIT_V": (0,), "DEPTH_TO_SPACE": (0,),
    "SPACE_TO_DEPTH": (0,), "BATCH_TO_SPACE_ND": (0,), "SPACE_TO_BATCH_ND": (0,),
    "RESIZE_NEAREST_NEIGHBOR": (0,), "RESIZE_BILINEAR": (0,), "TILE": (0,),
    "BROADCAST_TO": (0,), "CONCATENATION": None, "PACK": None, "UNPACK": (0,),
    "MAXIMUM": None, "MINIMUM": None, "REDUCE_MAX": (0,), "REDUCE_MIN": (0,),
}

FREE = frozenset({
    "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MEAN", "SUM", "RELU", "RELU6",
    "RELU_N1_TO_1", "LEAKY_RELU", "HARD_SWISH", "ELU", "GELU", "PRELU", "BATCH_MATMUL",
})


# the 16x8 scheme: int16 activations (zero point 0) where LiteRT has int16 kernels
FIXED_OUTPUT16 = {
    "LOGISTIC": (1 / 32768, 0),
    "TANH": (1 / 32768, 0),
    "SOFTMAX": (1 / 32768, 0),
}

_NO_INT16 = frozenset({"SQUARED_DIFFERENCE", "HARD_SWISH", "ELU", "PRELU", "LOG_SOFTMAX",
                       "L2_NORMALIZATION", "SUM", "BATCH_MATMUL", "RELU_N1_TO_1", "GATHER_ND",
                       "MIRROR_PAD", "SPLIT_V", "REDUCE_MIN", "UNPACK"})


def integer_op16(opcode: str) -> bool:
    return integer_op(opcode) and opcode not in _NO_INT16


def integer_op(opcode: str) -> bool:
    return (opcode in WEIGHTED or opcode in FIXED_OUTPUT or opcode in SAME_SCALE
            or opcode in FREE)
