"""The edgelite IR: a TFLite model as plain Python objects.

Converter frontends lower into it, passes rewrite it, the quantizer annotates it, the
interpreter prepares it and :func:`edgelite.schema.read` / :func:`write` map it to and
from the ``.tflite`` wire format. Operators carry TFLite builtin names and their
options as snake_case dicts with enum members as strings; tensors carry numpy dtypes
and constant data as (read-only, zero-copy where possible) numpy arrays.

Buffers are not part of the IR: a tensor owns its data, and the writer lays buffers
out (deduplicated, aligned) when it serializes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# TensorType name -> numpy dtype. Types numpy lacks are stored in a carrier dtype tagged
# with ``metadata={"tflite_type": name}``; their ``data`` holds the raw bytes as stored
# in the file (e.g. INT4 packs two values per byte, STRING is TFLite's string layout).
_PLAIN = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "UINT8": np.uint8,
    "INT64": np.int64, "BOOL": np.bool_, "INT16": np.int16, "COMPLEX64": np.complex64,
    "INT8": np.int8, "FLOAT64": np.float64, "COMPLEX128": np.complex128,
    "UINT64": np.uint64, "UINT32": np.uint32, "UINT16": np.uint16,
}
_TAGGED = {
    "STRING": np.bytes_, "RESOURCE": np.object_, "VARIANT": np.object_,
    "INT4": np.int8, "UINT4": np.uint8, "INT2": np.int8, "BFLOAT16": np.uint16,
    "FLOAT8_E4M3FN": np.uint8, "FLOAT8_E5M2": np.uint8,
}
# bits per element for packed types; other tagged types have no fixed size to check
PACKED_BITS = {"INT4": 4, "UINT4": 4, "INT2": 2, "BFLOAT16": 16, "FLOAT8_E4M3FN": 8,
               "FLOAT8_E5M2": 8}

_DTYPES = {name: np.dtype(t) for name, t in _PLAIN.items()}
_DTYPES.update({name: np.dtype(t, metadata={"tflite_type": name}) for name, t in _TAGGED.items()})
_BY_DTYPE = {np.dtype(t): name for name, t in _PLAIN.items()}
_BY_DTYPE[np.dtype(np.bytes_)] = "STRING"


def dtype_of(tensor_type: str) -> np.dtype:
    """numpy dtype for a TFLite TensorType name (e.g. ``"INT8"`` -> ``int8``)."""
    return _DTYPES[tensor_type]


def tensor_type_of(dtype) -> str:
    """TFLite TensorType name for a numpy dtype (inverse of :func:`dtype_of`)."""
    dtype = np.dtype(dtype)
    tagged = (dtype.metadata or {}).get("tflite_type")
    if tagged:
        return tagged
    if dtype.kind == "S":
        return "STRING"
    try:
        return _BY_DTYPE[dtype]
    except KeyError:
        raise ValueError(f"no TFLite tensor type for numpy dtype {dtype}") from None


def expected_nbytes(tensor_type: str, shape) -> int | None:
    """Bytes a dense constant of this type and shape occupies; None if not fixed."""
    count = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    if tensor_type in _PLAIN:
        return count * _DTYPES[tensor_type].itemsize
    bits = PACKED_BITS.get(tensor_type)
    return None if bits is None else (count * bits + 7) // 8


@dataclass(eq=False)
class Quantization:
    """Affine quantization: ``real = scale * (q - zero_point)``, per tensor or per axis."""

    scales: np.ndarray                     # float32, 1 or channel-count entries
    zero_points: np.ndarray                # int64, same length as scales
    axis: int = 0                          # TFLite's quantized_dimension
    min: np.ndarray | None = None          # float32 ranges some converters record
    max: np.ndarray | None = None
    details_type: str | None = None        # e.g. "BlockwiseQuantization", "CustomQuantization"
    details: dict | None = None            # that table's fields (see options.decode)

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass(eq=False)
class DimensionMetadata:
    format: str = "DENSE"                  # "DENSE" or "SPARSE_CSR"
    dense_size: int = 0
    array_segments: np.ndarray | None = None   # int32 / uint16 / uint8 (sets the wire type)
    array_indices: np.ndarray | None = None


@dataclass(eq=False)
class Sparsity:
    traversal_order: list[int] = field(default_factory=list)
    block_map: list[int] = field(default_factory=list)
    dim_metadata: list[DimensionMetadata] = field(default_factory=list)


@dataclass(eq=False)
class VariantSubType:
    shape: tuple[int, ...] = ()
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    has_rank: bool = False


@dataclass(eq=False)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None = None         # constant contents (shape-shaped unless packed)
    quantization: Quantization | None = None
    shape_signature: tuple[int, ...] | None = None   # -1 marks a dynamic dimension
    is_variable: bool = False
    sparsity: Sparsity | None = None
    has_rank: bool = False
    variant_tensors: list[VariantSubType] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        if self.shape_signature is not None:
            self.shape_signature = tuple(int(d) for d in self.shape_signature)

    @property
    def is_constant(self) -> bool:
        return self.data is not None and not self.is_variable

    @property
    def tensor_type(self) -> str:
        return tensor_type_of(self.dtype)


@dataclass(eq=False)
class Operator:
    opcode: str                            # builtin name ("CONV_2D") or custom code
    inputs: list[int]                      # tensor indices, -1 = optional input omitted
    outputs: list[int]
    options: dict = field(default_factory=dict)
    version: int = 1
    custom: bool | None = None             # None: custom iff opcode is not a builtin name
    options_type: str | None = None        # options table; None: TFLite's usual one for
    #                                        the opcode; "NONE": write no options table
    custom_options: bytes | None = None    # flexbuffer (or raw) bytes of a custom op
    custom_options_format: str = "FLEXBUFFERS"
    intermediates: list[int] = field(default_factory=list)
    mutating_variable_inputs: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.inputs = [int(i) for i in self.inputs]
        self.outputs = [int(i) for i in self.outputs]


@dataclass(eq=False)
class Subgraph:
    tensors: list[Tensor] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    name: str = ""

    def add_tensor(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1


@dataclass(eq=False)
class SignatureDef:
    key: str
    subgraph_index: int = 0
    inputs: dict[str, int] = field(default_factory=dict)    # name -> tensor index
    outputs: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class Model:
    subgraphs: list[Subgraph] = field(default_factory=list)
    signature_defs: list[SignatureDef] = field(default_factory=list)
    metadata: dict[str, bytes | np.ndarray] = field(default_factory=dict)
    description: str = ""
    version: int = 3
