"""The numbers behind the live plots, collected from job events or a run's metrics.jsonl (Qt-free).

Every stage gets its own stretch of one global step axis, so a whole job reads left to right: teacher
fine-tuning, then intermediate-layer and prediction-layer distillation. Each loss component is its own curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.events import Event

LOSS, LR, ACCURACY, THROUGHPUT = "loss", "learning rate", "dev accuracy", "throughput"
CHARTS = (LOSS, LR, ACCURACY, THROUGHPUT)
TEACHER_STAGE, INTERMEDIATE_STAGE = "teacher_finetune", "intermediate"
COMPONENT_NAMES = {"hard_label": "hard label"}
# The intermediate stage trains the layers, not the classifier: the student's dev accuracy there is a
# by-product, drawn apart (dashed, grey) so that nobody reads it as a result.
UNTRAINED_HEAD = "student (dev, head not trained yet)"


def accuracy_curve(stage: str, split: str) -> str:
    if stage == TEACHER_STAGE:
        return f"teacher ({split})"
    return UNTRAINED_HEAD if stage == INTERMEDIATE_STAGE else f"student ({split})"


def curve_name(stage: str, component: str) -> str:
    """The teacher's fine-tuning loss is not a student component, so it gets a curve of its own."""
    if stage == TEACHER_STAGE:
        return "teacher loss"
    return COMPONENT_NAMES.get(component, component)


@dataclass
class Series:
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def append(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)


class Curves:
    def __init__(self) -> None:
        self.charts: dict[str, dict[str, Series]] = {chart: {} for chart in CHARTS}
        self.stage_starts: list[tuple[float, str]] = []
        self.steps_logged = 0
        self.version = 0  # bumped on every change, so a throttled redraw knows whether to draw
        self.chart_versions = dict.fromkeys(CHARTS, 0)  # the same per chart: redraw only what changed
        self._offsets: dict[str, int] = {}
        self._next_offset = 0

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> Curves:
        curves = cls()
        for record in records:
            curves.add(record)
        return curves

    @property
    def x_extent(self) -> float:
        """The end of the last stage started: the step axis can span it at once instead of growing each step."""
        return float(self._next_offset)

    def series(self, chart: str, curve: str) -> Series:
        self.chart_versions[chart] += 1
        self.version += 1
        return self.charts[chart].setdefault(curve, Series())

    def add(self, event: Event | dict[str, Any]) -> None:
        record = event.to_dict() if isinstance(event, Event) else event
        kind = record.get("event")
        if kind == "StageStarted":
            self._stage_started(record["stage"], int(record["total_steps"]))
            for chart in CHARTS:  # the stage markers and the axis extent changed everywhere
                self.chart_versions[chart] += 1
        elif kind == "Step":
            x = self._x(record["stage"], record["step"])
            for component, value in record["losses"].items():
                if record["stage"] == TEACHER_STAGE and component != "total":
                    continue  # the teacher's total is its only loss; one curve for it
                self.series(LOSS, curve_name(record["stage"], component)).append(x, float(value))
            self.series(LR, "learning rate").append(x, float(record["lr"]))
            self.series(THROUGHPUT, "examples/s").append(x, float(record["examples_per_s"]))
            self.steps_logged += 1
        elif kind == "Evaluation" and "accuracy" in record.get("metrics", {}):
            x = self._x(record["stage"], record["step"])
            self.series(ACCURACY, accuracy_curve(record["stage"], record.get("split", "dev"))).append(
                x, record["metrics"]["accuracy"])
        else:
            return
        self.version += 1

    def _stage_started(self, stage: str, total: int) -> None:
        if stage in self._offsets:  # a resumed stage continues where it was
            return
        self._offsets[stage] = self._next_offset
        self.stage_starts.append((float(self._next_offset), stage))
        self._next_offset += total

    def _x(self, stage: str, step: int) -> float:
        if stage not in self._offsets:
            self._stage_started(stage, step)
        return float(self._offsets[stage] + step)

    def points(self, chart: str, curve: str) -> int:
        series = self.charts[chart].get(curve)
        return len(series.x) if series else 0
