"""Quitting the window in its first second, while its launch work (model summaries, the device label, the
job's preload) still runs in the background: nothing is printed, no worker reports to a deleted window."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

from tests.gui_support import settings  # noqa: F401 (a fixture)


def test_quitting_in_the_first_second_prints_nothing(qtbot, recipe_path, settings, capfd):  # noqa: F811
    from workbench.core.recipe import Recipe
    from workbench.gui.main_window import MainWindow

    window = MainWindow(Recipe.load(recipe_path), recipe_path, settings)
    window.show()
    qtbot.waitUntil(lambda: window.preload is not None, timeout=10_000)  # the launch work has started
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QThreadPool.globalInstance().waitForDone(120_000)
    for _ in range(3):
        QCoreApplication.processEvents()
        qtbot.wait(50)
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Traceback" not in err, err
