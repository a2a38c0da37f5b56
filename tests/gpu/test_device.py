"""Finding an adapter: a clear error naming what to install when there is none."""

from __future__ import annotations

import pytest

from edgelite.delegates.gpu import GpuDelegate, GpuUnavailableError
from tests.gpu.helpers import gpu


def test_an_unknown_adapter_fails_with_what_to_install():
    gpu("fp32")   # a real adapter exists here (else this fails with the install hint)
    with pytest.raises(GpuUnavailableError, match="mesa-vulkan-drivers"):
        GpuDelegate(adapter="no-such-adapter-on-this-machine")


def test_bad_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        GpuDelegate(precision="int8")
