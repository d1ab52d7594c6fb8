"""What every stage of a job shares: the recipe, the run folder, the inputs read at the job's start (the data,
its loaders and the teacher: stages/inputs.py), the student (built when a stage first asks for it), the
training loop and the resume bookkeeping."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from workbench.core.distill.distillation import StudentWithProjections, check_attention_compatible
from workbench.core.distill.mapping import LayerMapping, recipe_mapping
from workbench.core.distill.precision import ACCELERATE_NAMES, training_precision
from workbench.core.distill.target_store import TargetStore
from workbench.core.distill.teacher_cache import TeacherCache
from workbench.core.distill.training_loop import StageRunner
from workbench.core.errors import WorkbenchError
from workbench.core.events import Event, JobControl, Notice, PhaseTimed, StageStarted
from workbench.core.methods.transfer_set import TRANSFER_SET
from workbench.core.preflight import check_models
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.data import TaskData
from workbench.core.sources.families import family_of
from workbench.core.sources.pruned_models import load_pruned
from workbench.core.sources.student import build_student, fast_attention
from workbench.core.stages.resume import ResumeBook
from workbench.core.stages.teacher_reuse import kept_targets_folder

PRUNING = "pruning"

T = TypeVar("T")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator(recipe: Recipe):
    from accelerate import Accelerator, DistributedDataParallelKwargs

    training = recipe.training
    if training.threads:
        torch.set_num_threads(training.threads)
    precision = ACCELERATE_NAMES[training_precision(training)]
    # Each stage trains part of the model (no classifier in stage 1, no projections in stage 2).
    unused = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(cpu=training.device == "cpu", mixed_precision=precision, kwargs_handlers=[unused])


@dataclass(frozen=True)
class Loaders:
    """The batch loaders of the job's splits; `distill` is what the distillation stages train on: the training
    split, followed by its transfer set (rows the teacher labels: distill/transfer.py) when the recipe has one."""

    train: Any
    dev: Any
    test: Any
    distill: Any


@dataclass(frozen=True)
class JobInputs:
    """What a job reads once at its start (stages/inputs.py `read_inputs`)."""

    data: TaskData
    tokenizer: Any  # the teacher's
    loaders: Loaders
    teacher: Any  # the task teacher: fine-tuned in place by its stage when it needs to be
    teacher_key: dict[str, Any] | None  # what the fine-tuned teacher depends on, when it is cached


@dataclass(frozen=True)
class JobStudent:
    """The student with its projections, and which teacher layer each of its layers learns from."""

    model: StudentWithProjections
    mapping: LayerMapping


@dataclass
class JobContext:
    recipe: Recipe
    control: JobControl
    accelerator: Any
    run: RunFolder  # every rank knows the run folder; only the one that `writes_files` writes into it
    writes_files: bool  # the main process (rank 0); the other ranks compute and write nothing
    resume: ResumeBook
    notices: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds, in the order they ran
    runner: StageRunner = field(init=False)
    inputs: JobInputs = field(init=False)  # set once, when the job has read them
    _timed: list[Event] = field(default_factory=list)
    _student: JobStudent | None = None
    _teacher_cache: TeacherCache | None = None

    @classmethod
    def open(cls, recipe: Recipe | None, control: JobControl, resume_dir: str | Path | None) -> JobContext:
        """Seeded, with its run folder created (or reopened) and the resume state read."""
        recipe = RunFolder.open(resume_dir).recipe() if resume_dir else recipe
        # workbench.core.preflight, before a run folder exists; the data's checks follow
        notices = list(check_models(recipe).notes)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        seed_everything(recipe.training.seed)
        accelerator = make_accelerator(recipe)
        run, writes_files = _shared_run_folder(accelerator, recipe, resume_dir), accelerator.is_main_process
        try:
            resume = ResumeBook.open(resume_dir, notices.append)
            if writes_files and resume_dir:
                run.set_status("running", "resumed")
        except BaseException:
            run.close()  # the job ends here: let go of the run's lock now, not when the object is collected
            raise
        context = cls(recipe, control, accelerator, run, writes_files, resume, notices=notices)
        context.runner = StageRunner(accelerator, run if writes_files else None, run.path, control, recipe.training,
                                     lambda: resume.payload(context._student.model if context._student else None))
        return context

    # The inputs, as the stages read them.
    data = property(lambda self: self.inputs.data)
    tokenizer = property(lambda self: self.inputs.tokenizer)
    loaders = property(lambda self: self.inputs.loaders)
    teacher = property(lambda self: self.inputs.teacher)
    teacher_key = property(lambda self: self.inputs.teacher_key)

    def log(self, event: Event) -> Event:
        """Record the event in the run folder and hand it on."""
        if isinstance(event, StageStarted):
            event.run_dir = str(self.run.path)
        if self.writes_files:
            self.run.log({"time": time.time(), **event.to_dict()})
        return event

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of the job into RUN/timings.json; `timed_phases` hands the events on."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        self._timed.append(PhaseTimed(name, seconds))
        if self.writes_files:
            write_json(self.run.timings_path, {"unit": "seconds (wall clock)", "phases": self.timings,
                                               "total": sum(self.timings.values())})

    def timed_phases(self) -> list[Event]:
        timed, self._timed = self._timed, []
        return [self.log(event) for event in timed]

    def keep_in_cache(self, what: str, keep: Callable[[], T]) -> T | None:
        """Write to the teacher cache; a full or read-only cache costs later jobs the reuse, never this job its
        result: a notice, and the job goes on (what it made is in its run folder)."""
        try:
            return keep()
        except (OSError, WorkbenchError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            self.notices.append(f"could not keep {what} in the teacher cache {self.recipe.teacher_cache_dir()} "
                                f"({reason}); the job goes on without it (free space there, or set "
                                "teacher.cache_dir to a writable folder)")
            return None

    def pending_notices(self) -> list[Event]:
        notices, self.notices = self.notices, []
        return [self.log(Notice(message)) for message in notices]

    @property
    def student(self) -> StudentWithProjections:
        """The student with its projections, built on first use: before the teacher is fine-tuned when
        general distillation needs it, after otherwise (so that it copies the fine-tuned layers)."""
        return self._built_student().model

    @property
    def mapping(self) -> LayerMapping:
        """The student's layer mapping, settled with the student (built here if no stage asked for it yet)."""
        return self._built_student().mapping

    def _built_student(self) -> JobStudent:
        if self._student is None:
            self._student = build_job_student(self.recipe, self.teacher, self.data.label_names, self.resume,
                                              self.run)
        return self._student

    def teacher_cache(self) -> TeacherCache | None:
        """The one cache of the teacher's targets on the distillation set, shared by every stage that reads
        them (all train on `loaders.distill`); None when the recipe gives it no memory."""
        budget = self.recipe.distillation.teacher_cache_mb * 2**20
        if budget and self._teacher_cache is None:
            self._teacher_cache = TeacherCache(budget, self._target_store())
        return self._teacher_cache

    def _target_store(self) -> TargetStore | None:
        """The cached teacher's targets on disk, when the job distils on its plain training split (augmented
        copies and transfer sets differ from job to job) in one process (ranks would race on the files)."""
        recipe = self.recipe
        extended = recipe.distillation.augmentation.enabled or TRANSFER_SET.applies_to(recipe)
        if self.teacher_key is None or extended or self.accelerator.num_processes > 1:
            return None
        folder = kept_targets_folder(recipe, self.teacher_key)
        return TargetStore(folder) if folder else None



def build_job_student(recipe: Recipe, teacher, label_names: list[str], resume: ResumeBook, run: RunFolder
                      ) -> JobStudent:
    """The student as the recipe builds it (or as the resumed run left it: pruned shapes, saved weights), with
    its projections to the teacher's width and its layer mapping."""
    seed_everything(recipe.training.seed)  # the student's draws do not depend on what ran before
    if resume.done(PRUNING):  # resuming the recovery stage: the checkpoint holds pruned shapes
        model = load_pruned(run.pruned_student_dir, **fast_attention(teacher.config))
    else:
        model = build_student(recipe.student, teacher, label_names)
        check_attention_compatible(teacher.config, model.config, recipe.distillation.weights,
                                   recipe.mapping.attention, recipe.distillation.attention_loss)
    student = StudentWithProjections(model, family_of(teacher.config).hidden_size(teacher.config))
    if (weights := resume.student_weights()) is not None:
        student.load_state_dict(weights)
    mapping = recipe_mapping(recipe.mapping, family_of(model.config).num_layers(model.config),
                             family_of(teacher.config).num_layers(teacher.config))
    return JobStudent(student, mapping)


def _shared_run_folder(accelerator, recipe: Recipe, resume_dir: str | Path | None) -> RunFolder:
    """Rank 0 creates (or reopens) the run folder and holds its lock until the job ends (a second job on the
    same folder stops at once); every rank learns its path, only rank 0 writes."""
    from accelerate.utils import broadcast_object_list

    path, run = [None], None
    if accelerator.is_main_process:
        run = RunFolder.open(resume_dir) if resume_dir else RunFolder.create(recipe)
        run.lock()
        path[0] = str(run.path)
    if accelerator.num_processes > 1:
        broadcast_object_list(path)
    return run or RunFolder(Path(path[0]))
