"""Encoder families: where each BERT-like family keeps its layers, projections, sizes and task head, and
which of the engine's steps its architecture allows.

The engine asks a family for modules instead of walking attribute names itself, so that adding a family
is one entry here. Paths are dotted attribute names relative to the encoder base module (e.g. `model.bert`)
or, for the linear layers of one encoder layer, relative to that layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import torch
from torch import nn

from workbench.core.errors import ModelSourceError

# Config key under which head pruning records the heads a layer really has (see sources/pruned_models.py).
PRUNING_CONFIG_KEY = "workbench_pruning"
ROLES = ("query", "key", "value")


@dataclass(frozen=True)
class EncoderFamily:
    name: str
    model_types: tuple[str, ...]
    layers_path: str = "encoder.layer"
    embeddings_path: str = "embeddings"
    # Modules of the base model after its last layer (ModernBERT's final norm): the student keeps them.
    after_layers_paths: tuple[str, ...] = ()
    # The task head, relative to the sequence classifier (not to the base model).
    head_paths: tuple[str, ...] = ("classifier",)
    # The linear layers of one encoder layer: what attention capture and pruning read and slice.
    query_path: str = "attention.self.query"
    key_path: str = "attention.self.key"
    value_path: str = "attention.self.value"
    # One linear layer whose output is [Q | K | V] (ModernBERT's Wqkv); then the three paths above are unused.
    qkv_path: str | None = None
    attention_output_path: str = "attention.output.dense"
    # DeBERTa: projections of the relative-position embeddings, with the heads' rows (sliced alike when present),
    # and the attention module that keeps its head count in attributes instead of reading it off the weights.
    position_projection_paths: tuple[str, ...] = ()
    head_count_path: str | None = None
    ffn_in_path: str = "intermediate.dense"
    ffn_out_path: str = "output.dense"
    # A gated FFN's input layer gives [input | gate], 2 x ffn rows (GeGLU); a neuron owns one row of each.
    ffn_gated: bool = False
    # The LayerNorms that write the residual stream (hidden width): the embeddings' (relative to the embeddings
    # module) and each layer's (relative to the layer); width pruning ranks and slices hidden channels at them.
    embeddings_norm_path: str = "LayerNorm"
    layer_norm_paths: tuple[str, ...] = ("attention.output.LayerNorm", "output.LayerNorm")
    # The pooler's hidden-to-hidden linear layer, relative to the base model (absent in some classifiers).
    pooler_path: str | None = "pooler.dense"
    # Config field names; DistilBERT uses its own (n_layers, dim, n_heads, hidden_dim).
    layers_field: str = "num_hidden_layers"
    hidden_field: str = "hidden_size"
    heads_field: str = "num_attention_heads"
    ffn_field: str = "intermediate_size"
    # What the architecture allows; None: supported, else why not (shown to the user).
    scores_unsupported: str | None = None  # pre-softmax scores rebuilt as Q K^T / sqrt(d) from projections
    fusion_unsupported: str | None = None  # ONNX Runtime's transformer optimizer fusing attention
    width_unsupported: str | None = None  # hidden-width pruning (compress/width.py)

    def base(self, model: nn.Module) -> nn.Module:
        """The encoder base module of a base model or of a model with a task head."""
        # PreTrainedModel.base_model resolves base_model_prefix and is the model itself for a base model.
        return getattr(model, "base_model", model)

    def layers(self, model: nn.Module) -> nn.ModuleList:
        return attrgetter(self.layers_path)(self.base(model))

    def embeddings(self, model: nn.Module) -> nn.Module:
        return attrgetter(self.embeddings_path)(self.base(model))

    def after_layers(self, model: nn.Module) -> list[nn.Module]:
        return [attrgetter(path)(self.base(model)) for path in self.after_layers_paths]

    def head(self, classifier: nn.Module) -> list[nn.Module]:
        """The modules of a sequence classifier's task head (pooler, dense layers, output layer)."""
        return [attrgetter(path)(classifier) for path in self.head_paths]

    def layer_norms(self, model: nn.Module) -> list[nn.LayerNorm]:
        """Every LayerNorm over the hidden width: the embeddings', then each layer's in order."""
        return [attrgetter(self.embeddings_norm_path)(self.embeddings(model))] + [
            attrgetter(path)(layer) for layer in self.layers(model) for path in self.layer_norm_paths]

    def pooler(self, model: nn.Module) -> nn.Linear | None:
        base = self.base(model)
        return attrgetter(self.pooler_path)(base) if self.pooler_path and _has_path(base, self.pooler_path) else None

    def linear(self, layer: nn.Module, path: str) -> nn.Linear:
        """One of the layer's linear layers by its path field, e.g. `family.linear(layer, family.ffn_out_path)`."""
        return attrgetter(path)(layer)

    def projection_hooks(self, layer: nn.Module) -> list[tuple[nn.Linear, tuple[str, ...]]]:
        """The modules whose outputs are the layer's query, key and value projections, each with the roles
        its output holds in order (one module per role, or one fused module for all three)."""
        if self.qkv_path:
            return [(self.linear(layer, self.qkv_path), ROLES)]
        return [(self.linear(layer, path), (role,))
                for path, role in zip((self.query_path, self.key_path, self.value_path), ROLES, strict=True)]

    def linear_paths(self) -> tuple[str, ...]:
        """Every attention and FFN linear layer of an encoder layer (for sparsity, which zeroes weights)."""
        projections = (self.qkv_path,) if self.qkv_path else (self.query_path, self.key_path, self.value_path)
        return (*projections, self.attention_output_path, self.ffn_in_path, self.ffn_out_path)

    def query_key(self, layer: nn.Module) -> tuple[nn.Linear, nn.Linear]:
        if self.qkv_path:
            raise ModelSourceError(f"{self.name} computes Q, K and V in one linear layer; use projection_hooks")
        return self.linear(layer, self.query_path), self.linear(layer, self.key_path)

    def position_projections(self, layer: nn.Module) -> list[nn.Linear]:
        return [attrgetter(path)(layer) for path in self.position_projection_paths
                if _has_path(layer, path)]

    def set_layer_heads(self, layer: nn.Module, width: int) -> None:
        """Tell an attention module that keeps its head count in attributes how wide its projections now are."""
        if self.head_count_path:
            attention = attrgetter(self.head_count_path)(layer)
            attention.all_head_size = width
            attention.num_attention_heads = width // attention.attention_head_size

    def attention_width(self, layer: nn.Module) -> int:
        """Heads x head size that the layer really has (fewer after head pruning)."""
        return self.linear(layer, self.attention_output_path).in_features

    def ffn_width(self, layer: nn.Module) -> int:
        return self.linear(layer, self.ffn_out_path).in_features

    def value_rows(self, layer: nn.Module) -> torch.Tensor:
        """The value projection's weight, (heads x head size, hidden)."""
        if self.qkv_path:
            return self.linear(layer, self.qkv_path).weight.chunk(3, dim=0)[2]
        return self.linear(layer, self.value_path).weight

    def ffn_in_rows(self, layer: nn.Module) -> torch.Tensor:
        """What each FFN neuron reads, one row per neuron: (ffn, hidden), or (ffn, 2 x hidden) when gated."""
        weight = self.linear(layer, self.ffn_in_path).weight
        return torch.cat(weight.chunk(2, dim=0), dim=1) if self.ffn_gated else weight

    def word_embeddings(self, model: nn.Module) -> nn.Embedding:
        return model.get_input_embeddings()

    def num_layers(self, config) -> int:
        return int(getattr(config, self.layers_field))

    def hidden_size(self, config) -> int:
        return int(getattr(config, self.hidden_field))

    def ffn_size(self, config) -> int:
        return int(getattr(config, self.ffn_field))

    def config_heads(self, config) -> int:
        """The config's head field itself: it also fixes the width of one head, which pruning keeps."""
        return int(getattr(config, self.heads_field))

    def num_heads(self, config) -> int:
        """Heads per layer the model really has: head pruning records a smaller count beside the config's
        own, which it keeps because the config's count also fixes the width of one head."""
        pruned = getattr(config, PRUNING_CONFIG_KEY, None) or {}
        return int(pruned.get("attention_heads", self.config_heads(config)))

    def set_shape(self, config, layers: int, hidden: int, heads: int, ffn: int) -> None:
        """Resize a config in place, with what depends on the layer count (ModernBERT's layer types)."""
        for field, value in ((self.layers_field, layers), (self.hidden_field, hidden),
                             (self.heads_field, heads), (self.ffn_field, ffn)):
            setattr(config, field, value)
        if getattr(config, "layer_types", None) is not None and hasattr(config, "global_attn_every_n_layers"):
            every = config.global_attn_every_n_layers
            config.layer_types = ["sliding_attention" if i % every else "full_attention" for i in range(layers)]


def _has_path(module: nn.Module, path: str) -> bool:
    try:
        attrgetter(path)(module)
    except AttributeError:
        return False
    return True


BERT = EncoderFamily("BERT", ("bert",))
ROBERTA = EncoderFamily("RoBERTa", ("roberta", "xlm-roberta", "camembert"))
_WIDTH_LATER = "; set pruning.hidden_ratio: 0 (width pruning supports BERT and RoBERTa)"
ELECTRA = EncoderFamily("ELECTRA", ("electra",), width_unsupported="ELECTRA's embeddings may have their own "
                        "width (embedding_size, then a projection)" + _WIDTH_LATER)
DISTILBERT = EncoderFamily(
    "DistilBERT",
    ("distilbert",),
    layers_path="transformer.layer",
    head_paths=("pre_classifier", "classifier"),
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
    width_unsupported="DistilBERT's layer norms and head are laid out apart from BERT's" + _WIDTH_LATER,
)
DEBERTA = EncoderFamily(
    "DeBERTa-v2/v3",
    ("deberta-v2",),
    head_paths=("pooler", "classifier"),
    query_path="attention.self.query_proj",
    key_path="attention.self.key_proj",
    value_path="attention.self.value_proj",
    position_projection_paths=("attention.self.pos_key_proj", "attention.self.pos_query_proj"),
    head_count_path="attention.self",
    scores_unsupported="DeBERTa's disentangled attention adds position terms that its projections do not show",
    fusion_unsupported="ONNX Runtime's transformer optimizer does not fuse DeBERTa's disentangled attention",
    width_unsupported="DeBERTa's relative-position embeddings are as wide as the hidden states" + _WIDTH_LATER,
)
MODERNBERT = EncoderFamily(
    "ModernBERT",
    ("modernbert",),
    layers_path="layers",
    after_layers_paths=("final_norm",),
    head_paths=("head", "classifier"),
    qkv_path="attn.Wqkv",
    attention_output_path="attn.Wo",
    ffn_in_path="mlp.Wi",
    ffn_out_path="mlp.Wo",
    ffn_gated=True,
    scores_unsupported="ModernBERT rotates queries and keys (rotary positions) after projecting them",
    fusion_unsupported="ONNX Runtime's transformer optimizer does not fuse ModernBERT's rotary attention",
    width_unsupported="ModernBERT's norms have no bias and its head has one more norm" + _WIDTH_LATER,
)
FAMILIES = (BERT, ROBERTA, ELECTRA, DISTILBERT, DEBERTA, MODERNBERT)


def standard_config(config):
    """The config as the transformers class it is, or extends: a model's own config class (trust_remote_code)
    becomes its family's, so that a student built from it runs and exports with transformers' own code."""
    from transformers import CONFIG_MAPPING

    for cls in type(config).__mro__:
        model_type = getattr(cls, "model_type", "")
        if model_type in CONFIG_MAPPING and CONFIG_MAPPING[model_type] is cls:
            if cls is type(config):
                return config
            settings = {k: v for k, v in config.to_dict().items() if k not in ("auto_map", "model_type")}
            return cls.from_dict(settings)
    return config


def family_of(config) -> EncoderFamily:
    """The family of a Hugging Face config, or an error listing the supported model types. A model's own
    config class (trust_remote_code) belongs to the family of the config class it extends."""
    model_type = getattr(config, "model_type", None)
    for known in (getattr(cls, "model_type", None) for cls in type(config).__mro__):
        for family in FAMILIES:
            if known in family.model_types:
                return family
    supported = ", ".join(sorted(t for family in FAMILIES for t in family.model_types))
    raise ModelSourceError(
        f"model type '{model_type}' is not supported; use a model of one of these types: {supported}"
    )
