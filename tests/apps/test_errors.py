"""Bad input to the apps is one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import pytest

from edgelite.vision import bundled
from tests.apps.helpers import REPO, assert_one_line_error, photo, run, write_png


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "broken.mp4").write_bytes(b"not a video")
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (d / "empty").mkdir()
    write_png(d / "astronaut.png", photo("astronaut"))
    # shadows an installed picamera2 (on a Pi) so the missing-library path is tested
    (d / "stub").mkdir()
    (d / "stub" / "picamera2.py").write_text("raise ImportError('no picamera2 here')\n")
    return d


CASES = {
    "missing file": (["--source", "{d}/missing.png"], ["missing.png", "does not exist"]),
    "unknown source": (["--source", "webcam"], ["'webcam' does not exist", "picamera"]),
    "unreadable video": (["--source", "{d}/broken.mp4"], ["cannot read video", "broken.mp4"]),
    "unreadable jpeg": (["--source", "{d}/broken.jpg"], ["not a readable image"]),
    "unreadable png": (["--source", "{d}/broken.png"], ["broken.png", "PNG"]),
    "empty directory": (["--source", "{d}/empty"], ["holds no images"]),
    "absent webcam": (["--source", "9"], ["cannot read webcam 9"]),
    "not a model": (["--source", "{d}/astronaut.png", "--model", str(REPO / "README.md")],
                    ["not a TFLite model"]),
    "missing model": (["--source", "{d}/astronaut.png", "--model", "{d}/nope.tflite"],
                      ["nope.tflite", "does not exist"]),
    "missing labels": (["--source", "{d}/astronaut.png", "--labels", "{d}/nope.txt"],
                       ["labels file", "does not exist"]),
    "image as video": (["--source", "{d}/astronaut.png", "--out", "{d}/x.mp4"],
                       ["an image source is written as an image"]),
    "out dir missing": (["--source", "{d}/astronaut.png", "--out", "{d}/no/x.png"],
                        ["does not exist"]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("app", ["apps.detect", "apps.classify"])
def test_bad_input_is_one_line(files, app, case):
    args, phrases = CASES[case]
    proc = run(app, *[a.format(d=files) for a in args])
    assert_one_line_error(proc, f"{app}: error:", *phrases)


def test_detector_rejects_a_classifier_and_vice_versa(files):
    proc = run("apps.detect", "--source", str(files / "astronaut.png"), "--model",
               str(bundled.CLASSIFIER))
    assert_one_line_error(proc, "neither", "TFLite_Detection_PostProcess")
    proc = run("apps.classify", "--source", str(files / "astronaut.png"), "--model",
               str(bundled.FACE_DETECTOR))
    assert_one_line_error(proc, "2 outputs", "a classifier has one")


def test_pan_tilt_errors(files):
    image = str(files / "astronaut.png")
    proc = run("apps.detect", "--source", image, "--pan-tilt", "mock", "--pan-limits=5,-5")
    assert_one_line_error(proc, "--pan-limits", "--invert-pan")
    proc = run("apps.detect", "--source", image, "--pan-tilt", "mock", "--pid", "1,2")
    assert_one_line_error(proc, "--pid '1,2'")
    proc = run("apps.detect", "--source", image, "--pan-tilt", "mock", "--fov", "wide")
    assert_one_line_error(proc, "--fov 'wide'")


def test_picamera_without_picamera2_says_what_to_install(files, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(files / "stub"))
    proc = run("apps.classify", "--source", "picamera")
    assert_one_line_error(proc, "python3-picamera2", "--system-site-packages")
