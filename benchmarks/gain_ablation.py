"""Each lever's share of distillation's gain: the preset's job again with one lever changed per row, switched off
where the preset uses it (−), switched on where it does not and the lever has an "on" setting (+).

A lever is a name and recipe overrides written as `workbench run --set key=value` takes them (applied by the
same code, Recipe.with_overrides). A lever the preset does not use and that has no "on" setting, or whose key
this recipe does not have (a lever another branch adds), is skipped with a note, not run.
Every job of an ablation shares one teacher cache (teacher.cache_dir), so the levers that keep the preset's
data reuse its fine-tuned teacher; only the 'whole corpus' row fine-tunes one again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.events import Failed, Finished
from workbench.core.job import run_job
from workbench.core.progress import follow
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder
from workbench.core.safe_yaml import parse_yaml

MISSING = object()


Overrides = tuple[tuple[str, str], ...]  # (dotted key, value as YAML text), as `--set key=value` writes them


@dataclass(frozen=True)
class Lever:
    name: str
    overrides: Overrides  # switch the lever off
    # Whether the preset uses the lever; None: some override differs from what the preset says.
    used: Callable[[Recipe], bool] | None = None
    on: Overrides = ()  # switch it on in a preset that does not use it (none: such a preset skips it)
    # No job: the full run's models timed again with ONNX Runtime's own session settings (the lever's off).
    ort_defaults: bool = False

    def uses(self, recipe: Recipe) -> bool:
        if self.ort_defaults:  # every run's ONNX models are timed in the tuned sessions
            return True
        data = recipe.model_dump(mode="json")
        return self.used(recipe) if self.used else any(
            _lookup(data, key) != parse_yaml(value, key) for key, value in self.overrides)

    def change(self, recipe: Recipe) -> Overrides:
        """What the ablation changes in this recipe: the lever off where it is used, else on (maybe nothing)."""
        return self.overrides if self.uses(recipe) else self.on

    def assignments(self, recipe: Recipe) -> list[str]:
        return [f"{key}={value}" for key, value in self.change(recipe)]

    def label(self, recipe: Recipe) -> str:
        return f"{'−' if self.uses(recipe) else '+'} {self.name}"

    def skip_reason(self, recipe: Recipe) -> str:
        """'' when the lever can be switched off (or on) in this recipe, else why it is not run."""
        data = recipe.model_dump(mode="json")
        absent = [key for key, _ in (*self.overrides, *self.on) if _lookup(data, key) is MISSING]
        if absent:
            return f"the recipe has no {', '.join(absent)} (the lever is not in this version)"
        return "" if self.change(recipe) or self.ort_defaults else "the preset does not use it"


LEVERS = (
    Lever("whole corpus", (("data.train_size", "3000"),)),
    # Both kinds of transfer rows: word-replaced copies and unlabelled text. On: one teacher-labelled copy of
    # each training text (a job about twice as long).
    Lever("transfer set", (("distillation.transfer.copies", "0"), ("distillation.transfer.source", "null")),
          on=(("distillation.transfer.copies", "1"),)),
    Lever("augmentation", (("distillation.augmentation.enabled", "false"),)),  # on: hours on a full corpus
    Lever("relation loss", (("distillation.attention_loss", "scores"),),
          on=(("distillation.attention_loss", "relation"),)),
    # Width pruning sets the head count from the kept width, so switching it on switches head pruning off.
    Lever("hidden-width reduction", (("pruning.hidden_ratio", "0"),),
          on=(("pruning.enabled", "true"), ("pruning.hidden_ratio", "0.125"), ("pruning.heads_ratio", "0"))),
    # Depth: a student of three of the teacher's layers against one of two, every other setting the same.
    Lever("a third layer", (("student.teacher_layers", "[3, 6]"),),
          lambda recipe: len(recipe.student.teacher_layers or ()) == 3, on=(("student.teacher_layers", "[2, 4, 6]"),)),
    Lever("head pruning", (("pruning.heads_ratio", "0"),),
          on=(("pruning.enabled", "true"), ("pruning.heads_ratio", "0.5"), ("pruning.hidden_ratio", "0"))),
    Lever("per-layer precision", (("quantization.max_accuracy_drop", "null"),),
          on=(("quantization.max_accuracy_drop", "0.01"),)),
    Lever("FFN pruning", (("pruning.ffn_ratio", "0"),),
          on=(("pruning.enabled", "true"), ("pruning.ffn_ratio", "0.33"))),
    Lever("tuned ONNX Runtime session", (), ort_defaults=True),
)


def chosen_levers(names: str | None) -> list[Lever]:
    """The levers named in a comma-separated list (all when None); an unknown name ends the script."""
    if names is None:
        return list(LEVERS)
    by_name = {lever.name: lever for lever in LEVERS}
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SystemExit(f"--levers: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(by_name)}")
    return [by_name[name] for name in wanted]


def lever_recipe(base: Recipe, lever: Lever) -> Recipe:
    """The base job with the lever switched off (or on), under a name that says so."""
    recipe = base.with_overrides(lever.assignments(base))
    recipe.name = f"{base.name}-{'without' if lever.uses(base) else 'with'}-{lever.name.replace(' ', '-')}"[:100]
    return recipe


def for_output(recipe: Recipe, output: Path, cache: Path | None) -> Recipe:
    """The recipe writing its run under `output`, its teacher cache in `cache` (None: the recipe's own)."""
    recipe = recipe.model_copy(deep=True)  # set directly: a path is no YAML to parse (`#`, `: ` in a name)
    recipe.output_dir = str(output)
    if cache is not None:
        recipe.teacher.cache_dir = str(cache)
    return recipe


def same_job(first: Recipe, second: Recipe) -> bool:
    """Whether two recipes run the same job, wherever they write their runs and keep their teachers."""
    def core(recipe: Recipe) -> dict[str, Any]:
        data = recipe.model_dump(mode="json")
        data.pop("name"), data.pop("output_dir"), data["teacher"].pop("cache_dir")
        return data

    return core(first) == core(second)


def finished_run(recipe: Recipe) -> Path | None:
    """A finished run of this job already in the recipe's output folder (an interrupted ablation goes on where it
    stopped; lever jobs may also be run beforehand with `workbench run`, several at once), else None."""
    output = Path(recipe.output_dir)
    runs = [RunFolder(folder) for folder in sorted(output.iterdir())] if output.is_dir() else []
    for run in runs:  # the output folder also holds teacher caches, which are no runs
        if run.recipe_path.is_file() and run.status().get("status") == "finished" and same_job(run.recipe(), recipe):
            return run.path
    return None


def run_recipe(recipe: Recipe) -> Path | str:
    """The finished run's folder, or why the job did not finish (one line)."""
    last = follow(run_job(recipe))
    if isinstance(last, Finished) and last.status == "finished":
        return Path(last.run_dir)
    return last.message if isinstance(last, Failed) else f"{recipe.name}: the job ended as {last}"


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value
