"""The window's Start: the core's preflight (workbench.core.preflight) on the recipe, in the background,
then the job; a recipe that cannot work is refused with the preflight's one line before any run folder exists."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.core.recipe import Recipe
from workbench.gui.background import Latest
from workbench.gui.fields import on_screen
from workbench.gui.panels.training import TrainingPanel
from workbench.gui.recipe_editor import RecipeEditor


class CheckedStart(QObject):
    """Takes over the Training panel's Start button so that every start is checked first."""

    def __init__(self, training: TrainingPanel, editor: RecipeEditor, window: QWidget) -> None:
        super().__init__(window)
        self.training, self.editor, self.window = training, editor, window
        self._check = Latest(self)
        training.start_button.clicked.disconnect()
        training.start_button.clicked.connect(self.start)

    @property
    def busy(self) -> bool:
        return self._check.busy

    def start(self) -> None:
        if self._check.busy:
            return
        if self.training.running or not self.editor.valid:
            self.training.start()  # lists the recipe's problems, or does nothing while a job runs
            return
        from workbench.core.api import check_recipe

        recipe = self.editor.recipe
        if (warning := recipe.code_warning()) and not self._confirmed(warning):
            self.training.stage_label.setText("Not started: the model's own code was not confirmed")
            return
        self.training.stage_label.setText("Checking the recipe before starting…")
        self._check.run(lambda: check_recipe(recipe), lambda checked: self._checked(recipe, checked), self._refused)

    def _checked(self, recipe: Recipe, checked: Any) -> None:
        """Start, with the data the check read unless the recipe's data section was edited while it ran."""
        self.training.start_with(checked.data if self.editor.recipe.data == recipe.data else None)

    def _confirmed(self, warning: str) -> bool:
        answer = QMessageBox.warning(self.window, "This recipe runs the model's own code",
                                     f"{warning[0].upper()}{warning[1:]}.\n\nStart it?",
                                     QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                     QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _refused(self, message: str) -> None:
        message = on_screen(message)
        self.training.stage_label.setText(f"Not started: {message}")
        QMessageBox.warning(self.window, "The recipe cannot start", message)
