"""Where numba caches edgelite's compiled kernels, set up before numba compiles anything.

The kernels are ``@njit(cache=True)``. numba's default keeps that cache in ``__pycache__``
beside each source file, which a read-only install (a system site-packages on a Raspberry
Pi) cannot write, so every process would compile again. ``configure()``, run by
``import edgelite``, picks edgelite's own directory instead:

1. ``NUMBA_CACHE_DIR`` set by the user: left alone, edgelite uses it too.
2. else ``$EDGELITE_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgelite/numba`` (XDG's default
   ``~/.cache``), created if missing and probed by writing a file into it.
3. if that cannot be created or written: a private temporary directory, made when numba
   loads and removed at exit, which is caching off in effect. Silently (no warning, no
   traceback);
   ``edgelite warmup`` prints why. numba's own default is not used as the fallback
   because it writes beside the package sources, or raises when nothing is writable.

The directory reaches numba as ``numba.core.config.CACHE_DIR``: at once if numba is
already imported, else from a one-shot import hook that runs when numba loads its config
(numba reads ``NUMBA_CACHE_DIR`` there), so ``os.environ`` and child processes are left
as they were. numba's config is process-wide: other ``cache=True`` functions compiled in
the same process share the directory.

A second hook is only about start-up time. When numba first loads a compiled function it
imports ``numba.np.arraymath``, whose import-time probe for a BLAS imports
``scipy.linalg`` (~150 ms of a ~0.7 s warm start) just to choose how ``np.correlate``
and ``np.convolve`` compute inner products inside jitted code. The hook makes that probe
see no scipy: those two then use a plain loop (equal up to rounding), while ``np.dot`` and
``np.linalg`` in jitted code still find scipy when they are compiled. It is not installed
when scipy is already imported, and ``EDGELITE_NUMBA_BLAS_PROBE=1`` turns it off.

A third hook is also about start-up. Before it loads anything from its cache, numba
refreshes its CPU target: it imports and installs every typing and lowering registry it
has (arrays, lists, dicts, sets, random, polynomials, datetimes, jitclasses, ...), about
0.2 s, half of a warm start. Loading needs none of it: a cached entry is machine code
plus pickled descriptors, and calling it goes through the dispatcher's type codes. It
needs only the runtime (NRT), whose symbols the code links against. So edgelite's hook
wraps ``Cache.load_overload`` to initialise the runtime and skip the refresh for that
load. Nothing else changes: compiling still refreshes the target first (numba's
compiler does that itself), and a load that fails without the refresh is retried with
it. ``EDGELITE_NUMBA_EAGER_REFRESH=1`` turns the hook off.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._import_hook import after_import

_BLAS_PROBE = "scipy.linalg.cython_blas"


@dataclass(frozen=True)
class CacheInfo:
    """The numba cache edgelite uses: ``path`` and where the choice came from."""

    path: str
    source: str  # "NUMBA_CACHE_DIR", "EDGELITE_CACHE_DIR", "XDG", "numba config", "fallback"
    reason: str = ""  # why the fallback was taken

    @property
    def persistent(self) -> bool:
        return self.source != "fallback"


_info: CacheInfo | None = None


def default_dir() -> tuple[Path, str]:
    """edgelite's cache directory before any probing, and which setting named it."""
    if os.environ.get("EDGELITE_CACHE_DIR"):
        return Path(os.environ["EDGELITE_CACHE_DIR"]).expanduser(), "EDGELITE_CACHE_DIR"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "edgelite" / "numba", "XDG"


def _unusable(path: Path) -> str:
    """Why ``path`` cannot hold the cache ("" when it can): created, then a file written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        return f"{path} is not writable ({e.strerror or type(e).__name__})"
    return ""


def _private_dir() -> str:
    import shutil

    path = tempfile.mkdtemp(prefix="edgelite-numba-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _choose() -> CacheInfo:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return CacheInfo(os.environ["NUMBA_CACHE_DIR"], "NUMBA_CACHE_DIR")
    path, source = default_dir()
    reason = _unusable(path)
    if reason:  # the private directory is made only once numba loads (see _apply)
        return CacheInfo("", "fallback", reason)
    return CacheInfo(str(path), source)


def _apply(config, _token: object = None) -> None:
    """Give numba our directory, unless its config already names one (from the
    environment or a ``.numba_config.yaml``): then that one is what ``cache_info`` reports.
    numba re-reads ``NUMBA_*`` variables only when one of them changes, so the value holds."""
    global _info
    current = getattr(config, "CACHE_DIR", None)
    if _info is None or current is None:
        return
    if current:
        if current != _info.path:
            _info = CacheInfo(current, "numba config")
        return
    if not _info.persistent and not _info.path:
        try:
            _info = CacheInfo(_private_dir(), "fallback", _info.reason)
        except OSError:  # no writable temp dir either: numba's default locators decide
            return
    config.CACHE_DIR = _info.path


def _block_blas_probe() -> bool:
    if _BLAS_PROBE in sys.modules:
        return False
    sys.modules[_BLAS_PROBE] = None  # makes `import scipy.linalg.cython_blas` fail at once
    return True


def _unblock_blas_probe(_module, blocked: bool) -> None:
    if blocked and sys.modules.get(_BLAS_PROBE, 0) is None:
        del sys.modules[_BLAS_PROBE]


def _skip_refresh() -> None:
    """Stands in for the target's ``refresh`` while a cached entry loads."""


def _lazy_load(caching, _token: object = None) -> None:
    """Wrap ``Cache.load_overload`` so that a load does not refresh numba's target (see
    the module docstring). numba calls it under its global compiler lock, so the
    instance attribute set for the call is seen by that load only."""
    cache_cls = getattr(caching, "Cache", None)
    original = getattr(cache_cls, "load_overload", None)
    if original is None or getattr(original, "_edgelite_lazy", False):
        return

    def load_overload(self, sig, target_context):
        if "refresh" in vars(target_context):        # someone else's override: hands off
            return original(self, sig, target_context)
        try:
            from numba.core.runtime import rtsys

            rtsys.initialize(target_context)
            target_context.refresh = _skip_refresh
            try:
                return original(self, sig, target_context)
            finally:
                del target_context.refresh
        # whatever a lazy load lacked: numba's own way, refresh first
        except Exception:  # noqa: BLE001
            return original(self, sig, target_context)

    load_overload._edgelite_lazy = True
    load_overload.__wrapped__ = original
    cache_cls.load_overload = load_overload


def configure() -> CacheInfo:
    """Choose the cache directory and hand it to numba (idempotent)."""
    global _info
    if _info is not None:
        return _info
    _info = _choose()
    config = sys.modules.get("numba.core.config")
    if config is not None:
        _apply(config)
    else:
        after_import("numba.core.config", after=_apply)
    if (os.environ.get("EDGELITE_NUMBA_BLAS_PROBE") != "1"
            and "numba.np.arraymath" not in sys.modules and "scipy.linalg" not in sys.modules):
        after_import("numba.np.arraymath", before=_block_blas_probe,
                     after=_unblock_blas_probe)
    if os.environ.get("EDGELITE_NUMBA_EAGER_REFRESH") != "1":
        caching = sys.modules.get("numba.core.caching")
        if caching is not None:
            _lazy_load(caching)
        else:
            after_import("numba.core.caching", after=_lazy_load)
    return _info


def cache_info() -> CacheInfo:
    """The cache edgelite configured (configuring it now if ``import edgelite`` did not)."""
    return configure()


def describe(info: CacheInfo) -> str:
    """One line for people: where compiled kernels go, or why they are not kept."""
    if info.persistent:
        return f"numba cache: {info.path} (from {info.source})"
    return f"numba cache: off for this process ({info.reason})"
