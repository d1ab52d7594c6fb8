"""What closing the window must settle first: a modified recipe (save, discard, or stay), then the job's and
the search's workers. A worker's thread may not outlive the window, so closing cancels each running one, waits
for its last event, then closes."""

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


class UnsavedChanges:
    """Closing with a modified recipe asks Save / Discard / Cancel once; Save saves (a preset or a new recipe
    asks where) and closing goes on only once nothing is unsaved."""

    def __init__(self, parent: QWidget, modified: Callable[[], bool], save: Callable[[], None],
                 name: Callable[[], str]) -> None:
        self.parent, self.modified, self.save, self.name = parent, modified, save, name
        self.discarded = False

    def settled(self) -> bool:
        if self.discarded or not self.modified():
            return True
        answer = ask_unsaved(self.parent, self.name())
        if answer == QMessageBox.StandardButton.Save:
            self.save()
            return not self.modified()
        self.discarded = answer == QMessageBox.StandardButton.Discard
        return self.discarded


def ask_unsaved(parent: QWidget, name: str) -> QMessageBox.StandardButton:
    """The platform's question for a modified document: Save, Discard or Cancel (Save the default)."""
    buttons = QMessageBox.StandardButton
    return QMessageBox.question(parent, "Unsaved recipe",
                                f"The recipe “{name}” has changes that are not saved. Save them before closing?",
                                buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
