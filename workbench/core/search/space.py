"""The candidate space: what a trial draws (student shape, what each compression method declares a search draws
for it, int8 mode) and the recipe of the full job that trains a candidate.

Every candidate keeps the base recipe's data, teacher, fine-tune and training settings: the teacher reuse
cache (stages/teacher_reuse.py) keys a fine-tuned teacher on exactly those, so the teacher is fine-tuned once
per study and every later candidate takes it from the cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.methods.registry import search_knobs
from workbench.core.recipe import Recipe
from workbench.core.recipe_search import SearchSpace
from workbench.core.search.folder import StudyError
from workbench.core.sources.student import default_teacher_layers
from workbench.core.stages.teacher_reuse import cache_root

KEEP, RANDOM = "keep", "random"


@dataclass(frozen=True)
class TeacherShape:
    layers: int
    hidden_size: int
    heads: int
    ffn_size: int


@dataclass(frozen=True)
class Candidate:
    shape: str  # "keep:2,4,6" (teacher layers copied) or "random:192x3" (random init, width x layers)
    settings: tuple[tuple[str, Any], ...]  # (knob name, value) of every method's search knob, in draw order
    int8: str  # "dynamic" | "static"

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, **dict(self.settings), "int8": self.int8}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        # A knob added after the study drew this trial: the value that stands for the method off.
        return cls(data["shape"], tuple((knob.name, data.get(knob.name, knob.absent)) for _, knob in search_knobs()),
                   data["int8"])

    def describe(self) -> str:
        kind, _, spec = self.shape.partition(":")
        shape = f"keeps layers {spec}" if kind == KEEP else f"random {spec}"
        values = dict(self.settings)
        parts = [shape, *filter(None, (knob.words(values[knob.name]) for _, knob in search_knobs()))]
        return ", ".join(parts) + f", {self.int8} int8"


def teacher_shape(recipe: Recipe) -> TeacherShape:
    from workbench.core.sources.models import load_config, resolve_model_source

    config = load_config(resolve_model_source(recipe.teacher.source))
    return TeacherShape(config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
                        config.intermediate_size)


def shape_choices(space: SearchSpace, teacher: TeacherShape) -> list[str]:
    """Every student shape the space allows for this teacher, as stable strings (Optuna's categorical values)."""
    kept = [default_teacher_layers(count, teacher.layers) for count in space.layer_counts if count <= teacher.layers]
    for layers in space.kept_layers:
        if max(layers) > teacher.layers or len(set(layers)) != len(layers):
            raise StudyError(f"search.space.kept_layers {layers}: the teacher has layers 1 to {teacher.layers}, "
                             "each listed once")
        kept.append(sorted(layers))
    choices = [f"{KEEP}:{','.join(map(str, layers))}" for layers in kept]
    for width in space.random_widths:
        if width % teacher.heads:
            raise StudyError(f"search.space.random_widths: {width} is not a multiple of the teacher's "
                             f"{teacher.heads} heads (attention distillation needs the same head count)")
        choices += [f"{RANDOM}:{width}x{count}" for count in space.layer_counts]
    if not choices:
        raise StudyError(f"search.space: no student shape fits a teacher of {teacher.layers} layers; "
                         "lower layer_counts or give kept_layers")
    return list(dict.fromkeys(choices))


def space_size(space: SearchSpace, teacher: TeacherShape) -> int:
    """How many distinct candidates the space holds: once each is finished, drawing more only copies them."""
    knobs = math.prod(len(set(getattr(space, knob.space))) for _, knob in search_knobs())
    return len(shape_choices(space, teacher)) * knobs * len(set(space.int8))


def suggest(trial, space: SearchSpace, teacher: TeacherShape) -> Candidate:
    """The candidate an Optuna trial draws (define-by-run: the distributions are declared here)."""
    shape = trial.suggest_categorical("shape", shape_choices(space, teacher))
    settings = tuple((knob.name, trial.suggest_categorical(knob.name, list(dict.fromkeys(getattr(space, knob.space)))))
                     for _, knob in search_knobs())
    return Candidate(shape, settings, trial.suggest_categorical("int8", list(dict.fromkeys(space.int8))))


def base_candidate(base: Recipe, space: SearchSpace, teacher: TeacherShape) -> dict[str, Any] | None:
    """The base recipe's own student as a trial's parameters, when the space holds it (else None). A new study
    tries it first, the known-good start Optuna's `enqueue_trial` is for: a study from a preset measures that
    preset's student against the budget before it explores."""
    student, data = base.student, base.model_dump(mode="json")
    if student.init != "teacher" or student.preset != "drop-layers" or not student.teacher_layers:
        return None
    params: dict[str, Any] = {"shape": f"{KEEP}:{','.join(map(str, sorted(student.teacher_layers)))}"}
    options: dict[str, list[Any]] = {"shape": shape_choices(space, teacher), "int8": list(space.int8)}
    for method, knob in search_knobs():
        value = data[method.section]
        for key in knob.key.split("."):
            value = value[key]
        if method.section == "pruning" and not base.pruning.enabled:
            value = type(value)()  # pruning off: each pruning knob at its off value (0.0, False)
        params[knob.name], options[knob.name] = value, list(getattr(space, knob.space))
    params["int8"] = base.quantization.mode
    return params if all(params[name] in choices for name, choices in options.items()) else None


def candidate_recipe(base: Recipe, candidate: Candidate, teacher: TeacherShape, name: str,
                     output_dir: str | Path) -> Recipe:
    """The recipe of the full job that trains this candidate; everything but the student's shape, pruning and
    int8 mode (and where it is written) stays the base recipe's."""
    data = base.model_dump(mode="json")
    data["name"], data["output_dir"] = name, str(output_dir)
    data["teacher"] = {**data["teacher"], "reuse": True, "cache_dir": str(cache_root(base))}
    data["student"] = _student_section(candidate.shape, teacher)
    if data["mapping"]["mode"] == "custom":  # a custom mapping names one teacher layer per student layer
        data["mapping"] = {**data["mapping"], "mode": "uniform", "layers": None}
    values, knobs = dict(candidate.settings), search_knobs()
    data["pruning"]["enabled"] = any(values[knob.name] for method, knob in knobs if method.section == "pruning")
    for method, knob in knobs:
        *nested, key = knob.key.split(".")  # "transfer.copies" sets a key of a section inside the method's
        section = data[method.section]
        for name in nested:
            section = section[name]
        section[key] = values[knob.name]
    data["quantization"] = {**data["quantization"], "enabled": True, "mode": candidate.int8}
    return Recipe.from_dict(data, origin=f"candidate {name}")


def trial_job(recipe: Recipe) -> Recipe:
    """A trial's job: trained, exported and scored like the full job, without what the study measures once
    (the teacher's export and the benchmark: the reference models) or never compares (the int4 student)."""
    data = recipe.model_dump(mode="json")
    data["quantization"] = {**data["quantization"], "reference_models": False, "int4": False}
    return Recipe.from_dict(data, origin=f"trial job {recipe.name}")


def _student_section(shape: str, teacher: TeacherShape) -> dict[str, Any]:
    kind, _, spec = shape.partition(":")
    if kind == KEEP:
        layers = [int(layer) for layer in spec.split(",")]
        return {"preset": "drop-layers", "init": "teacher", "teacher_layers": layers}
    width, _, count = spec.partition("x")
    hidden = int(width)
    ffn = max(8, hidden * teacher.ffn_size // teacher.hidden_size)  # the teacher's FFN-to-width ratio
    return {"preset": "custom", "init": "random", "layers": int(count), "hidden_size": hidden,
            "heads": teacher.heads, "ffn_size": ffn}
