"""What closing the window must stop and wait for: the job's and the search's workers. A worker's thread may
not outlive the window, so closing cancels each running one, waits for its last event, then closes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QMessageBox, QWidget


@dataclass(frozen=True)
class BackgroundWork:
    running: Callable[[], bool]
    title: str
    question: str  # what cancelling it means for the user's work
    finished: SignalInstance  # emitted once it has stopped
    cancel: Callable[[], None]


def stop_then(parent: QWidget, running: list[BackgroundWork], then: Callable[[], None]) -> bool:
    """Ask whether to cancel the running work; if yes, cancel each and call `then` as each one stops.
    True when the user agreed."""
    title = running[0].title if len(running) == 1 else "A run and a search are in progress"
    answer = QMessageBox.question(parent, title, " ".join(work.question for work in running))
    if answer != QMessageBox.StandardButton.Yes:
        return False
    for work in running:
        work.finished.connect(lambda _: then())
        work.cancel()
    return True
