"""Op resolution: which kernel runs each operator.

* builtin kernels (``edgelite.kernels.registry``), by TFLite op name and version;
* custom ops: LiteRT's own (``TFLite_Detection_PostProcess``, MediaPipe's
  ``Convolution2DTransposeBias``) and the user's, registered with
  :meth:`OpResolver.register_custom` (or the :func:`custom_op` decorator);
* selective registration: ``OpResolver(only=[...])`` or ``OpResolver.for_model(path)``
  keeps just the kernels a model needs.

Example — a custom op doubling its input::

    from edgelite.interpreter import Interpreter, OpResolver

    resolver = OpResolver()

    @resolver.custom_op("Double")
    def prepare_double(ctx):
        ctx.set_output(0, ctx.inputs[0].shape, ctx.inputs[0].dtype)

        def run(ins, outs, scratch):
            np.multiply(ins[0], 2, out=outs[0])
        return run

    interpreter = Interpreter("model.tflite", op_resolver=resolver)
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping
from typing import Callable, Iterable

from ..kernels.api import KernelDef, PrepareError
from ..kernels.registry import builtin_kernels, custom_kernels
from ..schema import ir, read


class OpResolver:
    def __init__(self, only: Iterable[str] | None = None) -> None:
        # the registry's lazy tables under this resolver's own registrations: a kernel
        # module is imported when an op of it is first resolved
        self._builtins: MutableMapping[str, KernelDef] = ChainMap({}, builtin_kernels())
        self._customs: MutableMapping[str, KernelDef] = ChainMap({}, custom_kernels())
        if only is not None:
            wanted = set(only)
            self._builtins = {k: self._builtins[k] for k in self._builtins if k in wanted}
            self._customs = {k: self._customs[k] for k in self._customs if k in wanted}

    @classmethod
    def for_model(cls, model) -> "OpResolver":
        """A resolver holding only the kernels ``model`` (path, bytes or IR) uses."""
        model = model if isinstance(model, ir.Model) else read(model)
        return cls(only={op.opcode for sg in model.subgraphs for op in sg.operators})

    def register_custom(self, name: str, prepare: Callable, *, pure: bool = True) -> None:
        """Register (or replace) the kernel for custom op ``name``."""
        self._customs[name] = KernelDef(prepare, max_version=1 << 30, pure=pure)

    def custom_op(self, name: str, *, pure: bool = True) -> Callable:
        """Decorator form of :meth:`register_custom`."""
        def decorate(prepare: Callable) -> Callable:
            self.register_custom(name, prepare, pure=pure)
            return prepare
        return decorate

    def register_builtin(self, name: str, kernel: KernelDef) -> None:
        self._builtins[name] = kernel

    @property
    def names(self) -> set[str]:
        return set(self._builtins) | set(self._customs)

    def resolve(self, op: ir.Operator, op_index: int, subgraph_index: int = 0) -> KernelDef:
        where = f"subgraph {subgraph_index}, operator {op_index} ({op.opcode})"
        if op.custom:
            kernel = self._customs.get(op.opcode)
            if kernel is None:
                raise PrepareError(
                    f"{where}: custom op {op.opcode!r} is not registered; register a kernel "
                    f"with OpResolver.register_custom({op.opcode!r}, prepare) and pass "
                    f"op_resolver= to the Interpreter")
            return kernel
        kernel = self._builtins.get(op.opcode)
        if kernel is None:
            hint = ("it was left out by selective registration" if op.opcode in
                    builtin_kernels() else "edgelite has no kernel for it yet")
            raise PrepareError(f"{where}: builtin op {op.opcode} cannot be resolved: {hint}")
        if op.version > kernel.max_version:
            raise PrepareError(f"{where}: version {op.version} is newer than the kernel "
                               f"supports (up to {kernel.max_version})")
        return kernel
