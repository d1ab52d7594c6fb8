"""A fine-tuned teacher, kept and reused: fine-tuning the same teacher on the same split with the same
settings gives the same model, so a later job (or search candidate) takes it from the cache instead, with
its predictions on the test split (scored once, by the job that first used it) and its distillation targets
on the training split (computed once, see distill/target_store.py).

The key holds everything the fine-tuned weights depend on: the teacher's source and its files' contents,
the data split's content hash and labels, the fine-tune stage and training settings, the seed and the
versions of the libraries that compute it. Any change is a new key, so a stale teacher is never reused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.core.distill.precision import training_precision
from workbench.core.recipe import Recipe
from workbench.core.run_folder import read_json, write_json

KEY_FILE = "teacher-key.json"
TARGETS_DIR = "targets"
ONNX_DIR = "onnx"  # the reference teacher's ONNX artifacts: stages/teacher_onnx_reuse.py
READ_CHUNK = 1 << 20


def cache_root(recipe: Recipe) -> Path:
    return recipe.teacher_cache_dir()


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
        "training": {**{k: getattr(training, k) for k in ("batch_size", "eval_batch_size", "seed",
                                                          "group_by_length", "device", "threads")},
                     "precision": training_precision(training)},  # what `auto` resolved to on this machine
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

    def fill(partial: Path) -> None:
        shutil.copytree(fine_tuned, partial, dirs_exist_ok=True)
        write_json(partial / KEY_FILE, key)

    promote(folder, fill, lambda: cached_teacher(recipe, key) is not None)
    return folder


def promote(folder: Path, fill: Callable[[Path], None], done: Callable[[], bool]) -> None:
    """Make `folder` a cache entry whole or not at all: `fill` writes it into a temporary folder of this
    process's own (two jobs promoting the same entry never share one), which one rename puts in place. When
    another job's entry got there first (`done`), it is kept and this copy dropped; a stale one is replaced."""
    partial, stale = (folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.{kind}") for kind in ("partial", "stale"))
    partial.mkdir(parents=True)
    try:
        fill(partial)
        try:
            partial.rename(folder)
        except OSError:  # the entry exists: another job's (keep it) or a stale one (set it aside, then replace)
            if done():
                return
            folder.rename(stale)
            partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def kept_predictions(recipe: Recipe, key: dict[str, Any], split: str, examples: int) -> list[int] | None:
    """The cached teacher's predictions on a split, when a job that used it kept them (and they fit)."""
    kept = read_json(_entry(recipe, key) / f"predictions-{split}.json").get("predictions")
    valid = isinstance(kept, list) and len(kept) == examples and all(type(p) is int for p in kept)
    return kept if valid else None


def keep_predictions(recipe: Recipe, key: dict[str, Any], split: str, predictions: list[int]) -> None:
    """Keep the teacher's predictions beside it in the cache: they depend only on what the key holds."""
    folder = _entry(recipe, key)
    if cached_teacher(recipe, key) == folder:
        write_json(folder / f"predictions-{split}.json", {"predictions": predictions})


def kept_targets_folder(recipe: Recipe, key: dict[str, Any]) -> Path | None:
    """Where the cached teacher's targets on its own training split are kept (distill/target_store.py), when
    the teacher is in the cache: they depend on what the key holds (the split, max_length, the versions)."""
    folder = cached_teacher(recipe, key)
    return folder / TARGETS_DIR if folder else None


def copy_teacher(cached: Path, destination: Path) -> None:
    """The cached teacher's model files into a run, without what the cache keeps beside them."""
    shutil.copytree(cached, destination, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(KEY_FILE, "predictions-*.json", TARGETS_DIR, ONNX_DIR))


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
