"""The Search panel's live chart: candidates at their measured int8 latency (log axis) and dev accuracy, marker
size by model size, over-budget and pruned ones grey, untrained ones as grey triangles along the bottom, the
frontier joined, and the reference models as labelled vertical lines at their measured latency."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt

from workbench.core.api import COMPLETE, TrialRow
from workbench.gui.charts import pyqtgraph

pg = pyqtgraph()  # configured as every chart of the window (white background)

LIVE, GREY, FRONT, REFERENCE = "#1e88e5", "#bdbdbd", "#1e88e5", "#757575"


class FrontierPlot(pg.PlotWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setLogMode(x=True, y=False)
        self.setLabel("bottom", "measured int8 latency (ms, log scale)")
        self.setLabel("left", "dev accuracy")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.addLegend(offset=(-10, -10))
        self.scatter = pg.ScatterPlotItem(name="trained candidates (grey: over budget or pruned)")
        self.untrained = pg.ScatterPlotItem(name="measured, not trained (over budget)", symbol="t",
                                            brush=GREY, pen=None, size=10)
        self.frontier = pg.PlotDataItem(pen=pg.mkPen(FRONT, width=2), name="frontier")
        for item in (self.scatter, self.untrained, self.frontier):
            self.addItem(item)
        self.reference_lines: list[pg.InfiniteLine] = []

    def show_rows(self, rows: list[TrialRow], references: dict[str, dict[str, Any]]) -> None:
        """Redraw from rows whose over_budget and on_frontier flags the core has set."""
        trained = [r for r in rows if r.dev_accuracy is not None and r.latency_ms]
        untrained = [r for r in rows if r.dev_accuracy is None and r.latency_ms]
        largest = max((r.size_mib for r in rows if r.size_mib), default=1.0) or 1.0
        self.scatter.setData([{
            "pos": (math.log10(r.latency_ms), r.dev_accuracy), "size": 8 + 22 * (r.size_mib or 0) / largest,
            "brush": pg.mkBrush(LIVE if r.state == COMPLETE and not r.over_budget else GREY),
            "pen": pg.mkPen("#212121", width=2) if r.on_frontier else pg.mkPen(None), "data": r.number}
            for r in trained])
        floor = min((r.dev_accuracy for r in trained), default=0.0) - 0.02
        self.untrained.setData([math.log10(r.latency_ms) for r in untrained], [floor] * len(untrained))
        front = sorted((r for r in trained if r.on_frontier), key=lambda r: r.latency_ms)
        # PlotDataItem takes the log itself in log mode; scatter points and lines are placed in view (log) units.
        self.frontier.setData([r.latency_ms for r in front], [r.dev_accuracy for r in front])
        self._show_references(references)
        # The view's own auto-range would include the reference lines' labels; accuracies set the y range.
        accuracies = [r.dev_accuracy for r in trained] or [0.5]
        self.setYRange(max(0.0, min(accuracies) - 0.06), min(1.0, max(accuracies) + 0.04), padding=0)
        latencies = [r.latency_ms for r in rows if r.latency_ms] + [m["latency_ms"] for m in references.values()]
        if latencies:  # room on the right for the slowest reference's label
            low, high = math.log10(min(latencies)) - 0.15, math.log10(max(latencies)) + 0.6
            self.setXRange(low, high, padding=0)
            # Labels at 1-2-5 steps: the log axis's own minor labels (2·10¹ 3·10¹ ...) ran into each other.
            steps = [m * 10.0**e for e in range(math.floor(low), math.ceil(high) + 1) for m in (1, 2, 5)]
            ticks = [(math.log10(v), f"{v:g}") for v in steps if low <= math.log10(v) <= high]
            self.getAxis("bottom").setTicks([ticks])

    def _show_references(self, references: dict[str, dict[str, Any]]) -> None:
        for line in self.reference_lines:
            self.removeItem(line)
        self.reference_lines = []
        for index, (name, model) in enumerate(references.items()):
            # Labels at staggered heights, so that lines close together keep readable names.
            line = pg.InfiniteLine(pos=math.log10(model["latency_ms"]), angle=90,
                                   pen=pg.mkPen(REFERENCE, style=Qt.PenStyle.DashLine),
                                   label=f"{name}\n{model['latency_ms']:.2f} ms",
                                   labelOpts={"position": 0.92 - 0.12 * index, "color": REFERENCE,
                                              "anchors": [(0, 0.5), (0, 0.5)]})
            self.addItem(line)
            self.reference_lines.append(line)
