"""What a compression method declares: the recipe keys it owns, when it applies, what it does at the pipeline
point it acts on, the run-folder files it writes, one sentence for the model card, the window's estimate and
summary, its report part, its form rows and what a search draws for it. The pipeline, the card, the report,
the window and the search loop over the registry (registry.py) and never name a method; adding one is a module
here, its test and one line in registry.METHODS (plus its recipe fields in recipe_compression.py when it has
new settings, and a list in recipe_search.SearchSpace when a search draws one: the recipe is the bottom layer
and cannot import this room)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from workbench.core.run_folder import RunFolder

Section = Literal["pruning", "quantization", "distillation"]
Widget = Literal["check", "line", "spin", "combo"]
PRUNING_REPORT = "Pruning"


@dataclass(frozen=True)
class FormRow:
    """One row of the window's form for a recipe key: a check box (`label` is its text), a line field of a
    value `kind` (fields.LineField's kinds), a spin box or a combo box of the recipe's choices (`choices`
    relabels some of them). An empty `tip` leaves the widget's own default (a combo's: the field's
    description)."""

    key: str
    label: str
    widget: Widget
    kind: str = "float"
    placeholder: str = ""
    tip: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)


REQUIRED = object()  # a SearchKnob's `absent` when no value can stand for a trial drawn before the knob existed


@dataclass(frozen=True)
class SearchKnob:
    """A setting of the method that a search draws: the trial's parameter (and the candidate's key), the recipe
    key it sets in the method's section (dotted inside a nested section: "transfer.copies"), the `search.space`
    list it draws from, its words in a candidate's description ("" where the value turns the method off), and
    `absent`: the value a trial drawn before this knob existed stands for (REQUIRED: such a trial cannot be
    read)."""

    name: str
    key: str
    space: str
    words: Callable[[Any], str]
    absent: Any = REQUIRED


def description(model: type[BaseModel], key: str) -> str:
    """A recipe field's own description, for a tooltip: one place says what the setting means."""
    return model.model_fields[key].description or ""


def _nothing(*_: Any) -> Any:
    return None


@dataclass(frozen=True)
class CompressionMethod:
    """A method's declaration. Hooks take the method's recipe section (`recipe.<section>`); every one but
    `applies` is optional. Pipeline points: `prune` runs in the pruning stage (the student in place, before
    the recovery stage; it returns the report written to `files[0]`), `while_training` wraps every training
    stage after it (recovery, QAT). A method that acts elsewhere (vocabulary at scoring, QAT as its own stage,
    the guard and int4 inside the export) names its stage in `stage`, and that stage asks `applies`."""

    name: str
    section: Section
    keys: tuple[str, ...]  # the recipe keys it owns in its section (dotted inside a nested section)
    stage: str  # the pipeline stage (job.PIPELINE) in which it acts
    applies: Callable[[Any], bool]
    describe: Callable[[Any, RunFolder], str | None] = _nothing  # the model card's sentence, from the run
    estimate: Callable[[Any, int, int], str | None] = _nothing  # before a run: (section, heads, FFN width)
    tag: Callable[[Any], str | None] = _nothing  # a few words for the window's step summary
    files: tuple[str, ...] = ()  # RunFolder properties of the files it writes
    report: Callable[[RunFolder], str] = lambda run: ""  # its part of the report (HTML), "" when nothing ran
    report_title: str = PRUNING_REPORT  # the report section its part goes in
    form: tuple[FormRow, ...] = ()
    prune: Callable[[Any, Any, Iterable[Any]], dict[str, Any]] | None = None  # (student, section, batches)
    while_training: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None  # (student)
    search: tuple[SearchKnob, ...] = ()  # what a search draws for it, in the order of the draws

    def config(self, recipe: Any) -> Any:
        return getattr(recipe, self.section)

    def applies_to(self, recipe: Any) -> bool:
        return self.applies(self.config(recipe))
