"""User-facing errors: one line that names the problem and what to do about it."""


class WorkbenchError(Exception):
    """An error caused by the user's input, shown to them as-is (no traceback)."""


class RecipeError(WorkbenchError):
    """A recipe file that cannot be read or does not validate."""


class ModelSourceError(WorkbenchError):
    """A teacher or student source that does not resolve to a usable model."""


class DataSourceError(WorkbenchError):
    """A data source that cannot be read or lacks what the recipe names."""
