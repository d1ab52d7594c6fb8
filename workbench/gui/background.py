"""Short background computations (model summaries, data previews, predictions) off the GUI thread.

They import torch and transformers, which take seconds the first time; running them in superqt's thread
pool keeps the window responsive. A result arriving for a widget that is gone, or for a request that a
newer one has replaced, is dropped.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from workbench.core.api import WorkbenchError

_running: set[Any] = set()  # workers are kept alive here until they report
# The transformers names the workbench imports, resolved once in this order (see settle_imports).
SETTLED_NAMES = ("PretrainedConfig", "PreTrainedModel", "CONFIG_MAPPING", "AutoConfig", "AutoTokenizer", "AutoModel",
                 "AutoModelForSequenceClassification", "AutoModelForMaskedLM", "DataCollatorWithPadding",
                 "get_linear_schedule_with_warmup")
_first_import = threading.Lock()
_settled = False


def settle_imports() -> None:
    """Import transformers whole, in one thread, before any background computation uses it. While it is first
    imported, transformers 5 puts a lazy module in its place; another thread importing a name from it then
    gets "ImportError: cannot import name 'AutoTokenizer' from 'transformers'" (about 1 launch in 3, when the
    model summaries, the device label and the job's preload start together). Every worker waits here until
    one thread has imported it and resolved the workbench's names in a fixed order."""
    global _settled
    if _settled:
        return
    with _first_import:
        if not _settled:
            import transformers

            for name in SETTLED_NAMES:
                getattr(transformers, name)
            _settled = True


def describe_error(error: BaseException) -> str:
    if isinstance(error, WorkbenchError):
        return str(error)
    return f"{type(error).__name__}: {error}".strip()


class Latest:
    """Runs one background computation per owner at a time in effect: only the newest request's result counts."""

    def __init__(self, owner: QObject) -> None:
        self.owner = owner
        self.generation = 0
        self.busy = False

    def drop(self) -> None:
        """Forget the request in flight: its result, when it comes, is dropped."""
        self.generation += 1
        self.busy = False

    def run(self, function: Callable[[], Any], done: Callable[[Any], None],
            failed: Callable[[str], None]) -> None:
        self.generation += 1
        generation = self.generation
        self.busy = True

        def current() -> bool:
            return generation == self.generation and shiboken6.isValid(self.owner)

        def on_returned(result: Any) -> None:
            if current():
                self.busy = False
                done(result)

        def on_errored(error: BaseException) -> None:
            if not isinstance(error, WorkbenchError):
                traceback.print_exception(error)
            if current():
                self.busy = False
                failed(describe_error(error))

        from superqt.utils import create_worker  # superqt imports all its widgets: ~0.1 s off the launch path

        def settled_function() -> Any:
            settle_imports()
            return function()

        worker = create_worker(settled_function, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(on_returned)
        worker.errored.connect(on_errored)
        _running.add(worker)
        worker.finished.connect(lambda: _running.discard(worker))
        worker.start()


def preload_job_libraries(owner: QObject) -> Latest:
    """Import what a job imports on first use now, in the background, so that a job started later does not
    import it in its thread while the window paints (see workbench.core.job.preload_libraries), nor the
    window pyqtgraph in its own when the job's first curves arrive. Then freeze
    what is in memory out of the garbage collector's full passes: the libraries' objects live as long as the
    process, and a full pass over them holds the interpreter lock ~150 ms, a stall of the window each time."""
    import gc

    def preload_in_background() -> None:
        import pyqtgraph  # noqa: F401 (the training plots' first redraw would import it in the GUI thread)

        from workbench.core.api import preload_libraries  # the job module itself imports torch: not here

        preload_libraries()

    preload = Latest(owner)
    preload.run(preload_in_background, lambda _: gc.freeze(), lambda message: None)  # a job reports its own
    return preload
