"""The main window: holds the current recipe and shows it; the panels hang off it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QPlainTextEdit

from workbench.core.errors import RecipeError
from workbench.core.recipe import Recipe


class MainWindow(QMainWindow):
    def __init__(self, recipe: Recipe, recipe_path: Path | None = None) -> None:
        super().__init__()
        self.recipe = recipe
        self.recipe_path = recipe_path
        self._recipe_view = QPlainTextEdit(readOnly=True)
        self._recipe_view.setFont(QFont("monospace"))
        self.setCentralWidget(self._recipe_view)
        self._build_menu()
        self.resize(1280, 800)
        self._show_recipe()

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("&Open recipe…", QKeySequence.StandardKey.Open, self.open_recipe),
            ("&Save recipe as…", QKeySequence.StandardKey.SaveAs, self.save_recipe_as),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            action = QAction(text, self, shortcut=shortcut)
            action.triggered.connect(slot)
            menu.addAction(action)

    def _show_recipe(self) -> None:
        where = str(self.recipe_path) if self.recipe_path else "unsaved"
        self.setWindowTitle(f"TinyBERT Workbench — {self.recipe.name} ({where})")
        self._recipe_view.setPlainText(self.recipe.to_yaml())
        recipe = self.recipe
        self.statusBar().showMessage(
            f"teacher {recipe.teacher.source} → student {recipe.student.preset}; data {recipe.data.source}"
        )

    def load_recipe(self, path: Path) -> None:
        try:
            self.recipe = Recipe.load(path)
        except RecipeError as error:
            QMessageBox.warning(self, "Recipe not loaded", str(error))
            return
        self.recipe_path = path
        self._show_recipe()

    def open_recipe(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open recipe", "", "Recipes (*.yaml *.yml)")
        if name:
            self.load_recipe(Path(name))

    def save_recipe_as(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save recipe", f"{self.recipe.name}.yaml", "Recipes (*.yaml)")
        if name:
            self.recipe_path = self.recipe.save(name)
            self._show_recipe()
