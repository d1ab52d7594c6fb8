"""The Runs panel's trade-off chart: each listed run's int8 student as a point (batch-1 latency against test
accuracy) with the Pareto frontier drawn through the runs that no other run beats on both, and the int8
teacher as the reference. Only the frontier's runs and the teacher are named on the chart (elided, above and
below in turn); every point names itself in a tooltip under the pointer."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt

from workbench.core.api import PALETTE, RunSummary, pareto_frontier
from workbench.gui.charts import ChartCard, fraction_range, pyqtgraph
from workbench.gui.message_label import elided

LABEL_CHARS = 22  # a run folder's name, cut in the middle: the recipe's start and the time at its end
TEACHER_COLOUR = "#616161"


@dataclass(frozen=True)
class Point:
    name: str
    latency_ms: float
    accuracy: float


def frontier(points: list[Point]) -> list[Point]:
    """The points no other point beats on both, fastest first: the core's frontier (the study's too)."""
    return pareto_frontier(points, lambda p: p.latency_ms, lambda p: p.accuracy)


def tip(point: Point) -> str:
    return f"{point.name}\n{point.latency_ms:.2f} ms, batch 1 · test accuracy {point.accuracy:.1%}"


def student_points(rows: list[RunSummary]) -> list[Point]:
    """Every listed run without a flag whose int8 student has a measured batch-1 latency and test accuracy:
    a flagged result is never drawn as a trade-off to pick."""
    return [Point(row.name, row.int8_latency_ms, row.int8_accuracy) for row in rows
            if row.int8_latency_ms is not None and row.int8_accuracy is not None and not row.flags]


def empty_reason(rows: list[RunSummary]) -> str | None:
    """Why the trade-off chart is empty though runs were benchmarked: each of them is flagged (and for what)."""
    measured = [row for row in rows if row.int8_latency_ms is not None and row.int8_accuracy is not None]
    if not measured or any(not row.flags for row in measured):
        return None
    return "No benchmarked run passed its checks, so none is drawn: each is flagged (its status says why)"


def teacher_points(rows: list[RunSummary]) -> list[Point]:
    """The int8 teachers the listed runs measured, once each (runs of one teacher measure it alike)."""
    points = {(row.teacher_int8_latency_ms, row.teacher_int8_accuracy): row.name for row in reversed(rows)
              if row.teacher_int8_latency_ms is not None and row.teacher_int8_accuracy is not None}
    return [Point(f"int8 teacher ({name})", latency, accuracy) for (latency, accuracy), name in points.items()]


class ParetoCard(ChartCard):
    def __init__(self) -> None:
        super().__init__("Trade-off of the int8 students: latency vs test accuracy", "test accuracy",
                         x_label="int8 latency, batch 1 (ms)")
        self.points: list[Point] = []
        self.teachers: list[Point] = []
        self.front: list[Point] = []
        self.labels: list = []  # the names written on the chart
        self._items: list = []

    def show_runs(self, rows: list[RunSummary]) -> None:
        self.set_points(student_points(rows), teacher_points(rows), empty_reason(rows))

    def set_points(self, points: list[Point], teachers: list[Point] | None = None,
                   empty_reason: str | None = None) -> None:
        placeholder = None if points else empty_reason or "no benchmarked runs yet (every job measures speed last)"
        if not self.built and not points:
            self.set_placeholder(placeholder)
            return
        pg = pyqtgraph()
        for item in self._items:
            self.plot_item.removeItem(item)
        self._items, self.labels = [], []
        self.legend.clear()
        self.points, self.teachers, self.front = list(points), list(teachers or []), frontier(points)
        if len(self.front) > 1:
            line = self.plot_item.plot([p.latency_ms for p in self.front], [p.accuracy for p in self.front],
                                       pen=pg.mkPen("#9e9e9e", width=1.5, style=Qt.PenStyle.DashLine))
            self.legend.addItem(line, "Pareto frontier")
            self._items.append(line)
        on_front = {p.name for p in self.front}
        spots = [{"pos": (p.latency_ms, p.accuracy), "data": p, "brush": PALETTE[i % len(PALETTE)],
                  "size": 12 if p.name in on_front else 8,
                  "pen": pg.mkPen("#212121" if p.name in on_front else PALETTE[i % len(PALETTE)])}
                 for i, p in enumerate(self.points)]
        spots += [{"pos": (t.latency_ms, t.accuracy), "data": t, "brush": TEACHER_COLOUR, "size": 14,
                   "symbol": "star", "pen": pg.mkPen(TEACHER_COLOUR)} for t in self.teachers]
        scatter = pg.ScatterPlotItem(spots=spots, hoverable=True, tip=lambda x, y, data: tip(data))
        self.plot_item.addItem(scatter)
        self._items.append(scatter)
        if self.teachers:
            self.legend.addItem(pg.ScatterPlotItem(symbol="star", brush=TEACHER_COLOUR, size=12), "int8 teacher")
        self._label([*self.front, *self.teachers[:1]], pg)
        every = self.points + self.teachers
        if every:
            self._fit(every)
        self.set_placeholder(placeholder)

    def _label(self, named: list[Point], pg) -> None:
        """Names by their points, fastest first, above and below in turn so that neighbours do not overlap;
        the slower half read leftwards so that none runs off the chart."""
        every = self.points + self.teachers
        middle = (min(p.latency_ms for p in every) + max(p.latency_ms for p in every)) / 2 if every else 0
        for index, point in enumerate(sorted(named, key=lambda p: p.latency_ms)):
            teacher = point in self.teachers
            label = pg.TextItem("int8 teacher" if teacher else elided(point.name, LABEL_CHARS),
                                color=TEACHER_COLOUR if teacher else "#424242",
                                anchor=(1 if point.latency_ms >= middle else 0, 1 if index % 2 == 0 else -0.1))
            label.setPos(point.latency_ms, point.accuracy)
            label.setToolTip(point.name)
            self.plot_item.addItem(label)
            self._items.append(label)
            self.labels.append(label)

    def _fit(self, points: list[Point]) -> None:
        """Latency from 0, and at least 10 points of accuracy: auto-range around one run (or runs of equal
        accuracy) zooms into rounding noise and negative latencies."""
        low, high = fraction_range([p.accuracy for p in points])
        self.plot_item.getAxis("bottom").enableAutoSIPrefix(False)  # milliseconds stay ms, never "(x0.001)"
        self.plot_item.setXRange(0, max(p.latency_ms for p in points) * 1.15, padding=0)
        self.plot_item.setYRange(low, high, padding=0.08)
