"""Layer mapping n = g(m): the teacher layer each student layer learns from (TinyBERT, section 3.1).

Student layers are numbered 1..M and teacher layers 0..N, where 0 is the embedding layer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from workbench.core.errors import RecipeError
from workbench.core.recipe import LossWeights, MappingConfig
from workbench.core.sources.layer_spread import spread_layers

MODES = ("uniform", "last", "custom")


class MappingError(RecipeError):
    """A layer mapping that cannot be built from the recipe's mapping section."""


@dataclass
class LayerMapping:
    pairs: list[tuple[int, int]]  # (student layer m in 1..M, teacher layer n in 0..N)
    note: str | None = None
    no_hidden: frozenset[int] = field(default_factory=frozenset)  # student layers whose hidden loss is off
    no_attention: frozenset[int] = field(default_factory=frozenset)  # ... whose attention loss is off

    def hidden_pairs(self) -> list[tuple[int, int]]:
        """The pairs whose hidden-state loss counts."""
        return [(m, n) for m, n in self.pairs if m not in self.no_hidden]

    def attention_pairs(self) -> list[tuple[int, int]]:
        """The pairs whose attention loss counts: the embedding layer (n = 0) has no attention to match."""
        return [(m, n) for m, n in self.pairs if n > 0 and m not in self.no_attention]


def layer_mapping(mode: str, student_layers: int, teacher_layers: int, custom: list[int] | None = None,
                  no_hidden: Collection[int] = (), no_attention: Collection[int] = ()) -> LayerMapping:
    """Map student layers 1..M onto teacher layers; `custom` (one teacher layer per student layer) is read
    only in mode 'custom'. `no_hidden` / `no_attention` switch single pairs' losses off, by student layer."""
    m_total, n_total = student_layers, teacher_layers
    if m_total < 1 or n_total < 1:
        raise MappingError(f"cannot map {m_total} student layers onto {n_total} teacher layers: both need >= 1")
    switches = {"no_hidden": _checked_switches("no_hidden", no_hidden, m_total),
                "no_attention": _checked_switches("no_attention", no_attention, m_total)}
    if mode == "custom":
        return LayerMapping(list(enumerate(_checked_custom(custom, m_total, n_total), start=1)), **switches)
    if mode not in MODES:
        raise MappingError(f"mapping mode '{mode}' is unknown; use one of: {', '.join(MODES)}")
    if m_total > n_total:
        raise MappingError(
            f"the student has {m_total} layers but the teacher only {n_total}: mode '{mode}' needs a student "
            "with at most as many layers; use mode 'custom' or a smaller student"
        )
    if mode == "last":
        return LayerMapping([(m, n_total - m_total + m) for m in range(1, m_total + 1)], **switches)
    # The student initialiser's rule (round half up), so that copied layers are distilled toward their source.
    pairs = list(enumerate(spread_layers(m_total, n_total), start=1))
    note = None
    if n_total % m_total:
        chosen = ", ".join(str(n) for _, n in pairs)
        note = (
            f"{n_total} teacher layers onto {m_total} student layers is not a whole multiple: "
            f"uniform mapping rounds to {chosen}"
        )
    return LayerMapping(pairs, note, **switches)


def pair_losses(m: int, n: int, config: MappingConfig, weights: LossWeights) -> tuple[bool, bool]:
    """(hidden, attention): whether pair m -> n contributes each loss in the job. The one rule the job's
    losses, the report and the window's mapping view all follow: the loss is on for all pairs, weighted
    above 0, not switched off for this pair, and (attention) the teacher side is a layer, not the embeddings."""
    hidden = config.hidden and weights.hidden > 0 and m not in config.no_hidden
    attention = config.attention and weights.attention > 0 and n > 0 and m not in config.no_attention
    return hidden, attention


def recipe_mapping(config: MappingConfig, student_layers: int, teacher_layers: int) -> LayerMapping:
    """The recipe's mapping section for these layer counts, per-pair switches included."""
    return layer_mapping(config.mode, student_layers, teacher_layers, config.layers, config.no_hidden,
                         config.no_attention)


def _checked_switches(name: str, layers: Collection[int], m_total: int) -> frozenset[int]:
    for m in layers:
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= m_total:
            raise MappingError(f"mapping.{name} lists student layer {m!r}, but the student has {m_total} layers: "
                               f"give student layers in 1..{m_total}")
    return frozenset(layers)


def _checked_custom(custom: list[int] | None, m_total: int, n_total: int) -> list[int]:
    allowed = f"0..{n_total} (0 = embeddings)"
    if not custom or len(custom) != m_total:
        given = len(custom) if custom else 0
        raise MappingError(
            f"custom mapping lists {given} teacher layers for a student with {m_total} layers; "
            f"give exactly one teacher layer in {allowed} per student layer"
        )
    for m, n in enumerate(custom, start=1):
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= n_total:
            raise MappingError(f"custom mapping entry {m} (student layer {m}) is {n!r}; teacher layers run {allowed}")
    return list(custom)
