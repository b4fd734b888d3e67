"""Importing third-party modules without their optional extras, to keep the 1-core processes
small."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(module: str, optional: tuple[str, ...]) -> ModuleType:
    """Import `module` while its optional dependencies look absent (unless already loaded), then
    un-hide them.

    sqlite-utils loads pandas and numpy, and lightgbm loads scikit-learn, only to support types
    signaldesk never passes them; hiding those saves ~50-65 MB and ~0.6 s of CPU per process. Later
    imports of the hidden modules work as usual.
    """
    hidden = [name for name in optional if name not in sys.modules]
    for name in hidden:
        # `import name` now raises ImportError, which these libraries tolerate; typeshed types
        # sys.modules without the None that the import system documents as "blocked"
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


def import_with_stand_ins(module: str, stand_ins: dict[str, ModuleType]) -> ModuleType:
    """Import `module` while some of its dependencies are stand-in modules, then put the real ones
    back.

    Only the import of `module` (and of the submodules it imports) sees the stand-ins; a module
    already loaded is returned as it is. Later imports of the replaced names get the real modules.
    """
    if module in sys.modules:
        return sys.modules[module]
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module(module)
    finally:
        for name, previous in saved.items():
            if previous is None:
                del sys.modules[name]
            else:
                sys.modules[name] = previous
