"""The Try it panel's work off the GUI thread: loading a run's models (kept while their files are unchanged),
example texts from the run's own test split, and classifying texts with every model of the run."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner imports numpy: loaded in the background, not on the launch path
    from workbench.core.api import Predictor

_cache_lock = threading.Lock()
_loaded: dict[str, tuple[tuple, dict]] = {}  # run folder -> (its model files' stamp, its loaded predictors)


def load_predictors(run_dir: str) -> dict[str, Predictor | str]:
    """Background (loading takes seconds): the run's models, loaded again only when its model files change."""
    from workbench.core.api import model_files_stamp, run_predictors

    stamp = model_files_stamp(run_dir)
    with _cache_lock:
        cached = _loaded.get(run_dir)
        if cached is None or cached[0] != stamp:
            _loaded.clear()  # one run's models in memory at a time: three models can be gigabytes
            _loaded[run_dir] = (stamp, run_predictors(run_dir))
        return _loaded[run_dir][1]


def test_examples(run_dir: str, count: int = 3) -> list[str]:
    """Background: texts from the run's own test split, taking each class in turn (reading the data as the
    job read it, so the examples are the user's data, never texts the models were trained on)."""
    from workbench.core.api import load_task_data
    from workbench.core.run_folder import RunFolder

    test = load_task_data(RunFolder(Path(run_dir)).recipe().data).splits["test"]
    by_class: dict[int, list[str]] = {}
    for text, label in zip(test["text"], test["label"], strict=True):
        by_class.setdefault(label, []).append(text)
    turns = [texts[i] for i in range(count) for texts in by_class.values() if i < len(texts)]
    return turns[:count]


def classify(predictors: dict[str, Predictor | str], run_dir: str, texts: list[str], repeats: int,
             threads: int | None = 1):
    """Background: every model of the run on the texts, and the test accuracies the run recorded."""
    from workbench.core.api import compare, recorded_accuracies

    return compare(predictors, texts, repeats, threads), recorded_accuracies(run_dir)
