"""A running job's progress as people read it: one progress bar per stage with loss, speed and ETA on the
command line (`follow`), and the stage clock both views share, which leaves paused time out (`StageClock`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from workbench.core.events import (
    OUTSIDE_TRAINING,
    ArtifactWritten,
    Evaluation,
    Event,
    Failed,
    Finished,
    JobPlanned,
    Notice,
    PhaseStarted,
    StageFinished,
    StageStarted,
    Step,
    describe,
)

# Events printed as a line; stages and steps are the progress bar's.
LINE_EVENTS = (Evaluation, StageFinished, ArtifactWritten, Notice, PhaseStarted)


class StageClock:
    """The active time of the current stage: wall time since it started minus the time the job was paused,
    so that a pause neither stretches the stage's time nor inflates its ETA."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.start(0)

    def start(self, first_step: int) -> None:
        self.first_step = first_step
        self._started, self._paused_total, self._paused_since = self._now(), 0.0, None

    def set_paused(self, paused: bool) -> None:
        """Say whether the job is paused now; repeating the same state changes nothing."""
        if paused and self._paused_since is None:
            self._paused_since = self._now()
        elif not paused and self._paused_since is not None:
            self._paused_total += self._now() - self._paused_since
            self._paused_since = None

    def active_seconds(self) -> float:
        now = self._now()
        pausing = now - self._paused_since if self._paused_since is not None else 0.0
        return now - self._started - self._paused_total - pausing

    def eta_seconds(self, step: int, total: int) -> float:
        """The rest of the stage at the active pace so far (0 until a step is done)."""
        done = step - self.first_step
        return (total - step) * self.active_seconds() / done if done > 0 else 0.0


class JobProgress:
    """The whole job's progress and ETA from its events. Its length is the plan's (JobPlanned: every phase in
    training steps, export and benchmark included); its pace is the active seconds per step so far (pauses
    left out), counting only work done in this sitting (a resumed job's finished stages took no time here)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.clock = StageClock(now)
        self.plan: dict[str, float] = {}
        self.phase: str | None = None
        self._done = self._measured = 0.0  # steps of finished phases: all of them / those timed here
        self._steps = self._first_step = 0  # the current training stage's step, and where this sitting began
        self._phase_began = 0.0  # active seconds at the current phase's start

    def add(self, event: Event) -> None:
        if isinstance(event, JobPlanned):
            self.plan, self._done, self._measured, self.phase = dict(event.phases), 0.0, 0.0, None
            self.clock.start(0)
        elif isinstance(event, PhaseStarted) and event.phase in self.plan:
            self._close_phase()
            self.phase, self._steps, self._first_step = event.phase, 0, 0
            self._phase_began = self.clock.active_seconds()
        elif isinstance(event, StageStarted):
            self._steps = self._first_step = event.resumed_at_step
        elif isinstance(event, Step):
            self._steps = event.step

    def _close_phase(self) -> None:
        if self.phase is None:
            return
        planned = self.plan[self.phase]
        self._done += planned
        self._measured += planned if self.phase in OUTSIDE_TRAINING else self._steps - self._first_step

    @property
    def total(self) -> float:
        return sum(self.plan.values())

    def fraction(self) -> float:
        current = min(self._steps, self.plan.get(self.phase, 0)) if self.phase else 0
        return min(1.0, (self._done + current) / self.total) if self.total else 0.0

    def eta_seconds(self) -> float | None:
        """The rest of the job at this sitting's pace; None until a step has been timed. Inside export or the
        benchmark (no steps to count) the pace is the one at its start, and its time so far is taken off."""
        now, left = self.clock.active_seconds(), (1 - self.fraction()) * self.total
        if self.phase in OUTSIDE_TRAINING:
            pace = self._phase_began / self._measured if self._measured > 0 else None
            return None if pace is None else max(0.0, left * pace - (now - self._phase_began))
        measured = self._measured + self._steps - self._first_step
        return left * now / measured if measured > 0 else None


def follow(events: Iterable[Event], stream: TextIO | None = None) -> Event | None:
    """Print a job's events as progress bars and lines; return the last event (Finished or Failed)."""
    from tqdm import tqdm

    stream = stream or sys.stderr  # looked up per call: sys.stderr may have been replaced since import

    bar = None
    last = None
    for event in events:
        last = event
        if isinstance(event, StageStarted):
            bar = tqdm(total=event.total_steps, initial=event.resumed_at_step, desc=event.stage, unit="step",
                       file=stream, dynamic_ncols=True)
        elif isinstance(event, Step) and bar is not None:
            bar.update(event.step - bar.n)
            bar.set_postfix(loss=f"{event.losses['total']:.4f}", ex_s=f"{event.examples_per_s:.0f}")
        elif isinstance(event, Finished | Failed | StageFinished) and bar is not None:
            bar.close()
            bar = None
        line = describe(event) if isinstance(event, LINE_EVENTS) else None
        if line:  # a training stage's PhaseStarted has none: its bar says it
            _write(bar, stream, line)
    return last


def _write(bar, stream, line: str) -> None:
    if bar is not None:
        bar.write(line, file=stream)
    else:
        print(line, file=stream)
