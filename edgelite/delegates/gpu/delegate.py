"""``GpuDelegate``: runs float32 ops as WebGPU compute shaders (``wgpu``).

It claims an op when every tensor it reads at run time and every output is float32 and
its rule in ``rules.py`` accepts the instance (constant int inputs such as shapes, axes
and paddings are fine; DEQUANTIZE only of constants). The interpreter cuts the plan into
maximal runs of claimed ops; each run becomes one :class:`~.program.Program` whose
tensors stay on the GPU, and unclaimed ops run on the CPU kernels in between.

    from edgelite import GpuDelegate, Interpreter
    interp = Interpreter(model_path="m.tflite", experimental_delegates=[GpuDelegate()])
    interp.allocate_tensors(); ...; interp.invoke()
    interp.delegated_ops            # ops that run on the GPU

``precision="fp16"`` stores tensors and weights as f16 (arithmetic stays f32) where the
adapter has ``shader-f16``; otherwise it runs fp32 and ``precision_used`` says so.
"""

from __future__ import annotations

import logging

import numpy as np

from ...interpreter.delegate import Delegate, Partition
from . import device as gpu_device
from .program import Lowering, Program
from .rules import rule_for
from .storage import wide_tensors

log = logging.getLogger("edgelite.gpu")
_F32 = np.dtype(np.float32)


class GpuDelegate(Delegate):
    name = "gpu"

    def __init__(self, precision: str = "fp32", adapter=None) -> None:
        if precision not in ("fp32", "fp16"):
            raise ValueError(f"precision must be 'fp32' or 'fp16', not {precision!r}")
        self.precision = precision
        self.adapter = gpu_device.find_adapter(adapter)
        self.device, has_f16 = gpu_device.open_device(self.adapter, precision == "fp16")
        self.precision_used = "fp16" if has_f16 else "fp32"
        if precision == "fp16" and not has_f16:
            log.warning("GPU adapter %s lacks shader-f16: running fp32",
                        gpu_device.describe(self.adapter))
        self.programs: list[Program] = []
        self._pipelines: dict = {}

    @property
    def adapter_name(self) -> str:
        return gpu_device.describe(self.adapter)

    def supports(self, op, inputs, outputs) -> bool:
        rule = rule_for(op)
        if rule is None or not outputs:
            return False
        if any(o.dtype != _F32 or o.dynamic for o in outputs):
            return False
        for spec in inputs:
            if spec is not None and spec.data is None and (spec.dtype != _F32 or spec.dynamic):
                return False
        try:
            return bool(rule.check(op, inputs, outputs))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return False

    def prepare_partition(self, partition: Partition):
        wide = wide_tensors(partition.ops, partition.specs, partition.inputs,
                            partition.outputs)
        lowering = Lowering(partition.specs, self.precision_used == "fp16", wide)
        for index, op in partition.ops:
            lowering.op_index = index
            rule_for(op).lower(lowering, op)
        program = Program(self.device, lowering, partition.inputs, partition.outputs,
                          self._pipelines)
        self.programs.append(program)
        order = program.input_order(partition.inputs)
        log.info("GPU partition: %d ops, %d dispatches, arena %d bytes on %s",
                 len(partition.ops), len(lowering.dispatches), program.arena_bytes,
                 self.adapter_name)

        def run(ins, outs, scratch):
            program.run([ins[k] for k in order], outs, scratch)
        return run
