"""Running the apps as people do (``python -m apps.detect ...`` from the repo root,
headless) and the test inputs they read: scikit-image photos written as files, and
videos written with OpenCV. A missing library fails the test with what to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = "pip install -e '.[test]' (or bash scripts/setup_test_env.sh)"


def need(module: str, package: str):
    """Import ``module`` or fail naming the package to install."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        pytest.fail(f"this test needs {package} (module {module!r}): {INSTALL}")


def photo(name: str) -> np.ndarray:
    data = need("skimage.data", "scikit-image")
    return np.asarray(getattr(data, name)(), np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    from edgelite.vision import write_png as write

    write(path, rgb)
    return path


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """RGB frames (all one size) as an MJPG .avi."""
    cv2 = need("cv2", "opencv-python-headless")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG video"
    for rgb in frames:
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
    writer.release()
    return path


def headless_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def run(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` from the repo root, no display."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, env=headless_env(), timeout=timeout, check=False)


def run_json(module: str, *args: str):
    proc = run(module, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def run_json_lines(module: str, *args: str) -> list:
    proc = run(module, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def assert_one_line_error(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
