"""Where an app's results go: stdout (a line per frame, or ``--json``: one JSON document
for an image source, JSON lines for a stream), an annotated copy (``--out FILE``: an
image for an image source, a .mp4/.avi video for a stream) and a window when a display
exists (``DISPLAY``/``WAYLAND_DISPLAY`` set and OpenCV built with a GUI; ``--no-window``
turns it off). Frame rate and latency are in every line, window and annotated frame."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import drawing
from .errors import AppError
from .sources import IMAGE_SUFFIXES, Frame, Source, import_cv2

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
WINDOW_KEYS_QUIT = (ord("q"), 27)   # q or Esc closes the window


@dataclass
class Result:
    """What an app made of one frame."""

    value: list                       # JSON-ready results (detections, classes)
    text: str                         # one line for people
    latency_ms: float                 # the model's invoke time
    extra: dict = field(default_factory=dict)   # more JSON fields for stream lines
    draw: Callable | None = None      # draw(cv2, bgr): annotate a BGR copy of the frame


class FrameRate:
    """Frames per second over the last ``window`` frames."""

    def __init__(self, window: int = 30):
        self.times: list[float] = []
        self.window = window

    def tick(self) -> float:
        self.times = (self.times + [time.perf_counter()])[-self.window:]
        if len(self.times) < 2:
            return float("nan")
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class Outputs:
    def __init__(self, source: Source, json_out: bool, out: str | None, window: bool,
                 app: str):
        self.source, self.json_out, self.app = source, json_out, app
        self.out = Path(out) if out else None
        self.writer = None
        self.window = window and has_display()
        self.cv2 = None
        if self.out is not None:
            self._check_out_path()
        if self.out is not None or self.window:
            self.cv2 = import_cv2("--out and the window" if self.out else "the window")
        if self.window and not self._gui_works():
            self.window = False

    def _check_out_path(self) -> None:
        suffix = self.out.suffix.lower()
        if self.source.is_stream and suffix not in VIDEO_CODECS:
            raise AppError(f"--out {str(self.out)!r}: a stream is written as a video: "
                           f"use {'/'.join(VIDEO_CODECS)}")
        if not self.source.is_stream and suffix not in IMAGE_SUFFIXES:
            raise AppError(f"--out {str(self.out)!r}: an image source is written as an "
                           f"image: use {'/'.join(IMAGE_SUFFIXES)}")
        if not self.out.parent.is_dir():
            raise AppError(f"--out {str(self.out)!r}: directory {str(self.out.parent)!r} "
                           "does not exist")

    def _gui_works(self) -> bool:
        try:
            self.cv2.namedWindow(self.app, self.cv2.WINDOW_AUTOSIZE | self.cv2.WINDOW_GUI_NORMAL)
            return True
        except self.cv2.error:   # headless OpenCV build: no window, silently
            return False

    def emit(self, frame: Frame, result: Result, total_ms: float, fps: float) -> bool:
        """Report one frame; False when the user closed the window."""
        timing = f"{result.latency_ms:.1f} ms invoke, {total_ms:.1f} ms/frame"
        if self.source.is_stream:
            timing += "" if math.isnan(fps) else f", {fps:.1f} FPS"
        if self.json_out:
            if self.source.is_stream:
                line = {"frame": frame.index, "name": frame.name,
                        "latency_ms": round(result.latency_ms, 2),
                        "frame_ms": round(total_ms, 2),
                        "fps": None if math.isnan(fps) else round(fps, 2),
                        "results": result.value, **result.extra}
                print(json.dumps(line), flush=True)
            else:
                print(json.dumps(result.value))
        else:
            print(f"{frame.name}: {result.text} ({timing})", flush=True)
        if self.cv2 is None:
            return True
        bgr = np.ascontiguousarray(frame.rgb[:, :, ::-1])
        if result.draw is not None:
            result.draw(self.cv2, bgr)
        drawing.text(self.cv2, bgr, timing, 4, 4)
        if self.out is not None:
            self._write(bgr)
        if self.window:
            self.cv2.imshow(self.app, bgr)
            key = self.cv2.waitKey(1 if self.source.is_stream else 0) & 0xFF
            if key in WINDOW_KEYS_QUIT:
                return False
        return True

    def _write(self, bgr: np.ndarray) -> None:
        cv2 = self.cv2
        if not self.source.is_stream:
            if not cv2.imwrite(str(self.out), bgr):
                raise AppError(f"cannot write {str(self.out)!r}")
            return
        if self.writer is None:
            h, w = bgr.shape[:2]
            self.size = (w, h)
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.out.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.out), fourcc, self.source.fps or 10.0,
                                          self.size)
            if not self.writer.isOpened():
                raise AppError(f"cannot write video {str(self.out)!r} (codec "
                               f"{VIDEO_CODECS[self.out.suffix.lower()]} not available)")
        if bgr.shape[1::-1] != self.size:   # a directory of differently sized images
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(bgr)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        if self.window:
            self.cv2.destroyAllWindows()


def print_error(app: str, message: str) -> int:
    print(f"{app}: error: {message}", file=sys.stderr)
    return 2
