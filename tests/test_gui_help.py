"""The Help menu: the README's sections, every shortcut, and About with versions."""

from __future__ import annotations

from PySide6.QtGui import QAction

from tests.gui_support import settings  # noqa: F401 (fixtures)
from workbench.core.recipe import Recipe


def test_help_lists_readme_sections_every_shortcut_and_versions(qtbot, settings, monkeypatch):  # noqa: F811
    from workbench.gui import help_menu
    from workbench.gui.main_window import MainWindow

    window = MainWindow(Recipe(), settings=settings)
    qtbot.addWidget(window)
    texts = {action.text() for action in window.findChildren(QAction)}
    assert {"The window", "Command line", "Deploy", "&Keyboard shortcuts", "&About"} <= texts
    keys = dict(help_menu.shortcuts(window))
    assert keys["Ctrl+8"] == "View → Search" and keys["Ctrl+Q"] == "File → Quit" and "F1" in keys
    dialog = help_menu.show_shortcuts(window)
    assert "Ctrl+8" in dialog.findChild(help_menu.QTextBrowser).toPlainText()
    dialog.close()
    about = dict(help_menu.versions())
    assert about["Python"].count(".") == 2 and about["torch"][0].isdigit()
    readme = help_menu.README.read_text(encoding="utf-8")
    assert "Ctrl+8" in help_menu.readme_sections(readme)["The window"]
