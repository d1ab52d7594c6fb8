"""The Runs panel's trade-off chart: each listed run's int8 student as a point (batch-1 latency against test
accuracy) with the Pareto frontier drawn through the runs that no other run beats on both."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt

from workbench.gui.charts import PALETTE, ChartCard, pyqtgraph


@dataclass(frozen=True)
class Point:
    name: str
    latency_ms: float
    accuracy: float


def frontier(points: list[Point]) -> list[Point]:
    """The points no other point beats on both (faster or as fast, and more or as accurate), fastest first."""
    best: list[Point] = []
    for point in sorted(points, key=lambda p: (p.latency_ms, -p.accuracy)):
        if not best or point.accuracy > best[-1].accuracy:
            best.append(point)
    return best


class ParetoCard(ChartCard):
    def __init__(self) -> None:
        super().__init__("Trade-off: latency vs test accuracy", "test accuracy", x_label="latency, batch 1 (ms)")
        self.points: list[Point] = []
        self.front: list[Point] = []
        self._items: list = []

    def set_points(self, points: list[Point], empty_reason: str | None = None) -> None:
        placeholder = None if points else empty_reason or "no benchmarked runs yet (every job measures speed last)"
        if not self.built and not points:
            self.set_placeholder(placeholder)
            return
        pg = pyqtgraph()
        for item in self._items:
            self.plot_item.removeItem(item)
        self._items = []
        self.legend.clear()
        self.points, self.front = list(points), frontier(points)
        if len(self.front) > 1:
            line = self.plot_item.plot([p.latency_ms for p in self.front], [p.accuracy for p in self.front],
                                       pen=pg.mkPen("#9e9e9e", width=1.5, style=Qt.PenStyle.DashLine))
            self.legend.addItem(line, "Pareto frontier")
            self._items.append(line)
        on_front = {p.name for p in self.front}
        middle = (min(p.latency_ms for p in points) + max(p.latency_ms for p in points)) / 2 if points else 0
        for index, point in enumerate(self.points):
            colour = PALETTE[index % len(PALETTE)]
            dot = self.plot_item.plot([point.latency_ms], [point.accuracy], pen=None, symbol="o",
                                      symbolSize=12 if point.name in on_front else 8, symbolBrush=colour,
                                      symbolPen=pg.mkPen("#212121" if point.name in on_front else colour))
            # Names of the slower half read leftwards from their point, so that none runs off the chart.
            label = pg.TextItem(point.name, color="#424242", anchor=(1 if point.latency_ms >= middle else 0, 1))
            label.setPos(point.latency_ms, point.accuracy)
            self.plot_item.addItem(label)
            self._items += [dot, label]
        if points:
            self._fit(points)
        self.set_placeholder(placeholder)

    def _fit(self, points: list[Point]) -> None:
        """Latency from 0, and at least 5 points of accuracy: auto-range around one run (or runs of equal
        accuracy) zooms into rounding noise and negative latencies."""
        accuracies = [p.accuracy for p in points]
        middle = (max(accuracies) + min(accuracies)) / 2
        half = max(0.025, (max(accuracies) - min(accuracies)) * 0.6)
        self.plot_item.getAxis("bottom").enableAutoSIPrefix(False)  # milliseconds stay ms, never "(x0.001)"
        self.plot_item.setXRange(0, max(p.latency_ms for p in points) * 1.15, padding=0)
        self.plot_item.setYRange(middle - half, middle + half, padding=0)
