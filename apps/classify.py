"""Classify images, videos or a camera with a .tflite classifier.

    python -m apps.classify --source coffee.png            # top-5 labels and latency
    python -m apps.classify --source clip.mp4 --json       # JSON lines, one per frame
    python -m apps.classify --source picamera --threads 4  # Raspberry Pi camera, window

Default model: the bundled int8 EfficientNet-Lite0 (ImageNet, 224x224) with its labels;
preprocessing in ``edgelite.vision.classify``.
"""

from __future__ import annotations

import sys

from edgelite.vision import Classifier, bundled

from . import drawing
from .output import Result
from .runner import common_parser, run_app

PROG = "apps.classify"


def build_parser():
    return common_parser(
        PROG, "Classify images, video or a camera with a .tflite image classifier.",
        model_help="a .tflite classifier (default: the bundled int8 EfficientNet-Lite0)",
        labels_help="labels file, one per line (default: the bundled ImageNet labels "
                    "with the bundled model, class numbers otherwise)")


def make_processor(args):
    def setup():
        labels = args.labels or (bundled.IMAGENET_LABELS if args.model is None else None)
        classifier = Classifier(args.model or bundled.CLASSIFIER, labels, threads=args.threads)
        threshold = 0.0 if args.threshold is None else args.threshold

        def process(frame) -> Result:
            top = [c for c in classifier.classify(frame.rgb, args.top_k)
                   if c.score >= threshold]

            def draw(cv2, bgr):
                y = int(40 * max(1.0, min(bgr.shape[:2]) / 720))
                for c in top:
                    y = drawing.text(cv2, bgr, f"{c.label} {c.score:.1%}", 4, y,
                                     drawing.GREEN)

            text = ", ".join(f"{c.label} {c.score:.1%}" for c in top) or "(nothing above " \
                f"{threshold})"
            return Result([c.as_dict() for c in top], text, classifier.latency_ms, draw=draw)

        return process

    return setup


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_app(PROG, args, make_processor(args))


if __name__ == "__main__":
    sys.exit(main())
