"""The kernel registry's static index (which module defines which op) against the modules'
own tables, and that an interpreter imports only the kernel modules its model uses."""

from __future__ import annotations

import json
import subprocess
import sys

from edgelite.kernels import registry
from tests.conftest import REPO, tf_model


def test_index_matches_the_modules_tables():
    builtins, customs, owner = registry.tables()
    assert registry.BUILTIN_INDEX == {n: owner[f"KERNELS:{n}"] for n in builtins}
    assert registry.CUSTOM_INDEX == {n: owner[f"CUSTOM_KERNELS:{n}"] for n in customs}
    for name in builtins:
        assert registry.builtin_kernels()[name] is builtins[name]
    for name in customs:
        assert registry.custom_kernels()[name] is customs[name]


def test_interpreter_imports_only_the_kernels_it_uses():
    path = tf_model("mobilenet_v2_035.float32")
    code = ("import json, sys; from edgelite import Interpreter; "
            f"i = Interpreter(model_path={str(path)!r}); i.allocate_tensors(); "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.startswith('edgelite.kernels.'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = {m.rsplit(".", 1)[1] for m in json.loads(proc.stdout)}
    assert {"conv", "elementwise", "reduce", "fully_connected", "activations"} <= loaded
    assert not loaded & {"sequence", "control_flow", "detection", "resize", "gather"}, loaded
