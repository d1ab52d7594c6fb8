"""Runs the core job on superqt's GeneratorWorker (the window's one threading idiom, as for short tasks) and
forwards each of its events to the GUI thread as a Qt signal.

The job is the core's generator (`run_job`); this worker only iterates it. Pause / resume / cancel go to the
job's JobControl, which the job checks between steps and between the models it exports and measures, so a
cancel always ends with a checkpoint and a `Finished(status="cancelled")` event.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from workbench.core.api import WorkbenchError
from workbench.core.events import Event, Failed, JobControl
from workbench.core.recipe import Recipe
from workbench.gui.background import settle_imports

Probe = Callable[[Event], None]


class EventWorker(QObject):
    """One run of a core generator of events: `start()`, then `event` for each event and `finished` with the
    last one (a Failed event when the generator raised). Subclasses name the generator (`_source`)."""

    event = Signal(object)
    finished = Signal(object)  # the last event: Finished, SearchFinished or Failed

    def __init__(self, recipe: Recipe | None, resume_dir: str | Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = JobControl()
        self.recipe = recipe
        self.resume_dir = Path(resume_dir) if resume_dir else None
        self.running = False
        self.last: Event | None = None
        self._probes: list[Probe] = []
        self._worker = None

    def add_probe(self, probe: Probe) -> None:
        """Call `probe` with each event in the worker's own thread, before the GUI hears of it: for a caller
        that must act at an exact point (a test pausing mid-stage, a benchmark timing the GUI thread)."""
        self._probes.append(probe)

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

    def _source(self) -> Iterator[Event]:
        raise NotImplementedError

    def _events(self) -> Iterator[Event]:
        """The source's events, in the worker thread; an error ends in a Failed event (a bug's traceback is
        printed too)."""
        last: Event | None = None
        where = str(self.resume_dir or "")
        try:
            settle_imports()  # a job started in the window's first seconds meets its preload
            for last in self._source():
                for probe in self._probes:
                    probe(last)
                yield last
        except WorkbenchError as error:
            last = Failed(where, str(error))
            yield last
        except Exception as error:  # a bug, not a user error
            traceback.print_exc()
            last = Failed(where, f"{type(error).__name__}: {error}")
            yield last
        if last is None:
            yield Failed(where, "the run ended without reporting anything")

    def _forward(self, event: Event) -> None:
        self.last = event
        self.event.emit(event)

    def _on_done(self) -> None:
        self.running = False
        self._worker = None
        self.finished.emit(self.last)


class JobWorker(EventWorker):
    """One job run (the core's `run_job`), with the data its Start check read when it has it."""

    def __init__(self, recipe: Recipe | None, resume_dir: str | Path | None = None, parent: QObject | None = None,
                 data: Any = None) -> None:
        super().__init__(recipe, resume_dir, parent)
        self.data = data

    def _source(self) -> Iterator[Event]:
        from workbench.core.api import run_job  # torch and transformers load here, off the GUI thread

        yield from run_job(self.recipe, self.control, self.resume_dir, self.data)
