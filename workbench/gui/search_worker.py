"""Runs the core's budget search on superqt's GeneratorWorker, as job_worker.py runs a job: the search is a
generator of events (workbench.core.search.runner.run_search) and each one reaches the GUI thread as a signal.
Pause and cancel go to the search's JobControl, which the running trial's job honours between steps."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from workbench.core.errors import WorkbenchError
from workbench.core.events import Event, Failed, JobControl
from workbench.core.recipe import Recipe


class SearchWorker(QObject):
    """One search: `start()`, then `event` for each search event and `finished` with the last one."""

    event = Signal(object)
    finished = Signal(object)  # SearchFinished, or Failed

    def __init__(self, recipe: Recipe | None, resume_dir: str | Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = JobControl()
        self.recipe, self.resume_dir = recipe, resume_dir
        self.running = False
        self.last: Event | None = None
        self._worker = None

    def start(self) -> None:
        self.running = True
        self._worker = create_worker(self._events, _start_thread=False, _ignore_errors=True)
        self._worker.yielded.connect(self._forward)
        self._worker.finished.connect(self._on_done)
        self._worker.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def cancel(self) -> None:
        self.control.cancel()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def _events(self) -> Iterator[Event]:
        try:
            from workbench.core.search.runner import run_search  # torch, onnx and optuna load off the GUI thread

            yield from run_search(self.recipe, self.control, resume=self.resume_dir)
        except WorkbenchError as error:
            yield Failed(str(self.resume_dir or ""), str(error))
        except Exception as error:  # a bug: keep the traceback, tell the window in one line
            traceback.print_exc()
            yield Failed(str(self.resume_dir or ""), f"{type(error).__name__}: {error}")

    def _forward(self, event: Event) -> None:
        self.last = event
        self.event.emit(event)

    def _on_done(self) -> None:
        self.running = False
        self._worker = None
        self.finished.emit(self.last)
