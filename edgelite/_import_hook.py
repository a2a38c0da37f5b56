"""Run code around the first import of a named module, once (used by ``_cache``).

``after_import(name, before=..., after=...)`` puts one finder at the front of
``sys.meta_path``. When Python looks for ``name`` the finder takes the spec the other
finders return and wraps its loader for that one execution: ``before()`` runs just before
the module body, ``after(module, token)`` just after it (also when the body raises) with
whatever ``before`` returned. The original loader is put back on the module, and the
finder leaves ``sys.meta_path`` once no hook is pending. Nothing else is imported or
touched, so a module that is already imported is simply never seen.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Before = Callable[[], object]
After = Callable[[object, object], None]


class _HookedLoader:
    def __init__(self, loader, before: Before | None, after: After | None) -> None:
        self._loader = loader
        self._before = before
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        token = self._before() if self._before else None
        try:
            self._loader.exec_module(module)
        finally:
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader
            if self._after:
                self._after(module, token)

    def __getattr__(self, name: str):  # get_source, get_filename, ... for inspect & co
        return getattr(self._loader, name)


class _Finder:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[Before | None, After | None]] = {}

    def find_spec(self, name, path, target=None):
        hooks = self.pending.pop(name, None)
        if hooks is None:
            return None
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _HookedLoader(spec.loader, *hooks)
        return spec


_finder = _Finder()


def after_import(name: str, *, before: Before | None = None,
                 after: After | None = None) -> None:
    """Run ``before()`` / ``after(module, token)`` around the first import of ``name``."""
    _finder.pending[name] = (before, after)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
