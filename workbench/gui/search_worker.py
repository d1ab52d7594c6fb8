"""Runs the core's budget search like a job (gui/job_worker.py): the search is a generator of events
(workbench.core.search.runner.run_search) and each one reaches the GUI thread as a signal. Pause and cancel go
to the search's JobControl, which the running trial's job honours between steps."""

from __future__ import annotations

from collections.abc import Iterator

from workbench.core.events import Event
from workbench.gui.job_worker import EventWorker


class SearchWorker(EventWorker):
    """One search: `start()`, then `event` for each search event and `finished` with the last one."""

    def _source(self) -> Iterator[Event]:
        from workbench.core.api import run_search  # torch, onnx and optuna load off the GUI thread

        yield from run_search(self.recipe, self.control, resume=self.resume_dir)
