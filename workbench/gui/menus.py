"""The main window's File / Run / View / Help menus and their standard shortcuts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from workbench.core.api import presets_dir
from workbench.gui.help_menu import build_help_menu
from workbench.gui.steps import STEPS

if TYPE_CHECKING:
    from workbench.gui.main_window import MainWindow


def add_action(owner: QWidget, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
    action = QAction(text, owner)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """File (recipes, presets, recent, run folders), Run (start, pause, resume, cancel), View (the steps by
    Ctrl+1..., presentation mode by F11); sets `window.recent_menu`, which the window fills."""
    def add(menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        return add_action(window, menu, text, slot, shortcut)

    menu = window.menuBar().addMenu("&File")
    add(menu, "&New recipe", window.new_recipe, QKeySequence.StandardKey.New)
    add(menu, "&Open recipe…", window.open_recipe, QKeySequence.StandardKey.Open)
    presets = menu.addMenu("Open &preset")
    for path in sorted(presets_dir().glob("*.yaml")):
        add(presets, path.stem, lambda _=False, p=path: window.load_recipe(p))
    window.recent_menu = menu.addMenu("&Recent recipes")
    add(menu, "&Save recipe", window.save_recipe, QKeySequence.StandardKey.Save)
    add(menu, "Save recipe &as…", window.save_recipe_as, QKeySequence.StandardKey.SaveAs)
    menu.addSeparator()
    add(menu, "Open run &folder…", window.open_run_folder, QKeySequence("Ctrl+Shift+O"))
    menu.addSeparator()
    add(menu, "&Quit", window.close, QKeySequence("Ctrl+Q"))  # the platform theme may name no Quit key
    run = window.menuBar().addMenu("&Run")
    add(run, "&Start", window._start_from_menu, QKeySequence("Ctrl+R"))
    add(run, "&Pause", window.training.pause, QKeySequence("Ctrl+P"))
    add(run, "&Resume", window.training.resume, QKeySequence("Ctrl+Shift+R"))
    add(run, "&Cancel", window.training.cancel, QKeySequence("Ctrl+."))
    view = window.menuBar().addMenu("&View")
    for index, name in enumerate(STEPS):
        add(view, name, lambda _=False, i=index: window.nav.setCurrentRow(i), QKeySequence(f"Ctrl+{index + 1}"))
    view.addSeparator()
    add(view, "Presentation mode", lambda: window.open_presentation(), QKeySequence("F11"))
    build_help_menu(window, add)
