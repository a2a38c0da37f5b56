"""Shared fixtures: where the test models live, and the LiteRT oracle.

Models come from two places (README "Test models"):
* ``../shared/corpus`` beside the checkout (or ``$EDGELITE_CORPUS``): TF-converter output;
* the ``mediapipe==0.10.14`` wheel on PyPI, fetched once by the corpus script into
  ``$EDGELITE_MODEL_CACHE`` (default ``~/.cache/edgelite/mediapipe``).
A missing model fails the test with what to do; nothing is skipped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# 150 examples per property in CI; HYPOTHESIS_PROFILE=fuzz for a long local run
settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("fuzz", max_examples=5000, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EDGELITE_CORPUS", REPO.parent / "shared" / "corpus"))
MEDIAPIPE_CACHE = Path(os.environ.get("EDGELITE_MODEL_CACHE",
                                      Path.home() / ".cache" / "edgelite" / "mediapipe"))
TF_MODELS = ["mobilenet_v2_035.float32", "mobilenet_v2_035.float16", "mobilenet_v2_035.dynamic",
             "mobilenet_v2_035.int8", "mobilenet_v2_035.int16x8"]
MEDIAPIPE_MODELS = ["face_detection_short_range", "face_landmark", "hand_landmark_lite",
                    "selfie_segmentation", "pose_detection"]


def tf_model(name: str) -> Path:
    path = CORPUS / "tf" / f"{name}.tflite"
    if not path.exists():
        pytest.fail(f"test model {path} is missing: the corpus lives in ../shared/corpus beside "
                    f"the checkout (or set EDGELITE_CORPUS)")
    return path


def mediapipe_model(name: str) -> Path:
    path = MEDIAPIPE_CACHE / f"{name}.tflite"
    if not path.exists():
        script = CORPUS / "scripts" / "fetch_mediapipe_models.sh"
        if not script.exists():
            pytest.fail(f"{path} is missing and so is {script} to fetch it")
        proc = subprocess.run(["bash", str(script), str(MEDIAPIPE_CACHE)],
                              capture_output=True, text=True)
        if proc.returncode or not path.exists():
            pytest.fail(f"fetching mediapipe models with {script} failed "
                        f"(needs PyPI access):\n{proc.stderr[-2000:]}")
    return path


ALL_MODELS = [("tf", n) for n in TF_MODELS] + [("mediapipe", n) for n in MEDIAPIPE_MODELS]


def model_path(kind: str, name: str) -> Path:
    return tf_model(name) if kind == "tf" else mediapipe_model(name)
