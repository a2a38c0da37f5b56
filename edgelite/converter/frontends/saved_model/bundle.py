"""The variables bundle of a SavedModel / checkpoint: ``variables.index`` and the data
shards ``variables.data-SSSSS-of-NNNNN``.

The index is a LevelDB-format table (TF's ``lib/io/table``), written uncompressed:
  - a 48-byte footer at the end: the metaindex and index block handles (two varints
    each, offset and size), zero padding to 40 bytes, then the 8-byte magic number;
  - each block is followed by a 5-byte trailer (compression type, crc32c);
  - a block holds entries ``shared, unshared, value_len`` (varints), the key's
    unshared suffix and the value, keys prefix-compressed against the previous key,
    then a restart array (uint32s) and its length (uint32);
  - the index block maps each data block's last key to that block's handle.
Key ``""`` holds the BundleHeaderProto; every other key is a tensor name whose value is a
BundleEntryProto (dtype, shape, shard_id, offset, size). Numeric tensors are the raw
little-endian bytes at ``offset`` in their shard; a string tensor is its elements'
lengths (varints), a 4-byte checksum of them, then the bytes.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ...errors import ConversionError
from . import messages
from .wire import fields, first, varint

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48


def _handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = varint(buf, pos)
    size, pos = varint(buf, pos)
    return offset, size, pos


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    if offset + size + 5 > len(data):
        raise ConversionError("variables.index: a block lies past the end of the file")
    if data[offset + size] != 0:
        raise ConversionError("variables.index: compressed table blocks are not supported")
    block = data[offset:offset + size]
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = varint(block, pos)
        unshared, pos = varint(block, pos)
        vlen, pos = varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + vlen]))
        pos += vlen
    return entries


def read_table(path: str) -> dict[bytes, bytes]:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < _FOOTER:
        raise ConversionError(f"{path}: too short for a table")
    footer = data[-_FOOTER:]
    if struct.unpack("<Q", footer[-8:])[0] != _MAGIC:
        raise ConversionError(f"{path}: not a TF table (bad magic number)")
    _, _, pos = _handle(footer, 0)                 # metaindex: unused
    index_off, index_size, _ = _handle(footer, pos)
    out = {}
    for _, handle in _block(data, index_off, index_size):
        off, size, _ = _handle(handle, 0)
        out.update(_block(data, off, size))
    return out


class Bundle:
    """Tensors by checkpoint key, read on demand from the data shards."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        table = read_table(prefix + ".index")
        header = fields(table.pop(b"", b""))
        self.num_shards = first(header, 1, 1)
        self.entries = {k.decode(): fields(v) for k, v in table.items()}
        self._shards: dict[int, np.memmap] = {}

    def _shard(self, k: int):
        if k not in self._shards:
            path = f"{self.prefix}.data-{k:05d}-of-{self.num_shards:05d}"
            if not os.path.exists(path):
                raise ConversionError(f"variables shard {path} is missing")
            self._shards[k] = np.memmap(path, np.uint8, "r") if os.path.getsize(path) \
                else np.zeros(0, np.uint8)
        return self._shards[k]

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> np.ndarray:
        e = self.entries.get(key)
        if e is None:
            raise ConversionError(f"the variables bundle has no tensor {key!r}")
        if 7 in e:
            raise ConversionError(f"variable {key!r} is stored in slices (not supported)")
        dt = first(e, 1, 0)
        dims = messages.shape(first(e, 2, b"")) or ()
        raw = bytes(self._shard(first(e, 3, 0))[first(e, 4, 0):first(e, 4, 0) + first(e, 5, 0)])
        if dt == messages.DT_STRING:
            return _strings(raw, dims)
        return np.frombuffer(raw, messages.np_dtype(dt)).reshape(dims).copy()


def _strings(raw: bytes, dims) -> np.ndarray:
    count = int(np.prod(dims)) if dims else 1
    lengths, pos = [], 0
    for _ in range(count):
        n, pos = varint(raw, pos)
        lengths.append(n)
    pos += 4                                        # checksum of the lengths
    out = np.empty(count, object)
    for i, n in enumerate(lengths):
        out[i] = raw[pos:pos + n]
        pos += n
    return out.reshape(dims)
