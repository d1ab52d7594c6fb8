"""What the Models and Layer-mapping panels show about teacher and student before anything runs.

Computed in a background thread (it imports transformers and reads configurations, never weights): the
teacher's summary card, and the student's shape, parameters, fp32 size and estimated speed-up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from workbench.core.api import WorkbenchError
from workbench.core.recipe import Recipe

PLACEHOLDER_LABELS = ["negative", "neutral", "positive"]  # head size barely changes the counts


@dataclass
class ModelsInfo:
    teacher: Any = None  # workbench.core.sources.models.ModelSummary
    teacher_error: str | None = None
    student: dict[str, Any] | None = None  # workbench.core.sources.student.describe_student
    student_error: str | None = None

    @property
    def layers(self) -> tuple[int, int] | None:
        """(teacher layers, student layers) when both are known."""
        if self.teacher is None or self.student is None:
            return None
        return self.teacher.layers, int(self.student["layers"])


@functools.lru_cache(maxsize=16)
def _summary(source: str, trust_remote_code: bool):
    from workbench.core.api import summarize_model

    return summarize_model(source, trust_remote_code)


@functools.lru_cache(maxsize=16)
def _config(source: str, trust_remote_code: bool):
    from workbench.core.api import load_config, resolve_model_source

    return load_config(resolve_model_source(source, trust_remote_code))


def describe_models(recipe: Recipe) -> ModelsInfo:
    from workbench.core.api import describe_student, student_config

    info = ModelsInfo()
    try:
        info.teacher = _summary(recipe.teacher.source, recipe.teacher.trust_remote_code)
    except WorkbenchError as error:
        info.teacher_error = str(error)
        return info
    labels = recipe.data.label_names or info.teacher.labels or PLACEHOLDER_LABELS
    try:
        teacher_config = _config(recipe.teacher.source, recipe.teacher.trust_remote_code)
        config = student_config(recipe.student, teacher_config, labels)
        info.student = describe_student(config, teacher_config, recipe.data.max_length)
        info.student["ratio"] = info.teacher.parameters / max(1, info.student["parameters"])
    except WorkbenchError as error:
        info.student_error = str(error)
    return info


def model_inputs_of(recipe: Recipe) -> dict[str, Any]:
    """The part of a recipe the description depends on: recompute only when this changes."""
    return {"teacher": recipe.teacher.model_dump(), "student": recipe.student.model_dump(),
            "max_length": recipe.data.max_length, "labels": recipe.data.label_names,
            "pruning": recipe.pruning.model_dump()}
