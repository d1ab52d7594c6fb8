"""A fine-tuned teacher, kept and reused: fine-tuning the same teacher on the same split with the same
settings gives the same model, so a later job (or search candidate) takes it from the cache instead.

The key holds everything the fine-tuned weights depend on: the teacher's source and its files' contents,
the data split's content hash and labels, the fine-tune stage and training settings, the seed and the
versions of the libraries that compute it. Any change is a new key, so a stale teacher is never reused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from workbench.core.recipe import Recipe
from workbench.core.run_folder import read_json, write_json

KEY_FILE = "teacher-key.json"
PREDICTIONS_FILE = "teacher-predictions-{split}.json"  # the cached teacher's labels on a split (same key, same labels)
READ_CHUNK = 1 << 20


def cache_root(recipe: Recipe) -> Path:
    """Where fine-tuned teachers are kept: the recipe's own folder, or one beside its runs."""
    return Path(recipe.teacher.cache_dir or Path(recipe.output_dir) / ".teacher-cache")


def teacher_key(recipe: Recipe, teacher_folder: Path, data_hash: str, label_names: list[str]) -> dict[str, Any]:
    import tokenizers
    import torch
    import transformers

    import workbench

    training = recipe.training
    return {
        "teacher": recipe.teacher.source,
        "teacher_files": folder_digest(teacher_folder),
        "data": data_hash,
        "labels": label_names,
        "max_length": recipe.data.max_length,
        "finetune": recipe.distillation.teacher_finetune.model_dump(mode="json"),
        "training": {k: getattr(training, k) for k in ("batch_size", "eval_batch_size", "seed", "precision",
                                                        "group_by_length", "device", "threads")},
        "versions": {"workbench": workbench.__version__, "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
    }


def cached_teacher(recipe: Recipe, key: dict[str, Any]) -> Path | None:
    """The cached fine-tuned teacher for this key, or None."""
    folder = _entry(recipe, key)
    return folder if read_json(folder / KEY_FILE) == key and (folder / "config.json").is_file() else None


def keep_teacher(recipe: Recipe, key: dict[str, Any], fine_tuned: Path) -> Path:
    """Copy a freshly fine-tuned teacher into the cache (whole or not at all: a copy, then one rename)."""
    folder = _entry(recipe, key)
    if cached_teacher(recipe, key):
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(fine_tuned, partial)
    write_json(partial / KEY_FILE, key)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def cached_predictions(recipe: Recipe, key: dict[str, Any], split: str) -> list[int] | None:
    """The cached teacher's predicted labels on `split`, kept by an earlier job of this key, or None."""
    folder = cached_teacher(recipe, key)
    if folder is None:
        return None
    predictions = read_json(folder / PREDICTIONS_FILE.format(split=split)).get("predictions")
    return predictions if isinstance(predictions, list) else None


def keep_predictions(recipe: Recipe, key: dict[str, Any], split: str, predictions: list[int]) -> None:
    """Keep the teacher's labels on `split` beside the cached teacher: later jobs of this key (every trial of a
    search) score it without running it. The key holds the split's content, length and eval batch size."""
    folder = cached_teacher(recipe, key)
    if folder is not None:
        write_json(folder / PREDICTIONS_FILE.format(split=split), {"split": split, "predictions": predictions})


def copy_teacher(cached: Path, destination: Path) -> None:
    """The cached teacher's model files into a run (not the cache's own key and predictions)."""
    shutil.copytree(cached, destination, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(KEY_FILE, PREDICTIONS_FILE.format(split="*")))


def folder_digest(folder: Path) -> str:
    """A hash of every file's name and bytes in a model folder (weights, config, tokenizer)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name != KEY_FILE):
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _entry(recipe: Recipe, key: dict[str, Any]) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return cache_root(recipe) / name
