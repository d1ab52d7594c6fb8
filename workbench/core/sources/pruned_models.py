"""Models whose layers were pruned: their real shapes, and loading them.

FFN pruning is expressed by the config alone (the family's FFN field). Head pruning is not: the attention
modules derive the head size from hidden_size / num_attention_heads, so the config keeps the original head
count (and thereby the right head size) and `config.workbench_pruning["attention_heads"]` records the heads
left per layer. The attention forward reshapes its projections with `view(..., -1, head_size)`, so smaller
Q/K/V and output projections give fewer heads with no code change: the pruned model runs and exports to ONNX
as plain torch ops. Threshold pruning can leave each layer its own FFN width: the config's FFN field then
holds the widest and `workbench_pruning["ffn_per_layer"]` every layer's (head counts stay equal in every
layer: the config and ONNX Runtime's fused Attention take one head count for the whole model). Only loading
needs help, since `from_pretrained` builds full-size projections: `load_pruned` builds the model from its
config, shrinks the projections to the recorded shapes, then loads the saved weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

from workbench.core.errors import ModelSourceError
from workbench.core.sources.families import PRUNING_CONFIG_KEY, EncoderFamily, family_of
from workbench.core.sources.models import folder_trust, pretrained_options


def attention_heads(config: PretrainedConfig) -> int:
    """Heads per layer that the model really has: fewer than the config's head count after head pruning."""
    return family_of(config).num_heads(config)


def attention_head_size(config: PretrainedConfig) -> int:
    """Width of one head; pruning never changes it (the config keeps the original head count for this)."""
    return family_of(config).hidden_size(config) // config_heads(config)


def config_heads(config: PretrainedConfig) -> int:
    """The config's head field itself, not EncoderFamily.num_heads, which reports the pruned count."""
    return family_of(config).config_heads(config)


def current_ffn(model: PreTrainedModel) -> int:
    """FFN neurons per layer, read off the first layer's weights."""
    family = family_of(model.config)
    return family.ffn_width(family.layers(model)[0])


def layer_ffn_sizes(model: PreTrainedModel) -> list[int]:
    """FFN neurons of every layer, read off the weights (threshold pruning may leave them unequal)."""
    family = family_of(model.config)
    return [family.ffn_width(layer) for layer in family.layers(model)]


def recorded_ffn_sizes(config: PretrainedConfig) -> list[int] | None:
    """Per-layer FFN widths recorded by threshold pruning; None when every layer has the config's width."""
    return (getattr(config, PRUNING_CONFIG_KEY, None) or {}).get("ffn_per_layer")


def shrink_layer(family: EncoderFamily, layer: nn.Module, head_columns: torch.Tensor, neurons: torch.Tensor) -> None:
    """Keep only the given attention projection columns and FFN neurons of one encoder layer, in place.
    A fused [Q | K | V] layer keeps the same columns in each third, a gated FFN input in each half."""
    width = family.attention_width(layer)
    for module, roles in family.projection_hooks(layer):
        keep_linear(module, torch.cat([head_columns + i * width for i in range(len(roles))]), dim=0)
    for module in family.position_projections(layer):
        keep_linear(module, head_columns, dim=0)
    keep_linear(family.linear(layer, family.attention_output_path), head_columns, dim=1)
    family.set_layer_heads(layer, len(head_columns))
    ffn = family.ffn_width(layer)
    halves = (neurons, neurons + ffn) if family.ffn_gated else (neurons,)
    keep_linear(family.linear(layer, family.ffn_in_path), torch.cat(halves), dim=0)
    keep_linear(family.linear(layer, family.ffn_out_path), neurons, dim=1)


def head_columns(heads: torch.Tensor, head_size: int) -> torch.Tensor:
    """Projection rows / columns of the given heads: head h owns [h * head_size, (h + 1) * head_size)."""
    return (heads[:, None] * head_size + torch.arange(head_size)).flatten()


def keep_linear(linear: nn.Linear, index: torch.Tensor, dim: int) -> None:
    """Keep only output rows (dim 0) or input columns (dim 1) `index` of a linear layer, in place."""
    index = index.to(linear.weight.device)
    trainable = linear.weight.requires_grad
    with torch.no_grad():
        linear.weight = nn.Parameter(linear.weight.index_select(dim, index).clone(), requires_grad=trainable)
        if dim == 1:
            linear.in_features = len(index)
            return
        if linear.bias is not None:
            linear.bias = nn.Parameter(linear.bias[index].clone(), requires_grad=trainable)
        linear.out_features = len(index)


def load_pruned(folder: str | Path, **from_config: Any) -> PreTrainedModel:
    """Load a model saved after pruning (or any unpruned one); `from_config` goes to the model's constructor,
    e.g. attn_implementation="eager" for an ONNX export that ONNX Runtime can fuse."""
    import transformers
    from safetensors.torch import load_file
    from transformers import AutoConfig

    folder = Path(folder)
    trust = folder_trust(folder)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=trust)
    architecture = (config.architectures or [None])[0]
    model_class = getattr(transformers, architecture or "", None)
    if model_class is None and trust:  # the model's own class, which its run opted in to (never pruned)
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(folder, **pretrained_options(True),
                                                                  **from_config).eval()
    if model_class is None:
        raise ModelSourceError(
            f"{folder}: config.json names no known architecture ({architecture!r}); cannot load it"
        )
    heads, ffn_sizes = attention_heads(config), recorded_ffn_sizes(config)
    if heads == config_heads(config) and not ffn_sizes:  # the config says it all
        return model_class.from_pretrained(folder, use_safetensors=True, **from_config).eval()
    # What from_pretrained does, with projections shrunk before the weights arrive. `_from_config` is the
    # constructor the Auto classes use; unlike __init__ it takes attn_implementation.
    model = model_class._from_config(config, **from_config)
    family = family_of(config)
    columns = torch.arange(heads * attention_head_size(config))
    ffn_sizes = ffn_sizes or [current_ffn(model)] * family.num_layers(config)
    for layer, width in zip(family.layers(model), ffn_sizes, strict=True):
        shrink_layer(family, layer, columns, torch.arange(width))
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelSourceError(f"{folder}: holds no model.safetensors; save the pruned model with save_pretrained")
    state: dict[str, torch.Tensor] = {}
    for file in files:  # a sharded save splits the weights over several files with disjoint keys
        state.update(load_file(file))
    model.load_state_dict(state, strict=True)
    return model.eval()
