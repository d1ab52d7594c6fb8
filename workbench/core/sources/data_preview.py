"""A preview of a recipe's data, as the window's Data step shows it: a few cleaned rows of every class, the
class balance, the cleaning counts and the token lengths, read through the job's own loader."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import DataConfig

PREVIEW_ROWS = 8


@dataclass
class DataPreview:
    origin: str
    rows: list[tuple[str, str]]  # (label, text), drawn from every class in turn
    class_counts: dict[str, int]
    cleaning: str
    found: list[str]  # the classes as the file labels them, in the order data.label_names names them
    lengths: str = ""  # token-length percentiles and the suggested max_length, or why they are missing
    suggested_max_length: int | None = None


def preview_data(config: DataConfig, tokenizer_source: str) -> DataPreview:
    """The data read and cleaned as the job reads it, its classes named as the recipe names them, and the
    summary of it (`workbench data`) with the teacher's tokenizer. Takes seconds: the window calls it off
    its GUI thread, and the readers and the tokenizer load here, not when the window imports this module."""
    from workbench.core.sources.data import clean_columns, read_source
    from workbench.core.sources.data_split import LABEL, TEXT, column_values
    from workbench.core.sources.data_summary import summarize_columns
    from workbench.core.sources.labels import class_order, named_classes
    from workbench.core.sources.models import load_tokenizer, resolve_model_source

    raw, origin = read_source(config.source, config.text_column, config.label_column)
    texts, labels, report = clean_columns(column_values(raw, TEXT), column_values(raw, LABEL))
    found = sorted(set(labels), key=class_order)
    labels = named_classes(labels, config, origin)
    present = set(labels)
    order = [name for name in config.label_names or [] if name in present] or sorted(present)  # class order
    counts = {name: labels.count(name) for name in order}
    preview = DataPreview(origin, rows_of_every_class(labels, texts), counts, report.line(), found)
    try:
        tokenizer = load_tokenizer(resolve_model_source(tokenizer_source))
        summary = summarize_columns(origin, texts, labels, report, tokenizer)
    except WorkbenchError as error:
        preview.lengths = f"token lengths need the teacher's tokenizer: {error}"
    else:
        preview.suggested_max_length = summary.suggested_max_length
        preview.lengths = "Tokens per text (teacher's tokenizer): " + ", ".join(
            f"{name} {value}" for name, value in summary.length_percentiles.items())
    return preview


def rows_of_every_class(labels: list[str], texts: list[str]) -> list[tuple[str, str]]:
    """PREVIEW_ROWS rows taking each class's first rows in turn: a file sorted by label shows every class."""
    by_class: dict[str, list[str]] = {}
    for label, text in zip(labels, texts, strict=True):
        if len(by_class.setdefault(label, [])) < PREVIEW_ROWS:  # a 38k-row corpus: only what is shown
            by_class[label].append(text)
    rounds = itertools.zip_longest(*([(name, text) for text in rows] for name, rows in by_class.items()))
    return [row for turn in rounds for row in turn if row is not None][:PREVIEW_ROWS]
