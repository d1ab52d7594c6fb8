"""Class labels of a labelled data set: each row's label as a class name, and the classes of the task.

Labels arrive as whatever the file's reader made of them (strings, ints, floats where a cell was empty, JSON
values); a column of scores or of mixed kinds is a mistake in data.label_column, told in one line.
"""

from __future__ import annotations

import re

from workbench.core.errors import DataSourceError, short_repr
from workbench.core.recipe import DataConfig

SHOWN_LABELS = 5  # labels named in one message; a text column given as the label column has thousands
MAX_CLASSES = 1000
_NUMBER = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")


def label_text(value) -> str:
    """A label as its class name: whole numbers as "1" (1.0 where an empty cell made the column float)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_scalar_labels(values, column: str, origin: str) -> None:
    """Lists and objects (JSON data) are not class names."""
    nested = next((value for value in values if isinstance(value, list | dict)), None)
    if nested is not None:
        raise DataSourceError(
            f"{origin}: label column '{column}' holds {type(nested).__name__}s (e.g. {short_repr(nested)}), "
            "not class names; set data.label_column to a column with one class name per row")


def class_names_of(names: list[str], config: DataConfig, origin: str) -> list[str]:
    """The rows' class names, refused when they are scores or numbers mixed with names (unless the recipe lists
    the classes, which says the mix is meant)."""
    column = config.label_column
    numbers = {name for name in set(names) if _number(name) is not None}
    for name in sorted(numbers):
        if not float(name).is_integer():
            raise DataSourceError(
                f"{origin}: label column '{column}' holds fractional numbers (e.g. {name}): scores, not classes; "
                "set data.label_column to a column of class names or whole-number class ids")
    others = sorted(set(names) - numbers)
    if numbers and others and not config.label_names:
        raise DataSourceError(
            f"{origin}: label column '{column}' mixes numbers ({_some(sorted(numbers))}) with names "
            f"({_some(others)}); use one kind of label, or list the classes in data.label_names")
    return names


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


def class_order(name: str) -> tuple:
    """Classes in the order data.label_names names them: whole-number ids by value (2 before 10), then names."""
    number = _number(name)
    return (0, number, name) if number is not None else (1, 0, name)


def named_classes(labels: list[str], config: DataConfig, origin: str) -> list[str]:
    """Each row's class under the recipe's names for the classes: data.label_names none of which is a label in
    the file name the classes found, in class order (["rotten", "fresh"] for labels 0 and 1). Names that are the
    file's own labels only choose and order the classes (label_names_of); rows are returned as they are."""
    names = config.label_names
    present = sorted(set(labels), key=class_order)
    if not names or set(names) & set(present):
        return labels
    if len(names) != len(present):
        raise DataSourceError(
            f"{origin}: data.label_names gives {len(names)} name(s) for {len(present)} classes in "
            f"'{config.label_column}' ({_some(present)}); give one name per class, in that order")
    renamed = dict(zip(present, names, strict=True))
    return [renamed[label] for label in labels]


def label_names_of(labels: list[str], config: DataConfig, origin: str) -> list[str]:
    present = sorted(set(labels))
    names = config.label_names or present
    unknown = sorted(set(present) - set(names))
    if unknown:
        raise DataSourceError(
            f"{origin}: labels {_some(unknown)} in '{config.label_column}' are not in data.label_names "
            f"({_some(names)}); add them to data.label_names or check data.label_column"
        )
    empty = [name for name in names if name not in set(present)]
    if empty:
        raise DataSourceError(
            f"{origin}: data.label_names names {_some(empty)} but no row has that label; "
            "remove it from data.label_names or add rows for it"
        )
    if len(names) < 2:
        raise DataSourceError(f"{origin}: needs at least two classes in '{config.label_column}', found {names}")
    if len(names) > MAX_CLASSES:
        raise DataSourceError(
            f"{origin}: '{config.label_column}' has {len(names):,} different labels ({_some(names)}); a class "
            f"column has a few (at most {MAX_CLASSES:,}): check data.label_column"
        )
    return list(names)


def _some(names: list[str]) -> str:
    """A few of many names, for a message that stays one short line."""
    shown = ", ".join(repr(name) if len(name) <= 40 else repr(name[:39] + "…") for name in names[:SHOWN_LABELS])
    return shown + (f" and {len(names) - SHOWN_LABELS:,} more" if len(names) > SHOWN_LABELS else "")
