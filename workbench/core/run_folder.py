"""The run folder: everything a job leaves behind, enough to reopen, compare or resume it. This module is
the one owner of its layout; every other module asks a `RunFolder` for a path.

    RUN/recipe.yaml        the recipe as run
    RUN/status.json        running / finished / cancelled / failed, with the last message (and the pid
                           of a running job, so a job that was killed reads as interrupted)
    RUN/data.json          split sizes, class counts, content hash, cleaning counts
    RUN/metrics.jsonl      one JSON line per logged step, evaluation, checkpoint and stage
    RUN/tensorboard/       the same scalars for TensorBoard
    RUN/checkpoints/       last.safetensors and previous.safetensors (resumable state), best-STAGE weights,
                           pruned-student/ (the shapes the recovery stage resumes into)
    RUN/teacher/ RUN/student/   Hugging Face folders
    RUN/evaluation.json    test-split metrics of teacher, student and int8 student
    RUN/sanity.json        baselines on the test split and the flags on what the results can claim
    RUN/pruning.json  RUN/vocabulary.json   what pruning removed; RUN/sparsity.json the zeroed weights
    RUN/qat.json           post-training int8 against the tolerance, and what quantization-aware training won
    RUN/onnx/              ONNX artifacts, export.json, parity.json and int8_guard.json (nodes kept fp32)
    RUN/bench.json         measured latency, size and memory
    RUN/report/            the HTML report
    RUN/deploy/            the deploy bundle the window's Deploy button writes
    RUN/web-demo/          the web demo (demo.html and web/) that `deploy --format web` writes
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError, shell_command
from workbench.core.recipe import Recipe

RESUMABLE = ("cancelled", "failed", "running", "interrupted")
INT8_STUDENT, INT4_STUDENT = "student-int8.onnx", "student-int4.onnx"  # the shipped students, in RUN/onnx/
SHIPPED_PREFIX = "student-"  # RUN/onnx artifacts a job ships; the teacher-* ones are references to compare with


class DiskFullError(WorkbenchError):
    pass


class OutputFolderError(WorkbenchError):
    """The output folder cannot be written: read-only, not a folder, no permission."""


class RunLockedError(WorkbenchError):
    """Another process is writing the run folder (two `workbench run --resume` of one run at once)."""


def atomic_write(path: Path, write, previous: Path | None = None) -> Path:
    """Write through a temporary file in the same folder, then rename: a killed job leaves no torn file.
    With `previous`, the file that was at `path` is kept there (moved just before the rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        if previous is not None and path.is_file():
            os.replace(path, previous)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise _one_line(error, path) from None
    return path


def link_or_copy(source: Path, destination: Path) -> Path:
    """`destination` as a hard link to `source` (instant, no second copy on disk), a copy across file systems.
    For files nobody rewrites in place: the workbench replaces an artifact by unlinking it first."""
    destination.unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


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
        self._lock: int | None = None  # the folder's descriptor while this process holds the run (see `lock`)

    @classmethod
    def create(cls, recipe: Recipe) -> RunFolder:
        run = cls(stamped_folder(Path(recipe.output_dir), recipe.name, "a run folder"))
        recipe.save(run.recipe_path)
        run.set_status("running")
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        run = cls(Path(path))
        if not run.recipe_path.is_file():
            raise WorkbenchError(f"{path}: not a run folder (no recipe.yaml)")
        return run

    # The layout. Every path a run has is named here once.
    recipe_path = property(lambda self: self.path / "recipe.yaml")
    status_path = property(lambda self: self.path / "status.json")
    data_manifest_path = property(lambda self: self.path / "data.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    checkpoint_path = property(lambda self: self.checkpoints_dir / "last.safetensors")
    previous_checkpoint_path = property(lambda self: self.checkpoints_dir / "previous.safetensors")
    legacy_checkpoint_path = property(lambda self: self.checkpoints_dir / "last.pt")
    pruned_student_dir = property(lambda self: self.checkpoints_dir / "pruned-student")
    teacher_dir = property(lambda self: self.path / "teacher")
    student_dir = property(lambda self: self.path / "student")
    evaluation_path = property(lambda self: self.path / "evaluation.json")
    sanity_path = property(lambda self: self.path / "sanity.json")
    teacher_reuse_path = property(lambda self: self.path / "teacher-reuse.json")
    pruning_path = property(lambda self: self.path / "pruning.json")
    width_path = property(lambda self: self.path / "width.json")
    sparsity_path = property(lambda self: self.path / "sparsity.json")
    qat_path = property(lambda self: self.path / "qat.json")
    vocabulary_path = property(lambda self: self.path / "vocabulary.json")
    augmented_path = property(lambda self: self.path / "augmented.jsonl")
    transfer_path = property(lambda self: self.path / "transfer.json")
    onnx_dir = property(lambda self: self.path / "onnx")
    export_path = property(lambda self: self.onnx_dir / "export.json")
    parity_path = property(lambda self: self.onnx_dir / "parity.json")
    int8_guard_path = property(lambda self: self.onnx_dir / "int8_guard.json")
    int4_student_path = property(lambda self: self.onnx_path(INT4_STUDENT))
    bench_path = property(lambda self: self.path / "bench.json")
    timings_path = property(lambda self: self.path / "timings.json")
    report_dir = property(lambda self: self.path / "report")
    deploy_dir = property(lambda self: self.path / "deploy")
    web_demo_dir = property(lambda self: self.path / "web-demo")

    def model_dir(self, name: str) -> Path:
        """A Hugging Face model folder of the run by its name: 'teacher' or 'student'."""
        return self.path / name

    def best_weights_path(self, stage: str) -> Path:
        return self.checkpoints_dir / f"best-{stage}.safetensors"

    def onnx_path(self, artifact: str) -> Path:
        """An ONNX artifact by file name, e.g. 'student-int8.onnx'."""
        return self.onnx_dir / artifact

    def recipe(self) -> Recipe:
        return Recipe.load(self.recipe_path)

    def set_status(self, status: str, message: str = "", **extra: Any) -> None:
        owner = {"pid": os.getpid(), "host": socket.gethostname()} if status == "running" else {}
        write_json(self.status_path, {"status": status, "message": message, "time": time.time(), **owner, **extra})

    def status(self) -> dict[str, Any]:
        """The recorded status; a "running" job whose process has ended (killed, crashed) reads as
        "interrupted", so no reader ever shows a dead job as running."""
        recorded = read_json(self.status_path) or {"status": "unknown"}
        if recorded.get("status") == "running" and not _owner_alive(recorded):
            return {**recorded, "status": "interrupted",
                    "message": "the job stopped without finishing; continue with "
                                 f"`{shell_command('workbench', 'run', '--resume', self.path)}`"}
        return recorded

    @property
    def resumable(self) -> bool:
        has_checkpoint = self.checkpoint_path.is_file() or self.previous_checkpoint_path.is_file()
        return self.status().get("status") in RESUMABLE and has_checkpoint

    def log(self, record: dict[str, Any]) -> None:
        try:
            with self.metrics_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError as error:
            raise _one_line(error, self.metrics_path) from None
        self._log_scalars(record)

    def metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        records = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:  # a line torn by a kill mid-write; the rest of the log still reads
                continue
        return [record for record in records if isinstance(record, dict)]

    def _log_scalars(self, record: dict[str, Any]) -> None:
        if record.get("event") not in ("Step", "Evaluation"):
            return
        if self._tensorboard is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tensorboard = SummaryWriter(str(self.tensorboard_dir))
        stage, step = record["stage"], record["step"]
        scalars = record.get("losses", {}) | {k: v for k, v in record.get("metrics", {}).items()
                                                if isinstance(v, int | float)}
        if "lr" in record:
            scalars["lr"] = record["lr"]
        for name, value in scalars.items():
            self._tensorboard.add_scalar(f"{stage}/{name}", value, step)

    def lock(self) -> None:
        """Hold the run for this process until `close` (or its end, however it ends: the kernel drops the lock),
        so that a second job on the same folder stops before it writes anything. The lock is taken on the
        folder itself: a refused job leaves no file behind; the holder's pid is the one its status records."""
        import fcntl

        try:
            handle = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise _one_line(error, self.path) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            owner = read_json(self.status_path).get("pid", "unknown")
            resume = shell_command("workbench", "run", "--resume", self.path)
            raise RunLockedError(f"run {self.path} is being written by process {owner}; wait for it to end (or stop "
                                 f"it), then continue with `{resume}`") from None
        self._lock = handle

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None


def stamped_folder(root: Path, name: str, what: str) -> Path:
    """A new folder ROOT/NAME-STAMP (with -2, -3, ... when that is taken), or one line saying why not."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, suffix = root / f"{name}-{stamp}", 1
    while True:
        try:
            path.mkdir(parents=True)  # no exists() check first: jobs started in the same second race for a name
            return path
        except FileExistsError:
            suffix += 1
            path = root / f"{name}-{stamp}-{suffix}"
        except OSError as error:
            raise OutputFolderError(f"{root}: cannot create {what} there ({error.strerror or error}); set "
                                    "output_dir to a folder you can write to") from None


def run_folders(output_dir: str | Path) -> list[RunFolder]:
    """Every run folder directly under the output folder, in no particular order."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    return [run for run in map(RunFolder, root.iterdir()) if run.recipe_path.is_file()]


def find_run_folder(path: Path) -> RunFolder | None:
    """The run a file or folder inside it belongs to (the nearest parent with a recipe.yaml), if any."""
    for run in map(RunFolder, (path, *path.parents)):
        if run.recipe_path.is_file():
            return run
    return None


def run_folder_of(path: Path) -> Path:
    """The run folder a file or folder inside it belongs to, or its parent when it is in none."""
    run = find_run_folder(path)
    return run.path if run is not None else path.parent


def _one_line(error: OSError, path: Path) -> WorkbenchError | OSError:
    resume = f"`{shell_command('workbench', 'run', '--resume', run_folder_of(path))}`"
    if error.errno == errno.ENOSPC:
        return DiskFullError(f"{path}: the disk is full; free some space, then continue with {resume}")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputFolderError(f"{path.parent}: cannot write there ({error.strerror}); make it writable, "
                                 f"then continue with {resume}")
    return error


def _owner_alive(status: dict[str, Any]) -> bool:
    if status.get("host") != socket.gethostname():
        return True  # written by another machine: nothing to check it against
    return process_alive(status.get("pid"))


def process_alive(pid: Any) -> bool:
    """Whether the process that wrote `pid` on this machine still runs (True when there is no pid to check:
    a file of an older version)."""
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
