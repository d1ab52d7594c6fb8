"""Hidden-width pruning (Minitron's width axis): remove the least important channels of the residual stream,
the hidden width every embedding, LayerNorm and layer reads and writes.

Ranking, as in Minitron (Muralidharan et al. 2024, "Compact Language Models via Pruning and Knowledge
Distillation"): a channel's mean |activation| at the output of every LayerNorm (the embeddings' and each
layer's two), over the real tokens of the dev batches, summed over the LayerNorms. It needs forward passes
only, no gradient.

The kept width is rounded down to a multiple of the head size, and every layer keeps its kept_width / head_size
most important heads (compress/importance.py ranks them), so that attention is exactly as wide as the hidden
states: the config stays plain (hidden_size and num_attention_heads change, the head size does not) and
`from_pretrained` loads the result with no code of ours. Slicing a channel out changes the function in one
way only: each LayerNorm then averages over the kept channels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from workbench.core.compress.importance import (
    ImportanceMethod,
    PruningError,
    compute_importance,
    current_heads,
    measuring,
)
from workbench.core.compress.pruning import removed_count
from workbench.core.sources.batches import model_inputs
from workbench.core.sources.families import EncoderFamily, family_of
from workbench.core.sources.pruned_models import attention_head_size, head_columns, keep_linear, shrink_layer

RANKING = ("mean |activation| of each hidden channel at the output of every LayerNorm (embeddings' and each "
           "layer's two) over the dev batches' real tokens, summed over the LayerNorms (Minitron)")


def kept_width(hidden: int, head_size: int, ratio: float) -> int:
    """The hidden width left after removing `ratio` of it, rounded down so that it holds whole heads."""
    if not 0 <= ratio < 1:
        raise PruningError(f"pruning.hidden_ratio is {ratio}; give a fraction from 0 up to (not including) 1")
    kept = (hidden - removed_count(hidden, ratio)) // head_size * head_size
    if not kept:
        raise PruningError(f"pruning.hidden_ratio {ratio} leaves less than one head of {head_size} channels of "
                           f"the {hidden}; lower it")
    return kept


def hidden_importance(model: PreTrainedModel, batches: Iterable[dict[str, torch.Tensor]]) -> torch.Tensor:
    """One score per hidden channel (module docstring); higher is more important."""
    family = family_of(model.config)
    norms = family.layer_norms(model)
    totals = torch.zeros(len(norms), family.hidden_size(model.config))
    mask: list[torch.Tensor] = []  # the current batch's (batch, tokens, 1) mask of real tokens

    def recorder(index: int):
        def record(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            totals[index] += (output.detach().abs() * mask[0]).sum((0, 1)).float().cpu()
        return record

    hooks = [norm.register_forward_hook(recorder(i)) for i, norm in enumerate(norms)]
    tokens = 0.0
    with measuring(model, hooks) as device, torch.no_grad():
        for batch in batches:
            inputs = {name: value.to(device) for name, value in model_inputs(batch).items()}
            real = inputs.get("attention_mask", torch.ones_like(inputs["input_ids"]))
            mask[:] = [real.unsqueeze(-1).float()]  # padding is no activation of the text
            tokens += float(real.sum())
            model(**inputs)
    if not tokens:
        raise PruningError("hidden-width pruning ranks channels on dev batches, and none were given")
    return (totals / tokens).sum(0)


def prune_width(model: PreTrainedModel, ratio: float, importance: ImportanceMethod = "gradient",
                batches: Iterable[dict[str, torch.Tensor]] = ()) -> dict[str, Any]:
    """Remove the least important `ratio` of hidden channels (and the heads that no longer fit) in place, so
    that wrappers holding the model stay valid; heads are ranked by `importance`. Returns the report."""
    family = family_of(model.config)
    if family.width_unsupported:
        raise PruningError(f"hidden-width pruning: {family.width_unsupported}")
    config = model.config
    hidden, head_size, heads = family.hidden_size(config), attention_head_size(config), current_heads(model)
    if heads * head_size != hidden:
        raise PruningError("hidden-width pruning needs attention as wide as the hidden states (no heads pruned "
                           "before it); set pruning.heads_ratio to 0")
    kept = kept_width(hidden, head_size, ratio)
    batches = list(batches)  # read twice: channel activations, then (gradient) head importance
    channel_scores = hidden_importance(model, batches)
    channels = torch.sort(torch.argsort(channel_scores, descending=True, stable=True)[:kept]).values
    kept_heads = kept // head_size
    head_scores = compute_importance(model, importance, batches).heads if kept_heads < heads else None
    parameters_before = _count(model)
    chosen = []
    for index, layer in enumerate(family.layers(model)):
        best = torch.arange(heads) if head_scores is None else torch.argsort(
            head_scores[index], descending=True, stable=True)[:kept_heads]
        chosen.append(torch.sort(best).values)  # kept heads keep their relative order
        shrink_layer(family, layer, head_columns(chosen[-1], head_size), torch.arange(family.ffn_width(layer)))
        _narrow_layer(family, layer, channels)
    _narrow_outside_layers(model, family, channels)
    setattr(config, family.hidden_field, kept)
    setattr(config, family.heads_field, kept_heads)
    return {"hidden_before": hidden, "hidden_after": kept, "heads_before": heads, "heads_after": kept_heads,
            "head_size": head_size, "parameters_before": parameters_before, "parameters_after": _count(model),
            "ratio": ratio, "ranking": RANKING, "head_importance": importance,
            "removed_channels": sorted(set(range(hidden)) - set(channels.tolist())),
            "kept_heads": [heads_of_layer.tolist() for heads_of_layer in chosen]}


def _narrow_layer(family: EncoderFamily, layer: nn.Module, channels: torch.Tensor) -> None:
    """What one layer reads from the residual stream (Q, K, V, FFN input) and writes to it (attention output,
    FFN output), cut to the kept channels."""
    for module, _ in family.projection_hooks(layer):
        keep_linear(module, channels, dim=1)
    keep_linear(family.linear(layer, family.ffn_in_path), channels, dim=1)
    keep_linear(family.linear(layer, family.attention_output_path), channels, dim=0)
    keep_linear(family.linear(layer, family.ffn_out_path), channels, dim=0)


def _narrow_outside_layers(model: PreTrainedModel, family: EncoderFamily, channels: torch.Tensor) -> None:
    """The embeddings (every table's columns), every LayerNorm, the pooler and the task head: the head's linear
    layers map hidden to hidden but the last, which maps hidden to the labels."""
    for module in family.embeddings(model).modules():
        if isinstance(module, nn.Embedding):
            _keep_last_dim(module, channels)
            module.embedding_dim = len(channels)
    for norm in family.layer_norms(model):
        _keep_last_dim(norm, channels)
        norm.normalized_shape = (len(channels),)
    pooler = family.pooler(model)
    head = [module for part in family.head(model) for module in part.modules() if isinstance(module, nn.Linear)]
    for linear in ([pooler] if pooler is not None else []) + head[:-1]:
        keep_linear(linear, channels, dim=0)
        keep_linear(linear, channels, dim=1)
    keep_linear(head[-1], channels, dim=1)


def _keep_last_dim(module: nn.Module, channels: torch.Tensor) -> None:
    """Keep the kept channels of a module's weight (and bias) along their last dimension, in place."""
    for name in ("weight", "bias"):
        parameter = getattr(module, name, None)
        if parameter is not None:
            index = channels.to(parameter.device)
            setattr(module, name, nn.Parameter(parameter.detach().index_select(-1, index).clone(),
                                               requires_grad=parameter.requires_grad))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
