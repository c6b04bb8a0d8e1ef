# -*- test-case-name: tests.test_deprecated -*-
"""
The module names of eofrelay 0.1, kept for one release: each of those
modules gives its names from where they live now, with a
C{DeprecationWarning}.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping


def moved(module: str, name: str, places: Mapping[str, str]) -> object:
    """
    The attribute C{name} of the deprecated C{module}, from the module
    C{places} says it lives in now.

    @raise AttributeError: for a name the deprecated module never had.
    """
    where = places.get(name)
    if where is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} is deprecated since eofrelay 0.2: "
        f"use {where}.{name} (or eofrelay.{name} where it is public)",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(where), name)


def warnMoved(old: str, new: str) -> None:
    """
    Warn that the attribute C{old} is deprecated in favour of C{new}.
    """
    warnings.warn(
        f"{old} is deprecated since eofrelay 0.2: use {new}",
        DeprecationWarning,
        stacklevel=3,
    )
