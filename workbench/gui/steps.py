"""The window's steps in the pipeline's order, what each would change (one line) and the problems it has.

Problems are the core's own messages, never rules of the window: the recipe's validation (routed to the
step whose panel shows the field), the models' descriptions, the core's layer mapping for the described
layer counts, and the core's data reader. Qt-free apart from the field widgets it is given to locate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.api import WorkbenchError, pruning_tags, recipe_mapping, section_tags
from workbench.core.recipe import Recipe
from workbench.gui.fields import on_screen

DATA, MODELS, MAPPING, COMPRESSION, TRAINING, TRY_IT, RUNS, SEARCH = (
    "Data", "Models", "Layer mapping", "Compression", "Training", "Try it", "Runs", "Search")
STEPS = (DATA, MODELS, MAPPING, COMPRESSION, TRAINING, TRY_IT, RUNS, SEARCH)
# Where a recipe message goes when no widget shows its field (a key the window has no widget for).
SECTION_STEPS = {"data": DATA, "teacher": MODELS, "student": MODELS, "mapping": MAPPING,
                 "distillation": COMPRESSION, "pruning": COMPRESSION, "quantization": COMPRESSION,
                 "training": TRAINING, "search": SEARCH}


@dataclass
class StepState:
    summary: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def step_of_section(path: str) -> str:
    return SECTION_STEPS.get(path.split(".", 1)[0], TRAINING)


def _size(value: float) -> str:
    return f"{value:.0%}" if value < 1 else f"{value:,.0f}"


def data_name(source: str) -> str:
    """A data source as the window names it: the bundled corpus, or the file's (or dataset's) own name."""
    return "bundled tweets" if source == "bundled:tweets" else source.rstrip("/").rsplit("/", 1)[-1]


def data_summary(recipe: Recipe, rows: int | None = None) -> str:
    data = recipe.data
    source = data_name(data.source)
    counted = f" · {rows:,} rows" if rows is not None else ""
    return (f"{source}{counted} · split {_size(data.train_size)}/{_size(data.dev_size)}/{_size(data.test_size)}"
            f" · {data.max_length} tokens")


def models_summary(recipe: Recipe, ratio: float | None = None) -> str:
    teacher = recipe.teacher.source.removeprefix("bundled:").rsplit("/", 1)[-1]
    smaller = f" · {ratio:.1f}× fewer params" if ratio else ""
    return f"{teacher} → {recipe.student.preset}{smaller}"


def mapping_summary(recipe: Recipe, layers: tuple[int, int] | None = None) -> str:
    mapping = recipe.mapping
    losses = "+".join(name for name, on in (("hidden", mapping.hidden), ("attention", mapping.attention)) if on)
    shape = f"{layers[1]} ← {layers[0]} layers, " if layers else ""
    return f"{mapping.mode}: {shape}{losses or 'embeddings only'}"


def compression_summary(recipe: Recipe) -> str:
    parts = []
    pruning = recipe.pruning
    if pruning.enabled:
        parts.append("prune " + ", ".join(pruning_tags(pruning)))
    if recipe.distillation.augmentation.enabled:
        parts.append(f"augment ×{recipe.distillation.augmentation.copies}")
    parts += section_tags(recipe.distillation, "distillation")
    quantization = recipe.quantization
    parts.append(f"int8 {quantization.mode}" if quantization.enabled else "no int8")
    return " · ".join(parts)


def training_summary(recipe: Recipe) -> str:
    stages = recipe.distillation
    epochs = "/".join(f"{s.epochs:g}" for s in (stages.teacher_finetune, stages.intermediate, stages.prediction))
    return f"epochs {epochs} · batch {recipe.training.batch_size} · {recipe.training.device}"


def search_summary(recipe: Recipe) -> str:
    search, budget = recipe.search, recipe.search.budget
    limits = [f"≤ {value:g} {unit}" for value, unit in ((budget.max_latency_ms, "ms"), (budget.max_size_mib, "MiB"))
              if value is not None]
    if budget.min_speedup_int8_teacher is not None:
        limits.append(f"≥ {budget.min_speedup_int8_teacher:g}× the int8 teacher's speed")
    return f"{search.trials or 'timed'} trials · " + (" · ".join(limits) or "no speed or size budget")


def summaries(recipe: Recipe, rows: int | None, ratio: float | None, layers: tuple[int, int] | None,
              run: str | None, runs: int) -> dict[str, str]:
    return {DATA: data_summary(recipe, rows), MODELS: models_summary(recipe, ratio),
            MAPPING: mapping_summary(recipe, layers), COMPRESSION: compression_summary(recipe),
            TRAINING: training_summary(recipe), TRY_IT: f"run {run}" if run else "no finished run yet",
            RUNS: f"{runs} run(s)", SEARCH: search_summary(recipe)}


def mapping_problem(recipe: Recipe, layers: tuple[int, int] | None) -> str | None:
    """The core's verdict on the recipe's mapping for the described layer counts."""
    if layers is None:
        return None
    try:
        recipe_mapping(recipe.mapping, layers[1], layers[0])
    except WorkbenchError as error:
        return str(error)
    return None


def route_problems(problems: dict[str, str], fields_of, panels: dict) -> dict[str, list[str]]:
    """Each recipe message to the step whose panel holds the field it names (`fields_of(path)` lists the
    field widgets bound to a path), else to the step of its recipe section."""
    routed: dict[str, list[str]] = {name: [] for name in STEPS}
    for path, message in problems.items():
        widgets = [f.container for f in fields_of(path)]
        owner = next((name for name, panel in panels.items() if any(panel.isAncestorOf(w) for w in widgets)),
                     step_of_section(path))
        routed[owner].append(on_screen(f"{path}: {message}") if path else on_screen(message))
    return routed


def step_states(recipe: Recipe, routed: dict[str, list[str]], info, data_failure: str | None,
                data_rows: int | None, run: str | None, runs: int) -> dict[str, StepState]:
    """Every step's summary and problems; `info` is the Models panel's ModelsInfo."""
    lines = summaries(recipe, data_rows, (info.student or {}).get("ratio"), info.layers, run, runs)
    extra = {DATA: [data_failure], MODELS: [info.teacher_error, info.student_error],
             MAPPING: [mapping_problem(recipe, info.layers)]}
    return {name: StepState(lines[name], routed.get(name, []) + [p for p in extra.get(name, []) if p])
            for name in STEPS}
