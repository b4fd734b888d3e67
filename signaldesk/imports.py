"""Importing third-party modules without their optional extras, to keep the 1-core processes small."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(module: str, optional: tuple[str, ...]) -> ModuleType:
    """Import `module` while its optional dependencies look absent (unless already loaded), then un-hide them.

    sqlite-utils loads pandas and numpy, and lightgbm loads scikit-learn, only to support types signaldesk never
    passes them; hiding those saves ~50-65 MB and ~0.6 s of CPU per process. Later imports of the hidden modules
    work as usual.
    """
    hidden = [name for name in optional if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = (
            None  # `import name` now raises ImportError, which these libraries tolerate
        )
    try:
        return importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]
