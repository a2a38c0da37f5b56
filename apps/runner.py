"""What both apps share: the common flags, the frame loop and the error handling.

An app gives ``run_app`` a ``process(frame) -> Result``; the loop reads the source,
times each frame, and hands the result to ``Outputs``. Bad input (a missing file, an
unreadable video, an unknown source, a missing library) ends the program with one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from edgelite.kernels.api import PrepareError

from .errors import AppError
from .output import FrameRate, Outputs, Result, print_error
from .sources import open_source


def common_parser(prog: str, description: str, model_help: str,
                  labels_help: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--source", required=True,
                   help="an image file, a directory of images, a video file, a webcam index "
                        "(0, 1, ...) or 'picamera'")
    p.add_argument("--model", help=model_help)
    p.add_argument("--labels", help=labels_help)
    p.add_argument("--threads", type=int, default=None, help="interpreter threads")
    p.add_argument("--top-k", type=int, default=5, help="results to keep per frame")
    p.add_argument("--threshold", type=float, default=None, help="minimum score to report")
    p.add_argument("--json", action="store_true",
                   help="machine-readable results: one JSON document for an image, JSON "
                        "lines for a stream")
    p.add_argument("--out", help="write an annotated copy: an image for an image source, "
                                 "a .mp4/.avi video for a stream")
    p.add_argument("--no-window", action="store_true",
                   help="never open a window (one opens when a display exists)")
    p.add_argument("--max-frames", type=int, default=None,
                   help="stop after this many frames (streams)")
    return p


def run_app(prog: str, args: argparse.Namespace, setup: Callable[[], Callable]) -> int:
    """``setup()`` loads the model and returns ``process(frame) -> Result``."""
    source = outputs = None
    try:
        source = open_source(args.source)
        process = setup()
        outputs = Outputs(source, args.json, args.out, not args.no_window, prog)
        rate = FrameRate()
        for frame in source:
            start = time.perf_counter()
            result: Result = process(frame)
            total_ms = (time.perf_counter() - start) * 1e3
            if not outputs.emit(frame, result, total_ms, rate.tick()):
                break
            if args.max_frames is not None and frame.index + 1 >= args.max_frames:
                break
    except KeyboardInterrupt:
        pass
    except (AppError, FileNotFoundError, PermissionError, IsADirectoryError, ValueError,
            PrepareError) as e:
        return print_error(prog, str(e))
    finally:
        if outputs is not None:
            outputs.close()
        if source is not None:
            source.close()
    return 0
