"""Structured pruning: rank attention heads and FFN neurons, remove the least important, the same count per layer.

Importance is gradient-based (Michel et al. 2019: |dL/d mask| of a gate on each head's context and each FFN
neuron's activation, summed over examples) or weight magnitude. The gates are forward pre-hooks on the
attention output projection and the FFN's second linear layer, because transformers 5 models no longer
take a `head_mask` argument.

How a pruned model keeps loading and exporting: see sources/pruned_models.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel

from workbench.core.errors import WorkbenchError
from workbench.core.sources.batches import model_inputs
from workbench.core.sources.families import PRUNING_CONFIG_KEY, EncoderFamily, family_of
from workbench.core.sources.pruned_models import (
    attention_head_size,
    current_ffn,
    shrink_layer,
)

ImportanceMethod = Literal["gradient", "magnitude"]


class PruningError(WorkbenchError):
    """A pruning request that cannot be carried out on this model."""


@dataclass(frozen=True)
class Importance:
    heads: torch.Tensor  # (layers, heads per layer); higher is more important
    neurons: torch.Tensor  # (layers, FFN neurons per layer)


@dataclass(frozen=True)
class PruningReport:
    """What was removed: per-layer counts before and after, and the removed indices (as they were numbered
    in the model that was pruned)."""

    importance: ImportanceMethod
    heads_before: int
    heads_after: int
    ffn_before: int
    ffn_after: int
    removed_heads: list[list[int]]
    removed_neurons: list[list[int]]
    parameters_before: int
    parameters_after: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_importance(
    model: PreTrainedModel, method: ImportanceMethod, batches: Iterable[dict[str, torch.Tensor]] = ()
) -> Importance:
    """Importance of every head and FFN neuron; `batches` (labelled dev batches) only for 'gradient'."""
    if method == "magnitude":
        return _magnitude_importance(model)
    if method == "gradient":
        return _gradient_importance(model, batches)
    raise PruningError(f"unknown importance '{method}'; use 'gradient' or 'magnitude'")


def removed_count(total: int, ratio: float) -> int:
    """How many of `total` heads or neurons per layer a pruning ratio removes."""
    return int(ratio * total + 1e-9)  # the small epsilon keeps 0.29 * 100 from flooring to 28


def prune(
    model: PreTrainedModel,
    heads_ratio: float,
    ffn_ratio: float,
    importance: ImportanceMethod = "gradient",
    batches: Iterable[dict[str, torch.Tensor]] = (),
) -> tuple[PreTrainedModel, PruningReport]:
    """Remove the least important `heads_ratio` of heads and `ffn_ratio` of FFN neurons in every layer
    (rounded down, the same count in each layer, so that one config describes every layer).

    The model is pruned in place and returned, so that wrappers holding it (StudentWithProjections) stay
    valid; its hidden size is unchanged. Save it with `save_pretrained` and load it with `load_pruned`.
    """
    for name, ratio in (("heads_ratio", heads_ratio), ("ffn_ratio", ffn_ratio)):
        if not 0 <= ratio < 1:
            raise PruningError(f"pruning.{name} is {ratio}; give a fraction from 0 up to (not including) 1")
    family = _family(model)
    layers = family.layers(model)
    head_size, heads, ffn = attention_head_size(model.config), _current_heads(model), current_ffn(model)
    parameters_before = _count(model)
    drop_heads, drop_neurons = removed_count(heads, heads_ratio), removed_count(ffn, ffn_ratio)
    removed_heads: list[list[int]] = [[] for _ in layers]
    removed_neurons: list[list[int]] = [[] for _ in layers]
    if drop_heads or drop_neurons:  # nothing to rank otherwise (and no batches needed)
        scores = compute_importance(model, importance, batches)
        for index, layer in enumerate(layers):
            keep_heads, removed_heads[index] = _split(scores.heads[index], drop_heads)
            keep_neurons, removed_neurons[index] = _split(scores.neurons[index], drop_neurons)
            shrink_layer(family, layer, _head_columns(keep_heads, head_size), keep_neurons)
    setattr(model.config, family.ffn_field, ffn - drop_neurons)
    if drop_heads:  # an FFN-only pruned model keeps a plain config that from_pretrained loads
        setattr(model.config, PRUNING_CONFIG_KEY, {"attention_heads": heads - drop_heads})
    report = PruningReport(importance, heads, heads - drop_heads, ffn, ffn - drop_neurons, removed_heads,
                           removed_neurons, parameters_before, _count(model))
    return model, report


def _gradient_importance(model: PreTrainedModel, batches: Iterable[dict[str, torch.Tensor]]) -> Importance:
    family = _family(model)
    layers = family.layers(model)
    heads, ffn, head_size = _current_heads(model), current_ffn(model), attention_head_size(model.config)
    head_scores, neuron_scores = torch.zeros(len(layers), heads), torch.zeros(len(layers), ffn)
    gates: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for index, layer in enumerate(layers):
        hooks.append(family.linear(layer, family.attention_output_path).register_forward_pre_hook(
            _gate(gates, "heads", index, head_size)))
        ffn_out = family.linear(layer, family.ffn_out_path)
        hooks.append(ffn_out.register_forward_pre_hook(_gate(gates, "neurons", index, 1)))
    was_training, device = model.training, next(model.parameters()).device
    model.eval()  # dropout would add noise to the gradients
    seen = 0
    try:
        with torch.enable_grad():
            for batch in batches:
                inputs = {name: value.to(device) for name, value in model_inputs(batch).items()}
                size = len(inputs["input_ids"])
                # One gate per example (batch, units): its gradient is that example's own, so the absolute
                # value is taken per example as in Michel et al., not after examples cancel each other out.
                gates["heads"] = [torch.ones(size, heads, device=device, requires_grad=True) for _ in layers]
                gates["neurons"] = [torch.ones(size, ffn, device=device, requires_grad=True) for _ in layers]
                logits = getattr(model(**inputs), "logits", None)
                if logits is None:
                    raise PruningError("gradient importance needs a model with a classification head; "
                                       "use importance 'magnitude'")
                # Unlabelled batches: the model's own predictions stand in for labels.
                labels = batch["labels"].to(device) if "labels" in batch else logits.argmax(-1)
                loss = F.cross_entropy(logits, labels, reduction="sum")
                grads = torch.autograd.grad(loss, gates["heads"] + gates["neurons"])
                head_scores += torch.stack([g.abs().sum(0) for g in grads[: len(layers)]]).cpu()
                neuron_scores += torch.stack([g.abs().sum(0) for g in grads[len(layers):]]).cpu()
                seen += size
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    if not seen:
        raise PruningError("gradient importance needs at least one batch of dev examples")
    return Importance(head_scores / seen, neuron_scores / seen)


def _gate(gates: dict[str, list[torch.Tensor]], kind: str, index: int, width: int) -> Callable:
    """A pre-hook multiplying each unit's slice of the input (`width` columns per unit) by its gate."""
    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        gate = gates[kind][index].repeat_interleave(width, dim=1).unsqueeze(1)  # (batch, 1, units * width)
        return (args[0] * gate.to(args[0].dtype), *args[1:])

    return hook


def _magnitude_importance(model: PreTrainedModel) -> Importance:
    """||W_V,h|| * ||W_O,h|| per head and ||w_in,i|| * ||w_out,i|| per neuron: a bound on how much the unit can
    write into the residual stream (queries and keys only shape the attention pattern)."""
    family, heads = _family(model), _current_heads(model)
    head_scores, neuron_scores = [], []
    with torch.no_grad():
        for layer in family.layers(model):
            value = family.value_rows(layer)  # (heads * head_size, hidden)
            output = family.linear(layer, family.attention_output_path).weight  # (hidden, heads * head_size)
            value_norm = value.reshape(heads, -1).norm(dim=1)
            output_norm = output.reshape(output.shape[0], heads, -1).norm(dim=(0, 2))
            head_scores.append((value_norm * output_norm).float().cpu())
            ffn_in = family.ffn_in_rows(layer)
            ffn_out = family.linear(layer, family.ffn_out_path).weight
            neuron_scores.append((ffn_in.norm(dim=1) * ffn_out.norm(dim=0)).float().cpu())
    return Importance(torch.stack(head_scores), torch.stack(neuron_scores))


def _split(scores: torch.Tensor, drop: int) -> tuple[torch.Tensor, list[int]]:
    """Indices to keep (in their original order, so surviving heads keep their relative layout) and those
    dropped, the `drop` lowest-scoring ones."""
    order = torch.argsort(scores, stable=True)
    return torch.sort(order[drop:]).values, sorted(order[:drop].tolist())


def _head_columns(heads: torch.Tensor, head_size: int) -> torch.Tensor:
    """Projection rows / columns of the given heads: head h owns [h * head_size, (h + 1) * head_size)."""
    return (heads[:, None] * head_size + torch.arange(head_size)).flatten()


def _family(model: PreTrainedModel) -> EncoderFamily:
    return family_of(model.config)


def _current_heads(model: PreTrainedModel) -> int:
    family = _family(model)
    return family.attention_width(family.layers(model)[0]) // attention_head_size(model.config)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
