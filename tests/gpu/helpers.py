"""Shared by the GPU delegate tests: the delegate (one per precision, so pipelines are
compiled once per session), a runner, and the error measure.

No adapter fails the test with what to install (never a skip): on a machine without a
GPU, ``apt-get install mesa-vulkan-drivers`` gives Mesa's lavapipe, which CI uses.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.schema import ir, write
from tests.kernels.harness import _feed_and_run


@functools.cache
def _delegate(precision: str):
    from edgelite.delegates.gpu import GpuDelegate, GpuUnavailableError

    try:
        return GpuDelegate(precision=precision)
    except GpuUnavailableError as e:
        pytest.fail(f"GPU delegate tests need a WebGPU adapter: {e}")


def gpu(precision: str = "fp32"):
    return _delegate(precision)


def interpreter(model, delegates=()) -> Interpreter:
    if isinstance(model, ir.Model):
        return Interpreter(model_content=write(model), experimental_delegates=list(delegates))
    return Interpreter(model_path=str(model), experimental_delegates=list(delegates))


def invoke(interp: Interpreter, feeds: list) -> list[np.ndarray]:
    """Resize, allocate, set, invoke once; copies of the outputs (the kernel tests' way)."""
    return _feed_and_run(interp, feeds)


def rel_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| over the output's scale max |want| (elementwise relative error is
    meaningless next to zeros; the golden tests measure the same way)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = max(float(np.abs(want).max()), 1e-30)
    return float(np.abs(got.astype(np.float64) - want).max()) / scale


def cpu_steps(interp: Interpreter) -> list[str]:
    """Names of the plan's steps that run on the CPU (not in a delegate)."""
    return [s.name for s in interp._main.steps if not s.name.startswith("DELEGATE:")]
