"""``edgelite.Converter``, shaped like ``tf.lite.TFLiteConverter``.

    conv = Converter.from_onnx("model.onnx")
    conv.io_layout = "nhwc"                 # or "keep" (default): ONNX's own I/O shapes
    conv.input_shapes = {"input": [1, 3, 224, 224]}
    tflite_bytes = conv.convert()

Quantization attributes have TFLiteConverter's names: ``optimizations=[Optimize.DEFAULT]``
with a ``representative_dataset`` gives a full-integer int8 model (float I/O behind
QUANTIZE/DEQUANTIZE unless ``inference_input_type``/``inference_output_type`` are int8
or uint8; ``target_spec.supported_ops = {OpsSet.TFLITE_BUILTINS_INT8}`` refuses float
fallback; the int16x8 ops set gives 16x8). Without a representative_dataset it is
dynamic range (int8 weights, hybrid kernels); ``target_spec.supported_types =
[np.float16]`` gives float16 weights. QDQ graphs (ONNX) and FakeQuant graphs (QAT
SavedModels) keep the scales they carry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..schema import ir, write
from .errors import ConversionError
from .versions import set_op_versions


class Optimize:
    """TFLiteConverter's optimization flags."""

    DEFAULT = "DEFAULT"
    OPTIMIZE_FOR_SIZE = "OPTIMIZE_FOR_SIZE"
    OPTIMIZE_FOR_LATENCY = "OPTIMIZE_FOR_LATENCY"
    EXPERIMENTAL_SPARSITY = "EXPERIMENTAL_SPARSITY"


class OpsSet:
    TFLITE_BUILTINS = "TFLITE_BUILTINS"
    TFLITE_BUILTINS_INT8 = "TFLITE_BUILTINS_INT8"
    EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 = \
        "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"


@dataclass
class TargetSpec:
    supported_ops: set = field(default_factory=lambda: {OpsSet.TFLITE_BUILTINS})
    supported_types: list = field(default_factory=list)


class Converter:
    def __init__(self, model, kind: str) -> None:
        self._model = model
        self._kind = kind
        self.optimizations: list = []
        self.representative_dataset = None
        self.target_spec = TargetSpec()
        self.inference_input_type = None
        self.inference_output_type = None
        self.io_layout = "keep"
        self.input_shapes: dict | None = None

    @classmethod
    def from_onnx(cls, model) -> "Converter":
        """``model``: a path to an ``.onnx`` file or an ``onnx.ModelProto``."""
        import onnx

        if isinstance(model, (str, os.PathLike)):
            if not os.path.exists(model):
                raise FileNotFoundError(f"ONNX model {os.fspath(model)!r} does not exist")
            try:
                model = onnx.load(os.fspath(model))
            except Exception as e:
                raise ConversionError(f"{os.fspath(model)!r} is not a readable ONNX model: "
                                      f"{e}") from None
        elif not isinstance(model, onnx.ModelProto):
            raise TypeError(f"from_onnx takes a path or an onnx.ModelProto, not "
                            f"{type(model).__name__}")
        return cls(model, "onnx")

    @classmethod
    def from_keras(cls, path) -> "Converter":
        """``path``: a Keras 3 ``.keras`` archive or a legacy ``.h5`` model (needs h5py:
        ``pip install edgelite[keras]``; Keras and TensorFlow are not needed)."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"Keras model {os.fspath(path)!r} does not exist")
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise ConversionError("reading Keras models needs h5py: "
                                  "pip install 'edgelite[keras]'") from None
        return cls(os.fspath(path), "keras")

    @classmethod
    def from_saved_model(cls, saved_model_dir, signature_keys=None,
                         tags=None) -> "Converter":
        """``saved_model_dir``: a TF SavedModel directory (``saved_model.pb`` and
        ``variables/``); TensorFlow is not needed. ``signature_keys``: one signature
        (default ``serving_default``); ``tags``: the MetaGraph's tags (default serve)."""
        path = os.fspath(saved_model_dir)
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise FileNotFoundError(f"{path!r} is not a SavedModel directory "
                                    f"(no saved_model.pb)")
        keys = [signature_keys] if isinstance(signature_keys, str) else signature_keys
        if keys is not None and len(keys) != 1:
            raise ConversionError("from_saved_model converts one signature; pass one key")
        conv = cls(path, "saved_model")
        conv._signature_key = keys[0] if keys else None
        conv._tags = set(tags) if tags else None
        return conv

    def _lower_nhwc(self, weight_scales: list) -> ir.Model:
        if self._kind == "keras":
            from .frontends.keras import lower as lower_keras

            return lower_keras(self._model, input_shapes=self.input_shapes)
        from .frontends.saved_model import lower as lower_saved_model

        return lower_saved_model(self._model, signature_key=self._signature_key,
                                 tags=self._tags, input_shapes=self.input_shapes,
                                 weight_scales=weight_scales)

    def convert_to_ir(self) -> ir.Model:
        if self._kind in ("keras", "saved_model"):
            from ..quantize import apply
            from ..quantize.qdq import fold_qdq
            from .passes import NHWC_PIPELINE, optimize

            scales: list = []
            model = optimize(self._lower_nhwc(scales), NHWC_PIPELINE)
            # QAT (FakeQuant) graphs become integer ops with the FakeQuant ranges
            model = fold_qdq(model, scales)
            model = apply(model, self, error=ConversionError)
            return set_op_versions(model)
        if self._kind != "onnx":
            raise ConversionError(f"unknown model kind {self._kind}")
        from ..quantize import apply
        from ..quantize.qdq import fold_qdq
        from .frontends.onnx import lower
        from .frontends.onnx.rules.quantize import weight_scales
        from .passes import optimize

        model = lower(self._model, input_shapes=self.input_shapes, io_layout=self.io_layout)
        model = optimize(model)
        # QDQ (quantization-aware) graphs become integer ops with the scales they carry
        model = fold_qdq(model, weight_scales(self._model))
        model = apply(model, self, error=ConversionError)
        # last, once ops and dtypes are final: each op's version follows what it uses
        return set_op_versions(model)

    def convert(self) -> bytes:
        return write(self.convert_to_ir())
