"""The Help menu: the README's sections in a dialog, every keyboard shortcut of the window's menus, and About
with the versions of the workbench and the libraries it runs on (read from package metadata: importing torch
here would stall the window for seconds)."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

README = Path(__file__).resolve().parents[2] / "README.md"  # the source tree's; an installed app may have none
LIBRARIES = ("torch", "transformers", "onnxruntime", "datasets", "pyqtgraph")


def readme_sections(text: str) -> dict[str, str]:
    """The README's second-level sections (## Title), each with its text up to the next one."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body.strip() for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def shortcuts(window: QMainWindow) -> list[tuple[str, str]]:
    """(keys, what they do) for every menu action with a shortcut, in menu order."""
    rows = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        for action in (menu.actions() if menu else []):
            for sub in ([action, *action.menu().actions()] if action.menu() else [action]):
                keys = sub.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                if keys:
                    rows.append((keys, f"{menu_action.text()} → {sub.text()}".replace("&", "")))
    return rows


def versions() -> list[tuple[str, str]]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return [("TinyBERT Workbench", version("tinybert-workbench")), ("Python", platform.python_version()),
            ("Qt", qVersion()), ("PySide6", pyside_version), *((name, version(name)) for name in LIBRARIES)]


def show_text(parent: QWidget, title: str, markdown: str) -> QDialog:
    dialog = QDialog(parent, windowTitle=title)
    view = QTextBrowser(openExternalLinks=True)
    view.setMarkdown(markdown)
    QVBoxLayout(dialog).addWidget(view)
    dialog.resize(760, 560)
    dialog.show()
    return dialog


def show_shortcuts(window: QMainWindow) -> QDialog:
    rows = "\n".join(f"| {keys} | {what} |" for keys, what in shortcuts(window))
    return show_text(window, "Keyboard shortcuts", f"| Keys | Does |\n|---|---|\n{rows}")


def show_about(window: QMainWindow) -> None:
    listed = "<br>".join(f"{name}: {value}" for name, value in versions())
    QMessageBox.about(window, "About TinyBERT Workbench", "<b>TinyBERT Workbench</b><br>Compress BERT-family "
                      f"text classifiers: distillation, pruning, int8 / int4.<br><br>{listed}")


def build_help_menu(window: QMainWindow, add) -> None:
    """Help: one entry per README section, Keyboard shortcuts (F1), About. `add` is the menus' add_action."""
    menu = window.menuBar().addMenu("&Help")
    sections = readme_sections(README.read_text(encoding="utf-8")) if README.is_file() else {}
    guide = menu.addMenu("&Guide (README)")
    for title, body in sections.items():
        add(guide, title, lambda _=False, t=title, b=body: show_text(window, t, f"## {t}\n\n{b}"))
    guide.setEnabled(bool(sections))
    add(menu, "&Keyboard shortcuts", lambda: show_shortcuts(window), QKeySequence("F1"))
    add(menu, "&About", lambda: show_about(window))
