"""Unstructured magnitude pruning: zero the smallest weights of the encoder's linear layers, per weight
matrix or over all of them together, and keep them zero while the recovery stage distils.

For single weights the L1 and L2 criteria are one and the same (|w| either way), so there is one criterion:
magnitude, through torch.nn.utils.prune. The zeros are written into the weights themselves (no masks in the
saved model), so they survive save_pretrained, the ONNX export (zeros in the initializers) and int8 (zero
quantizes to zero in symmetric int8).

What it buys, honestly: the zeros compress (a zipped ONNX shrinks), but the file ONNX Runtime loads keeps its
size and its dense kernels do the same work, so latency does not improve on CPUs without sparse kernels.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune
from transformers import PreTrainedModel

from workbench.core.compress.importance import PruningError
from workbench.core.sources.families import family_of

Scope = Literal["layer", "global"]


@dataclass(frozen=True)
class SparsityReport:
    requested: float
    scope: Scope
    matrices: dict[str, float]  # weight name -> share of zeros in it
    zeros: int
    weights: int

    @property
    def sparsity(self) -> float:
        return self.zeros / self.weights if self.weights else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sparsity": self.sparsity}


def encoder_linears(model: PreTrainedModel) -> dict[str, nn.Linear]:
    """The attention and FFN linear layers of every encoder layer, by a readable name."""
    family = family_of(model.config)
    return {f"layer {index + 1} {path}": family.linear(layer, path)
            for index, layer in enumerate(family.layers(model)) for path in family.linear_paths()}


def sparsify(model: PreTrainedModel, sparsity: float, scope: Scope = "layer") -> SparsityReport:
    """Zero the `sparsity` share of smallest-magnitude encoder weights, in place."""
    if not 0 <= sparsity < 1:
        raise PruningError(f"pruning.unstructured_sparsity is {sparsity}; give a fraction from 0 up to 1")
    linears = encoder_linears(model)
    if sparsity:
        if scope == "global":
            torch_prune.global_unstructured([(linear, "weight") for linear in linears.values()],
                                            pruning_method=torch_prune.L1Unstructured, amount=sparsity)
        else:
            for linear in linears.values():
                torch_prune.l1_unstructured(linear, "weight", amount=sparsity)
        for linear in linears.values():
            torch_prune.remove(linear, "weight")  # bake the mask into the weight: no weight_orig / weight_mask
    return measure_sparsity(model, sparsity, scope)


def measure_sparsity(model: PreTrainedModel, requested: float = 0.0, scope: Scope = "layer") -> SparsityReport:
    linears = encoder_linears(model)
    zeros = {name: int((linear.weight == 0).sum()) for name, linear in linears.items()}
    sizes = {name: linear.weight.numel() for name, linear in linears.items()}
    return SparsityReport(requested, scope, {name: zeros[name] / sizes[name] for name in linears},
                          sum(zeros.values()), sum(sizes.values()))


def keep_zeros(model: PreTrainedModel) -> list[torch.utils.hooks.RemovableHandle]:
    """Gradient hooks that keep today's zero weights at zero through training: their gradients are masked, so
    Adam's moments for them stay 0 and its update (m / (sqrt(v) + eps)) is exactly 0, and decoupled weight
    decay keeps 0 at 0. The zeros themselves are the mask, so a resumed run rebuilds it from the saved model."""
    handles = []
    for linear in encoder_linears(model).values():
        mask = (linear.weight != 0).to(linear.weight.dtype)
        if not bool((mask == 0).any()):
            continue
        handles.append(linear.weight.register_hook(lambda grad, mask=mask: grad * mask.to(grad.device)))
    return handles


@contextlib.contextmanager
def zeros_kept(model: PreTrainedModel) -> Iterator[int]:
    """`keep_zeros` for the stages run inside (recovery, QAT); yields how many weight matrices it guards."""
    handles = keep_zeros(model)
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


def deflated_size(path: str | Path) -> int:
    """Bytes of the file zipped with deflate: what a download of it costs, where zeros do count."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, Path(path).name)
    return buffer.getbuffer().nbytes
