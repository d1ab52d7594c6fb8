"""A finished-looking run folder on tiny models: recipe.yaml, teacher/ and student/ Hugging Face folders."""

from __future__ import annotations

from pathlib import Path

from tests.tiny import save_tiny_bert, tiny_recipe


def make_tiny_run(folder: Path, csv: Path) -> Path:
    """Teacher with 2 layers, student with 1, both with a 3-label head; data from the tiny CSV."""
    save_tiny_bert(folder / "teacher", with_head=True, layers=2, seed=1)
    save_tiny_bert(folder / "student", with_head=True, layers=1, seed=2)
    recipe = tiny_recipe(folder / "teacher", csv, folder.parent)
    recipe.quantization.enabled = True  # as a real recipe has it by default
    recipe.save(folder / "recipe.yaml")
    return folder
