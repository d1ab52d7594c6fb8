"""The deterministic, stratified train / dev / test split of cleaned data, its content hash and class counts.

Columns are read whole through Arrow (`column_values`), never row by row: a `datasets` column indexed or
iterated in Python formats one row per call, which made reading the bundled corpus take seconds of Python
in the job thread and kept the window's event loop waiting for the interpreter lock.
"""

from __future__ import annotations

import hashlib
import json

from workbench.core.errors import DataSourceError
from workbench.core.recipe import DataConfig

TEXT, LABEL = "text", "label"
SPLITS = ("train", "dev", "test")


def column_values(dataset, name: str) -> list:
    """One column as a Python list in row order (a split's index mapping applied), converted in one call and
    decoded as `dataset[name]` decodes it (a JSON column's values, for one)."""
    from datasets.features.features import require_decoding

    values = dataset.with_format("arrow")[name].to_pylist()
    features = dataset.features
    return features.decode_column(values, name) if require_decoding(features[name]) else values


def split_counts(config: DataConfig, available: int, origin: str) -> dict[str, int]:
    sizes = {"train": config.train_size, "dev": config.dev_size, "test": config.test_size}
    counts = {name: int(size) if size >= 1 else round(size * available) for name, size in sizes.items()}
    if sum(counts.values()) > available:
        raise DataSourceError(
            f"{origin}: the split asks for {sum(counts.values()):,} rows ({counts}) but only {available:,} "
            "remain after cleaning; lower data.train_size / dev_size / test_size"
        )
    small = [name for name, count in counts.items() if count < 1]
    if small:
        raise DataSourceError(f"{origin}: the {', '.join(small)} split would be empty; raise its size")
    return counts


def stratified_split(dataset, config: DataConfig, origin: str) -> dict:
    """Test first, then dev out of the rest: the same rows `Dataset.train_test_split(stratify_by_column=...)`
    picks with the recipe's seed (its own index generator, fed the label ids as one array: the method itself
    reads the column row by row)."""
    import numpy as np

    counts = split_counts(config, len(dataset), origin)
    labels = np.asarray(column_values(dataset, LABEL))
    rest, test = _stratified_indices(labels, counts["train"] + counts["dev"], counts["test"], config.seed, origin)
    train, dev = _stratified_indices(labels[rest], counts["train"], counts["dev"], config.seed, origin)
    return {"train": dataset.select(rest[train]), "dev": dataset.select(rest[dev]), "test": dataset.select(test)}


def _stratified_indices(labels, n_train: int, n_test: int, seed: int, origin: str):
    import numpy as np
    from datasets.utils.stratify import stratified_shuffle_split_generate_indices

    try:
        return next(stratified_shuffle_split_generate_indices(labels, n_train, n_test,
                                                              rng=np.random.default_rng(seed)))
    except ValueError as error:
        reason = str(error)
        if reason == "Minimum class count error":  # the words train_test_split gives it
            reason = (f"The least populated class in {LABEL} column has only 1 member, which is too few. The "
                      "minimum number of groups for any class cannot be less than 2.")
        raise DataSourceError(f"{origin}: cannot split by label: {reason}") from None


def content_hash(splits: dict) -> str:
    digest = hashlib.sha256()
    for name in SPLITS:
        texts, labels = column_values(splits[name], TEXT), column_values(splits[name], LABEL)
        for text, label in zip(texts, labels, strict=True):
            digest.update(json.dumps([name, text, label], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def class_counts(dataset, label_names: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(label_names, 0)
    for label in column_values(dataset, LABEL):
        counts[label_names[label] if isinstance(label, int) else str(label)] += 1
    return counts
