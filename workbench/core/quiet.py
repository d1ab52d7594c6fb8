"""Library chatter (progress bars, load reports, info logs) belongs to no panel and no progress bar: the
workbench reports its own progress. One place quiets it; the context manager restores what it changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_ENVIRONMENT = {
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' save/load bars too
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",  # the job forks no tokenizer workers; the warning would only alarm
}


def quiet_environment() -> None:
    """For entry points, before the libraries are imported; a user's own setting wins."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Errors only from transformers, no progress bars from transformers or datasets, while inside."""
    import datasets
    from transformers.utils import logging as transformers_logging  # first: see sources/data.py

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    dataset_bars = datasets.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()
        if dataset_bars:
            datasets.enable_progress_bars()
