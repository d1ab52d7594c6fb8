"""Which of the job's steps a model's family supports, and what a recipe asks for that it cannot do.

Asked before the first training step (job start, `workbench check`, `workbench info`, the Models panel), so
that a recipe the architecture cannot carry out ends in one line naming what works instead, not in a
traceback halfway through the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.errors import RecipeError
from workbench.core.recipe import Recipe
from workbench.core.sources.families import family_of

ATTENTION_SCORES, RELATION = "attention loss (scores)", "attention loss (relation)"
HEAD_PRUNING, FFN_PRUNING, FUSION, INT8 = "head pruning", "FFN pruning", "ONNX fusion", "int8"


class UnsupportedStepError(RecipeError):
    """A recipe step that the model's architecture does not allow."""


@dataclass(frozen=True)
class StepSupport:
    step: str
    supported: bool
    note: str = ""  # why not, and what to use instead


def family_capabilities(config) -> list[StepSupport]:
    """Every step and whether this model (its family, and its config where that matters) supports it."""
    family = family_of(config)
    scores = family.scores_unsupported
    position = getattr(config, "position_embedding_type", "absolute")
    if scores is None and position not in (None, "absolute"):
        scores = f"'{position}' position attention adds a distance term that the projections do not show"
    fusion = family.fusion_unsupported
    return [
        _support(ATTENTION_SCORES, scores, "use distillation.attention_loss: relation or mapping.attention: false"),
        StepSupport(RELATION, True),
        StepSupport(HEAD_PRUNING, True),
        StepSupport(FFN_PRUNING, True),
        _support(FUSION, fusion, "int8 is made from the unfused graph"),
        StepSupport(INT8, True, "from the unfused graph" if fusion else ""),
    ]


def support_text(config) -> dict[str, str]:
    """Each step as the user reads it: "yes", or "no: why; what to use instead"."""
    return {s.step: ("yes" + (f" ({s.note})" if s.note else "")) if s.supported else f"no: {s.note}"
            for s in family_capabilities(config)}


def unsupported_steps(recipe: Recipe, config) -> list[str]:
    """One line per step the recipe asks for that this model cannot do; empty when the recipe can run.
    ONNX fusion is not listed: export falls back to unfused int8 by itself (see `fallbacks`)."""
    support = {s.step: s for s in family_capabilities(config)}
    name = family_of(config).name
    scores = support[ATTENTION_SCORES]
    if _attention_loss_on(recipe) and recipe.distillation.attention_loss == "scores" and not scores.supported:
        return [f"{name} does not support {scores.step}: {scores.note}"]
    return []


def fallbacks(recipe: Recipe, config) -> list[str]:
    """Steps the job carries out another way for this model, one line each (shown as notices)."""
    fusion = next(s for s in family_capabilities(config) if s.step == FUSION)
    if recipe.quantization.enabled and recipe.quantization.fusion and not fusion.supported:
        return [f"{family_of(config).name}: {fusion.note}"]
    return []


def check_supported(recipe: Recipe, config) -> None:
    """Raise one error listing every step the recipe asks for that the model cannot do."""
    problems = unsupported_steps(recipe, config)
    if problems:
        raise UnsupportedStepError("; ".join(problems))


def _attention_loss_on(recipe: Recipe) -> bool:
    return recipe.mapping.attention and recipe.distillation.weights.attention > 0


def _support(step: str, reason: str | None, instead: str) -> StepSupport:
    return StepSupport(step, reason is None, f"{reason}; {instead}" if reason else "")

