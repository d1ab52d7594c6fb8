"""How important each attention head and FFN neuron is: gradient-based or by weight norm (L1 or L2).

Gradient importance (Michel et al. 2019) is |dL/d mask| of a gate on each head's context and each FFN neuron's
activation, per example, averaged. The gates are forward pre-hooks on the attention output projection and
the FFN's second linear layer, because transformers 5 models no longer take a `head_mask` argument.

Norm importance is ||W_V,h||_p * ||W_O,h||_p per head and ||w_in,i||_p * ||w_out,i||_p per neuron: a bound
on how much the unit can write into the residual stream (queries and keys only shape the attention
pattern). L1 favours units with many moderate weights, L2 units with a few large ones. 'magnitude' is the
older name of L2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel

from workbench.core.errors import WorkbenchError
from workbench.core.sources.batches import model_inputs
from workbench.core.sources.families import family_of
from workbench.core.sources.pruned_models import attention_head_size, layer_ffn_sizes

ImportanceMethod = Literal["gradient", "l1", "l2", "magnitude"]
NORM_ORDER = {"l1": 1, "l2": 2, "magnitude": 2}


class PruningError(WorkbenchError):
    """A pruning request that cannot be carried out on this model."""


@dataclass(frozen=True)
class Importance:
    heads: list[torch.Tensor]  # one (heads,) tensor per layer; higher is more important
    neurons: list[torch.Tensor]  # one (FFN neurons of that layer,) tensor per layer


def compute_importance(
    model: PreTrainedModel, method: ImportanceMethod, batches: Iterable[dict[str, torch.Tensor]] = ()
) -> Importance:
    """Importance of every head and FFN neuron; `batches` (labelled dev batches) only for 'gradient'."""
    if method in NORM_ORDER:
        return norm_importance(model, NORM_ORDER[method])
    if method == "gradient":
        return _gradient_importance(model, batches)
    raise PruningError(f"unknown importance '{method}'; use 'gradient', 'l1' or 'l2'")


def current_heads(model: PreTrainedModel) -> int:
    family = family_of(model.config)
    return family.attention_width(family.layers(model)[0]) // attention_head_size(model.config)


def norm_importance(model: PreTrainedModel, order: int) -> Importance:
    family, heads = family_of(model.config), current_heads(model)
    head_scores, neuron_scores = [], []
    with torch.no_grad():
        for layer in family.layers(model):
            value = family.value_rows(layer)  # (heads * head_size, hidden)
            output = family.linear(layer, family.attention_output_path).weight  # (hidden, heads * head_size)
            value_norm = value.reshape(heads, -1).norm(p=order, dim=1)
            output_norm = output.T.reshape(heads, -1).norm(p=order, dim=1)
            head_scores.append((value_norm * output_norm).float().cpu())
            ffn_in = family.ffn_in_rows(layer)  # one row per neuron (both halves of a gated FFN)
            ffn_out = family.linear(layer, family.ffn_out_path).weight
            neuron_scores.append((ffn_in.norm(p=order, dim=1) * ffn_out.norm(p=order, dim=0)).float().cpu())
    return Importance(head_scores, neuron_scores)


def _gradient_importance(model: PreTrainedModel, batches: Iterable[dict[str, torch.Tensor]]) -> Importance:
    family = family_of(model.config)
    layers = family.layers(model)
    heads, head_size = current_heads(model), attention_head_size(model.config)
    ffn = layer_ffn_sizes(model)
    head_scores = [torch.zeros(heads) for _ in layers]
    neuron_scores = [torch.zeros(width) for width in ffn]
    gates: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for index, layer in enumerate(layers):
        hooks.append(family.linear(layer, family.attention_output_path).register_forward_pre_hook(
            _gate(gates, "heads", index, head_size)))
        hooks.append(family.linear(layer, family.ffn_out_path).register_forward_pre_hook(
            _gate(gates, "neurons", index, 1)))
    seen = 0
    with measuring(model, hooks) as device, torch.enable_grad():
        for batch in batches:
            inputs = {name: value.to(device) for name, value in model_inputs(batch).items()}
            size = len(inputs["input_ids"])
            # One gate per example (batch, units): its gradient is that example's own, so the absolute
            # value is taken per example as in Michel et al., not after examples cancel each other out.
            gates["heads"] = [torch.ones(size, heads, device=device, requires_grad=True) for _ in layers]
            gates["neurons"] = [torch.ones(size, width, device=device, requires_grad=True) for width in ffn]
            logits = getattr(model(**inputs), "logits", None)
            if logits is None:
                raise PruningError("gradient importance needs a model with a classification head; "
                                   "use importance 'l1' or 'l2'")
            # Unlabelled batches: the model's own predictions stand in for labels.
            labels = batch["labels"].to(device) if "labels" in batch else logits.argmax(-1)
            loss = F.cross_entropy(logits, labels, reduction="sum")
            grads = torch.autograd.grad(loss, gates["heads"] + gates["neurons"])
            for index in range(len(layers)):
                head_scores[index] += grads[index].abs().sum(0).cpu()
                neuron_scores[index] += grads[len(layers) + index].abs().sum(0).cpu()
            seen += size
    if not seen:
        raise PruningError("gradient importance needs at least one batch of dev examples")
    return Importance([s / seen for s in head_scores], [s / seen for s in neuron_scores])


@contextlib.contextmanager
def measuring(model: nn.Module, hooks: list[torch.utils.hooks.RemovableHandle]) -> Iterator[torch.device]:
    """A pass that ranks units: the model in eval mode (dropout would add noise to what is measured) with the
    recording `hooks` on; afterwards the hooks are removed and the model's mode restored. Yields its device."""
    was_training = model.training
    model.eval()
    try:
        yield next(model.parameters()).device
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)


def _gate(gates: dict[str, list[torch.Tensor]], kind: str, index: int, width: int) -> Callable:
    """A pre-hook multiplying each unit's slice of the input (`width` columns per unit) by its gate."""
    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        gate = gates[kind][index].repeat_interleave(width, dim=1).unsqueeze(1)  # (batch, 1, units * width)
        return (args[0] * gate.to(args[0].dtype), *args[1:])

    return hook
