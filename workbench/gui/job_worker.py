"""Runs the core job in a QThread and forwards each of its events to the GUI thread as a Qt signal.

The job is the core's generator (`run_job`); this worker only iterates it. Pause / resume / cancel go to the
job's JobControl, which the training loop checks between steps, so a cancel always ends with a checkpoint
and a `Finished(status="cancelled")` event.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.core.events import Event, Failed, JobControl
from workbench.core.recipe import Recipe


class _Iterator(QObject):
    event = Signal(object)
    done = Signal(object)  # the last event: Finished or Failed

    def __init__(self, recipe: Recipe | None, control: JobControl, resume_dir: Path | None) -> None:
        super().__init__()
        self.recipe = recipe
        self.control = control
        self.resume_dir = resume_dir

    @Slot()
    def run(self) -> None:
        last: Event | None = None
        try:
            from workbench.core.job import run_job  # torch and transformers load here, off the GUI thread

            for event in run_job(self.recipe, self.control, self.resume_dir):
                last = event
                self.event.emit(event)
        except Exception as error:  # a bug, not a user error: the job reports those as Failed itself
            traceback.print_exc()
            last = Failed(str(self.resume_dir or ""), f"{type(error).__name__}: {error}")
            self.event.emit(last)
        if last is None:
            last = Failed(str(self.resume_dir or ""), "the job ended without reporting anything")
            self.event.emit(last)
        self.done.emit(last)


class JobWorker(QObject):
    """One job run: `start()`, then `event` for each job event and `finished` with the last one."""

    event = Signal(object)
    finished = Signal(object)

    def __init__(self, recipe: Recipe | None, resume_dir: str | Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = JobControl()
        self.thread = QThread()
        self.thread.setObjectName("workbench-job")
        self._iterator = _Iterator(recipe, self.control, Path(resume_dir) if resume_dir else None)
        self._iterator.moveToThread(self.thread)
        self.thread.started.connect(self._iterator.run)
        self._iterator.event.connect(self.event)
        self._iterator.done.connect(self._on_done)
        self.running = False
        self.last: Event | None = None

    def start(self) -> None:
        self.running = True
        self.thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def cancel(self) -> None:
        self.control.cancel()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def _on_done(self, last: Event) -> None:
        self.thread.quit()
        self.thread.wait()
        self.running = False
        self.last = last
        self.finished.emit(last)
