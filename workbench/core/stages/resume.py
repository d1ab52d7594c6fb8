"""Resume bookkeeping, in one place: which stages a run has finished, the checkpoint a resumed stage
continues from, and what the job adds to every checkpoint (finished stages, the student's weights)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from workbench.core.distill.checkpoints import Checkpoint, load_newest
from workbench.core.errors import WorkbenchError
from workbench.core.run_folder import RunFolder


class ResumeError(WorkbenchError):
    pass


class ResumeBook:
    def __init__(self, checkpoint: Checkpoint | None = None) -> None:
        self.checkpoint = checkpoint
        self.completed: list[str] = list(checkpoint.info.get("completed", [])) if checkpoint else []

    @classmethod
    def open(cls, resume_dir: str | Path | None, notice: Callable[[str], None]) -> ResumeBook:
        """Nothing for a new run; the newest readable checkpoint of a resumed one (never a pickle)."""
        if not resume_dir:
            return cls()
        run = RunFolder(Path(resume_dir))
        candidates = [run.checkpoint_path, run.previous_checkpoint_path]
        if not any(path.is_file() for path in candidates):
            if run.legacy_checkpoint_path.is_file():
                raise ResumeError(
                    f"{resume_dir}: its checkpoint is a pickle (last.pt, from an older workbench), which could run "
                    "code when loaded, so it is not opened; start the recipe anew"
                )
            raise ResumeError(f"{resume_dir}: has no checkpoint to resume from; start the recipe anew")
        return cls(load_newest(candidates, notice))

    def done(self, stage: str) -> bool:
        return stage in self.completed

    def finish(self, stage: str) -> None:
        if stage not in self.completed:
            self.completed.append(stage)

    def for_stage(self, stage: str) -> Checkpoint | None:
        """The checkpoint to continue `stage` from, when the run was interrupted inside it."""
        if self.checkpoint and self.checkpoint.info.get("stage") == stage:
            return self.checkpoint
        return None

    def student_weights(self) -> dict | None:
        return self.checkpoint.groups.get("student") if self.checkpoint else None

    def payload(self, student: nn.Module | None) -> Checkpoint:
        """What the job adds to each checkpoint the training loop writes."""
        groups = {"student": student.state_dict()} if student is not None else {}
        return Checkpoint({"completed": list(self.completed)}, groups)
