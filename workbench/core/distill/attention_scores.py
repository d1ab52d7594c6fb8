"""Pre-softmax attention scores of chosen layers, captured without switching to eager attention.

Asking transformers for attention maps needs the slow eager implementation on every layer, and it gives
probabilities, while TinyBERT's attention loss wants scores before the softmax. Hooks on the query and key
projections of the mapped layers rebuild Q K^T / sqrt(head_dim) from their outputs instead, so the model
keeps its fast (sdpa) attention and the scores stay in the autograd graph for the student.
"""

from __future__ import annotations

from types import TracebackType

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from workbench.core.errors import ModelSourceError
from workbench.core.sources.families import EncoderFamily


class AttentionCaptureError(ModelSourceError):
    """A model whose attention scores cannot be rebuilt from its query and key projections."""


class AttentionScoreCapture:
    """Context manager: after a forward pass, `scores[layer]` is (batch, heads, seq, seq), no mask added."""

    def __init__(self, model: nn.Module, family: EncoderFamily, layers: list[int]) -> None:
        config = model.config
        position = getattr(config, "position_embedding_type", "absolute")
        if position != "absolute":
            # Relative positions add a distance term to Q K^T that the projections alone do not show.
            raise AttentionCaptureError(
                f"{config.model_type} model uses '{position}' position attention, which attention capture "
                "does not support; switch the attention loss off (mapping.attention: false)"
            )
        available = family.layers(model)
        for index in layers:
            if not 0 <= index < len(available):
                raise IndexError(f"layer {index} is out of range: the model has {len(available)} layers")
        self.scores: dict[int, torch.Tensor] = {}
        self._heads = family.num_heads(config)
        self._modules = {index: family.query_key(available[index]) for index in layers}
        self._pending: dict[int, dict[str, torch.Tensor]] = {}
        self._handles: list[RemovableHandle] = []

    def __enter__(self) -> AttentionScoreCapture:
        for index, (query, key) in self._modules.items():
            self._handles.append(query.register_forward_hook(self._hook(index, "query")))
            self._handles.append(key.register_forward_hook(self._hook(index, "key")))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._pending.clear()

    def clear(self) -> None:
        """Drop the scores of the last pass (and the graph they hold)."""
        self.scores.clear()
        self._pending.clear()

    def _hook(self, index: int, role: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            # Query and key may run in either order; the scores are built once both are seen.
            pending = self._pending.setdefault(index, {})
            pending[role] = output
            if len(pending) == 2:
                del self._pending[index]
                self.scores[index] = self._scores(pending["query"], pending["key"])

        return hook

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        batch, seq, width = query.shape
        head_dim = width // self._heads
        q = query.view(batch, seq, self._heads, head_dim).transpose(1, 2)
        k = key.view(batch, key.shape[1], self._heads, head_dim).transpose(1, 2)
        return torch.matmul(q, k.transpose(-1, -2)) * head_dim**-0.5
