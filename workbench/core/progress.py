"""A running job's progress as people read it: one progress bar per stage with loss, speed and ETA on the
command line (`follow`), and the stage clock both views share, which leaves paused time out (`StageClock`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from workbench.core.events import (
    ArtifactWritten,
    Evaluation,
    Event,
    Failed,
    Finished,
    Notice,
    StageFinished,
    StageStarted,
    Step,
    describe,
)

# Events printed as a line; stages and steps are the progress bar's.
LINE_EVENTS = (Evaluation, StageFinished, ArtifactWritten, Notice)


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
        if isinstance(event, LINE_EVENTS):
            _write(bar, stream, describe(event))
    return last


def _write(bar, stream, line: str) -> None:
    if bar is not None:
        bar.write(line, file=stream)
    else:
        print(line, file=stream)
