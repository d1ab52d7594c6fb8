"""The recipe's `search:` section: budgets, the candidate space and how the study runs (workbench.core.search).

Its own module so that recipe.py stays one screenful per concern; the Recipe holds it as `recipe.search` and
validates it like every other section (unknown keys get a did-you-mean, values their allowed range).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from workbench.core.recipe_section import Section

Ratio = Annotated[float, Field(ge=0, lt=1)]


class SearchBudget(Section):
    """What a shipped student may cost on this machine, and how much accuracy it must keep."""

    max_latency_ms: float | None = Field(default=None, gt=0, description="int8 latency at batch x seq_len")
    batch: int = Field(default=1, ge=1, le=1024)
    seq_len: int = Field(default=64, ge=8, le=512)
    threads: int = Field(default=2, ge=1, le=256)
    min_speedup_int8_teacher: float | None = Field(
        default=None, gt=0, description="the fused int8 teacher's latency / the student's, timed side by side: a "
        "budget that holds on any machine, where figures in ms move with the machine's state")
    max_size_mib: float | None = Field(default=None, gt=0, description="the int8 model file")
    min_kept_teacher: float | None = Field(default=None, ge=0, le=2,
                                           description="int8 student test accuracy / the teacher's")
    min_kept_int8_teacher: float | None = Field(default=None, ge=0, le=2,
                                                description="int8 student test accuracy / the fused int8 teacher's")


class SearchSpace(Section):
    """The candidates: kept teacher layers (or random-init widths), pruning ratios, vocabulary, int8 mode."""

    layer_counts: list[Annotated[int, Field(ge=1, le=48)]] = Field(
        default_factory=lambda: [1, 2, 3], description="students keeping this many teacher layers, spread evenly")
    kept_layers: list[list[Annotated[int, Field(ge=1)]]] = Field(
        default_factory=list, description="explicit sets of teacher layers to keep, e.g. [[5, 6]]")
    random_widths: list[Annotated[int, Field(ge=8, le=4096)]] = Field(
        default_factory=list, description="random-init students of these hidden sizes, with layer_counts layers")
    ffn_ratios: list[Ratio] = Field(default_factory=lambda: [0.0, 0.25, 0.5])
    heads_ratios: list[Ratio] = Field(default_factory=lambda: [0.0])
    hidden_ratios: list[Ratio] = Field(default_factory=lambda: [0.0], description="shares of hidden channels "
                                       "removed (width pruning)")
    vocabulary: list[bool] = Field(default_factory=lambda: [False, True])
    int8: list[Literal["dynamic", "static"]] = Field(default_factory=lambda: ["dynamic"])
    int8_accuracy_drops: list[Annotated[float, Field(ge=0, lt=1)] | None] = Field(
        default_factory=lambda: [None], description="the int8 guard's dev accuracy tolerance (null: every layer "
        "int8): the layers int8 hurts most stay fp32, so this draws the precision of each layer")
    transfer_copies: list[Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: [0], description="teacher-labelled word-replaced copies of each training text")

    @model_validator(mode="after")
    def _every_choice_has_an_option(self) -> SearchSpace:
        for name in ("ffn_ratios", "heads_ratios", "hidden_ratios", "vocabulary", "int8", "int8_accuracy_drops",
                     "transfer_copies"):
            if not getattr(self, name):
                raise ValueError(f"{name} needs at least one option")
        if any(self.heads_ratios) and any(self.hidden_ratios):  # the pruning section rejects the pair
            raise ValueError("hidden_ratios sets the heads with the width: keep heads_ratios at [0.0] to search it")
        if not (self.layer_counts or self.kept_layers):
            raise ValueError("give layer_counts or kept_layers: the student shapes to try")
        return self


class SearchConfig(Section):
    """Budget search over student shapes (`workbench search`): Optuna trials, each measured before it trains."""

    budget: SearchBudget = SearchBudget()
    space: SearchSpace = SearchSpace()
    trials: int | None = Field(default=12, ge=1, le=10000)
    time_limit_minutes: float | None = Field(default=None, gt=0)
    storage: str | None = Field(default=None, description="an Optuna storage URL (sqlite:///..., postgresql://...); "
                                "default: a journal file in the study folder")
    pruner: Literal["successive-halving", "hyperband", "none"] = "successive-halving"
    seed: int = Field(default=0, ge=0, description="the sampler's seed (workers that join draw their own)")

    @model_validator(mode="after")
    def _ends_somewhere(self) -> SearchConfig:
        if self.trials is None and self.time_limit_minutes is None:
            raise ValueError("give trials or time_limit_minutes (or both): a search must end")
        return self
