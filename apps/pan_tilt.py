"""Pan-tilt tracking: two ``gpiozero.AngularServo``s turned by a small PID per axis so that
the camera keeps the highest-scoring target centred ("a virtual videographer").

Sign convention (logical angles, degrees from the centre position):
* pan > 0 turns the camera **right**, tilt > 0 turns it **up**;
* a target right of the frame centre has a positive horizontal bearing, so the pan angle
  rises until the target is centred; a target above the centre raises the tilt angle.
A servo mounted the other way round gets ``--invert-pan`` / ``--invert-tilt``: the angle
written to that servo is negated, the logical angle (and every report) is not.

The loop, once per frame: bearing = offset of the target's centre from the frame centre
as a fraction of the frame, times the camera's field of view (degrees); the PID turns the
bearing into an angle step (``kp * e + ki * sum(e) + kd * (e - e_prev)``; the servo angle
integrates the steps, so P alone already centres a still target); steps are capped at
``max_step`` and errors under ``deadband`` count as zero (no servo jitter). Without a
target the servos hold still and the PID forgets its history.

``--pan-tilt mock`` runs anywhere: the servos sit on gpiozero's ``MockFactory`` PWM pins,
and a ``VirtualCamera`` closes the loop: the camera's picture is a window of the source
frame (``view`` of its width and height) whose centre moves with the mock servos' angles
(the same field of view maps degrees to pixels), so tracking a video shows the window
following the target.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import AppError

PI_CAMERA_FOV = (62.2, 48.8)   # Raspberry Pi Camera Module v2, degrees (h, v)


@dataclass
class PID:
    """One axis; ``update(error)`` returns the angle step for this frame."""

    kp: float = 0.3
    ki: float = 0.005
    kd: float = 0.05
    integral_limit: float = 200.0   # degrees x frames: anti-windup
    _sum: float = 0.0
    _prev: float | None = None

    def update(self, error: float) -> float:
        self._sum = float(np.clip(self._sum + error, -self.integral_limit,
                                  self.integral_limit))
        derivative = 0.0 if self._prev is None else error - self._prev
        self._prev = error
        return self.kp * error + self.ki * self._sum + self.kd * derivative

    def reset(self) -> None:
        self._sum, self._prev = 0.0, None


@dataclass
class ServoConfig:
    pin: int
    min_angle: float = -90.0
    max_angle: float = 90.0
    invert: bool = False


def _gpiozero():
    try:
        import gpiozero
    except ImportError:
        raise AppError("--pan-tilt needs gpiozero: pip install 'edgelite[apps]' (or on "
                       "Raspberry Pi OS: sudo apt install python3-gpiozero)") from None
    return gpiozero


class PanTilt:
    """``mode``: ``"gpio"`` (real servos through gpiozero's default pin factory, lgpio on
    a Raspberry Pi 5 / Raspberry Pi OS bookworm) or ``"mock"`` (gpiozero's MockFactory)."""

    def __init__(self, mode: str, pan: ServoConfig, tilt: ServoConfig,
                 fov: tuple[float, float] = PI_CAMERA_FOV,
                 pulse_ms: tuple[float, float] = (1.0, 2.0), gains: tuple = (0.3, 0.005, 0.05),
                 deadband: float = 0.5, max_step: float = 10.0):
        gpiozero = _gpiozero()
        factory = None
        if mode == "mock":
            from gpiozero.pins.mock import MockFactory, MockPWMPin

            factory = MockFactory(pin_class=MockPWMPin)
        elif mode != "gpio":
            raise AppError(f"--pan-tilt {mode!r}: expected 'gpio' or 'mock'")
        for name, c in (("pan", pan), ("tilt", tilt)):
            if not c.min_angle < c.max_angle:
                raise AppError(f"--{name}-limits {c.min_angle:g},{c.max_angle:g}: the first "
                               "must be below the second (a reversed servo: "
                               f"--invert-{name})")
        self.mode, self.fov, self.deadband, self.max_step = mode, fov, deadband, max_step
        self.configs = (pan, tilt)
        self.servos = []
        try:
            with warnings.catch_warnings():   # one warning per pin factory it tries
                warnings.simplefilter("ignore", gpiozero.PinFactoryFallback)
                for c in self.configs:
                    self.servos.append(gpiozero.AngularServo(
                        c.pin, initial_angle=0.0, min_angle=c.min_angle,
                        max_angle=c.max_angle, min_pulse_width=pulse_ms[0] / 1000,
                        max_pulse_width=pulse_ms[1] / 1000, pin_factory=factory))
        except (gpiozero.GPIOZeroError, OSError, RuntimeError, ValueError) as e:
            self.close()
            raise AppError(f"cannot drive the servos on GPIO {pan.pin}/{tilt.pin}: {e} (on "
                           "a Raspberry Pi: sudo apt install python3-lgpio; without servos: "
                           "--pan-tilt mock)") from None
        self.pids = (PID(*gains), PID(*gains))

    def angle(self, axis: int) -> float:
        """The logical angle of axis 0 (pan) or 1 (tilt), read back from its servo."""
        value = self.servos[axis].angle
        if value is None:
            return 0.0
        return (-value if self.configs[axis].invert else value) + 0.0   # no -0.0

    @property
    def pan(self) -> float:
        return self.angle(0)

    @property
    def tilt(self) -> float:
        return self.angle(1)

    def bearing(self, target: tuple[float, float], size: tuple[int, int]) -> tuple[float, float]:
        """Degrees right of / above the picture's centre for a point (x, y) in a picture
        of (width, height) pixels."""
        (x, y), (w, h) = target, size
        return (x - w / 2) / w * self.fov[0], (h / 2 - y) / h * self.fov[1]

    def update(self, target: tuple[float, float] | None, size: tuple[int, int]) -> None:
        """One control step toward ``target`` (None: hold still, forget history)."""
        if target is None:
            for pid in self.pids:
                pid.reset()
            return
        for axis, error in enumerate(self.bearing(target, size)):
            error = 0.0 if abs(error) < self.deadband else error
            step = float(np.clip(self.pids[axis].update(error), -self.max_step, self.max_step))
            c = self.configs[axis]
            angle = float(np.clip(self.angle(axis) + step, c.min_angle, c.max_angle))
            self.servos[axis].angle = -angle if c.invert else angle

    def close(self) -> None:
        for servo in self.servos:
            servo.close()


class VirtualCamera:
    """The picture a camera on the mock gimbal would see: a window of ``view`` x the
    source frame, centred at the frame centre plus the pan/tilt angles converted to
    pixels by the field of view (kept inside the frame)."""

    def __init__(self, fov: tuple[float, float] = PI_CAMERA_FOV, view: float = 0.5):
        if not 0.1 <= view <= 1.0:
            raise AppError(f"--mock-view {view}: expected a fraction in [0.1, 1]")
        self.fov, self.view = fov, view

    def window(self, frame_size: tuple[int, int], pan: float, tilt: float
               ) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the camera's picture in the source frame."""
        w, h = frame_size
        vw, vh = max(1, round(w * self.view)), max(1, round(h * self.view))
        cx = w / 2 + pan * vw / self.fov[0]
        cy = h / 2 - tilt * vh / self.fov[1]
        x0 = int(np.clip(round(cx - vw / 2), 0, w - vw))
        y0 = int(np.clip(round(cy - vh / 2), 0, h - vh))
        return x0, y0, x0 + vw, y0 + vh
