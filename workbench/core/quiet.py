"""Library chatter (progress bars, load reports, info logs) belongs to no panel and no progress bar: the
workbench reports its own progress. One place quiets it; the context manager restores what it changed."""

from __future__ import annotations

import logging
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
    """Errors only from transformers, nothing from datasets (the workbench turns its read errors into one line
    of its own), no progress bars from either, while inside."""
    import datasets
    from datasets.utils import logging as datasets_logging
    from transformers.utils import logging as transformers_logging

    verbosity, dataset_verbosity = transformers_logging.get_verbosity(), datasets_logging.get_verbosity()
    bars, dataset_bars = transformers_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    datasets_logging.set_verbosity(datasets_logging.CRITICAL)
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        datasets_logging.set_verbosity(dataset_verbosity)
        if bars:
            transformers_logging.enable_progress_bar()
        if dataset_bars:
            datasets.enable_progress_bars()


@contextmanager
def quiet_onnx(level: int = logging.WARNING) -> Iterator[None]:
    """ONNX Runtime's optimizer, quantizers and converters log advice and progress through the root logger
    (below `level` is dropped) and their helper sessions warn about initializers they drop."""
    import onnxruntime

    previous = logging.root.manager.disable
    logging.disable(level)
    onnxruntime.set_default_logger_severity(3)
    try:
        yield
    finally:
        logging.disable(previous)
        onnxruntime.set_default_logger_severity(2)  # ONNX Runtime's default: warnings
