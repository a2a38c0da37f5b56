"""Raspberry Pi demo apps: ``python -m apps.classify`` (camera/video/image classification)
and ``python -m apps.detect`` (SSD / BlazeFace detection with pan-tilt servo tracking).
Set-up and wiring: docs/raspberry-pi.md."""
