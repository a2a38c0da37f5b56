"""edgelite.quantize: post-training quantization of the converter's IR (see
../shared/DESIGN.md). ``apply`` maps a ``Converter``'s TFLiteConverter-style settings to
a pass; ``calibrate`` and ``int8`` are the pieces."""

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


def apply(model: ir.Model, settings, progress: Callable[[int], None] | None = None,
          error=ValueError) -> ir.Model:
    """The quantized model ``settings`` (optimizations, representative_dataset,
    target_spec, inference_input_type / inference_output_type) ask for, or ``model``
    unchanged when they ask for none. Modes not built yet fail with ``error``."""
    ops = set(settings.target_spec.supported_ops)
    types = list(settings.target_spec.supported_types)
    wants_io = settings.inference_input_type is not None or \
        settings.inference_output_type is not None
    if not settings.optimizations and settings.representative_dataset is None \
            and not types and not wants_io:
        return model
    activations = np.int16 if _INT16X8_OPS in ops else np.int8
    if types and any(np.dtype(t) == np.float16 for t in types):
        raise error("float16 quantization is not available yet")
    if settings.representative_dataset is None:
        raise error("dynamic-range quantization (optimizations without a "
                    "representative_dataset) is not available yet")
    if not settings.optimizations:
        raise error("a representative_dataset needs optimizations=[Optimize.DEFAULT]")
    from .calibrate import calibrate
    from .int8 import quantize_int8

    from .bias_correction import PatchMean
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
    try:
        ranges = calibrate(model, _samples(settings.representative_dataset), progress, keep,
                           observers)
    except ValueError as e:
        raise error(str(e)) from None
    try:
        integer_only = "TFLITE_BUILTINS" not in ops and (_INT8_OPS in ops
                                                         or _INT16X8_OPS in ops)
        return quantize_int8(model, ranges, *io, strict=integer_only, estimator=estimator,
                             patch_means=patches, activations=activations)
    except ValueError as e:
        raise error(str(e)) from None
