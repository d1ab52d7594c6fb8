"""Encoder families: where each BERT-like family keeps its layers, attention projections and sizes.

The engine asks a family for modules instead of walking attribute names itself, so that adding a family
is one entry here. Paths are dotted attribute names relative to the encoder base module (e.g. `model.bert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from torch import nn

from workbench.core.errors import ModelSourceError

# Config key under which head pruning records the heads a layer really has (see sources/pruned_models.py).
PRUNING_CONFIG_KEY = "workbench_pruning"


@dataclass(frozen=True)
class EncoderFamily:
    name: str
    model_types: tuple[str, ...]
    layers_path: str = "encoder.layer"
    # The linear layers of one encoder layer, relative to it: what attention capture and pruning slice.
    query_path: str = "attention.self.query"
    key_path: str = "attention.self.key"
    value_path: str = "attention.self.value"
    attention_output_path: str = "attention.output.dense"
    ffn_in_path: str = "intermediate.dense"
    ffn_out_path: str = "output.dense"
    # Config field names; DistilBERT uses its own (n_layers, dim, n_heads, hidden_dim).
    layers_field: str = "num_hidden_layers"
    hidden_field: str = "hidden_size"
    heads_field: str = "num_attention_heads"
    ffn_field: str = "intermediate_size"

    def base(self, model: nn.Module) -> nn.Module:
        """The encoder base module of a base model or of a model with a task head."""
        # PreTrainedModel.base_model resolves base_model_prefix and is the model itself for a base model.
        return getattr(model, "base_model", model)

    def layers(self, model: nn.Module) -> nn.ModuleList:
        return attrgetter(self.layers_path)(self.base(model))

    def query_key(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear]:
        return attrgetter(self.query_path)(layer), attrgetter(self.key_path)(layer)

    def linear(self, layer: nn.Module, path: str) -> nn.Linear:
        """One of the layer's linear layers by its path field, e.g. `family.linear(layer, family.value_path)`."""
        return attrgetter(path)(layer)

    def word_embeddings(self, model: nn.Module) -> nn.Embedding:
        return self.base(model).embeddings.word_embeddings

    def num_layers(self, config) -> int:
        return int(getattr(config, self.layers_field))

    def hidden_size(self, config) -> int:
        return int(getattr(config, self.hidden_field))

    def num_heads(self, config) -> int:
        """Heads per layer the model really has: head pruning records a smaller count beside the config's
        own, which it keeps because the config's count also fixes the width of one head."""
        pruned = getattr(config, PRUNING_CONFIG_KEY, None) or {}
        return int(pruned.get("attention_heads", getattr(config, self.heads_field)))


BERT = EncoderFamily("BERT", ("bert",))
ROBERTA = EncoderFamily("RoBERTa", ("roberta", "xlm-roberta", "camembert"))
ELECTRA = EncoderFamily("ELECTRA", ("electra",))
DISTILBERT = EncoderFamily(
    "DistilBERT",
    ("distilbert",),
    layers_path="transformer.layer",
    query_path="attention.q_lin",
    key_path="attention.k_lin",
    value_path="attention.v_lin",
    attention_output_path="attention.out_lin",
    ffn_in_path="ffn.lin1",
    ffn_out_path="ffn.lin2",
    layers_field="n_layers",
    hidden_field="dim",
    heads_field="n_heads",
    ffn_field="hidden_dim",
)
FAMILIES = (BERT, ROBERTA, ELECTRA, DISTILBERT)


def family_of(config) -> EncoderFamily:
    """The family of a Hugging Face config, or an error listing the supported model types."""
    model_type = getattr(config, "model_type", None)
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    supported = ", ".join(sorted(t for family in FAMILIES for t in family.model_types))
    raise ModelSourceError(
        f"model type '{model_type}' is not supported; use a model of one of these types: {supported}"
    )
