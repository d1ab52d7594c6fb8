"""The recipe being edited: a draft that widgets write into, validated as a whole on every change.

Pydantic validates sections across fields (split sizes that add up to more than 1, a custom student without
a shape), so a single assignment cannot be judged alone: the editor keeps a plain dict draft with every
widget's value, validates the whole recipe, and routes each of the recipe's messages to the field it names.
The last valid recipe stays in `recipe`; jobs start only from a valid one.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, Signal

from workbench.core.recipe import Recipe, field_messages
from workbench.gui.fields import Field, ParseProblem

GENERAL = ""  # problems no field shows, e.g. a key the window has no widget for


def get_path(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


class RecipeEditor(QObject):
    recipe_changed = Signal(object)  # a new valid Recipe
    problems_changed = Signal(dict)  # path -> message; empty when the draft is valid

    def __init__(self, recipe: Recipe) -> None:
        super().__init__()
        self._recipe = recipe
        self._draft: dict[str, Any] = recipe.model_dump(mode="json")
        self._fields: dict[str, list[Field]] = {}
        self._parse_problems: dict[str, str] = {}
        self._problems: dict[str, str] = {}
        self._recent: list[str] = []  # edited paths, newest last: where a section-level message belongs

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    @property
    def problems(self) -> dict[str, str]:
        return dict(self._problems)

    @property
    def valid(self) -> bool:
        return not self._problems

    def get(self, path: str) -> Any:
        return get_path(self._draft, path)

    def bind(self, field: Field) -> Field:
        self._fields.setdefault(field.path, []).append(field)
        self._write_widget(field, self.get(field.path))
        field.edited.connect(self._on_field_edited)
        return field

    def fields(self, path: str) -> list[Field]:
        return list(self._fields.get(path, []))

    def load(self, recipe: Recipe) -> None:
        """Replace the whole recipe (opened file, new recipe): every widget shows it, no problems remain."""
        self._recipe = recipe
        self._draft = recipe.model_dump(mode="json")
        self._parse_problems.clear()
        self._recent.clear()
        for path, fields in self._fields.items():
            for field in fields:
                self._write_widget(field, self.get(path))
        self._show_problems({})
        self.recipe_changed.emit(recipe)

    def set(self, path: str, value: Any) -> bool:
        return self.set_many({path: value})

    def set_many(self, values: dict[str, Any], source: Field | None = None) -> bool:
        """Write values into the draft and validate; True when the recipe is valid afterwards."""
        for path, value in values.items():
            set_path(self._draft, path, copy.deepcopy(value))
            self._parse_problems.pop(path, None)
            self._recent = [p for p in self._recent if p != path] + [path]
            for field in self._fields.get(path, []):
                if field is not source:
                    self._write_widget(field, value)
        return self._validate()

    def _on_field_edited(self, field: Field) -> None:
        try:
            value = field.value()
        except ParseProblem as problem:
            self._parse_problems[field.path] = str(problem)
            self._validate()
            return
        self.set_many({field.path: value}, source=field)

    def _validate(self) -> bool:
        try:
            recipe = Recipe.model_validate(copy.deepcopy(self._draft))
        except ValidationError as error:
            problems: dict[str, str] = {}
            for path, message in field_messages(error).items():
                owner = self._owner(path)
                problems[owner] = f"{problems[owner]}; {message}" if owner in problems else message
        else:
            problems = {}
            if recipe != self._recipe:
                self._recipe = recipe
                self.recipe_changed.emit(recipe)
        self._show_problems(problems | self._parse_problems)
        return not self._problems

    def _owner(self, path: str) -> str:
        """The bound field that shows a message about `path`: itself, or the field last edited inside it."""
        if path in self._fields or not path:
            return path
        inside = [p for p in self._fields if p.startswith(f"{path}.")]
        recent = [p for p in reversed(self._recent) if p in inside]
        return (recent or inside or [GENERAL])[0]

    def _show_problems(self, problems: dict[str, str]) -> None:
        for path, fields in self._fields.items():
            for field in fields:
                field.show_problem(problems.get(path))
        changed = problems != self._problems
        self._problems = problems
        if changed:
            self.problems_changed.emit(dict(problems))

    @staticmethod
    def _write_widget(field: Field, value: Any) -> None:
        blocked = field.widget.blockSignals(True)  # a programmatic value is not an edit
        try:
            field.set_value(value)
        finally:
            field.widget.blockSignals(blocked)
