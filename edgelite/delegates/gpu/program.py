"""One delegated partition, compiled: WGSL dispatches, a planned GPU arena, one run().

Building (``build``) walks the partition's ops in order and asks each op's lowering
(``ops.RULES``) for its dispatches through a :class:`Lowering`. A lowering reads tensors
with ``L.load(t, index)`` and writes them with ``L.store(t, index, value)``; these return
WGSL text and record which tensors each dispatch touches. Constants go into ``W`` once
(converted to the storage type), index tables into ``IX``. Then:

1. every non-constant tensor gets a lifetime in dispatches (partition inputs live from
   the start, partition outputs to the end) and an offset in one arena buffer, planned
   by the interpreter's greedy planner, so tensors that are never alive together share
   memory exactly as on the CPU (in fp16 mode the tensors ``storage.wide_tensors``
   keeps f32 are planned the same way in a second, f32 arena ``A32``);
2. the ``$tN$`` placeholders in the WGSL become those offsets, and each distinct source
   becomes one compute pipeline (cached per device: identical ops share one);
3. one bind group (arena, constants, tables) serves every dispatch.

``run(ins, outs, scratch)`` per invoke: writes the partition's inputs into the arena,
records every dispatch into one compute pass and the output copies into one command
buffer, submits it, maps the read-back buffer and copies the outputs out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ...interpreter import planner
from . import wgsl

_PLACEHOLDER = re.compile(r"\$t(\d+)\$")


@dataclass
class Dispatch:
    source: str                       # WGSL after the header, with $tN$ placeholders
    groups: tuple[int, int, int]
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    op_index: int = -1


class Lowering:
    """What an op's lowering sees: specs, loads/stores as WGSL, constants, dispatches."""

    def __init__(self, specs, fp16: bool, wide=()) -> None:
        self.specs = specs
        self.fp16 = fp16
        self.storage = np.float16 if fp16 else np.float32
        # tensors kept f32 in fp16 mode (``storage.wide_tensors``): they live in ``A32``
        self.wide = frozenset(wide) if fp16 else frozenset()
        self.dispatches: list[Dispatch] = []
        self.const_chunks: list[np.ndarray] = []
        self.const_size = 0
        self.const_keys: dict = {}
        self.table_chunks: list[np.ndarray] = []
        self.table_size = 0
        self.op_index = -1
        self._reads: set = set()
        self._writes: set = set()

    # ------------------------------------------------------------------ tensors
    def spec(self, t: int):
        return self.specs[t]

    def is_const(self, t: int) -> bool:
        return self.specs[t].data is not None

    def dtype(self, t: int):
        """Storage type of arena tensor ``t``: f32 if it is wide, else the program's."""
        return np.dtype(np.float32 if t in self.wide else self.storage)

    def load(self, t: int, index: str) -> str:
        """WGSL f32 expression: element ``index`` of tensor ``t`` (arena or constant)."""
        if self.is_const(t):
            return f"wt({self.const_tensor(t)}u + ({index}))"
        self._reads.add(t)
        fn = "ld32" if t in self.wide else "ld"
        return f"{fn}($t{t}$ + ({index}))"

    def store(self, t: int, index: str, value: str) -> str:
        self._writes.add(t)
        fn = "st32" if t in self.wide else "st"
        return f"{fn}($t{t}$ + ({index}), {value});"

    def const_tensor(self, t: int) -> int:
        return self.const(np.asarray(self.specs[t].data, np.float32), key=("tensor", t))

    def const(self, array: np.ndarray, key=None) -> int:
        """Element offset in ``W`` of ``array`` (flattened; uploaded once per key)."""
        if key is not None and key in self.const_keys:
            return self.const_keys[key]
        flat = np.ascontiguousarray(array, np.float32).reshape(-1)
        offset = self.const_size
        self.const_chunks.append(flat)
        self.const_size += flat.size + (-flat.size % 16)   # 64-byte aligned chunks
        if key is not None:
            self.const_keys[key] = offset
        return offset

    def table(self, values: np.ndarray) -> int:
        """Element offset in ``IX`` of a u32 index table."""
        flat = np.ascontiguousarray(values, np.uint32).reshape(-1)
        offset = self.table_size
        self.table_chunks.append(flat)
        self.table_size += flat.size + (-flat.size % 16)
        return offset

    # ------------------------------------------------------------------ dispatches
    def elementwise(self, count: int, body: str) -> None:
        """One invocation per ``i`` in ``[0, count)``; ``body`` is WGSL using ``i``."""
        gx, gy, gz = wgsl.grid(count)
        src = (f"@compute @workgroup_size({wgsl.WORKGROUP})\n"
               f"fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n"
               f"  let i = gid.x + gid.y * {gx * wgsl.WORKGROUP}u;\n"
               f"  if (i >= {count}u) {{ return; }}\n  {body}\n}}\n")
        self.kernel(src, (gx, gy, gz))

    def kernel(self, source: str, groups: tuple[int, int, int]) -> None:
        """A complete WGSL entry point ``main`` (plus its helpers) and its grid."""
        self.dispatches.append(Dispatch(source, tuple(int(g) for g in groups), self._reads,
                                        self._writes, self.op_index))
        self._reads, self._writes = set(), set()

    def packed(self, chunks: list, size: int, dtype) -> np.ndarray:
        out = np.zeros(max(size, 16), dtype)
        offset = 0
        for c in chunks:
            out[offset:offset + c.size] = c
            offset += c.size + (-c.size % 16)
        return out


class Program:
    """The compiled partition: pipelines, buffers, bind group, and ``run``."""

    def __init__(self, device, lowering: Lowering, inputs: list[int], outputs: list[int],
                 pipelines: dict) -> None:
        import wgpu

        self.wgpu = wgpu
        self.device = device
        self.lowering = lowering
        self.inputs = [t for t in inputs if not lowering.is_const(t)]
        self.outputs = list(outputs)
        self.offsets = self._plan()
        self._buffers()
        self.passes = [(self._pipeline(d, pipelines), d.groups) for d in lowering.dispatches]
        self._staging = [np.zeros(lowering.specs[t].shape, lowering.dtype(t))
                         for t in self.inputs]

    # ------------------------------------------------------------------ planning
    def _plan(self) -> dict[int, int]:
        """Element offset of every arena tensor (greedy by lifetime, as the CPU arena), in
        ``A`` or, for the wide tensors of fp16 mode, in ``A32`` (each planned alone)."""
        n = len(self.lowering.dispatches)
        life: dict[int, list[int]] = {}

        def touch(t, step):
            span = life.setdefault(t, [step, step])
            span[0], span[1] = min(span[0], step), max(span[1], step)

        for t in self.inputs:
            touch(t, -1)
        for s, d in enumerate(self.lowering.dispatches):
            for t in d.reads | d.writes:
                touch(t, s)
        for t in self.outputs:
            touch(t, n)
        offsets, self.arena_sizes = {}, []
        for wide in (False, True):
            buffers = []
            for t, (first, last) in life.items():
                if (t in self.lowering.wide) != wide:
                    continue
                nbytes = self.lowering.specs[t].size * self.lowering.dtype(t).itemsize
                buffers.append(planner.Buffer(t, nbytes + (-nbytes % 4), first, last))
            size = planner.plan(buffers) if buffers else 0
            planner.check_plan(buffers, size)
            self.arena_sizes.append(size + planner.ALIGN)
            offsets.update({b.key: b.offset // self.lowering.dtype(b.key).itemsize
                            for b in buffers})
        self.arena_bytes = sum(self.arena_sizes)
        return offsets

    def _where(self, t: int):
        """(arena buffer, byte offset, item size) of arena tensor ``t``."""
        size = self.lowering.dtype(t).itemsize
        buffer = self.arena32 if t in self.lowering.wide else self.arena
        return buffer, self.offsets[t] * size, size

    def _buffers(self) -> None:
        wgpu, dev, low = self.wgpu, self.device, self.lowering
        usage = wgpu.BufferUsage
        arena_usage = usage.STORAGE | usage.COPY_DST | usage.COPY_SRC
        self.arena = dev.create_buffer(size=self.arena_sizes[0], usage=arena_usage)
        self.arena32 = dev.create_buffer(size=self.arena_sizes[1], usage=arena_usage)
        consts = low.packed(low.const_chunks, low.const_size, low.storage)
        self.consts = dev.create_buffer_with_data(data=consts, usage=usage.STORAGE)
        tables = low.packed(low.table_chunks, low.table_size, np.uint32)
        self.tables = dev.create_buffer_with_data(data=tables, usage=usage.STORAGE)
        self.out_slots, offset = [], 0
        for t in self.outputs:
            nbytes = low.specs[t].size * low.dtype(t).itemsize
            nbytes += -nbytes % 4
            self.out_slots.append((t, offset, nbytes))
            offset += nbytes
        self.readback = dev.create_buffer(size=max(offset, 4),
                                          usage=usage.MAP_READ | usage.COPY_DST)
        self.layout = _layout(dev)
        self.bind_group = dev.create_bind_group(layout=self.layout[0], entries=[
            {"binding": 0, "resource": {"buffer": self.arena}},
            {"binding": 1, "resource": {"buffer": self.consts}},
            {"binding": 2, "resource": {"buffer": self.tables}},
            {"binding": 3, "resource": {"buffer": self.arena32}}])

    def source(self, d: Dispatch) -> str:
        body = _PLACEHOLDER.sub(lambda m: f"{self.offsets[int(m.group(1))]}u", d.source)
        return wgsl.header(self.lowering.fp16) + body

    def _pipeline(self, d: Dispatch, cache: dict):
        src = self.source(d)
        if src not in cache:
            module = self.device.create_shader_module(code=src)
            cache[src] = self.device.create_compute_pipeline(
                layout=self.layout[1], compute={"module": module, "entry_point": "main"})
        return cache[src]

    # ------------------------------------------------------------------ invoke
    def run(self, ins, outs, scratch) -> None:
        dev = self.device
        for t, stage, x in zip(self.inputs, self._staging, ins):
            np.copyto(stage, x.reshape(stage.shape), casting="unsafe")
            data = memoryview(stage).cast("B")
            if len(data) % 4:
                data = bytes(data) + b"\0" * (-len(data) % 4)
            buffer, start, _ = self._where(t)
            dev.queue.write_buffer(buffer, start, data)
        encoder = dev.create_command_encoder()
        cpass = encoder.begin_compute_pass()
        cpass.set_bind_group(0, self.bind_group)
        for pipeline, groups in self.passes:
            cpass.set_pipeline(pipeline)
            cpass.dispatch_workgroups(*groups)
        cpass.end()
        for t, offset, nbytes in self.out_slots:
            buffer, start, _ = self._where(t)
            encoder.copy_buffer_to_buffer(buffer, start, self.readback, offset, nbytes)
        dev.queue.submit([encoder.finish()])
        self.readback.map_sync(self.wgpu.MapMode.READ)
        try:
            raw = self.readback.read_mapped(copy=False)
            data = np.frombuffer(raw, np.uint8)
            for (t, offset, nbytes), out in zip(self.out_slots, outs):
                itemsize = self.lowering.dtype(t).itemsize
                values = data[offset:offset + out.size * itemsize].view(self.lowering.dtype(t))
                np.copyto(out, values.reshape(out.shape), casting="unsafe")
            del data, raw
        finally:
            self.readback.unmap()

    def input_order(self, partition_inputs: list[int]) -> list[int]:
        """Positions in the partition's ``ins`` of the non-constant inputs."""
        return [partition_inputs.index(t) for t in self.inputs]


_LAYOUTS: dict = {}


def _layout(device):
    """(bind group layout, pipeline layout) shared by every dispatch on ``device``."""
    key = id(device)
    if key not in _LAYOUTS:
        import wgpu

        stage = wgpu.ShaderStage.COMPUTE
        kinds = (wgpu.BufferBindingType.storage, wgpu.BufferBindingType.read_only_storage,
                 wgpu.BufferBindingType.read_only_storage, wgpu.BufferBindingType.storage)
        bgl = device.create_bind_group_layout(entries=[
            {"binding": k, "visibility": stage, "buffer": {"type": kind}}
            for k, kind in enumerate(kinds)])
        _LAYOUTS[key] = (bgl, device.create_pipeline_layout(bind_group_layouts=[bgl]), device)
    return _LAYOUTS[key]
