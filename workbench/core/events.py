"""What a job reports while it runs. The CLI turns events into a progress bar, the window into signals.

The job is a generator of these events; `JobControl` carries the pause and cancel requests that the
loop honours between steps (the shape of transformers' Trainer callbacks and napari's generator workers).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Event:
    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}

    @staticmethod
    def from_dict(record: dict[str, Any]) -> Event | None:
        """The event a `to_dict` record (a metrics.jsonl line) was written from, or None for a record of
        another kind or of another version of the workbench; so a reopened run replays like a live one."""
        kind = _KINDS.get(str(record.get("event")))
        if kind is None:
            return None
        names = {f.name for f in fields(kind)}
        try:
            return kind(**{key: value for key, value in record.items() if key in names})
        except TypeError:
            return None


@dataclass
class StageStarted(Event):
    stage: str
    total_steps: int
    epochs: float
    resumed_at_step: int = 0
    run_dir: str = ""  # set by the job, so that a window can name the run before it writes anything into it


@dataclass
class Step(Event):
    stage: str
    step: int
    total_steps: int
    epoch: float
    losses: dict[str, float]
    lr: float
    examples_per_s: float


@dataclass
class Evaluation(Event):
    stage: str
    step: int
    epoch: float
    split: str
    metrics: dict[str, Any]


@dataclass
class CheckpointSaved(Event):
    stage: str
    step: int
    path: str


@dataclass
class ArtifactWritten(Event):
    name: str
    path: str


@dataclass
class Notice(Event):
    """Something the user must see that does not stop the job, e.g. an artifact that failed its parity check."""

    message: str
    level: str = "warning"


@dataclass
class StageFinished(Event):
    stage: str
    seconds: float
    examples_per_s: float


@dataclass
class Finished(Event):
    run_dir: str
    status: str  # "finished" | "cancelled"
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failed(Event):
    run_dir: str
    message: str


@dataclass
class PhaseTimed(Event):
    """One phase of the job took this long: a training stage, or work outside them (reading, export...)."""

    phase: str
    seconds: float


@dataclass
class JobPlanned(Event):
    """The phases the job will run, in order, each with its rough length in training steps (stages/plan.py):
    one progress and one ETA for the whole job, export and benchmark included."""

    phases: dict[str, float]


@dataclass
class PhaseStarted(Event):
    """A phase of the job begins: a training stage (its StageStarted and Steps follow), or scoring, export or
    the benchmark, which report no steps."""

    phase: str


_KINDS: dict[str, type[Event]] = {kind.__name__: kind for kind in (
    StageStarted, Step, Evaluation, CheckpointSaved, ArtifactWritten, Notice, StageFinished, Finished, Failed,
    PhaseTimed, JobPlanned, PhaseStarted)}


def describe(event: Event) -> str | None:
    """One log line for an event worth a line; the window's log and the command line both print these."""
    if isinstance(event, StageStarted):
        resumed = f", resumed at step {event.resumed_at_step}" if event.resumed_at_step else ""
        return f"▶ {event.stage}: {event.total_steps} steps ({event.epochs:g} epochs{resumed})"
    if isinstance(event, Step):
        losses = "  ".join(f"{k} {v:.4f}" for k, v in event.losses.items())
        return f"  {event.stage} step {event.step}/{event.total_steps}  {losses}  lr {event.lr:.2e}"
    if isinstance(event, Evaluation):
        return (f"✓ {event.stage} epoch {event.epoch:.2f}: {event.split} accuracy {event.metrics['accuracy']:.4f}, "
                f"macro-F1 {event.metrics.get('macro_f1', 0):.4f}")
    if isinstance(event, CheckpointSaved):
        return f"  checkpoint at {event.stage} step {event.step}"
    if isinstance(event, ArtifactWritten):
        return f"  wrote {event.name}: {event.path}"
    if isinstance(event, StageFinished):
        return f"■ {event.stage}: {event.seconds:.0f} s, {event.examples_per_s:.1f} examples/s"
    if isinstance(event, Notice):
        return f"⚠ {event.message}"
    if isinstance(event, PhaseStarted) and event.phase in OUTSIDE_TRAINING:
        return f"▶ {event.phase}"
    if isinstance(event, PhaseTimed):
        return f"  ◷ {event.phase}: {event.seconds:.1f} s"  # ⏱ has no glyph in common fonts
    if isinstance(event, Finished):
        return f"● {event.status}: {event.run_dir}"
    if isinstance(event, Failed):
        return f"✗ failed: {event.message}"
    return None


OUTSIDE_TRAINING = ("scoring", "export", "benchmark")  # phases with no StageStarted line of their own


class JobCancelled(Exception):
    """Raised inside the loop when a cancel request is honoured (after a checkpoint is written)."""


class JobControl:
    """Pause / resume / cancel requests, safe to set from another thread."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused job must wake up to stop

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; return the seconds waited, which stage time and throughput leave out."""
        if self._running.is_set():
            return 0.0
        began = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - began

    def raise_if_cancelled(self, stage: str) -> None:
        """Where a stage can stop between two pieces of work: end the job there when a cancel was asked."""
        self.wait_while_paused()
        if self.cancelled:
            raise JobCancelled(stage)
