"""Structured pruning: rank attention heads and FFN neurons (compress/importance.py), remove the least
important by ratio or by threshold.

A ratio removes the same count from every layer. A threshold removes every FFN neuron whose importance,
divided by the highest in its layer, is below it (so each layer keeps its strongest unit, and layers may end
with different widths), and from every layer the same number of heads: as many as the layer with the fewest
heads below the threshold has, because the config and ONNX Runtime's fused Attention take one head count for
the whole model. No unit at or above the threshold is ever removed.

How a pruned model keeps loading and exporting: see sources/pruned_models.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn
from transformers import PreTrainedModel

from workbench.core.compress.importance import (
    Importance,
    ImportanceMethod,
    PruningError,
    compute_importance,
    current_heads,
)
from workbench.core.sources.families import PRUNING_CONFIG_KEY, family_of
from workbench.core.sources.pruned_models import (
    attention_head_size,
    config_heads,
    head_columns,
    layer_ffn_sizes,
    shrink_layer,
)

# Importance, PruningError and compute_importance are part of pruning's interface; they live in importance.py.
__all__ = ["Importance", "PruningError", "PruningReport", "compute_importance", "normalised", "prune",
           "removed_count"]

ThresholdUnits = Literal["both", "heads", "ffn"]


@dataclass(frozen=True)
class PruningReport:
    """What was removed: per-layer counts before and after, and the removed indices (as they were numbered
    in the model that was pruned)."""

    importance: ImportanceMethod
    heads_before: int
    heads_after: int
    ffn_before: int  # the widest layer's, before and after
    ffn_after: int
    removed_heads: list[list[int]]
    removed_neurons: list[list[int]]
    parameters_before: int
    parameters_after: int
    criterion: Literal["ratio", "threshold"] = "ratio"
    threshold: float | None = None
    ffn_per_layer: list[int] | None = None  # every layer's FFN width after pruning
    heads_below_threshold: list[int] | None = None  # per layer, before equalising the head count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def removed_count(total: int, ratio: float) -> int:
    """How many of `total` heads or neurons per layer a pruning ratio removes."""
    return int(ratio * total + 1e-9)  # the small epsilon keeps 0.29 * 100 from flooring to 28


def prune(
    model: PreTrainedModel,
    heads_ratio: float,
    ffn_ratio: float,
    importance: ImportanceMethod = "gradient",
    batches: Iterable[dict[str, torch.Tensor]] = (),
    threshold: float | None = None,
    threshold_units: ThresholdUnits = "both",
) -> tuple[PreTrainedModel, PruningReport]:
    """Remove the least important `heads_ratio` of heads and `ffn_ratio` of FFN neurons in every layer
    (rounded down, the same count in each layer), or, with `threshold`, the units below it (module docstring)
    of the kinds `threshold_units` names.

    The model is pruned in place and returned, so that wrappers holding it (StudentWithProjections) stay
    valid; its hidden size is unchanged. Save it with `save_pretrained` and load it with `load_pruned`.
    """
    for name, ratio in (("heads_ratio", heads_ratio), ("ffn_ratio", ffn_ratio)):
        if not 0 <= ratio < 1:
            raise PruningError(f"pruning.{name} is {ratio}; give a fraction from 0 up to (not including) 1")
    if threshold is not None and not 0 < threshold < 1:
        raise PruningError(f"pruning.threshold is {threshold}; give a fraction above 0 and below 1")
    family = family_of(model.config)
    layers = family.layers(model)
    heads, ffn_before, parameters_before = current_heads(model), layer_ffn_sizes(model), _count(model)
    scores = None
    if threshold is not None:
        scores = compute_importance(model, importance, batches)
        below_heads = [_below(s, threshold) if threshold_units != "ffn" else [] for s in scores.heads]
        removed_heads = _equalised(scores.heads, below_heads)
        removed_neurons = [_below(s, threshold) if threshold_units != "heads" else [] for s in scores.neurons]
    else:
        drop_heads = removed_count(heads, heads_ratio)
        drop_neurons = [removed_count(width, ffn_ratio) for width in ffn_before]
        if drop_heads or any(drop_neurons):  # nothing to rank otherwise (and no batches needed)
            scores = compute_importance(model, importance, batches)
        removed_heads = [_lowest(scores.heads[i], drop_heads) if drop_heads else [] for i in range(len(layers))]
        removed_neurons = [_lowest(scores.neurons[i], drop) if drop else [] for i, drop in enumerate(drop_neurons)]
    head_size = attention_head_size(model.config)
    for layer, gone_heads, gone_neurons, width in zip(layers, removed_heads, removed_neurons, ffn_before, strict=True):
        shrink_layer(family, layer, head_columns(_kept(heads, gone_heads), head_size), _kept(width, gone_neurons))
    heads_after, ffn_after = heads - len(removed_heads[0]), layer_ffn_sizes(model)
    _record_shapes(model, heads_after, ffn_after)
    report = PruningReport(
        importance, heads, heads_after, max(ffn_before), max(ffn_after), removed_heads, removed_neurons,
        parameters_before, _count(model), "threshold" if threshold is not None else "ratio", threshold,
        ffn_after, [len(b) for b in below_heads] if threshold is not None else None)
    return model, report


def normalised(scores: torch.Tensor) -> torch.Tensor:
    """Scores divided by the layer's highest: 1 for its strongest unit. A layer whose units all score 0 gives
    no ranking, so every unit counts as fully important there."""
    top = scores.max()
    return scores / top if top > 0 else torch.ones_like(scores)


def _below(scores: torch.Tensor, threshold: float) -> list[int]:
    return torch.nonzero(normalised(scores) < threshold).flatten().tolist()


def _equalised(scores: list[torch.Tensor], below: list[list[int]]) -> list[list[int]]:
    """The same number of heads from each layer: the fewest any layer has below the threshold, each layer's
    lowest-scoring ones (which are all below it)."""
    drop = min(len(b) for b in below)
    return [_lowest(s, drop) if drop else [] for s in scores]


def _lowest(scores: torch.Tensor, drop: int) -> list[int]:
    return sorted(torch.argsort(scores, stable=True)[:drop].tolist())


def _kept(total: int, removed: list[int]) -> torch.Tensor:
    """Indices kept, in their original order, so that surviving heads keep their relative layout."""
    gone = set(removed)
    return torch.tensor([i for i in range(total) if i not in gone], dtype=torch.long)


def _record_shapes(model: PreTrainedModel, heads: int, ffn: list[int]) -> None:
    """Write the pruned shapes into the config (sources/pruned_models.py): a model pruned evenly in its FFN
    only keeps a plain config that from_pretrained loads."""
    config, family = model.config, family_of(model.config)
    setattr(config, family.ffn_field, max(ffn))
    record = dict(getattr(config, PRUNING_CONFIG_KEY, None) or {})
    record.pop("ffn_per_layer", None)
    if len(set(ffn)) > 1:
        record["ffn_per_layer"] = ffn
    if heads != config_heads(config):
        record["attention_heads"] = heads
    if record:
        setattr(config, PRUNING_CONFIG_KEY, record)
    elif hasattr(config, PRUNING_CONFIG_KEY):
        delattr(config, PRUNING_CONFIG_KEY)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

