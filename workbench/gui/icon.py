"""The application icon, shared by the window and the installation self-test (which must not import the
window's start-up module: that module starts the self-test)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from workbench.core.api import resources_dir


def app_icon() -> QIcon:
    """The application icon from its rendered PNG sizes (no SVG image plugin needed)."""
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("tinybert-workbench-*.png")):
        icon.addFile(str(png))
    return icon
