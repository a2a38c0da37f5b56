"""Vision helpers for image models, numpy only: classification and detection with
``.tflite`` models (preprocessing, SSD/BlazeFace decoding, weighted NMS), a PNG reader,
and the bundled demo models. The demo apps (``apps/``) and ``edgelite demo`` use them.

    from edgelite.vision import Classifier, Detector, bundled, read_png
    top5 = Classifier(bundled.CLASSIFIER, bundled.IMAGENET_LABELS).classify(read_png(p))
    faces = Detector(bundled.FACE_DETECTOR).detect(rgb)
"""

from __future__ import annotations

from . import bundled
from .classify import Classification, Classifier
from .detect import Detection, Detector
from .image import ImageError, read_png, write_png

__all__ = ["Classification", "Classifier", "Detection", "Detector", "ImageError", "bundled",
           "read_png", "write_png"]
