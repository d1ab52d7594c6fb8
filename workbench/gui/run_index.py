"""The runs under an output folder with their headline figures, read from the run folders alone (Qt-free)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import RecipeError
from workbench.core.recipe import read_recipe_text
from workbench.core.safe_yaml import parse_yaml


@dataclass
class RunRow:
    path: str
    name: str
    recipe: str
    status: str
    message: str
    started: float
    teacher_accuracy: float | None
    student_accuracy: float | None
    agreement: float | None
    student_mib: float | None
    resumable: bool

    @property
    def has_student(self) -> bool:
        return self.student_mib is not None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _recipe_name(path: Path) -> str:
    try:
        data = parse_yaml(read_recipe_text(path), str(path))  # the recipe loader's bounds: run folders are sent
    except RecipeError:
        return "?"
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else "?"


def read_run(folder: Path) -> RunRow:
    status = _json(folder / "status.json")
    evaluation = _json(folder / "evaluation.json")
    summary = status if "student_accuracy" in status else {}

    def figure(section: str, summary_key: str) -> float | None:
        value = summary.get(summary_key, (evaluation.get(section) or {}).get("accuracy"))
        return float(value) if isinstance(value, int | float) else None

    weights = [p for p in (folder / "student").glob("*.safetensors")] + list((folder / "student").glob("*.bin"))
    agreement = summary.get("agreement", evaluation.get("teacher_student_agreement"))
    return RunRow(
        path=str(folder), name=folder.name, recipe=_recipe_name(folder / "recipe.yaml"),
        status=str(status.get("status", "unknown")), message=str(status.get("message", "")),
        started=(folder / "recipe.yaml").stat().st_mtime,
        teacher_accuracy=figure("teacher", "teacher_accuracy"), student_accuracy=figure("student", "student_accuracy"),
        agreement=float(agreement) if isinstance(agreement, int | float) else None,
        student_mib=sum(p.stat().st_size for p in weights) / 2**20 if weights else None,
        resumable=status.get("status") in ("cancelled", "failed", "running")
        and (folder / "checkpoints" / "last.pt").is_file(),
    )


def list_runs(output_dir: str | Path) -> list[RunRow]:
    """Every folder with a recipe.yaml under the output folder, newest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    rows = [read_run(folder) for folder in root.iterdir() if (folder / "recipe.yaml").is_file()]
    return sorted(rows, key=lambda row: row.started, reverse=True)
