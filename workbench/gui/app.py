"""Start the window: `workbench-gui [RECIPE]` (defaults to the quick-demo preset)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe
from workbench.core.resources import preset_path
from workbench.gui.main_window import MainWindow


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in args if a.startswith("-")]])
    app.setApplicationName("TinyBERT Workbench")
    app.setOrganizationName("TinyBERT Workbench")
    path = Path(args[0]) if args and not args[0].startswith("-") else preset_path("quick-demo")
    try:
        recipe = Recipe.load(path)
    except WorkbenchError as error:
        QMessageBox.critical(None, "Recipe not loaded", str(error))
        return 2
    window = MainWindow(recipe, path)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
