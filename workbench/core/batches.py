"""Tokenized splits and data loaders with dynamic padding and a seeded, resumable order."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler

from workbench.core.data import LABEL, TEXT


def tokenize(dataset, tokenizer, max_length: int):
    """Token ids per example, unpadded (the collator pads each batch to its own longest text), with the
    example's index as `idx` so that per-example teacher outputs can be cached."""
    def encode(rows, indices):
        return {**tokenizer(rows[TEXT], truncation=True, max_length=max_length), "idx": indices}

    columns = [c for c in dataset.column_names if c != LABEL]
    encoded = dataset.map(encode, batched=True, with_indices=True, remove_columns=columns)
    return encoded.rename_column(LABEL, "labels") if LABEL in encoded.column_names else encoded


class EpochOrder(Sampler[int]):
    """A shuffled order that depends only on (seed, epoch), so a resumed job sees the same batches.

    The training loop sets `epoch` itself. There is deliberately no `set_epoch` method: Accelerate calls
    that with its own per-loader iteration count, which restarts at 0 for a resumed or re-prepared loader.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


def train_loader(dataset, tokenizer, batch_size: int, seed: int) -> DataLoader:
    from transformers import DataCollatorWithPadding

    return DataLoader(dataset, batch_size=batch_size, sampler=EpochOrder(len(dataset), seed),
                      collate_fn=DataCollatorWithPadding(tokenizer))


def eval_loader(dataset, tokenizer, batch_size: int) -> DataLoader:
    from transformers import DataCollatorWithPadding

    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=DataCollatorWithPadding(tokenizer))
