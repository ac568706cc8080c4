"""Import heavy packages only when something uses them (the standalone server's process only).

gradio 3 imports pandas, matplotlib and altair at import time for its plot and
table components, about 90 MB of the tab's memory; our tab never draws those
components. In the standalone server (a process we own) `defer()` makes a later
`import pandas` hand out a placeholder module: the real package is imported the
first time an attribute of it, or of a name taken from it, is used. Nothing
changes for code that uses them; code that never does never pays for them.
Inside a host this is never called: the host's process and its imports are its own.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types

HEAVY = ("pandas", "matplotlib", "altair")
_lock = threading.RLock()


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots: tuple[str, ...]):
        self.roots = set(roots)

    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return Placeholder(spec.name)

    def exec_module(self, module) -> None:
        pass


class Placeholder(types.ModuleType):
    """Stands for a module until first use; then every access goes to the real one."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__path__ = []  # a package: `import pandas.api.types` comes back here
        self._real = None

    def __getattr__(self, attr: str):
        real = object.__getattribute__(self, "_real")
        if real is None and attr.startswith("__") and attr.endswith("__"):
            real = self._load()  # __version__, __all__, ...: only the real module knows
        if real is None:
            sub = sys.modules.get(f"{self.__name__}.{attr}")
            if isinstance(sub, Placeholder):
                return sub
            return Later(self.__name__, attr)
        return getattr(real, attr)

    def _load(self):
        real = object.__getattribute__(self, "_real")
        if real is None:
            real = self._real = load(self.__name__)
        return real


class Later:
    """A name taken from a placeholder (`from pandas.api.types import is_numeric_dtype`): resolved on use."""

    __slots__ = ("_module", "_name")

    def __init__(self, module: str, name: str):
        self._module, self._name = module, name

    def _target(self):
        return getattr(load(self._module), self._name)

    def __call__(self, *args, **kwargs):
        return self._target()(*args, **kwargs)

    def __getattr__(self, attr: str):
        return getattr(self._target(), attr)

    def __instancecheck__(self, obj) -> bool:
        return isinstance(obj, self._target())


def load(name: str):
    """Import the real module `name`, dropping every placeholder of its package first."""
    with _lock:
        root = name.split(".", 1)[0]
        current = sys.modules.get(name)
        if current is not None and not isinstance(current, Placeholder):
            return current
        for finder in [f for f in sys.meta_path if isinstance(f, _Finder)]:
            finder.roots.discard(root)
        stale = {key: mod for key, mod in sys.modules.items()
                 if (key == root or key.startswith(root + ".")) and isinstance(mod, Placeholder)}
        for key in stale:
            del sys.modules[key]
        real = importlib.import_module(name)
        for key, placeholder in stale.items():
            loaded = sys.modules.get(key)
            if loaded is not None:
                object.__setattr__(placeholder, "_real", loaded)
        return real


def defer(roots: tuple[str, ...] = HEAVY) -> list[str]:
    """Defer the packages of `roots` that are installed and not imported yet; returns those deferred."""
    import importlib.util

    chosen = [r for r in roots if r not in sys.modules and importlib.util.find_spec(r) is not None]
    if chosen:
        sys.meta_path.insert(0, _Finder(tuple(chosen)))
    return chosen
