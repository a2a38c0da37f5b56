"""Frame sources for the apps, one ``--source`` flag: an image file, a directory of
images, a video file, a webcam index (OpenCV ``VideoCapture``) or ``picamera``
(picamera2 on a Raspberry Pi). Every source yields RGB uint8 frames.

OpenCV is imported only when a source needs it (PNG images read without it), and
picamera2 only for ``picamera``; a missing one is an ``AppError`` naming what to install.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgelite.vision import ImageError, read_png

from .errors import AppError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
OPENCV_HINT = ("pip install 'edgelite[apps]' (opencv-python-headless), or on Raspberry Pi "
               "OS: sudo apt install python3-opencv")


def import_cv2(why: str):
    """OpenCV, or an AppError saying what needs it and how to install it."""
    try:
        import cv2
    except ImportError:
        raise AppError(f"{why} needs OpenCV: {OPENCV_HINT}") from None
    return cv2


@dataclass
class Frame:
    rgb: np.ndarray
    index: int
    name: str          # file name, or "frame N" for streams
    time: float        # capture time, time.perf_counter()


class Source:
    """An iterable of Frames. ``is_stream``: more than one frame by nature (video,
    camera, directory); ``fps``: the source's frame rate when it has one."""

    is_stream = True
    fps: float | None = None
    description = ""

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def read_image(path: Path) -> np.ndarray:
    """An image file as RGB uint8 (PNG without OpenCV; other formats with it)."""
    if path.suffix.lower() == ".png":
        try:
            return read_png(path)
        except ImageError as e:
            raise AppError(str(e)) from None
    cv2 = import_cv2(f"reading {path.suffix} images")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise AppError(f"{str(path)!r} is not a readable image")
    return np.ascontiguousarray(bgr[:, :, ::-1])


class ImageFiles(Source):
    def __init__(self, paths: list[Path], is_stream: bool):
        self.paths = paths
        self.is_stream = is_stream
        self.description = (str(paths[0]) if len(paths) == 1 and not is_stream
                            else f"{len(paths)} images")

    def __iter__(self) -> Iterator[Frame]:
        for k, path in enumerate(self.paths):
            yield Frame(read_image(path), k, path.name, time.perf_counter())


class VideoCapture(Source):
    """A video file or a webcam through OpenCV."""

    def __init__(self, spec: str | int):
        cv2 = import_cv2("video and webcam sources")
        what = f"webcam {spec}" if isinstance(spec, int) else f"video {spec!r}"
        with _native_stderr_silenced():   # OpenCV/FFmpeg log their failed attempts
            self.capture = cv2.VideoCapture(spec)
            ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise AppError(f"cannot read {what}: " + (
                "no such camera, or it is busy" if isinstance(spec, int)
                else "not a video file OpenCV can decode"))
        self._first = first
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else None
        self.description = what

    def __iter__(self) -> Iterator[Frame]:
        k, bgr = 0, self._first
        while bgr is not None:
            yield Frame(np.ascontiguousarray(bgr[:, :, ::-1]), k, f"frame {k}",
                        time.perf_counter())
            ok, bgr = self.capture.read()
            k, bgr = k + 1, bgr if ok else None

    def close(self) -> None:
        self.capture.release()


@contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration: native libraries' logs
    (the failure is reported by us in one line)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class PiCamera(Source):
    """A Raspberry Pi camera through picamera2 (libcamera), RGB frames."""

    def __init__(self, size: tuple[int, int] = (640, 480)):
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise AppError("--source picamera needs picamera2: on Raspberry Pi OS "
                           "sudo apt install python3-picamera2, and create the venv with "
                           "--system-site-packages (docs/raspberry-pi.md)") from None
        try:
            self.camera = Picamera2()
            # picamera2's "RGB888" is B, G, R in memory: the channels are reversed below
            config = self.camera.create_video_configuration(
                main={"size": size, "format": "RGB888"})
            self.camera.configure(config)
            self.camera.start()
        except (RuntimeError, IndexError) as e:
            raise AppError(f"cannot start the Raspberry Pi camera: {e}") from None
        self.description = f"picamera {size[0]}x{size[1]}"

    def __iter__(self) -> Iterator[Frame]:
        k = 0
        while True:
            bgr = self.camera.capture_array("main")
            yield Frame(np.ascontiguousarray(bgr[:, :, 2::-1]), k, f"frame {k}",
                        time.perf_counter())
            k += 1

    def close(self) -> None:
        self.camera.stop()
        self.camera.close()


def open_source(spec: str) -> Source:
    """The Source for a ``--source`` value (see the module docstring)."""
    if spec == "picamera":
        return PiCamera()
    if spec.isdigit():
        return VideoCapture(int(spec))
    path = Path(spec)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise AppError(f"directory {spec!r} holds no images "
                           f"({', '.join(IMAGE_SUFFIXES)})")
        return ImageFiles(images, is_stream=True)
    if not path.exists():
        raise AppError(f"source {spec!r} does not exist (expected an image file, a "
                       "directory of images, a video file, a webcam index or 'picamera')")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFiles([path], is_stream=False)
    return VideoCapture(str(path))
