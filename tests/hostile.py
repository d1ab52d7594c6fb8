"""Hostile fixtures: pickle payloads, models of unsupported families, damaged folders, bad encodings."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

from tests.tiny import save_tiny_bert

ACCENTED = ["Le café était délicieux", "Je déteste la crème brûlée", "El señor Müller está aquí",
            "Très bon hôtel à Zürich", "Garçon c'était naïve", "Ça coûte cher hélas"]


class Payload:
    """Unpickling this runs `touch MARKER`: the marker's existence proves that a loader executed the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def payload_bytes(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": Payload(marker)})


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def pickle_only_model(source: Path, target: Path, marker: Path, name: str = "pytorch_model.bin") -> Path:
    """A model folder whose only weights are a pickle that plants the marker."""
    copy_model(source, target)
    for weights in target.glob("*.safetensors"):
        weights.unlink()
    (target / name).write_bytes(payload_bytes(marker))
    return target


def gpt2_folder(folder: Path) -> Path:
    """A tiny GPT-2 (a decoder, not an encoder family the workbench supports), saved as safetensors."""
    from transformers import GPT2Config, GPT2LMHeadModel

    folder.mkdir(parents=True, exist_ok=True)
    config = GPT2Config(vocab_size=100, n_positions=64, n_embd=32, n_layer=2, n_head=4)
    GPT2LMHeadModel(config).save_pretrained(folder)
    save_tiny_bert(folder / "tok")  # any tokenizer: the family check comes first
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if (folder / "tok" / name).is_file():
            shutil.copy(folder / "tok" / name, folder / name)
    shutil.rmtree(folder / "tok")
    return folder


def accented_csv(path: Path, encoding: str, rows_per_class: int = 12) -> Path:
    """A labelled CSV in `encoding` whose every row has accented letters."""
    labels = ["negative", "neutral", "positive"]
    lines = ["sentiment,text"]
    for i in range(rows_per_class * 3):
        lines.append(f"{labels[i % 3]},{ACCENTED[i % len(ACCENTED)]} {i}")
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def expected_texts(rows_per_class: int = 12) -> set[str]:
    return {f"{ACCENTED[i % len(ACCENTED)]} {i}" for i in range(rows_per_class * 3)}
