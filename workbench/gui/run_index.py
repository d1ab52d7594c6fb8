"""The runs under an output folder with their headline figures, read from the run folders alone (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.gui.bench_figures import STUDENT, STUDENT_INT8, Figures, read_json, run_figures


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
    figures: dict[str, Figures]  # per model, from bench.json / evaluation.json (see bench_figures)

    @property
    def has_student(self) -> bool:
        return self.student_mib is not None

    @property
    def deployed(self) -> tuple[str, Figures] | None:
        """The run's most compressed student that was measured (int8, else fp32): its Pareto point."""
        for name in (STUDENT_INT8, STUDENT):
            figures = self.figures.get(name)
            if figures and figures.latency_ms is not None and figures.accuracy is not None:
                return name, figures
        return None


def _recipe(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def read_run(folder: Path) -> RunRow:
    status = read_json(folder / "status.json")
    evaluation = read_json(folder / "evaluation.json")
    summary = status if "student_accuracy" in status else {}

    def figure(section: str, summary_key: str) -> float | None:
        value = summary.get(summary_key, (evaluation.get(section) or {}).get("accuracy"))
        return float(value) if isinstance(value, int | float) else None

    weights = [p for p in (folder / "student").glob("*.safetensors")] + list((folder / "student").glob("*.bin"))
    agreement = summary.get("agreement", evaluation.get("teacher_student_agreement"))
    recipe = _recipe(folder / "recipe.yaml")
    return RunRow(
        path=str(folder), name=folder.name, recipe=str(recipe.get("name", "?")),
        status=str(status.get("status", "unknown")), message=str(status.get("message", "")),
        started=(folder / "recipe.yaml").stat().st_mtime,
        teacher_accuracy=figure("teacher", "teacher_accuracy"), student_accuracy=figure("student", "student_accuracy"),
        agreement=float(agreement) if isinstance(agreement, int | float) else None,
        student_mib=sum(p.stat().st_size for p in weights) / 2**20 if weights else None,
        resumable=status.get("status") in ("cancelled", "failed", "running")
        and (folder / "checkpoints" / "last.pt").is_file(),
        figures=run_figures(folder),
    )


def list_runs(output_dir: str | Path) -> list[RunRow]:
    """Every folder with a recipe.yaml under the output folder, newest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    rows = [read_run(folder) for folder in root.iterdir() if (folder / "recipe.yaml").is_file()]
    return sorted(rows, key=lambda row: row.started, reverse=True)
