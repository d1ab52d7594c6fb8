"""A whole job from a recipe, as a generator of events: a declarative list of stages run in order over one
shared context. Resumable from the run folder: finished stages are skipped, an interrupted one continues
from its checkpoint (see stages/resume.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.core.compress.qat import QAT
from workbench.core.errors import WorkbenchError, shell_command
from workbench.core.events import Event, Failed, Finished, JobCancelled, JobControl, JobPlanned, PhaseStarted
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import Recipe
from workbench.core.sources.data import TaskData
from workbench.core.stages import finishing, quantization_aware, training
from workbench.core.stages.context import PRUNING, JobContext
from workbench.core.stages.inputs import FINETUNE, read_inputs
from workbench.core.stages.plan import phase_steps

# What a job imports on first use beyond torch and transformers: a few seconds, much of it C extensions
# initialising with the interpreter lock held (datasets with pandas and pyarrow above all): see
# preload_libraries.
JOB_LIBRARIES = ("datasets", "accelerate", "onnxruntime.quantization", "onnxruntime.transformers.optimizer",
                 "sympy.tensor.tensor", "torch.utils.tensorboard", "onnx", "datasets.packaged_modules.csv.csv",
                 "datasets.packaged_modules.json.json", "datasets.utils.stratify")


def preload_libraries() -> None:
    """Import what a job imports on first use. A process that must stay responsive while a job runs in one
    of its threads (the window) calls this beforehand in another: an import holds the interpreter lock for
    long stretches, and so stalls every other thread of the process."""
    for name in JOB_LIBRARIES:
        importlib.import_module(name)


@dataclass(frozen=True)
class JobStage:
    name: str
    run: Callable[[JobContext], Iterator[Event]]
    wanted: Callable[[JobContext], bool] = lambda context: True
    everywhere: bool = True  # False: only rank 0 runs it (scoring and writing artifacts)


PIPELINE = (
    # General distillation learns from the base teacher, so it comes before the teacher is fine-tuned.
    JobStage(training.GENERAL, training.general_distillation, lambda c: c.recipe.distillation.general.enabled),
    JobStage(FINETUNE, training.teacher_finetune),
    JobStage(training.INTERMEDIATE, training.intermediate_distillation),
    JobStage(training.PREDICTION, training.prediction_distillation),
    JobStage(PRUNING, training.pruning_and_recovery, training.pruning_wanted),
    JobStage(QAT, quantization_aware.quantization_aware_training, quantization_aware.qat_wanted),
    JobStage(finishing.SCORING, finishing.scoring, everywhere=False),
    JobStage(finishing.EXPORT, finishing.export, lambda c: c.recipe.quantization.enabled, everywhere=False),
    JobStage(finishing.BENCHMARK, finishing.benchmark, finishing.benchmark_wanted, everywhere=False),
)


class Job:
    """One job's run: `events()` drives it; failures end in a `Failed` event, not an exception."""

    def __init__(self, recipe: Recipe | None, control: JobControl | None = None,
                 resume_dir: str | Path | None = None, data: TaskData | None = None) -> None:
        self.recipe = recipe
        self.control = control or JobControl()
        self.resume_dir = resume_dir
        self.data = data  # the recipe's data, when the caller has just read it (the window's checked Start)
        self.context: JobContext | None = None

    def events(self) -> Iterator[Event]:
        try:
            with quiet_libraries():
                yield from self._run()
        except JobCancelled:
            self._set_status("cancelled", f"cancelled by the user; continue with {self._resume_command()}")
            yield Finished(self._run_dir(), "cancelled")
        except WorkbenchError as error:
            self._set_status("failed", str(error))
            yield Failed(self._run_dir(), str(error))
        except Exception as error:  # a bug, not the user's input: record it, keep the traceback
            self._set_status("failed", f"internal error {type(error).__name__}: {error}")
            raise
        finally:
            if self.context:
                self.context.run.close()

    def _run(self) -> Iterator[Event]:
        context = self.context = JobContext.open(self.recipe, self.control, self.resume_dir)
        yield from context.pending_notices()
        with context.phase("reading data and models"):
            context.inputs = read_inputs(context, self.data)
        yield from context.timed_phases()
        yield from context.pending_notices()  # e.g. how many rows had undecodable bytes replaced
        stages = [stage for stage in PIPELINE if (stage.everywhere or context.writes_files) and stage.wanted(context)]
        yield context.log(JobPlanned({stage.name: phase_steps(context, stage.name) for stage in stages}))
        for stage in stages:
            self.control.raise_if_cancelled(stage.name)
            yield context.log(PhaseStarted(stage.name))
            with context.phase(stage.name):
                yield from stage.run(context)
            yield from context.pending_notices()
            yield from context.timed_phases()
        if not context.writes_files:  # other ranks are done; rank 0 has scored and written
            yield Finished(str(context.run.path), "finished")
            return
        summary = finishing.job_summary(context)
        context.run.set_status("finished", "", summary=summary)
        yield context.log(Finished(str(context.run.path), "finished", summary))

    def _set_status(self, status: str, message: str) -> None:
        """Best effort: the error being reported may be the very disk that refuses this write; a status
        left at "running" then reads as interrupted once the process has ended (RunFolder.status)."""
        if self.context and self.context.writes_files:
            try:
                self.context.run.set_status(status, message)
            except (WorkbenchError, OSError):
                pass

    def _run_dir(self) -> str:
        return str(self.context.run.path) if self.context else str(self.resume_dir or "")

    def _resume_command(self) -> str:
        return f"`{shell_command('workbench', 'run', '--resume', self._run_dir())}`"


def run_job(recipe: Recipe | None, control: JobControl | None = None, resume_dir: str | Path | None = None,
            data: TaskData | None = None) -> Iterator[Event]:
    """The job's events. `data` is the recipe's data read by the caller's check just before (Checked.data), so
    that it is not read twice; the job reads it itself when it is None."""
    return Job(recipe, control, resume_dir, data).events()
