"""The run folder: everything a job leaves behind, enough to reopen, compare or resume it.

    RUN/recipe.yaml        the recipe as run
    RUN/status.json        running / finished / cancelled / failed, with the last message
    RUN/data.json          split sizes, class counts, content hash, cleaning counts
    RUN/metrics.jsonl      one JSON line per logged step, evaluation, checkpoint and stage
    RUN/tensorboard/       the same scalars for TensorBoard
    RUN/checkpoints/       last.pt (resumable state) and best-*.pt, written atomically
    RUN/teacher/ RUN/student/   Hugging Face folders
    RUN/evaluation.json    test-split metrics of teacher and student
    RUN/onnx/              ONNX artifacts, export.json and parity.json
    RUN/bench.json         measured latency, size and memory
    RUN/deploy/            the deploy bundle the window writes
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe

CHECKPOINT = "last.pt"


class DiskFullError(WorkbenchError):
    pass


def atomic_write(path: Path, write) -> Path:
    """Write through a temporary file in the same folder, then rename: a killed job leaves no torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            run_dir = path.parents[1]
            raise DiskFullError(
                f"{path}: the disk is full; free some space, then continue with `workbench run --resume {run_dir}`"
            ) from None
        raise
    return path


def write_json(path: Path, data: Any) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2), encoding="utf-8"))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file a run wrote, or {} when it is absent, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._tensorboard = None

    @classmethod
    def create(cls, recipe: Recipe) -> RunFolder:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(recipe.output_dir) / f"{recipe.name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path(recipe.output_dir) / f"{recipe.name}-{stamp}-{suffix}"
        path.mkdir(parents=True)
        run = cls(path)
        recipe.save(run.recipe_path)
        run.set_status("running")
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        run = cls(Path(path))
        if not run.recipe_path.is_file():
            raise WorkbenchError(f"{path}: not a run folder (no recipe.yaml)")
        return run

    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / CHECKPOINT

    teacher_dir = property(lambda self: self.path / "teacher")
    student_dir = property(lambda self: self.path / "student")
    data_manifest_path = property(lambda self: self.path / "data.json")
    evaluation_path = property(lambda self: self.path / "evaluation.json")
    pruning_path = property(lambda self: self.path / "pruning.json")
    vocabulary_path = property(lambda self: self.path / "vocabulary.json")
    onnx_dir = property(lambda self: self.path / "onnx")
    export_path = property(lambda self: self.onnx_dir / "export.json")
    parity_path = property(lambda self: self.onnx_dir / "parity.json")
    bench_path = property(lambda self: self.path / "bench.json")
    deploy_dir = property(lambda self: self.path / "deploy")  # the window's Deploy button writes here

    def onnx_path(self, artifact: str) -> Path:
        """An ONNX artifact by file name, e.g. 'student-int8.onnx'."""
        return self.onnx_dir / artifact

    def recipe(self) -> Recipe:
        return Recipe.load(self.recipe_path)

    def set_status(self, status: str, message: str = "", **extra: Any) -> None:
        write_json(self.path / "status.json", {"status": status, "message": message, "time": time.time(), **extra})

    def status(self) -> dict[str, Any]:
        path = self.path / "status.json"
        return json.loads(path.read_text()) if path.is_file() else {"status": "unknown"}

    def log(self, record: dict[str, Any]) -> None:
        with (self.path / "metrics.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self._log_scalars(record)

    def metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _log_scalars(self, record: dict[str, Any]) -> None:
        if record.get("event") not in ("Step", "Evaluation"):
            return
        if self._tensorboard is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tensorboard = SummaryWriter(str(self.path / "tensorboard"))
        stage, step = record["stage"], record["step"]
        scalars = record.get("losses", {}) | {k: v for k, v in record.get("metrics", {}).items()
                                                if isinstance(v, int | float)}
        if "lr" in record:
            scalars["lr"] = record["lr"]
        for name, value in scalars.items():
            self._tensorboard.add_scalar(f"{stage}/{name}", value, step)

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
