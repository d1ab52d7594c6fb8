"""A job's inputs, read once at its start: the task data, the teacher's tokenizer, the batch loaders of every
split (for distillation, the training set with its transfer set when asked) and the task teacher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.distill.transfer import with_transfer_rows
from workbench.core.errors import WorkbenchError
from workbench.core.recipe import AugmentationConfig, Recipe
from workbench.core.run_folder import write_json
from workbench.core.sources.batches import eval_loader, tokenize, train_loader
from workbench.core.sources.data import LABEL, TEXT, TaskData, load_task_data
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

if TYPE_CHECKING:
    from datasets import Dataset

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
    """Unlabelled text for general distillation, in batches."""
    config = recipe.distillation.general
    dataset = tokenize(unlabelled_texts(config.source, config.text_column, config.max_rows), tokenizer,
                       recipe.data.max_length)
    training = recipe.training
    return train_loader(dataset, tokenizer, training.batch_size, training.seed, training.group_by_length)


def unlabelled_texts(source: str, text_column: str, max_rows: int | None) -> Dataset:
    """Unlabelled text (general distillation's, a transfer set's): a text file (one text a line) or a dataset
    column, cleaned like the task data, its first max_rows rows."""
    from workbench.core.sources.data import clean, read_source

    raw, _ = read_source(source, text_column, None)
    texts, _ = clean(raw, with_labels=False)
    if max_rows:
        texts = texts.select(range(min(max_rows, len(texts))))
    return texts


def _loaders(context: JobContext, data: TaskData, tokenizer, teacher_folder: Path) -> Loaders:
    recipe = context.recipe
    batch, seed, max_length = recipe.training.batch_size, recipe.training.seed, recipe.data.max_length
    grouped = recipe.training.group_by_length
    splits = {name: tokenize(split, tokenizer, max_length) for name, split in data.splits.items()}
    train = train_loader(splits["train"], tokenizer, batch, seed, grouped)
    dev = eval_loader(splits["dev"], tokenizer, recipe.training.eval_batch_size)
    test = eval_loader(splits["test"], tokenizer, recipe.training.eval_batch_size)
    distill = train
    transfer = _transfer_texts(context, data, tokenizer, teacher_folder)
    if transfer:  # the training split, then the rows the teacher labels (distill/transfer.py)
        distill_set = tokenize(with_transfer_rows(data.splits["train"], transfer), tokenizer, max_length)
        distill = train_loader(distill_set, tokenizer, batch, seed, grouped)
    return Loaders(train, dev, test, distill)


def _transfer_texts(context: JobContext, data: TaskData, tokenizer, teacher_folder: Path) -> list[str]:
    """The transfer set's texts: word-replaced copies of the training texts, then the unlabelled source's."""
    distillation = context.recipe.distillation
    augmentation, transfer = distillation.augmentation, distillation.transfer
    copies, unlabelled = [], []
    if augmentation.enabled or transfer.copies:
        config = augmentation if augmentation.enabled else augmentation.model_copy(update={"copies": transfer.copies})
        copies = _copies(context, data, tokenizer, teacher_folder, config)
    if transfer.source:
        unlabelled = list(unlabelled_texts(transfer.source, transfer.text_column, transfer.max_rows)[TEXT])
    if (copies or unlabelled) and context.writes_files:  # the card and the report say what the student saw
        write_json(context.run.transfer_path, {"training_rows": len(data.splits["train"]), "copies": len(copies),
                                               "source_rows": len(unlabelled),
                                               "transfer_rows": len(copies) + len(unlabelled)})
    return copies + unlabelled


def _copies(context: JobContext, data: TaskData, tokenizer, teacher_folder: Path,
            config: AugmentationConfig) -> list[str]:
    """TinyBERT's word-replaced copies of the training texts, cached in the run folder."""
    from workbench.core.distill.augment import augment, cached_augmentation, make_augmenter
    from workbench.core.distill.precision import training_precision

    recipe, seed = context.recipe, context.recipe.training.seed
    train = data.splits["train"]
    bf16 = training_precision(recipe.training) == "bf16"  # the masked LM predicts in bf16 too: other copies
    key = {"data": data.content_hash, "teacher": recipe.teacher.source, "config": config.model_dump(), "seed": seed,
           "bf16": bf16}

    def compute() -> tuple[list[str], list[int]]:
        augmenter = make_augmenter(teacher_folder, tokenizer, config.model, recipe.teacher.trust_remote_code, bf16)
        return augment(list(train[TEXT]), list(train[LABEL]), augmenter, config, seed)

    with context.accelerator.main_process_first():  # rank 0 computes, the others read its cache
        texts, _ = cached_augmentation(context.run.augmented_path, key, compute)
    return texts[len(train):]  # the originals come first; the copies' labels are the teacher's


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
