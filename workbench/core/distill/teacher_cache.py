"""Teacher outputs that stay the same across epochs, kept per example within a memory budget.

The teacher is frozen and in eval mode, so its hidden states, attention scores and logits on an
unaugmented training example are the same every epoch. The first epoch computes and stores them (trimmed
to the example's own length, in their own precision: rounding them would train later epochs on other
targets than the first, and a cached job on other targets than an uncached one); later epochs pad them
back into batches instead of running the teacher again. A miss returns the batch as it will read back
from the cache, so that a hit and a miss give the same tensors (padded positions zero).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Targets = dict[str, torch.Tensor]  # name -> (batch, ...) tensor


def sequence_dims(name: str) -> tuple[int, ...]:
    """Per-example dimensions that run along the sequence: hidden (T, D), scores (H, T, T), logits (C,)."""
    if name.startswith(("hidden", "projection")):
        return (0,)
    if name.startswith("scores"):
        return (1, 2)
    return ()


class TeacherCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.hits = self.misses = 0
        self._entries: dict[int, dict[str, torch.Tensor]] = {}

    def targets(self, ids: torch.Tensor, lengths: torch.Tensor, seq_len: int,
                compute: Callable[[], Targets]) -> Targets:
        """The teacher's targets for a batch: from the cache when every example is in it, else computed."""
        keys = ids.tolist()
        if all(key in self._entries for key in keys):
            self.hits += 1
            return self._assemble(keys, seq_len)
        self.misses += 1
        computed = compute()
        self._store(keys, lengths.tolist(), computed)
        if all(key in self._entries for key in keys):
            return self._assemble(keys, seq_len)
        return computed  # over the budget: these examples are recomputed every epoch, as without a cache

    def _store(self, keys: list[int], lengths: list[int], targets: Targets) -> None:
        for row, (key, length) in enumerate(zip(keys, lengths, strict=True)):
            if key in self._entries:
                continue
            entry = {name: _trim(value[row], sequence_dims(name), length).to("cpu", copy=True)
                     for name, value in targets.items()}
            size = sum(t.numel() * t.element_size() for t in entry.values())
            if self.used_bytes + size > self.budget_bytes:
                return
            self._entries[key] = entry
            self.used_bytes += size

    def _assemble(self, keys: list[int], seq_len: int) -> Targets:
        first = self._entries[keys[0]]
        batch: Targets = {}
        for name, sample in first.items():
            dims = sequence_dims(name)
            shape = [seq_len if d in dims else size for d, size in enumerate(sample.shape)]
            out = torch.zeros(len(keys), *shape, dtype=sample.dtype)
            for row, key in enumerate(keys):
                value = self._entries[key][name]
                out[(row, *[slice(0, s) for s in value.shape])] = value
            batch[name] = out
        return batch


def _trim(value: torch.Tensor, dims: tuple[int, ...], length: int) -> torch.Tensor:
    for dim in dims:
        value = value.narrow(dim, 0, length)
    return value
