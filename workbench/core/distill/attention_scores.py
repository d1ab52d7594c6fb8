"""Query, key and value projections of chosen layers, and the pre-softmax attention scores built from them,
captured without switching to eager attention.

Asking transformers for attention maps needs the slow eager implementation on every layer, and it gives
probabilities, while TinyBERT's attention loss wants scores before the softmax. Hooks on the projections
of the mapped layers (the family says which modules hold them) rebuild Q K^T / sqrt(head_dim) from their
outputs instead, so the model keeps its fast (sdpa) attention and the scores stay in the autograd graph for
the student. The relation loss (losses.attention_relations) reads the projections themselves.
"""

from __future__ import annotations

from types import TracebackType

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from workbench.core.errors import ModelSourceError
from workbench.core.sources.families import ROLES, EncoderFamily
from workbench.core.sources.family_support import ATTENTION_SCORES, family_capabilities


class AttentionCaptureError(ModelSourceError):
    """A model whose attention scores cannot be rebuilt from its query and key projections."""


class ProjectionCapture:
    """Context manager: after a forward pass, `projections[layer][role]` is the (batch, seq, width) output of
    that layer's query, key or value projection, for the chosen `roles`."""

    def __init__(self, model: nn.Module, family: EncoderFamily, layers: list[int],
                 roles: tuple[str, ...] = ROLES) -> None:
        available = family.layers(model)
        for index in layers:
            if not 0 <= index < len(available):
                raise IndexError(f"layer {index} is out of range: the model has {len(available)} layers")
        self.roles = roles
        self.projections: dict[int, dict[str, torch.Tensor]] = {}
        self._modules = {index: family.projection_hooks(available[index]) for index in layers}
        self._pending: dict[int, dict[str, torch.Tensor]] = {}
        self._handles: list[RemovableHandle] = []

    def __enter__(self):
        for index, modules in self._modules.items():
            for module, roles in modules:
                if set(roles) & set(self.roles):
                    self._handles.append(module.register_forward_hook(self._hook(index, roles)))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._pending.clear()

    def clear(self) -> None:
        """Drop the outputs of the last pass (and the graph they hold)."""
        self.projections.clear()
        self._pending.clear()

    def _hook(self, index: int, roles: tuple[str, ...]):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            # The projections may run in either order; a layer is complete once every chosen role is seen. Only
            # the first time in a pass: DeBERTa runs its query and key projections again on position embeddings.
            if index in self.projections:
                return
            pending = self._pending.setdefault(index, {})
            for role, part in zip(roles, output.chunk(len(roles), dim=-1), strict=True):
                if role in self.roles:
                    pending[role] = part
            if len(pending) == len(self.roles):
                del self._pending[index]
                self.projections[index] = pending
                self._complete(index, pending)

        return hook

    def _complete(self, index: int, parts: dict[str, torch.Tensor]) -> None:
        """Called once per layer and pass with all its chosen projections."""


class AttentionScoreCapture(ProjectionCapture):
    """Context manager: after a forward pass, `scores[layer]` is (batch, heads, seq, seq), no mask added."""

    def __init__(self, model: nn.Module, family: EncoderFamily, layers: list[int]) -> None:
        scores = next(s for s in family_capabilities(model.config) if s.step == ATTENTION_SCORES)
        if layers and not scores.supported:
            raise AttentionCaptureError(f"{model.config.model_type} model: {scores.note}")
        super().__init__(model, family, layers, roles=("query", "key"))
        self.scores: dict[int, torch.Tensor] = {}
        self._heads = family.num_heads(model.config)

    def clear(self) -> None:
        super().clear()
        self.scores.clear()

    def _complete(self, index: int, parts: dict[str, torch.Tensor]) -> None:
        self.scores[index] = self._scores(parts["query"], parts["key"])

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        q, k = split_heads(query, self._heads), split_heads(key, self._heads)
        return torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5


def split_heads(projection: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, seq, heads x width) -> (batch, heads, seq, width)."""
    batch, seq, total = projection.shape
    return projection.view(batch, seq, heads, total // heads).transpose(1, 2)
