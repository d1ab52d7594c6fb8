"""The main window's File / Run / View / Help menus and their standard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QListWidget, QMenu, QMenuBar, QWidget

from workbench.core.api import presets_dir
from workbench.gui.help_menu import build_help_menu
from workbench.gui.steps import STEPS


class JobControls(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def cancel(self) -> None: ...


class MenuHost(Protocol):
    """What the menus drive: the main window's public actions (so this module never imports the window)."""

    training: JobControls
    nav: QListWidget
    recent_menu: QMenu

    def menuBar(self) -> QMenuBar: ...  # noqa: N802 (Qt's name)
    def new_recipe(self) -> None: ...
    def open_recipe(self) -> None: ...
    def load_recipe(self, path: Path) -> None: ...
    def save_recipe(self) -> None: ...
    def save_recipe_as(self) -> None: ...
    def open_run_folder(self, folder: str | None = None) -> None: ...
    def open_presentation(self, run_dir: str | None = None) -> None: ...
    def close(self) -> bool: ...


def add_action(owner: QWidget, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
    action = QAction(text, owner)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: MenuHost, start: Callable[[], None]) -> None:
    """File (recipes, presets, recent, run folders), Run (`start`, pause, resume, cancel), View (the steps by
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
    add(run, "&Start", start, QKeySequence("Ctrl+R"))
    add(run, "&Pause", window.training.pause, QKeySequence("Ctrl+P"))
    add(run, "&Resume", window.training.resume, QKeySequence("Ctrl+Shift+R"))
    add(run, "&Cancel", window.training.cancel, QKeySequence("Ctrl+."))
    view = window.menuBar().addMenu("&View")
    for index, name in enumerate(STEPS):
        add(view, name, lambda _=False, i=index: window.nav.setCurrentRow(i), QKeySequence(f"Ctrl+{index + 1}"))
    view.addSeparator()
    add(view, "Presentation mode", lambda: window.open_presentation(), QKeySequence("F11"))
    build_help_menu(window, add)
