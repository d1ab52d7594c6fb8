"""Training state on disk as data, never as code: one safetensors file per checkpoint, its tensors under
dotted group prefixes (`module.`, `optimizer.`, ...) and everything else (counters, the optimizer's
hyper-parameters, the scheduler, the Python and NumPy RNG states) as JSON in the file's metadata.

A run folder may come from someone else, so nothing here unpickles: safetensors holds tensors only and
JSON holds plain values. The previous good checkpoint is kept beside the last, so a torn or damaged last
checkpoint costs the steps since the one before, not the run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.errors import WorkbenchError
from workbench.core.run_folder import atomic_write

_INFO = "workbench"  # the metadata key that holds the JSON part
_GROUP_SEPARATOR = "::"


class CheckpointError(WorkbenchError):
    """A checkpoint that cannot be read: missing, torn or not one the workbench wrote."""


@dataclass
class Checkpoint:
    info: dict[str, Any]  # JSON-safe values
    groups: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # e.g. "module" -> state dict


def save_checkpoint(path: Path, checkpoint: Checkpoint, previous: Path | None = None) -> Path:
    """Write atomically; the checkpoint that was at `path` becomes `previous` first (when given)."""
    tensors = {f"{group}{_GROUP_SEPARATOR}{name}": _plain(tensor)
               for group, state in checkpoint.groups.items() for name, tensor in state.items()}
    metadata = {_INFO: json.dumps(checkpoint.info)}
    # A full disk raises OSError(ENOSPC) here, which atomic_write turns into a one-line message.
    return atomic_write(path, lambda out: write_safetensors(out, tensors, metadata), previous=previous)


def load_checkpoint(path: Path) -> Checkpoint:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as file:
            info = json.loads((file.metadata() or {})[_INFO])
            tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118 (not a dict)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except (OSError, SafetensorError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: damaged or not a workbench checkpoint ({type(error).__name__})") from None
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        group, _, name = key.partition(_GROUP_SEPARATOR)
        groups.setdefault(group, {})[name] = tensor
    return Checkpoint(info, groups)


def load_newest(paths: list[Path], notice: Callable[[str], None]) -> Checkpoint:
    """The first checkpoint of `paths` that reads; each one skipped is reported through `notice`."""
    problems = []
    for path in paths:
        try:
            return load_checkpoint(path)
        except CheckpointError as error:
            problems.append(str(error))
            if path.exists():
                notice(f"{error}; falling back to the checkpoint before it")
    raise CheckpointError("; ".join(problems) + "; there is no usable checkpoint to resume from, so start the "
                          "recipe anew")


def optimizer_to_checkpoint(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state_dict as tensors (per-parameter state) and JSON (hyper-parameters, counters)."""
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_checkpoint(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
    per_parameter: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *info["scalars"].items()]:
        index, _, name = key.partition(".")
        per_parameter.setdefault(int(index), {})[name] = value
    return {"state": per_parameter, "param_groups": info["param_groups"]}


def rng_to_checkpoint() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    version, mt_state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(keys.astype(np.int64))}
    return tensors, {"python": [version, list(mt_state), gauss],
                     "numpy": [kind, int(position), int(has_gauss), float(cached)]}


def restore_rng(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    version, mt_state, gauss = info["python"]
    random.setstate((version, tuple(mt_state), gauss))
    kind, position, has_gauss, cached = info["numpy"]
    np.random.set_state((kind, tensors["numpy"].numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])


def save_weights(path: Path, weights: dict[str, torch.Tensor]) -> Path:
    plain = {name: _plain(tensor) for name, tensor in weights.items()}
    return atomic_write(path, lambda out: write_safetensors(out, plain))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"{path}: damaged or not workbench weights ({type(error).__name__}); start the recipe "
                              "anew") from None


_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
           torch.bool: "BOOL"}


def write_safetensors(out: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """The safetensors file of `tensors` (contiguous, on the CPU), laid out as the format says: an 8-byte
    header length, the JSON header, then each tensor's bytes. Written here, piece by piece through Python's
    file I/O, rather than by `safetensors.torch.save`, which holds the interpreter lock while it builds the
    whole file in memory (about 0.1 s per 200 MB checkpoint: a frozen window); a file write lets go of it.
    Python's I/O also reports a full disk as OSError(ENOSPC), where `save_file` wrote to /dev/full without an
    error. The library's own loader reads the file back and checks every offset."""
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    pieces, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name]
        raw = tensor.reshape(-1).view(torch.uint8).numpy()
        header[name] = {"dtype": _DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + raw.nbytes]}
        pieces.append(raw)
        offset += raw.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    with out.open("wb") as file:
        file.write(len(encoded).to_bytes(8, "little") + encoded)
        for raw in pieces:
            file.write(memoryview(raw))


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    # safetensors refuses tensors that share memory (tied weights) or are views; a contiguous CPU copy of
    # each is what a checkpoint needs anyway.
    return tensor.detach().to("cpu").contiguous().clone()
