"""edgelite.quantize: post-training quantization of the converter's IR (see
../shared/DESIGN.md). ``apply`` maps a ``Converter``'s TFLiteConverter-style settings to
a pass, choosing the mode as TFLiteConverter does: ``float16`` (float16 weights),
``dynamic`` (int8 weights, hybrid kernels) or full-integer ``int8`` (``calibrate`` then
``int8``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..schema import ir

_INT8_OPS = "TFLITE_BUILTINS_INT8"
_INT16X8_OPS = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"


def _samples(dataset):
    """TFLiteConverter's representative_dataset: a callable returning an iterable of
    samples, or the iterable itself."""
    return dataset() if callable(dataset) else dataset


def _io_dtype(value, what: str, activations=np.int8) -> np.dtype:
    if value is None:
        return np.dtype(np.float32)
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise ValueError(f"{what} {value!r} is not a dtype") from None
    allowed = (np.float32, np.int16) if activations == np.int16 else \
        (np.float32, np.int8, np.uint8)
    if dtype not in [np.dtype(a) for a in allowed]:
        names = ", ".join(np.dtype(a).name for a in allowed)
        raise ValueError(f"{what} must be {names}, not {dtype}")
    return dtype


_OPTIMIZING = frozenset({"DEFAULT", "OPTIMIZE_FOR_SIZE", "OPTIMIZE_FOR_LATENCY"})


def _supported_types(settings, error) -> list[np.dtype]:
    """target_spec.supported_types as numpy dtypes (np.float16 or "float16", ...)."""
    types = []
    for t in settings.target_spec.supported_types:
        try:
            types.append(np.dtype(getattr(t, "as_numpy_dtype", t)))
        except TypeError:
            raise error(f"target_spec.supported_types: {t!r} is not a dtype") from None
    return types


def _mode(settings, error) -> str | None:
    """TFLiteConverter's choice of post-training mode: "float16" (optimizations and float16
    the smallest supported type), "dynamic" (optimizations, no representative_dataset,
    int8 the smallest), "int8", or None for a float model."""
    ops = set(settings.target_spec.supported_ops)
    types = _supported_types(settings, error)
    wants_io = settings.inference_input_type is not None or \
        settings.inference_output_type is not None
    optimizing = any(str(getattr(o, "value", o)).rsplit(".", 1)[-1] in _OPTIMIZING
                     for o in settings.optimizations)
    if not settings.optimizations and settings.representative_dataset is None \
            and not types and not wants_io:
        return None
    if _INT16X8_OPS in ops:
        if settings.representative_dataset is None:
            raise error("the int16x8 ops set (full-integer quantization) needs a "
                        "representative_dataset")
        return "int8"
    smallest = min(types, key=lambda t: t.itemsize) if types else np.dtype(np.int8)
    if optimizing and smallest.itemsize == 2 and np.dtype(np.float16) in types:
        mode = "float16"
    elif optimizing and settings.representative_dataset is None and smallest == np.int8:
        if _INT8_OPS in ops and "TFLITE_BUILTINS" not in ops:
            raise error("TFLITE_BUILTINS_INT8 (full-integer quantization) needs a "
                        "representative_dataset")
        mode = "dynamic"
    elif types and smallest.itemsize >= 4 and settings.representative_dataset is None:
        return None   # TF quantizes nothing when float32 is the smallest type allowed
    else:
        if types and smallest.itemsize == 2:
            raise error(f"supported_types {[str(t) for t in types]}: only float16 of the "
                        "16-bit types is available")
        return "int8"
    for name in ("inference_input_type", "inference_output_type"):
        if _io_dtype(getattr(settings, name), name) != np.float32:
            raise error(f"{mode} quantization keeps float32 I/O: {name} must be float32")
    return mode


def apply(model: ir.Model, settings, progress: Callable[[int], None] | None = None,
          error=ValueError) -> ir.Model:
    """The quantized model ``settings`` (optimizations, representative_dataset,
    target_spec, inference_input_type / inference_output_type, and edgelite's own
    range_estimator, bias_correction, quantize_denylist, quantize_keep_float,
    calibration_progress) ask for, or ``model``
    unchanged when they ask for none. Modes not built yet fail with ``error``."""
    try:
        mode = _mode(settings, error)
    except ValueError as e:
        raise error(str(e)) from None
    if mode is None:
        return model
    if mode == "float16":
        from .float16 import quantize_float16

        return quantize_float16(model)
    if mode == "dynamic":
        from .dynamic import quantize_dynamic

        return quantize_dynamic(model)
    return _full_integer(model, settings, progress, error)


def _full_integer(model: ir.Model, settings, progress, error) -> ir.Model:
    ops = set(settings.target_spec.supported_ops)
    activations = np.int16 if _INT16X8_OPS in ops else np.int8
    if not settings.optimizations:
        raise error("a representative_dataset needs optimizations=[Optimize.DEFAULT]")
    from .bias_correction import PatchMean
    from .calibrate import calibrate
    from .int8 import quantize_int8
    from .rules import WEIGHTED

    try:
        io = (_io_dtype(settings.inference_input_type, "inference_input_type", activations),
              _io_dtype(settings.inference_output_type, "inference_output_type",
                        activations))
    except ValueError as e:
        raise error(str(e)) from None
    estimator = getattr(settings, "range_estimator", "mse")
    keep = 0 if estimator == "minmax" else 4096
    sg = model.subgraphs[0]
    patches, observers = {}, {}
    if getattr(settings, "bias_correction", True):
        for k, op in enumerate(sg.operators):
            if op.opcode in WEIGHTED and sg.tensors[op.inputs[1]].is_constant:
                patches[k] = PatchMean(sg, op)
                observers.setdefault(op.inputs[0], []).append(patches[k])
    samples = list(_samples(settings.representative_dataset))
    progress = progress or getattr(settings, "calibration_progress", None)
    try:
        ranges = calibrate(model, samples, progress, keep, observers)
    except ValueError as e:
        raise error(str(e)) from None
    integer_only = "TFLITE_BUILTINS" not in ops and (_INT8_OPS in ops or _INT16X8_OPS in ops)
    denylist = frozenset(getattr(settings, "quantize_denylist", ()))

    def quantized(denied: frozenset) -> ir.Model:
        try:
            return quantize_int8(model, ranges, *io, strict=integer_only,
                                 estimator=estimator, patch_means=patches,
                                 activations=activations, denylist=denied)
        except ValueError as e:
            raise error(str(e)) from None

    result = quantized(denylist)
    keep_float = int(getattr(settings, "quantize_keep_float", 0) or 0)
    if keep_float > 0:   # selective quantization: the worst ops by the debugger stay float
        from ..schema import write
        from .debugger import compare, worst_ops

        reports = compare(write(model), write(result), samples[:8])
        result = quantized(denylist | frozenset(worst_ops(reports, keep_float)))
    return result
