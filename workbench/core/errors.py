"""User-facing errors: one line that names the problem and what to do about it."""

from __future__ import annotations

import reprlib
import shlex
from typing import Any


class WorkbenchError(Exception):
    """An error caused by the user's input, shown to them as-is (no traceback)."""


class RecipeError(WorkbenchError):
    """A recipe file that cannot be read or does not validate."""


class ModelSourceError(WorkbenchError):
    """A teacher or student source that does not resolve to a usable model."""


class DataSourceError(WorkbenchError):
    """A data source that cannot be read or lacks what the recipe names."""


_SHORT = reprlib.Repr()  # Python 3.11's Repr takes its limits as attributes only
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 2, 60, 40, 60
_SHORT.maxtuple = _SHORT.maxlist = _SHORT.maxarray = _SHORT.maxdict = _SHORT.maxset = _SHORT.maxfrozenset = 4


def shell_command(*words: object) -> str:
    """A command line to print for the user to paste: each word shell-quoted (paths with spaces, quotes)."""
    return shlex.join(str(word) for word in words)


def short_repr(value: Any, limit: int = 60) -> str:
    """A repr for error messages that looks at a bounded part of the value, however large it is."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
