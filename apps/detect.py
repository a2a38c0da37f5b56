"""Detect objects (by default faces) in images, videos or a camera, and optionally keep
the best one centred with a pan-tilt servo gimbal.

    python -m apps.detect --source astronaut.png --json     # [{"box": [...], ...}]
    python -m apps.detect --source 0 --pan-tilt gpio        # webcam + real servos
    python -m apps.detect --source clip.mp4 --pan-tilt mock --out tracked.mp4

Default model: the bundled mediapipe ``face_detection_short_range`` (BlazeFace). Any
SSD whose graph ends in ``TFLite_Detection_PostProcess`` works too (``--model``,
``--labels``); the decoding is chosen from the model's outputs (``edgelite.vision``).
Pan-tilt details and the sign convention (pan > 0 = right, tilt > 0 = up) are in
``apps/pan_tilt.py``; with ``--pan-tilt mock`` the picture the detector sees is the
mock camera's window on the source frame, and boxes are reported in source pixels.
"""

from __future__ import annotations

import sys

from edgelite.vision import Detection, Detector, bundled

from . import drawing
from .errors import AppError
from .output import Result
from .pan_tilt import PI_CAMERA_FOV, PanTilt, ServoConfig, VirtualCamera
from .runner import common_parser, run_app

PROG = "apps.detect"


def _pair(text: str, flag: str, kind=float) -> tuple:
    try:
        a, b = (kind(v) for v in text.split(","))
    except ValueError:
        raise AppError(f"{flag} {text!r}: expected two numbers A,B") from None
    return a, b


def build_parser():
    p = common_parser(
        PROG, "Detect objects (default: faces) in images, video or a camera; optionally "
              "track the best one with pan-tilt servos.",
        model_help="a .tflite detector: BlazeFace-style raw outputs or an SSD ending in "
                   "TFLite_Detection_PostProcess (default: the bundled face detector)",
        labels_help="labels file for the detector's classes (default: 'face' for the "
                    "bundled model, class numbers otherwise)")
    g = p.add_argument_group("pan-tilt tracking")
    g.add_argument("--pan-tilt", choices=["gpio", "mock"],
                   help="move two servos toward the best target: real GPIO servos, or "
                        "gpiozero's MockFactory with a simulated camera window")
    g.add_argument("--pan-pin", type=int, default=17, help="GPIO (BCM) pin of the pan servo")
    g.add_argument("--tilt-pin", type=int, default=18, help="GPIO (BCM) pin of the tilt servo")
    g.add_argument("--pan-limits", default="-90,90", metavar="MIN,MAX",
                   help="pan servo limits in degrees")
    g.add_argument("--tilt-limits", default="-90,90", metavar="MIN,MAX",
                   help="tilt servo limits in degrees")
    g.add_argument("--pulse-ms", default="1.0,2.0", metavar="MIN,MAX",
                   help="servo pulse widths at the limits, ms (SG90: 0.5,2.4)")
    g.add_argument("--invert-pan", action="store_true", help="pan servo mounted reversed")
    g.add_argument("--invert-tilt", action="store_true", help="tilt servo mounted reversed")
    g.add_argument("--fov", default=f"{PI_CAMERA_FOV[0]},{PI_CAMERA_FOV[1]}", metavar="H,V",
                   help="camera field of view, degrees (default: Pi Camera Module v2)")
    g.add_argument("--pid", default="0.3,0.005,0.05", metavar="KP,KI,KD",
                   help="PID gains (angle step per frame per degree of error)")
    g.add_argument("--mock-view", type=float, default=0.5,
                   help="mock: the camera window's share of the source frame")
    return p


def _pan_tilt(args) -> tuple[PanTilt | None, VirtualCamera | None]:
    if args.pan_tilt is None:
        return None, None
    try:
        gains = tuple(float(v) for v in args.pid.split(","))
        if len(gains) != 3:
            raise ValueError
    except ValueError:
        raise AppError(f"--pid {args.pid!r}: expected KP,KI,KD") from None
    fov = _pair(args.fov, "--fov")
    gimbal = PanTilt(args.pan_tilt,
                     ServoConfig(args.pan_pin, *_pair(args.pan_limits, "--pan-limits"),
                                 invert=args.invert_pan),
                     ServoConfig(args.tilt_pin, *_pair(args.tilt_limits, "--tilt-limits"),
                                 invert=args.invert_tilt),
                     fov=fov, pulse_ms=_pair(args.pulse_ms, "--pulse-ms"), gains=gains)
    camera = VirtualCamera(fov, args.mock_view) if args.pan_tilt == "mock" else None
    return gimbal, camera


class DetectFrames:
    """Per frame: (the mock camera's window), detect, (one pan-tilt step), report."""

    def __init__(self, args):
        self.detector = Detector(args.model or bundled.FACE_DETECTOR, args.labels,
                                 threads=args.threads, threshold=args.threshold)
        self.gimbal, self.camera = _pan_tilt(args)
        self.top_k = args.top_k

    def __call__(self, frame) -> Result:
        rgb, window = frame.rgb, None
        if self.camera is not None:   # the mock camera sees a window of the frame
            h, w = rgb.shape[:2]
            window = self.camera.window((w, h), self.gimbal.pan, self.gimbal.tilt)
            rgb = rgb[window[1]:window[3], window[0]:window[2]]
        ox, oy = window[:2] if window else (0, 0)
        found = [_shifted(d, ox, oy) for d in self.detector.detect(rgb)[:self.top_k]]
        extra = {}
        if self.gimbal is not None:
            # the best target, in the camera picture's pixels
            target = (found[0].centre[0] - ox, found[0].centre[1] - oy) if found else None
            self.gimbal.update(target, (rgb.shape[1], rgb.shape[0]))
            extra = {"pan": round(self.gimbal.pan, 3), "tilt": round(self.gimbal.tilt, 3)}
            if window is not None:
                extra["view"] = list(window)
        return Result([d.as_dict() for d in found], self._text(found),
                      self.detector.latency_ms, extra, self._drawer(found, window))

    def _text(self, found: list[Detection]) -> str:
        parts = [f"{d.label} {d.score:.2f} at [{', '.join(f'{v:.0f}' for v in d.box)}]"
                 for d in found]
        if self.gimbal is not None:
            parts.append(f"pan {self.gimbal.pan:+.1f} tilt {self.gimbal.tilt:+.1f}")
        return "; ".join(parts) or "nothing found"

    def _drawer(self, found: list[Detection], window):
        gimbal = self.gimbal
        angles = None if gimbal is None else f"pan {gimbal.pan:+.1f}  tilt {gimbal.tilt:+.1f}"

        def draw(cv2, bgr):
            for d in found:
                drawing.box(cv2, bgr, d.box, f"{d.label} {d.score:.2f}")
                drawing.points(cv2, bgr, d.keypoints)
            if window is not None:
                drawing.rectangle(cv2, bgr, window)
                drawing.crosshair(cv2, bgr, (window[0] + window[2]) / 2,
                                  (window[1] + window[3]) / 2)
            if angles is not None:
                drawing.text(cv2, bgr, angles, 4,
                             bgr.shape[0] - int(30 * max(1.0, min(bgr.shape[:2]) / 720)))

        return draw


def _shifted(d: Detection, ox: float, oy: float) -> Detection:
    if not ox and not oy:
        return d
    x0, y0, x1, y1 = d.box
    return Detection((x0 + ox, y0 + oy, x1 + ox, y1 + oy), d.score, d.label,
                     tuple((x + ox, y + oy) for x, y in d.keypoints))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_app(PROG, args, lambda: DetectFrames(args))


if __name__ == "__main__":
    sys.exit(main())
