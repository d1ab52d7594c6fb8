"""A job's inputs, read once at its start: the task data, the teacher's tokenizer, the batch loaders of every
split (the augmented training set for distillation when asked) and the task teacher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe
from workbench.core.run_folder import write_json
from workbench.core.sources.batches import eval_loader, tokenize, train_loader
from workbench.core.sources.data import TaskData, load_task_data
from workbench.core.sources.family_support import fallbacks
from workbench.core.sources.models import (
    head_labels,
    load_config,
    load_tokenizer,
    pretrained_options,
    resolve_model_source,
)
from workbench.core.sources.student import fast_attention
from workbench.core.stages.context import JobContext, JobInputs, Loaders, seed_everything
from workbench.core.stages.teacher_reuse import cached_teacher, copy_teacher, teacher_key

FINETUNE = "teacher_finetune"


def read_inputs(context: JobContext, data: TaskData | None = None) -> JobInputs:
    """The job's data (read here unless given), the teacher's tokenizer, the loaders and the task teacher (with
    the key it is cached under, when it is)."""
    recipe = context.recipe
    data = data if data is not None else load_task_data(recipe.data)
    if data.cleaning.bytes_replaced_rows:
        context.notices.append(f"{recipe.data.source}: {data.cleaning.line()}")
    _check_same_data(context, data)
    source = resolve_model_source(recipe.teacher.source, recipe.teacher.trust_remote_code)
    tokenizer = load_tokenizer(source)
    # A step the family cannot do stopped the job in preflight; one it does another way (int8 of the
    # unfused graph) is announced.
    context.notices.extend(fallbacks(recipe, load_config(source)))
    loaders = _loaders(context, data, tokenizer, source.folder)
    teacher, key = _teacher(context, source.folder, data)
    return JobInputs(data, tokenizer, loaders, teacher, key)


def general_loader(recipe: Recipe, tokenizer):
    """Unlabelled text for general distillation: a text file (one text a line) or a dataset column."""
    from workbench.core.sources.data import clean, read_source

    config = recipe.distillation.general
    raw, _ = read_source(config.source, config.text_column, None)
    texts, _ = clean(raw, with_labels=False)
    if config.max_rows:
        texts = texts.select(range(min(config.max_rows, len(texts))))
    dataset = tokenize(texts, tokenizer, recipe.data.max_length)
    training = recipe.training
    return train_loader(dataset, tokenizer, training.batch_size, training.seed, training.group_by_length)


def _loaders(context: JobContext, data: TaskData, tokenizer, teacher_folder: Path) -> Loaders:
    recipe = context.recipe
    batch, seed, max_length = recipe.training.batch_size, recipe.training.seed, recipe.data.max_length
    grouped = recipe.training.group_by_length
    splits = {name: tokenize(split, tokenizer, max_length) for name, split in data.splits.items()}
    train = train_loader(splits["train"], tokenizer, batch, seed, grouped)
    dev = eval_loader(splits["dev"], tokenizer, recipe.training.eval_batch_size)
    test = eval_loader(splits["test"], tokenizer, recipe.training.eval_batch_size)
    distill = train
    if recipe.distillation.augmentation.enabled:
        augmented = tokenize(_augmented(context, data, tokenizer, teacher_folder), tokenizer, max_length)
        distill = train_loader(augmented, tokenizer, batch, seed, grouped)
    return Loaders(train, dev, test, distill)


def _augmented(context: JobContext, data: TaskData, tokenizer, teacher_folder: Path):
    """The training split with TinyBERT's word-replaced copies, cached in the run folder."""
    from datasets import Dataset

    from workbench.core.distill.augment import augment, cached_augmentation, make_augmenter
    from workbench.core.distill.precision import training_precision

    recipe = context.recipe
    config, seed = recipe.distillation.augmentation, recipe.training.seed
    train = data.splits["train"]
    bf16 = training_precision(recipe.training) == "bf16"  # the masked LM predicts in bf16 too: other copies
    key = {"data": data.content_hash, "teacher": recipe.teacher.source, "config": config.model_dump(), "seed": seed,
           "bf16": bf16}

    def compute() -> tuple[list[str], list[int]]:
        augmenter = make_augmenter(teacher_folder, tokenizer, config.model, recipe.teacher.trust_remote_code, bf16)
        return augment(list(train["text"]), list(train["label"]), augmenter, config, seed)

    with context.accelerator.main_process_first():  # rank 0 computes, the others read its cache
        texts, labels = cached_augmentation(context.run.augmented_path, key, compute)
    return Dataset.from_dict({"text": texts, "label": labels})


def _teacher(context: JobContext, folder: Path, data: TaskData) -> tuple[Any, dict[str, Any] | None]:
    """The task teacher: fine-tuned in this run, or the source itself when its head fits the labels; and the
    key it is cached under when the recipe reuses fine-tuned teachers (None otherwise)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    label_names, key = data.label_names, None
    fine_tuned = context.run.teacher_dir
    if context.resume.done(FINETUNE) and fine_tuned.is_dir():
        folder = fine_tuned
    trust = context.recipe.teacher.trust_remote_code
    config = AutoConfig.from_pretrained(folder, trust_remote_code=trust)
    if head_labels(config) == label_names:
        context.resume.finish(FINETUNE)  # the teacher already solves this task
    elif not context.resume.done(FINETUNE) and context.recipe.teacher.reuse:
        # The key is kept even when no cached teacher matches: the one this run fine-tunes is cached under it.
        key = teacher_key(context.recipe, folder, data.content_hash, label_names)
        folder = _reused_teacher(context, key) or folder
    labels = {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
              "label2id": {name: i for i, name in enumerate(label_names)}}
    seed_everything(context.recipe.training.seed)  # the new head's initialisation is part of the recipe
    return AutoModelForSequenceClassification.from_pretrained(
        folder, ignore_mismatched_sizes=True, **labels, **pretrained_options(trust), **fast_attention(config)), key


def _reused_teacher(context: JobContext, key: dict[str, Any]) -> Path | None:
    """A teacher fine-tuned earlier on this split with these settings, copied into the run; else None."""
    cached = cached_teacher(context.recipe, key)
    if cached is None:
        return None
    context.resume.finish(FINETUNE)
    if context.writes_files:
        copy_teacher(cached, context.run.teacher_dir)
        write_json(context.run.teacher_reuse_path, {"cached_teacher": str(cached), "key": key})
    context.notices.append(f"teacher: reusing the one fine-tuned earlier on this split with these settings ({cached})")
    return cached


def _check_same_data(context: JobContext, data: TaskData) -> None:
    if not context.writes_files:
        return
    manifest = context.run.data_manifest_path
    if context.resume.checkpoint is not None and manifest.is_file():
        recorded = json.loads(manifest.read_text())["content_hash"]
        if recorded != data.content_hash:
            raise WorkbenchError(
                f"{context.run.path}: the data changed since the run started (content hash differs); "
                "resuming would mix two data sets, so start the recipe anew"
            )
    write_json(manifest, data.manifest())
