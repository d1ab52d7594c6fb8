"""Real inputs for checking and timing models: a run's data split, tokenized by a model folder's own tokenizer
into numpy batches that feed ONNX Runtime directly and PyTorch through `torch.from_numpy`.

Each model gets its own tokenizer because a vocabulary-pruned student maps text to different ids than its
teacher. Batches are right-padded: the fused ONNX attention reads the padding mask as per-row lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.run_folder import RunFolder
from workbench.core.sources.data import LABEL, TEXT, TaskData, load_task_data

Batch = dict[str, np.ndarray]


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    max_length: int

    def shortest_first(self) -> Split:
        """The same rows, shortest text first: batched in this order they carry little padding (for measures that
        compare row by row, where the order is free)."""
        order = sorted(range(len(self.texts)), key=lambda row: len(self.texts[row]))
        return Split([self.texts[row] for row in order], self.labels[order], self.label_names, self.max_length)


def load_split(run_dir: str | Path, split: str) -> Split:
    """The run's split exactly as the job saw it (same recipe, same seed, same cleaning), for a command that
    works on a run outside its job; it reads the corpus, so a command reads it once and passes the split on."""
    (only,) = load_splits(run_dir, split)
    return only


def load_splits(run_dir: str | Path, *splits: str) -> tuple[Split, ...]:
    """Several of the run's splits from one read of the corpus."""
    recipe = RunFolder.open(run_dir).recipe()
    data = load_task_data(recipe.data)
    return tuple(split_of(data, split, recipe.data.max_length) for split in splits)


def split_of(data: TaskData, split: str, max_length: int) -> Split:
    """One split of data already loaded (the job has it; reading the corpus again costs seconds)."""
    rows = data.splits[split]
    return Split(list(rows[TEXT]), np.asarray(rows[LABEL], dtype=np.int64), data.label_names, max_length)


def load_tokenizer_from(folder: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)


def encode_batches(texts: list[str], tokenizer, max_length: int, batch_size: int,
                   pad_to: int | None = None) -> list[Batch]:
    """Tokenized batches; each padded to its longest text, or every row to exactly `pad_to` tokens."""
    padding = {"padding": "max_length", "max_length": pad_to} if pad_to else {"padding": True,
                                                                             "max_length": max_length}
    tokenizer.padding_side = "right"
    batches = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(texts[start:start + batch_size], truncation=True, return_tensors="np", **padding)
        batches.append({name: np.asarray(value, dtype=np.int64) for name, value in encoded.items()})
    return batches
