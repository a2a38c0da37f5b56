"""Which ``OperatorCode.version`` each builtin op needs, as one table.

The rules restate LiteRT's versioning (``GetBuiltinOperatorVersion`` in
``tflite/converter/tools/versioning/op_version.cc``): a version number records the first
runtime release whose kernel understood a feature, so an op gets the *lowest* version
whose kernel covers the dtypes, quantization scheme and options it uses.

Reading the table: ``RULES[op]`` is a list of ``(condition, version)`` pairs tried in
order; the first condition that holds gives the version, and an op whose conditions all
fail (or that has no entry) is version 1. The order is LiteRT's, which is not always
by version: a later, higher-numbered feature is often tested first because it implies
an earlier one. Conditions are small predicates over an :class:`~.versions.OpSignature`
built from the combinators below.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Cond = Callable[["OpSignature"], bool]  # noqa: F821 (duck-typed; see versions.py)
Rule = tuple[Cond, int]

FLOAT8 = ("FLOAT8_E4M3FN", "FLOAT8_E5M2")


# --------------------------------------------------------------------- combinators
def always(_sig) -> bool:
    return True


def in_is(i: int, *types: str) -> Cond:
    """Input ``i`` has one of ``types`` (an omitted or missing input has none)."""
    return lambda s: s.in_type(i) in types


def out_is(i: int, *types: str) -> Cond:
    return lambda s: s.out_type(i) in types


def io(first: str, second: str, out: str) -> Cond:
    """Inputs 0 and 1 and output 0 have exactly these types."""
    return lambda s: (s.in_type(0), s.in_type(1), s.out_type(0)) == (first, second, out)


def io_at(first: str, weight_pos: int, weight: str, out: str) -> Cond:
    """Like :func:`io`, with the weight at input ``weight_pos`` (LSTMs keep it at 2)."""
    return lambda s: (s.in_type(0), s.in_type(weight_pos), s.out_type(0)) == \
        (first, weight, out)


def opt(name: str, default=False, test: Callable = bool) -> Cond:
    """An option, with the schema default for a field the options dict leaves out."""
    return lambda s: bool(test(s.options.get(name, default)))


def both(*conds: Cond) -> Cond:
    return lambda s: all(c(s) for c in conds)


def either(*conds: Cond) -> Cond:
    return lambda s: any(c(s) for c in conds)


def negate(cond: Cond) -> Cond:
    return lambda s: not cond(s)


def rank_above(n: int, i: int = 0) -> Cond:
    return lambda s: s.in_rank(i) > n


def broadcast_above_4d(s) -> bool:
    """Two inputs of different shapes, the larger above rank 4 (the N-d broadcast kernel)."""
    if s.in_count < 2 or s.in_shape(0) == s.in_shape(1):
        return False
    return max(s.in_rank(i) for i in range(s.in_count)) > 4


def input_quantized(*positions: int) -> Cond:
    """Any of these inputs carries quantization parameters (a quantized int16 tensor is
    not the same feature as plain int16 arithmetic)."""
    return lambda s: any(s.in_quant(i) is not None for i in positions)


def scales_match(tensor: str, pos: int, dim, *, at_least: int = 1) -> Cond:
    """Per-channel quantization, as LiteRT's signature reads it: the tensor has at least
    ``at_least`` scales and exactly as many as its dimension ``dim`` (an int, or "axis"
    for the tensor's own quantized dimension)."""
    def cond(s) -> bool:
        t = s.tensor(tensor, pos)
        if t is None or t.quantization is None:
            return False
        n = len(t.quantization.scales)
        d = t.quantization.axis if dim == "axis" else dim
        if n < at_least or not 0 <= d < len(t.shape):
            return False
        return n == t.shape[d]
    return cond


def grouped_conv(s) -> bool:
    x, w = s.tensor("in", 0), s.tensor("in", 1)
    if x is None or w is None or len(x.shape) < 4 or len(w.shape) < 4:
        return False
    return x.shape[3] != w.shape[3]


def mul_rescale_at_least_one(s) -> bool:
    """Quantized MUL whose ``in1_scale * in2_scale / out_scale`` is >= 1 (float32 math)."""
    quants = [s.in_quant(0), s.in_quant(1), s.out_quant(0)]
    if any(q is None or len(q.scales) == 0 for q in quants):
        return False
    a, b, c = (np.float32(q.scales[0]) for q in quants)
    if a == 0 or b == 0 or c == 0:
        return False
    return bool(a * b / c >= np.float32(1.0))


def bias_type_set(s) -> bool:
    """``quantized_bias_type`` names a type (the schema default FLOAT32 means unset)."""
    return s.options.get("quantized_bias_type", "FLOAT32") not in ("FLOAT32", None, 0)


def sparse_weights(s) -> bool:
    w = s.tensor("in", 1)
    return w is not None and w.sparsity is not None


HYBRID = io("FLOAT32", "INT8", "FLOAT32")          # float activations, int8 weights
ASYMMETRIC = opt("asymmetric_quantize_inputs")
INT16_IO = both(in_is(0, "INT16"), out_is(0, "INT16"))


def by_input0(*pairs: tuple[tuple[str, ...] | str, int]) -> list[Rule]:
    """Rules that look only at input 0's type: ``(types, version)`` pairs."""
    rules = []
    for types, version in pairs:
        types = (types,) if isinstance(types, str) else types
        rules.append((in_is(0, *types), version))
    return rules


def hybrid_rnn(weight_pos: int = 1) -> list[Rule]:
    """Recurrent ops: int8 weights with float output is hybrid (v2), v3 if asymmetric."""
    hybrid = both(in_is(weight_pos, "INT8"), out_is(0, "FLOAT32"))
    return [(both(hybrid, ASYMMETRIC), 3), (hybrid, 2)]


_I16_3_I8_2 = by_input0(("INT16", 3), ("INT8", 2))
_I8_2 = by_input0(("INT8", 2))
_I8_I16_2 = by_input0((("INT8", "INT16"), 2))
_POOL = [(INT16_IO, 3), (in_is(0, "INT8"), 2)]
_MIN_MAX = [(INT16_IO, 4), (broadcast_above_4d, 3), (in_is(0, "INT8"), 2)]
_PAD = by_input0((FLOAT8, 6), ("BOOL", 5)) + [(rank_above(4), 4)] + _I16_3_I8_2
_SPACE_BATCH = [(in_is(0, "INT16"), 4), (lambda s: s.in_rank(0) != 4, 3),
                (in_is(0, "INT8"), 2)]
_RESIZE_FLAGS = {"RESIZE_BILINEAR": opt("half_pixel_centers"),
                 "RESIZE_NEAREST_NEIGHBOR": either(opt("half_pixel_centers"),
                                                   opt("align_corners"))}


def _resize(op: str) -> list[Rule]:
    return [(in_is(0, "INT16"), 4), (_RESIZE_FLAGS[op], 3), (in_is(0, "INT8"), 2)]


def _cast_rules() -> list[Rule]:
    def touches(*types: str) -> Cond:
        return either(in_is(0, *types), out_is(0, *types))
    return [(touches(*FLOAT8), 9), (touches("INT2", "UINT4"), 8), (touches("BFLOAT16"), 7),
            (both(in_is(0, "INT4"), out_is(0, "FLOAT32")), 6),
            (touches("FLOAT64", "FLOAT16"), 5), (touches("UINT16"), 4), (touches("INT8"), 3),
            (touches("UINT32"), 2)]


RULES: dict[str, list[Rule]] = {
    "CONV_2D": [
        (both(io("INT16", "INT8", "INT16"), bias_type_set), 8),
        (grouped_conv, 6),
        # int16 filters too (LiteRT reads output 1 here, which a conv lacks; output 0 is
        # what the rule means)
        (io("INT16", "INT16", "INT16"), 4),
        (io("INT8", "INT8", "INT8"), 3),
        (io("INT8", "INT4", "INT8"), 7),
        (both(HYBRID, scales_match("in", 1, 0)), 5),
        (HYBRID, 2),
    ],
    "DEPTHWISE_CONV_2D": [
        (io("INT16", "INT16", "INT16"), 5),
        (both(HYBRID, scales_match("in", 1, 3)), 6),
        (HYBRID, 4),
        (io("INT8", "INT8", "INT8"), 3),
        (io("INT8", "INT4", "INT8"), 7),
        (either(opt("dilation_w_factor", 1, lambda v: v != 1),
                opt("dilation_h_factor", 1, lambda v: v != 1)), 2),
    ],
    "FULLY_CONNECTED": [
        (in_is(1, "INT2"), 14),
        (io("INT16", "INT4", "INT16"), 13),
        (both(HYBRID, scales_match("in", 1, 0)), 12),
        (both(io("INT16", "INT8", "INT16"), bias_type_set), 11),
        (sparse_weights, 8),
        (io("INT16", "INT16", "INT16"), 7),
        (lambda s: s.in_count == 2, 6),             # no bias slot at all
        (opt("keep_num_dims"), 5),
        (io("INT8", "INT8", "INT8"), 4),
        (io("INT8", "INT4", "INT8"), 10),
        (both(HYBRID, ASYMMETRIC), 9),
        (HYBRID, 3),
        (opt("weights_format", "DEFAULT", lambda v: v == "SHUFFLED4x16INT8"), 2),
    ],
    "TRANSPOSE_CONV": [
        # input 0 is the output-shape vector, so this int16 test only fires on hand-built
        # signatures; kept as LiteRT states it
        (both(io("INT16", "INT8", "INT16"), bias_type_set), 5),
        (opt("fused_activation_function", "NONE", lambda v: v not in ("NONE", None, 0)), 4),
        (lambda s: s.in_count == 4 and s.in_type(3) is not None, 3),
        (in_is(1, "INT8"), 2),
    ],
    "EMBEDDING_LOOKUP": [(either(in_is(1, "INT4"), scales_match("in", 1, 0, at_least=2)), 4),
                         (in_is(1, "INT2"), 5)],
    "FAKE_QUANT": [(opt("narrow_range"), 2)],
    "SVDF": [(in_is(0, "INT8"), 3), (both(HYBRID, ASYMMETRIC), 4), (HYBRID, 2)],
    "LSTM": [
        (both(opt("kernel_type", "FULL", lambda v: v == "FULL"),
              io_at("INT16", 2, "INT8", "INT16")), 5),
        (both(opt("kernel_type", "FULL", lambda v: v == "FULL"),
              io_at("FLOAT32", 2, "INT8", "FLOAT32"), ASYMMETRIC), 4),
        (both(opt("kernel_type", "FULL", lambda v: v == "FULL"),
              io_at("FLOAT32", 2, "INT8", "FLOAT32")), 3),
        (opt("kernel_type", "FULL", lambda v: v == "BASIC"), 2),
    ],
    "UNIDIRECTIONAL_SEQUENCE_LSTM": [
        (io_at("INT16", 2, "INT8", "INT16"), 5),
        (opt("diagonal_recurrent_tensors"), 4),
        (both(io_at("FLOAT32", 2, "INT8", "FLOAT32"), ASYMMETRIC), 3),
        (io_at("FLOAT32", 2, "INT8", "FLOAT32"), 2),
    ],
    "RNN": hybrid_rnn(),
    "UNIDIRECTIONAL_SEQUENCE_RNN": hybrid_rnn(),
    "BIDIRECTIONAL_SEQUENCE_RNN": hybrid_rnn(),
    "BIDIRECTIONAL_SEQUENCE_LSTM": hybrid_rnn(),
    "ADD": [
        (in_is(0, "FLOAT16"), 6),
        (both(in_is(0, "INT16"), negate(input_quantized(0))), 5),
        (in_is(0, "INT64"), 4),
        (both(INT16_IO, negate(opt("pot_scale_int16", True))), 3),
        (in_is(0, "INT8"), 2),
    ],
    "SUB": [
        (both(INT16_IO, negate(opt("pot_scale_int16", True))), 5),
        (in_is(0, "INT64"), 4),
        (broadcast_above_4d, 3),
        (in_is(0, "INT8"), 2),
    ],
    "MUL": [
        (in_is(0, "FLOAT16"), 8),
        (either(both(in_is(0, "INT16"), negate(input_quantized(0, 1))), in_is(0, "UINT32")), 7),
        *by_input0(("COMPLEX64", 6), ("INT64", 5), ("INT16", 4)),
        (mul_rescale_at_least_one, 3),
        (in_is(0, "INT8"), 2),
    ],
    "DIV": [(broadcast_above_4d, 2)],
    "MAXIMUM": _MIN_MAX,
    "MINIMUM": _MIN_MAX,
    "MAX_POOL_2D": _POOL,
    "AVERAGE_POOL_2D": _POOL,
    "TANH": _POOL,
    "LOGISTIC": _POOL,
    "TRANSPOSE": [
        (in_is(0, "FLOAT16"), 9),
        (either(rank_above(6), in_is(0, "BFLOAT16")), 8),
        (in_is(0, "INT4"), 7),
        (rank_above(5), 6),
        (in_is(0, "INT16"), 5),
        (rank_above(4), 4),
        *by_input0(("BOOL", 3), ("INT8", 2)),
    ],
    "GATHER": [
        *by_input0((FLOAT8, 8), ("INT4", 7)),
        (in_is(1, "INT16"), 6),
        (opt("batch_dims", 0, lambda v: v != 0), 5),
        *by_input0(("INT16", 4), ("BOOL", 3), ("INT8", 2)),
    ],
    "GATHER_ND": [*by_input0((FLOAT8, 6), ("BOOL", 5)), (in_is(1, "INT16"), 4),
                  *by_input0(("INT16", 3), ("STRING", 2))],
    "SPLIT": [(in_is(1, *FLOAT8), 5), (in_is(1, "INT16"), 4), (in_is(1, "INT32"), 3),
              (in_is(1, "INT8"), 2)],             # input 0 is the axis
    "SPLIT_V": by_input0((FLOAT8, 3), ("INT8", 2)),
    "SPARSE_TO_DENSE": [(in_is(2, "INT8", "UINT8"), 3), (in_is(2, "INT64"), 2)],
    "SLICE": [*by_input0(("FLOAT16", 8), ("INT4", 7), ("UINT32", 6)), (rank_above(4), 5),
              *by_input0(("INT16", 4), ("STRING", 3), ("INT8", 2))],
    "STRIDED_SLICE": [
        (opt("offset"), 8),
        (in_is(0, "UINT32"), 7),
        (either(opt("ellipsis_mask", 0), opt("new_axis_mask", 0)), 6),
        (in_is(0, "STRING"), 5),
        (rank_above(4), 4),
        *by_input0(("BOOL", 3), ("INT8", 2)),
    ],
    "PACK": [*by_input0((FLOAT8, 5), ("INT8", 2)), (INT16_IO, 3), (in_is(0, "UINT32"), 4)],
    "UNPACK": [*by_input0((FLOAT8, 6), (("INT8", "UINT8"), 2), ("BOOL", 3)), (INT16_IO, 4),
               (in_is(0, "FLOAT16", "BFLOAT16"), 5)],
    "DEQUANTIZE": [
        *by_input0((FLOAT8, 9), ("UINT4", 8), ("INT2", 7), ("INT4", 6), (("INT16", "FLOAT16"), 3)),
        (both(in_is(0, "INT8"), scales_match("in", 0, "axis", at_least=2)), 5),
        (in_is(0, "INT8"), 2),
    ],
    "QUANTIZE": [
        (either(in_is(0, "UINT4"), out_is(0, "UINT4")), 5),
        (either(in_is(0, "INT4"), out_is(0, "INT4")), 4),
        (scales_match("out", 0, "axis", at_least=2), 3),
        (out_is(0, "INT16"), 2),
    ],
    "FLOOR_DIV": by_input0((("INT16", "INT8"), 3), ("FLOAT32", 2)),
    "FLOOR_MOD": by_input0((("INT16", "INT8"), 2)),
    "L2_NORMALIZATION": [(out_is(0, "INT8"), 2)],
    "ABS": [(in_is(0, "INT32"), 5), (both(in_is(0, "INT16"), input_quantized(0)), 3),
            *by_input0(("INT16", 4), (("INT8", "UINT8"), 2))],
    "RELU": by_input0(("INT16", 3), (("INT8", "UINT8"), 2)),
    "REVERSE_V2": by_input0((FLOAT8, 4), ("INT8", 3), ("BOOL", 2)),
    "RESIZE_BILINEAR": _resize("RESIZE_BILINEAR"),
    "RESIZE_NEAREST_NEIGHBOR": _resize("RESIZE_NEAREST_NEIGHBOR"),
    "TILE": by_input0(("INT8", 3), ("STRING", 2)),
    "SQUEEZE": by_input0(("STRING", 2)),
    "SPACE_TO_BATCH_ND": _SPACE_BATCH,
    "BATCH_TO_SPACE_ND": _SPACE_BATCH,
    "FILL": [(in_is(1, *FLOAT8), 5), (in_is(1, "FLOAT16"), 4), (in_is(1, "INT8", "INT16"), 3),
             (in_is(1, "BOOL", "STRING"), 2)],   # input 1 is the value
    "EQUAL": by_input0(("INT16", 5), ("STRING", 3), ("INT8", 2)),
    "NOT_EQUAL": by_input0(("INT16", 4), ("STRING", 3), ("INT8", 2)),
    "LESS": _I16_3_I8_2,
    "GREATER_EQUAL": _I16_3_I8_2,
    "LEAKY_RELU": by_input0(("INT16", 2)),
    "RANGE": by_input0(("INT64", 2)),
    "BATCH_MATMUL": [*_I16_3_I8_2, (both(HYBRID, ASYMMETRIC), 4)],
    "PAD": _PAD,
    "PADV2": _PAD,
    "CONCATENATION": by_input0((FLOAT8, 7), ("FLOAT16", 6), ("INT4", 5), ("UINT32", 4),
                               ("INT16", 3), ("INT8", 2)),
    "SOFTMAX": by_input0(("FLOAT16", 4), ("INT16", 3), ("INT8", 2)),
    **{op: _I16_3_I8_2 for op in ("MEAN", "MIRROR_PAD", "REDUCE_MAX", "REDUCE_MIN", "RELU6",
                                  "RSQRT")},
    "ARG_MAX": by_input0(("BOOL", 3), ("INT8", 2)),
    "ARG_MIN": by_input0(("BOOL", 3), ("INT8", 2)),
    # input 0 is the condition: only UINT32 and rank 5 matter in practice
    "SELECT": [(in_is(0, "UINT32"), 4),
               (lambda s: any(s.in_rank(i) == 5 for i in range(min(3, s.in_count))), 3),
               (in_is(0, "INT8"), 2)],
    "SELECT_V2": by_input0(("UINT32", 2)),
    **{op: _I8_2 for op in ("SPACE_TO_DEPTH", "SUM", "LOG_SOFTMAX", "GREATER", "LESS_EQUAL",
                            "SQUARED_DIFFERENCE", "DEPTH_TO_SPACE")},
    "TOPK_V2": [(either(in_is(0, "INT16"), in_is(1, "INT16"), out_is(1, "INT16")), 3),
                (in_is(0, "INT8"), 2)],
    **{op: _I8_I16_2 for op in ("EXP", "LOG", "REDUCE_PROD", "SQRT")},
    "DYNAMIC_UPDATE_SLICE": [*by_input0(("BFLOAT16", 6), ("INT4", 5), ("INT16", 4),
                                        ("FLOAT16", 3)), (in_is(2, "INT64"), 2)],
    # version 1 of BROADCAST_TO was withdrawn: the op starts at 2
    "BROADCAST_TO": [*by_input0((FLOAT8, 4), (("INT8", "INT16"), 3)), (always, 2)],
    "CAST": _cast_rules(),
    "WHERE": [(in_is(0, "BOOL"), 1), (always, 2)],
    "GELU": by_input0(("FLOAT16", 3), (("INT8", "UINT8"), 2)),
    "SIGN": by_input0(("INT32", 2)),
    "SIN": by_input0(("FLOAT16", 2)),
    "COS": by_input0(("FLOAT16", 2)),
}

# Versions the rules name that LiteRT's own runtime does not register (its register.cc
# stops below them), so a file carrying them is refused at load: cap to what loads. The
# kernel behind every registered version is the same one.
RUNTIME_MAX = {"UNIDIRECTIONAL_SEQUENCE_LSTM": 4}
