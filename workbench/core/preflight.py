"""Everything that can be checked before the first training step, in one place: `workbench check`, the job's
start and the window's Start all run these checks, so a recipe that cannot work fails in seconds with one
line, not after the teacher has been fine-tuned.

Checked: the teacher and a saved student resolve to safe model folders of a supported family; the student
shape and its initialisation fit the teacher; the layer mapping fits both layer counts; `max_length` fits
both models' position embeddings; the tokenizers fit the embedding tables and the student shares the
teacher's vocabulary; the data reads, with class labels (not scores) and a row for every named class.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.distill.distillation import check_attention_compatible
from workbench.core.distill.mapping import recipe_mapping
from workbench.core.errors import ModelSourceError, RecipeError
from workbench.core.recipe import Recipe
from workbench.core.sources.data import TaskData, load_task_data, read_source
from workbench.core.sources.families import EncoderFamily, family_of
from workbench.core.sources.family_support import check_supported
from workbench.core.sources.models import (
    has_tokenizer,
    head_labels,
    load_config,
    load_tokenizer,
    resolve_model_source,
)
from workbench.core.sources.student import check_same_vocabulary, chosen_teacher_layers, student_config

# Position ids that a family reserves before the first token (RoBERTa counts from padding_idx + 1).
RESERVED_POSITIONS = {"RoBERTa": 2}
PLACEHOLDER_LABELS = ["class 0", "class 1"]  # the head's size changes nothing checked here


@dataclass
class Checked:
    """What the checks found, for `workbench check` to print, and what they could not check (notes, which the
    job shows as notices)."""

    lines: list[str]
    notes: list[str] = field(default_factory=list)
    data: TaskData | None = None  # the data the checks read: a job started right after takes it, not a re-read


def check_recipe(recipe: Recipe) -> Checked:
    """Every check, the data included (it is read once here): for `workbench check` and the window's Start."""
    data = load_task_data(recipe.data)
    lines = [f"data           {data.sizes['train']:,} / {data.sizes['dev']:,} / {data.sizes['test']:,} rows "
             f"(train / dev / test), classes {', '.join(data.label_names)}; {data.cleaning.line()}"]
    general = recipe.distillation.general
    if general.enabled and general.source:
        read_source(general.source, general.text_column, None)
    if (transfer := recipe.distillation.transfer).source:
        read_source(transfer.source, transfer.text_column, None)
    models = check_models(recipe, data.label_names)
    return Checked(lines + models.lines, models.notes, data)


def check_models(recipe: Recipe, label_names: list[str] | None = None) -> Checked:
    """The checks that need no data: the job runs them first, before it creates its run folder (reading the
    data, which the job does next, makes the data checks). With the data's labels, a saved student's head is
    checked against them too."""
    _check_writable(Path(recipe.output_dir), "output_dir", "the run folders")
    if recipe.teacher.reuse:  # the fine-tuned teacher is kept there
        _check_writable(recipe.teacher_cache_dir(), "teacher.cache_dir", "the fine-tuned teachers")
    teacher_source = resolve_model_source(recipe.teacher.source, recipe.teacher.trust_remote_code)
    teacher_config = load_config(teacher_source)
    teacher_family = family_of(teacher_config)
    labels = label_names or recipe.data.label_names or _saved_head_labels(recipe) or PLACEHOLDER_LABELS
    config = student_config(recipe.student, teacher_config, labels)
    student_family = family_of(config)
    if recipe.student.init == "teacher":
        chosen_teacher_layers(recipe.student, config, teacher_config)
    teacher_layers, student_layers = teacher_family.num_layers(teacher_config), student_family.num_layers(config)
    mapping = recipe_mapping(recipe.mapping, student_layers, teacher_layers)
    check_supported(recipe, teacher_config)  # what the family's architecture allows (sources/family_support.py)
    check_attention_compatible(teacher_config, config, recipe.distillation.weights, recipe.mapping.attention,
                               recipe.distillation.attention_loss)
    max_length = recipe.data.max_length
    _check_positions("teacher", teacher_config, teacher_family, max_length)
    _check_positions("student", config, student_family, max_length)
    tokenizer = load_tokenizer(teacher_source)
    _check_tokenizer_fits("teacher", tokenizer, teacher_config)
    notes = []
    if recipe.student.init == "pretrained":
        student_source = resolve_model_source(recipe.student.pretrained)
        if has_tokenizer(student_source.folder):
            check_same_vocabulary(tokenizer, load_tokenizer(student_source))
        else:
            notes.append(f"the saved student {student_source.folder} has no tokenizer files, so its vocabulary was "
                         "not checked against the teacher's; it is trained with the teacher's tokenizer")
    _check_tokenizer_fits("student", tokenizer, config)
    pairs = ", ".join(f"{m}←{n}" for m, n in mapping.pairs)
    return Checked([
        f"teacher        {teacher_family.name}, {teacher_layers} layers, vocabulary {teacher_config.vocab_size:,}",
        f"student        {student_family.name}, {student_layers} layers, init {recipe.student.init}",
        f"mapping        {recipe.mapping.mode}: student←teacher layer {pairs}",
    ], notes)


def _saved_head_labels(recipe: Recipe) -> list[str]:
    """A saved student's own labels: before the data is read, they are the ones to check it against."""
    if recipe.student.init != "pretrained" or not recipe.student.pretrained:
        return []
    return head_labels(load_config(resolve_model_source(recipe.student.pretrained)))


def _check_positions(role: str, config, family: EncoderFamily, max_length: int) -> None:
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int):
        return
    usable = positions - RESERVED_POSITIONS.get(family.name, 0)
    if max_length > usable:
        raise RecipeError(
            f"data.max_length {max_length} is longer than the {role} can read ({usable} positions); "
            f"set data.max_length to at most {usable}"
        )


def _check_tokenizer_fits(role: str, tokenizer, config) -> None:
    """Every token id the tokenizer can produce must have a row in the model's embedding table."""
    if len(tokenizer) > config.vocab_size:
        raise ModelSourceError(
            f"the tokenizer has {len(tokenizer):,} tokens but the {role}'s embedding table only "
            f"{config.vocab_size:,} rows: token ids past {config.vocab_size - 1} would fail mid-training; "
            "use the tokenizer saved with the model"
        )


def _check_writable(folder: Path, key: str, what: str) -> None:
    """A folder the job writes to can be created and written (the job would fail on it, perhaps only after
    fine-tuning the teacher)."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        where = "" if existing == folder else f" ({existing})"
        raise RecipeError(f"{key} {folder}{where}: is a file; give a folder for {what}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RecipeError(f"{key} {folder}: {existing} is not writable; give a folder you can write to")
    try:  # what permissions do not tell: a read-only file system (even for root), no inode left
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        raise RecipeError(f"{key} {folder}: {existing} cannot be written ({error.strerror}); give a folder you can "
                          "write to") from None
