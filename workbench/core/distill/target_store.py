"""The teacher's targets on a training set, kept on disk beside the cached fine-tuned teacher that made them,
so that the next job reusing that teacher on the same training set reads them instead of running it again.

One safetensors file per target name (`hidden2.safetensors`, `scores4.safetensors`, `logits.safetensors`),
one tensor per example named by its index in the training set, trimmed to the example's length as the
in-memory cache holds them. A file is used only when it holds exactly the examples asked for, each with the
shape its length implies; anything else (a torn file, another training set, a file someone edited) is
ignored and the targets are computed again. Files are written whole or not at all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from workbench.core.distill.checkpoints import write_safetensors

_NAME = re.compile(r"^[a-z]+[0-9]*(_[a-z]+)?$")  # hidden3, scores2, projection2_query, logits


class TargetStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def load(self, name: str, lengths: dict[int, int], dims: tuple[int, ...]) -> dict[int, torch.Tensor] | None:
        """Target `name` of every example in `lengths` (index -> length), when this store holds exactly
        those examples, each `length` long along `dims`; else None."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self._path(name)
        if path is None or not path.is_file():
            return None
        try:
            tensors = load_file(path)
        except (SafetensorError, OSError, ValueError):
            return None
        if set(tensors) != {_key(index) for index in lengths}:
            return None
        found = {index: tensors[_key(index)] for index in lengths}
        return found if _consistent(found, lengths, dims) else None

    def save(self, name: str, targets: dict[int, torch.Tensor]) -> bool:
        """Keep target `name` of these examples (index -> tensor); False when the disk refused it."""
        path = self._path(name)
        if path is None:
            return False
        partial = path.with_name(path.name + ".partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_safetensors(partial, {_key(index): value.contiguous() for index, value in targets.items()})
            os.replace(partial, path)
            return True
        except OSError:
            partial.unlink(missing_ok=True)
            return False

    def _path(self, name: str) -> Path | None:
        return self.folder / f"{name}.safetensors" if _NAME.match(name) else None


def _key(index: int) -> str:
    return f"{index:08d}"


def _consistent(found: dict[int, torch.Tensor], lengths: dict[int, int], dims: tuple[int, ...]) -> bool:
    """Every example is a float tensor `length` long along each of `dims`, with the same other dimensions (the
    first batch's check against the teacher then settles what those are)."""
    others = set()
    for index, value in found.items():
        if not value.is_floating_point() or any(d >= value.dim() or value.shape[d] != lengths[index] for d in dims):
            return False
        others.add(tuple(size for d, size in enumerate(value.shape) if d not in dims))
    return len(others) <= 1
