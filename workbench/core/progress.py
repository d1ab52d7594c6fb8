"""The command line's view of a running job: one progress bar per stage with loss, speed and ETA."""

from __future__ import annotations

import sys
from collections.abc import Iterable
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
