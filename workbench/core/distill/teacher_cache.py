"""Teacher outputs that stay the same across epochs and stages, kept per example within a memory budget.

The teacher is frozen and in eval mode, so its hidden states, attention scores and logits on an
unaugmented training example are the same every epoch, and in every stage that reads them. They are
computed before a stage's first batch in one pass over its training set (`fill`, in large batches) and
stored trimmed to each example's own length, in their own precision (rounding them would train on other
targets than the teacher's); batches pad them back with zeros instead of running the teacher again. One
cache serves the stages that share a training set: stage 1 stores the logits with its hidden states, so
stage 2 and the recovery stage find theirs already there.

With a `TargetStore` (a cached fine-tuned teacher on its own training set), the one pass first reads what
an earlier job kept on disk and keeps what it computed. What it reads must match, bit for bit, the
teacher's targets on the first batch, computed again as a check: a store from another teacher, or from code
that computed targets otherwise, is never trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from workbench.core.distill.target_store import TargetStore

Targets = dict[str, torch.Tensor]  # name -> (batch, ...) tensor


def sequence_dims(name: str) -> tuple[int, ...]:
    """Per-example dimensions that run along the sequence: hidden (T, D), scores (H, T, T), logits (C,)."""
    if name.startswith(("hidden", "projection")):
        return (0,)
    if name.startswith("scores"):
        return (1, 2)
    return ()


class TeacherCache:
    def __init__(self, budget_bytes: int, store: TargetStore | None = None) -> None:
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.hits = self.misses = 0
        self.store = store
        self.read_from_store: set[str] = set()  # the target names the last fill read from the store
        self._in_store: set[str] = set()  # the names the store is known to hold for these examples
        self._entries: dict[int, Targets] = {}

    def fill(self, batches: Iterable[dict[str, torch.Tensor]], names: set[str],
             compute: Callable[[dict[str, torch.Tensor]], Targets],
             between_batches: Callable[[], None] = lambda: None) -> None:
        """Compute and store the targets `names` of every example the batches hold that lacks them (the teacher
        reads only those rows of a batch: a logits pass after a stage that stored some recomputes none). Targets
        along the sequence are stored until the budget is spent, the examples beyond it computed batch by batch
        as without a cache; targets without a sequence dimension (logits) are stored for every example, since
        `_store` keeps them past the budget: a logits-only stage after a full one then runs the teacher once, in
        this pass's large batches, never again in its steps."""
        batches = list(batches)  # token ids and masks only
        lengths = {key: length for batch in batches
                   for key, length in zip(batch["idx"].tolist(), batch["attention_mask"].sum(1).tolist(), strict=True)}
        self.read_from_store = self._read_store(names, lengths, batches, compute) if self.store and batches else set()
        for batch in batches:
            between_batches()
            ids = batch["idx"].tolist()
            rows = [row for row, key in enumerate(ids) if not self._holds([key], names)]
            if not rows:
                continue
            keys = [ids[row] for row in rows]
            lacking = batch if len(rows) == len(ids) else {name: value[rows] for name, value in batch.items()}
            if not self._store(keys, [lengths[key] for key in keys], compute(lacking)) and not self._holds(keys, names):
                return
        if self.store:
            self._keep_in_store(names - self._in_store, list(lengths))

    def _read_store(self, names: set[str], lengths: dict[int, int], batches: list[dict[str, torch.Tensor]],
                    compute: Callable[[dict[str, torch.Tensor]], Targets]) -> set[str]:
        """Adopt the store's targets that agree with the teacher's on the first batch; the names adopted."""
        missing = [name for name in sorted(names) if not self._holds(list(lengths), {name})]
        found = {name: kept for name in missing
                 if (kept := self.store.load(name, lengths, sequence_dims(name))) is not None}
        if not found:
            return set()
        first = batches[0]
        check = compute(first)
        rows = list(enumerate(first["idx"].tolist()))
        agreeing = {name: kept for name, kept in found.items() if name in check and all(
            torch.equal(_trim(check[name][row], sequence_dims(name), lengths[key]), kept[key]) for row, key in rows)}
        size = sum(t.numel() * t.element_size() for kept in agreeing.values() for t in kept.values())
        if self.used_bytes + size > self.budget_bytes:
            return set()
        for name, kept in agreeing.items():
            for key, value in kept.items():
                self._entries.setdefault(key, {})[name] = value
        self.used_bytes += size
        self._in_store |= set(agreeing)
        return set(agreeing)

    def _keep_in_store(self, names: set[str], keys: list[int]) -> None:
        """Write the names this cache holds for every example and the store lacks (once per cache)."""
        for name in sorted(names):
            if self._holds(keys, {name}) and self.store.save(name, {key: self._entries[key][name] for key in keys}):
                self._in_store.add(name)

    def targets(self, ids: torch.Tensor, lengths: torch.Tensor, seq_len: int, names: set[str],
                compute: Callable[[], Targets]) -> Targets:
        """The teacher's targets `names` for a batch: from the cache when it holds every example, else
        computed (and stored while the budget lasts)."""
        keys = ids.tolist()
        if self._holds(keys, names):
            self.hits += 1
            return self._assemble(keys, seq_len, names)
        self.misses += 1
        computed = compute()
        if self._store(keys, lengths.tolist(), computed) and self._holds(keys, names):
            return self._assemble(keys, seq_len, names)
        return computed  # over the budget: these examples are recomputed every epoch, as without a cache

    def _holds(self, keys: list[int], names: set[str]) -> bool:
        return all(key in self._entries and names <= self._entries[key].keys() for key in keys)

    def _store(self, keys: list[int], lengths: list[int], targets: Targets) -> bool:
        """Keep each example's targets; False once the budget is spent. Past it, an example's targets without a
        sequence dimension (its logits: a few bytes) are kept all the same, so that the stages reading only
        logits (prediction, recovery, QAT) never run the teacher again after the first full pass: they overrun
        the budget by at most examples x classes x 4 bytes, where a budget spent to its last bytes had left
        most examples without logits and those stages running the teacher on nearly every batch."""
        complete = True
        for row, (key, length) in enumerate(zip(keys, lengths, strict=True)):
            entry = self._entries.setdefault(key, {})
            new = {name: _trim(value[row], sequence_dims(name), length).to("cpu", copy=True)
                   for name, value in targets.items() if name not in entry}
            complete = complete and self._keep(entry, new)
            if not complete:
                self._add(entry, {name: value for name, value in new.items() if not sequence_dims(name)})
            if not entry:
                del self._entries[key]
        return complete

    def _keep(self, entry: Targets, targets: Targets) -> bool:
        """Add the targets to the example's entry if they fit in what is left of the budget."""
        if self.used_bytes + _size(targets) > self.budget_bytes:
            return False
        self._add(entry, targets)
        return True

    def _add(self, entry: Targets, targets: Targets) -> None:
        entry.update(targets)
        self.used_bytes += _size(targets)

    def _assemble(self, keys: list[int], seq_len: int, names: set[str]) -> Targets:
        first = self._entries[keys[0]]
        batch: Targets = {}
        for name in sorted(names):
            sample, dims = first[name], sequence_dims(name)
            shape = [seq_len if d in dims else size for d, size in enumerate(sample.shape)]
            out = torch.zeros(len(keys), *shape, dtype=sample.dtype)
            for row, key in enumerate(keys):
                value = self._entries[key][name]
                out[(row, *[slice(0, s) for s in value.shape])] = value
            batch[name] = out
        return batch


def _size(targets: Targets) -> int:
    return sum(t.numel() * t.element_size() for t in targets.values())


def narrowed(targets: Targets, length: int) -> Targets:
    """A batch's targets cut to `length` along the sequence."""
    return {name: _trim(value, tuple(d + 1 for d in sequence_dims(name)), length) for name, value in targets.items()}


def _trim(value: torch.Tensor, dims: tuple[int, ...], length: int) -> torch.Tensor:
    for dim in dims:
        value = value.narrow(dim, 0, length)
    return value
