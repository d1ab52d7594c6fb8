"""Start the window: `workbench-gui [RECIPE]` (defaults to the quick-demo preset); `--selftest` checks the
installation instead (see workbench/selftest.py).

Only Qt, pyqtgraph and the recipe are imported before the window is shown; torch and transformers load in
the background afterwards. WORKBENCH_REPORT_PAINT=1 prints "first-paint" when the window first paints
(=exit also quits then), which benchmarks/gui_launch.py uses to time launch-to-first-paint.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from workbench.core.api import WorkbenchError, preset_path, quiet_environment
from workbench.core.recipe import Recipe
from workbench.gui.icon import app_icon
from workbench.gui.main_window import MainWindow, recent_recipes_in
from workbench.gui.xcb_check import check_xcb

GC_INTERVAL_S = 0.5


class _FirstPaint(QObject):
    """Reports the first paint of the window on stdout, once."""

    def __init__(self, quit_after: bool) -> None:
        super().__init__()
        self.quit_after = quit_after
        self.done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if not self.done and event.type() == QEvent.Type.Paint:
            self.done = True
            print("first-paint", flush=True)
            if self.quit_after:
                QTimer.singleShot(0, QApplication.quit)
        return False


def first_recipe_path(args: Sequence[str], settings: QSettings) -> Path:
    """The recipe named on the command line, else the last one opened or saved, else the quick-demo preset."""
    if args and not args[0].startswith("-"):
        return Path(args[0])
    return next((Path(p) for p in recent_recipes_in(settings) if Path(p).is_file()), preset_path("quick-demo"))


def collect_garbage_in_gui_thread():
    """Python's cycle collector, run only by a timer of the GUI thread (pyqtgraph's GarbageCollector), never
    in the job's thread. A collection in the job's thread frees Qt objects of the window there: Qt then holds
    its connection lock while PySide waits for the GIL, which the GUI thread holds while it waits for that
    lock (a full-corpus job hung this way at the start of its intermediate stage). Keep the returned object."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=GC_INTERVAL_S)


def main(argv: Sequence[str] | None = None) -> int:
    quiet_environment()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--selftest" in args:
        from workbench.selftest import main as selftest

        return selftest()
    missing = check_xcb(args)
    if missing is not None:
        return missing
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in args if a.startswith("-")]])
    app.setApplicationName("TinyBERT Workbench")
    app.setOrganizationName("TinyBERT Workbench")
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("tinybert-workbench")  # ties the window to the installed .desktop entry
    collector = collect_garbage_in_gui_thread()  # noqa: F841 (its timer lives as long as the app)
    settings = QSettings()
    path = first_recipe_path(args, settings)
    try:
        recipe = Recipe.load(path)
    except WorkbenchError as error:
        QMessageBox.critical(None, "Recipe not loaded", str(error))
        return 2
    window = MainWindow(recipe, path, settings)
    report = os.environ.get("WORKBENCH_REPORT_PAINT")
    if report:
        probe = _FirstPaint(quit_after=report == "exit")
        window.installEventFilter(probe)
        window._first_paint_probe = probe  # kept alive with the window
    window.show()
    status = app.exec()
    # Background work (model summaries, previews) must end before the interpreter does, or it fails midway;
    # then its last queued signals are delivered while their sources and the window still exist (quit in the
    # first second, they were delivered during teardown: superqt's "Signal source has been deleted").
    QThreadPool.globalInstance().waitForDone()
    QApplication.processEvents()
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return status


if __name__ == "__main__":
    sys.exit(main())
