"""Helpers shared by the GUI tests: isolated settings, the tiny window, pausing a job at an exact point."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def settings(tmp_path):
    """Recent recipes and window geometry go to a file of this test, not the user's settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def open_tiny_window(qtbot, recipe_path, settings, request):
    """The window on a tiny recipe, shown, with the models described (the mapping panel needs them).
    A job or search still running when the test ends (say, after a failed assertion) is cancelled and awaited,
    so that closing the window asks nothing and no paused worker thread outlives the test."""
    from workbench.core.recipe import Recipe
    from workbench.gui.main_window import MainWindow

    window = MainWindow(Recipe.load(recipe_path), recipe_path, settings)

    def stop_job_then_close() -> None:  # not qtbot.addWidget: pytest-qt would close it before this runs
        for worker in (window.training.worker, window.search.worker):
            if worker is not None and worker.running:
                worker.cancel()
                qtbot.waitUntil(lambda: not worker.running, timeout=60_000)  # noqa: B023 (awaited here)
        window.close()
        window.deleteLater()

    request.addfinalizer(stop_job_then_close)
    window.show()
    qtbot.waitUntil(lambda: window.mapping.info.layers is not None, timeout=60_000)
    return window


def pause_at(window, stage: str, kind: type):
    """Pause the job from inside its own thread when it reports `kind` in `stage`, so that a test can act on
    a run that is reliably mid-stage (a queued signal would arrive after a tiny job has moved on)."""
    worker = window.training.worker

    def on_event(event) -> None:
        if isinstance(event, kind) and event.stage == stage and not worker.control.cancelled:
            worker.control.pause()

    worker.add_probe(on_event)


def edit(qtbot, field, text: str) -> None:
    """Type `text` into a line field as a user would: cleared first."""
    field.widget.clear()
    qtbot.keyClicks(field.widget, text)
