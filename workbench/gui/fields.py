"""Form fields bound to one dotted recipe path: the widget, its value conversion, and an inline problem line.

A field never validates by itself: it hands its value to the RecipeEditor, which validates the whole recipe
and sends back the recipe's own message for the field, shown in red right under the widget.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

INVALID_STYLE = "border: 1px solid #c62828; background: #fff3f3;"
INT_RANGE = (-(2**31), 2**31 - 1)  # what a QSpinBox can hold
FORM_LABELS: dict[str, str] = {}  # recipe path -> the label its field has on screen (filled by add_row)


def recipe_field(path: str, model: type[BaseModel] | None = None) -> FieldInfo:
    """The recipe's field at a dotted path: its bounds, choices and description are the window's too."""
    if model is None:
        from workbench.core.recipe import Recipe

        model = Recipe
    *sections, name = path.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[name]


def recipe_choices(path: str) -> list[Any]:
    """The values a Literal field of the recipe allows, in the recipe's order."""
    return list(typing.get_args(recipe_field(path).annotation))


def recipe_bounds(path: str, model: type[BaseModel] | None = None) -> tuple[int | None, int | None]:
    """The whole-number range the recipe allows at a dotted path, from its fields' ge / gt / le / lt
    constraints; None where the recipe sets no bound."""
    low = high = None
    for constraint in recipe_field(path, model).metadata:
        if isinstance(constraint, annotated_types.Ge | annotated_types.Gt):
            bound = constraint.ge if isinstance(constraint, annotated_types.Ge) else constraint.gt + 1
            low = int(bound) if low is None else max(low, int(bound))
        elif isinstance(constraint, annotated_types.Le | annotated_types.Lt):
            bound = constraint.le if isinstance(constraint, annotated_types.Le) else constraint.lt - 1
            high = int(bound) if high is None else min(high, int(bound))
    return low, high


class _WheelOnlyWithFocus(QObject):
    """Lets a wheel event through to a combo or spin box only once it has focus (clicked or tabbed into);
    otherwise the event goes on to the page, which scrolls. Scrolling a form must never change a value."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # ignored, so Qt offers it to the parent (the scroll area)
            return True
        return False


def guard_wheel(widget: QWidget) -> QWidget:
    """Qt's convention for value widgets inside scrolled forms: focus by click or tab only (not by wheel),
    and the wheel changes the value only when focused. Applied to every field and to the window's other
    combo and spin boxes."""
    if isinstance(widget, QComboBox | QAbstractSpinBox):
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        filter_ = _WheelOnlyWithFocus(widget)
        widget.installEventFilter(filter_)
    return widget


class ParseProblem(ValueError):
    """The widget's text is not a value of the field's type; the recipe never sees it."""


class Field(QObject):
    edited = Signal(object)  # the field itself

    def __init__(self, path: str, widget: QWidget, tip: str = "") -> None:
        super().__init__(widget)
        self.path = path
        self.widget = guard_wheel(widget)
        self.container = QWidget()
        layout = QVBoxLayout(self.container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(widget)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        # A palette and a font, not a style sheet: ~90 fields each parsing one cost ~20 ms of the launch.
        palette = self.problem_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#c62828"))
        self.problem_label.setPalette(palette)
        font = self.problem_label.font()
        font.setPixelSize(11)
        self.problem_label.setFont(font)
        self.problem_label.hide()
        layout.addWidget(self.problem_label)
        if tip:
            widget.setToolTip(tip)
        self._tip = tip

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def problem(self) -> str | None:
        return self.problem_label.text() or None

    def show_problem(self, message: str | None) -> None:
        self.problem_label.setText(message or "")
        self.problem_label.setVisible(bool(message))
        self.widget.setStyleSheet(INVALID_STYLE if message else "")
        self.widget.setToolTip(message or self._tip)

    def _emit(self, *_: Any) -> None:
        self.edited.emit(self)


class LineField(Field):
    """Free text for numbers and lists, so that out-of-range values reach the recipe and get its message."""

    def __init__(self, path: str, kind: str = "str", placeholder: str = "", tip: str = "") -> None:
        super().__init__(path, QLineEdit(placeholderText=placeholder), tip)
        self.kind = kind  # str | optional_str | float | optional_float | optional_int | int_list | str_list
        self.widget.textEdited.connect(self._emit)

    def value(self) -> Any:
        text = self.widget.text().strip()
        if self.kind == "str":
            return text
        if self.kind == "str_list":
            return [part.strip() for part in text.split(",")] if text else None
        if not text:
            if self.kind.startswith("optional") or self.kind == "int_list":
                return None
            raise ParseProblem("give a value")
        try:
            if self.kind in ("float", "optional_float"):
                return float(text)
            if self.kind == "optional_int":
                return int(text)
            if self.kind == "int_list":
                return [int(part) for part in text.replace(",", " ").split()]
        except ValueError:
            expected = {"float": "a number", "optional_float": "a number", "optional_int": "a whole number",
                        "int_list": "whole numbers separated by commas"}[self.kind]
            raise ParseProblem(f"'{text}' is not {expected}") from None
        return text or None

    def set_value(self, value: Any) -> None:
        if value is None:
            text = ""
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        self.widget.setText(text)


class SpinField(Field):
    """A whole number whose range is the recipe's own bounds for the path (one place says what is allowed)."""

    def __init__(self, path: str, special: str = "", tip: str = "") -> None:
        super().__init__(path, QSpinBox(), tip)
        low, high = recipe_bounds(path)
        low = max(x for x in (low, INT_RANGE[0]) if x is not None)
        # With a special text the step below the lowest allowed value stands for None ("from preset").
        # A bound past the spin box's 32-bit range (the seeds' 2**32 - 1) is the spin box's own.
        self.widget.setRange(low - 1 if special else low, INT_RANGE[1] if high is None else min(high, INT_RANGE[1]))
        self.special = special
        if special:
            self.widget.setSpecialValueText(special)
        self.widget.valueChanged.connect(self._emit)

    def value(self) -> Any:
        number = self.widget.value()
        return None if self.special and number == self.widget.minimum() else number

    def set_value(self, value: Any) -> None:
        self.widget.setValue(self.widget.minimum() if value is None else int(value))


class ComboField(Field):
    def __init__(self, path: str, choices: Sequence[tuple[str, Any]], tip: str = "") -> None:
        super().__init__(path, QComboBox(), tip)
        for label, value in choices:
            self.widget.addItem(label, value)
        self.widget.currentIndexChanged.connect(self._emit)

    def value(self) -> Any:
        return self.widget.currentData()

    def set_value(self, value: Any) -> None:
        index = self.widget.findData(value)
        self.widget.setCurrentIndex(max(index, 0))


def recipe_combo(path: str, labels: dict[Any, str] | None = None, tip: str = "") -> ComboField:
    """A combo box of the values the recipe's Literal field allows (labels optional), the recipe's description
    as its tip unless one is given."""
    labels = labels or {}
    return ComboField(path, [(labels.get(v, str(v)), v) for v in recipe_choices(path)],
                      tip or recipe_field(path).description or "")


class CheckField(Field):
    def __init__(self, path: str, text: str, tip: str = "") -> None:
        super().__init__(path, QCheckBox(text), tip)
        self.widget.toggled.connect(self._emit)

    def value(self) -> Any:
        return self.widget.isChecked()

    def set_value(self, value: Any) -> None:
        self.widget.setChecked(bool(value))


def add_row(form, label: str, field: Field) -> Field:
    """A labelled row in a QFormLayout; the field's problem line sits under its widget."""
    form.addRow(label, field.container)
    return labelled(field, label)


def labelled(field: Field, label: str) -> Field:
    """Remember the label a field has on screen: messages about its recipe path name it so (on_screen)."""
    FORM_LABELS[field.path] = label
    return field


def on_screen(message: str) -> str:
    """A core message with each recipe path the window has a field for named by the field's label
    ('set data.label_column to …' reads 'set “Label column” to …'); paths without a field stay."""
    paths = sorted(FORM_LABELS, key=len, reverse=True)  # data.label_names before a shorter path inside it
    if not paths:
        return message
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(p) for p in paths) + r")(?![\w])")
    return pattern.sub(lambda match: f"“{FORM_LABELS[match.group(1)]}”", message)
