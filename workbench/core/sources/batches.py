"""Tokenized splits and data loaders with dynamic padding and a seeded, resumable order."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler

from workbench.core.sources.data import LABEL, TEXT


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

    With `lengths`, texts of similar length are batched together (within shuffled windows of
    `GROUP_WINDOW` batches, batch order shuffled again): batches are padded to their own longest text, so
    this pads far less than random batches do, for the same examples in every epoch.

    The training loop sets `epoch` itself. There is deliberately no `set_epoch` method: Accelerate calls
    that with its own per-loader iteration count, which restarts at 0 for a resumed or re-prepared loader.
    """

    GROUP_WINDOW = 50

    def __init__(self, size: int, seed: int, lengths: list[int] | None = None, batch_size: int = 1) -> None:
        self.size, self.seed, self.epoch = size, seed, 0
        self.lengths, self.batch_size = lengths, batch_size

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        if self.lengths is None:
            return iter(order)
        window = self.GROUP_WINDOW * self.batch_size
        grouped = [sorted(order[i:i + window], key=self.lengths.__getitem__, reverse=True)
                   for i in range(0, self.size, window)]
        batches = [chunk[i:i + self.batch_size] for chunk in grouped for i in range(0, len(chunk), self.batch_size)]
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return iter([index for b in shuffled for index in batches[b]])

    def __len__(self) -> int:
        return self.size


def train_loader(dataset, tokenizer, batch_size: int, seed: int, group_by_length: bool = True) -> DataLoader:
    from transformers import DataCollatorWithPadding

    lengths = [len(ids) for ids in dataset["input_ids"]] if group_by_length else None
    return DataLoader(dataset, batch_size=batch_size, sampler=EpochOrder(len(dataset), seed, lengths, batch_size),
                      collate_fn=DataCollatorWithPadding(tokenizer))


def eval_loader(dataset, tokenizer, batch_size: int) -> DataLoader:
    """Every example once, shortest first: batches of like lengths carry little padding (a dev or test pass costs
    about half of one in the split's order). measure/prediction.predict hands results back in the split's order."""
    from transformers import DataCollatorWithPadding

    return DataLoader(dataset, batch_size=batch_size, sampler=shortest_first(dataset),
                      collate_fn=DataCollatorWithPadding(tokenizer))


def shortest_first(dataset) -> list[int]:
    """The dataset's indices by token count, shortest first (ties in the dataset's order)."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return sorted(range(len(lengths)), key=lengths.__getitem__)


def one_pass_loader(dataset, collate_fn, batch_size: int = 128) -> DataLoader:
    """Every example once, shortest first, in large batches: for passes that only read (the teacher's targets).
    The teacher reads each example at its length rounded up to a bucket, one pass per bucket in a batch: batches
    of like lengths make those passes few and large (in dataset order a batch of 128 split into four or more)."""
    # A generator of its own: iterating a loader draws a seed, which must not move the job's global RNG
    # (dropout and batch order would then depend on whether this pass ran).
    return DataLoader(dataset, batch_size=batch_size, sampler=shortest_first(dataset), collate_fn=collate_fn,
                      generator=torch.Generator())


def padded_to(inputs: dict[str, torch.Tensor], length: int, pad_id: int) -> dict[str, torch.Tensor]:
    """Model inputs padded on the right to `length`: the ids with `pad_id`, masks and type ids with 0."""
    padded = {}
    for name, value in inputs.items():
        missing = length - value.shape[1]
        fill = pad_id if name == "input_ids" else 0
        padded[name] = torch.nn.functional.pad(value, (0, missing), value=fill) if missing > 0 else value
    return padded


def model_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch without what only the loss and the bookkeeping read (labels, example indices)."""
    return {k: v for k, v in batch.items() if k not in ("labels", "idx")}
