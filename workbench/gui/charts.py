"""Chart cards: a titled pyqtgraph plot with a legend, exportable as PNG / SVG and copyable for slides.

Cards never redraw on their own: the panel that owns them pushes data at most ~10 times a second, so a
fast training loop never waits on painting. A card builds its plot when it first paints or gets data:
importing pyqtgraph takes a sixth of the launch, and the window's first paint does not wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QImage
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import COMPONENT_COLOURS, PALETTE, TEACHER_GREY
from workbench.gui.curves import COMPONENT_NAMES, UNTRAINED_HEAD, Series

_configured = False

# Fixed colours per curve name, so a component looks the same in every chart and every run: the core's
# (workbench.core.palette, the report's too) under the names the curves carry, then the window's own curves.
COLOURS = {COMPONENT_NAMES.get(name, name): colour for name, colour in COMPONENT_COLOURS.items()} | {
    "teacher loss": TEACHER_GREY, "learning rate": "#3949ab", "examples/s": "#00897b", "teacher (dev)": TEACHER_GREY,
    "student (dev)": "#e53935", "teacher": TEACHER_GREY, "student fp32": "#1e88e5", "student int8": "#43a047",
    UNTRAINED_HEAD: "#bdbdbd",
}
DASHED = {UNTRAINED_HEAD}  # curves that are no result: drawn dashed


def colour_for(name: str, index: int) -> str:
    return COLOURS.get(name, PALETTE[index % len(PALETTE)])


def pyqtgraph():
    """pyqtgraph, configured on first use."""
    global _configured
    import pyqtgraph as pg

    if not _configured:
        from workbench.gui import svg_compat

        pg.setConfigOptions(background="w", foreground="#333", antialias=True)
        svg_compat.install()
        _configured = True
    return pg


MIN_ACCURACY_SPAN = 0.1  # an accuracy axis at least this wide: 0.570–0.580 makes one step look like a cliff


def fraction_range(values: Sequence[float], span: float = MIN_ACCURACY_SPAN) -> tuple[float, float]:
    """An axis range for fractions (accuracies) around `values`, at least `span` wide and inside [0, 1]."""
    low, high = min(values), max(values)
    if high - low >= span:
        return low, high
    low = max(0.0, (low + high) / 2 - span / 2)
    high = min(1.0, low + span)
    return high - span, high


class ChartCard(QFrame):
    """One chart: header with title and export buttons, a pyqtgraph plot with a legend."""

    def __init__(self, title: str, y_label: str, x_label: str = "step", log_y: bool = False,
                 parent: QWidget | None = None, fraction_y: bool = False) -> None:
        super().__init__(parent)
        self.title = title
        self.fraction_y = fraction_y  # the y axis shows fractions (accuracy): a sensible least span
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._axes = (y_label, x_label, log_y)
        self._plot_widget: Any = None  # built by _build
        self.curves: dict[str, Any] = {}  # name -> pg.PlotDataItem
        self.markers: list[Any] = []  # pg.InfiniteLine per stage start
        self._x_end = 0.0
        self._placeholder_text: str | None = "no data yet"
        self._area = QWidget()
        QVBoxLayout(self._area).setContentsMargins(0, 0, 0, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(2)
        header = QHBoxLayout()
        label = QLabel(title)
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
        header.addWidget(label)
        header.addStretch(1)
        for text, tip, slot in (
            ("PNG", "Save this chart as a PNG image", self.save_png_dialog),
            ("SVG", "Save this chart as an SVG drawing", self.save_svg_dialog),
            ("Copy", "Copy this chart to the clipboard as an image", self.copy_to_clipboard),
        ):
            button = QToolButton(text=text, toolTip=tip, autoRaise=True)
            button.clicked.connect(slot)
            header.addWidget(button)
        layout.addLayout(header)
        layout.addWidget(self._area, 1)

    # -- the plot, built on first use ------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self._plot_widget is not None

    @property
    def plot_widget(self):
        self._build()
        return self._plot_widget

    @property
    def plot_item(self):
        self._build()
        return self._plot_item

    @property
    def legend(self):
        self._build()
        return self._legend

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if not self.built:
            QTimer.singleShot(0, self._build)  # right after this paint, not before it

    def _build(self) -> None:
        if self.built:
            return
        pg = pyqtgraph()
        from workbench.gui.log_axis import LogAxis

        y_label, x_label, log_y = self._axes
        # The legend sits in its own row above the plot, never over the curves: a loss curve near the top of
        # its axis would otherwise disappear under it.
        widget = pg.GraphicsLayoutWidget()
        self._legend = pg.LegendItem(colCount=4, labelTextSize="8pt", horSpacing=14, verSpacing=-6)
        widget.addItem(self._legend, row=0, col=0)
        plot = widget.addPlot(row=1, col=0, axisItems={"left": LogAxis("left")} if log_y else None)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("left", y_label)
        plot.setLabel("bottom", x_label)
        plot.setLogMode(y=log_y)
        # Accuracy in [0, 1] and rates around 1e-4 read better as they are than as "x0.001" multiples.
        plot.getAxis("left").enableAutoSIPrefix(False)
        # A label over the plot, not a plot item: it must stay centred whatever the axes show.
        self._placeholder = QLabel(widget)
        self._placeholder.setStyleSheet("color: #9e9e9e; background: transparent;")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)  # a reason ("no run passed its checks: …") can be a sentence
        self._plot_widget, self._plot_item = widget, plot
        widget.installEventFilter(self)
        self._area.layout().addWidget(widget)
        self._configure_plot()
        self.set_placeholder(self._placeholder_text)

    def _configure_plot(self) -> None:
        """What a kind of card changes in its plot once it is built."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._plot_widget and event.type() == QEvent.Type.Resize:
            self._placeholder.setGeometry(0, 0, watched.width(), watched.height())
        return super().eventFilter(watched, event)

    def set_placeholder(self, text: str | None) -> None:
        """A grey line over an empty chart: why it is empty ("no data yet", "not exported yet")."""
        self._placeholder_text = text
        if self.built:
            self._placeholder.setText(text or "")
            self._placeholder.setVisible(bool(text))

    # -- data ------------------------------------------------------------------------------------------------

    def set_curves(self, curves: dict[str, Series], symbols: bool = False) -> None:
        """Create or update one labelled curve per series; unchanged series are left alone."""
        if not self.built and not any(len(s.x) for s in curves.values()):
            self.set_placeholder("no data yet")
            return
        pg = pyqtgraph()
        for name, series in curves.items():
            item = self.curves.get(name)
            if item is None:
                colour = colour_for(name, len(self.curves))
                pen = pg.mkPen(colour, width=2.5 if name == "total" else 1.6,
                               style=Qt.PenStyle.DashLine if name in DASHED else Qt.PenStyle.SolidLine)
                options = {"symbol": "o", "symbolSize": 6, "symbolBrush": colour, "symbolPen": None} if symbols else {}
                item = self.plot_item.plot([], [], pen=pen, **options)
                self.legend.addItem(item, name)
                self.curves[name] = item
                # As many columns as fit: long names (run folders) get one a row rather than a legend wider
                # than the chart, which would push the plot out of view.
                longest = max(len(n) for n in self.curves)
                self.legend.setColumnCount(max(1, min(4, 64 // max(longest, 1))))
            if item.xData is None or len(item.xData) != len(series.x):
                item.setData(list(series.x), list(series.y))
        values = [y for series in curves.values() for y in series.y]
        if self.fraction_y and values:
            self.plot_item.setYRange(*fraction_range(values), padding=0.05)
        self.set_placeholder(None if values else "no data yet")

    def set_markers(self, starts: Sequence[tuple[float, str]]) -> None:
        """Vertical lines where each stage begins, labelled with the stage."""
        if len(starts) == len(self.markers):
            return
        pg = pyqtgraph()
        for line in self.markers:
            self.plot_item.removeItem(line)
        self.markers = []
        for index, (x, stage) in enumerate(starts):
            # Stages that start close together ("teacher finetune", "intermediate") would write over each other
            # on one line: their labels step down the chart in turn.
            line = pg.InfiniteLine(x, angle=90, pen=pg.mkPen("#bdbdbd", style=Qt.PenStyle.DashLine),
                                   label=stage.replace("_", " "),
                                   labelOpts={"position": 0.95 - 0.09 * (index % 3), "color": "#757575",
                                              "anchors": [(0, 0), (0, 0)]})
            self.plot_item.addItem(line)  # in the bounds, so that every stage's label is on the chart
            self.markers.append(line)

    def set_x_extent(self, end: float) -> None:
        """Span the step axis to the end of the current stage: a fixed axis is not re-laid-out at every new
        point, which is most of what a live redraw costs in pyqtgraph."""
        if end > 0 and end != self._x_end:
            self._x_end = end
            self.plot_item.setXRange(0, end, padding=0.02)

    def clear(self) -> None:
        if not self.built:
            self.curves.clear()
            self.set_placeholder("no data yet")
            return
        for item in self.curves.values():
            self.plot_item.removeItem(item)
        self.legend.clear()
        self.curves.clear()
        self._x_end = 0.0
        # A new job starts on fresh axes: with no data left, auto-range alone would keep the last job's view.
        self.plot_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.plot_item.enableAutoRange()
        self.set_markers([])
        self.set_placeholder("no data yet")

    def point_count(self, name: str) -> int:
        item = self.curves.get(name)
        return 0 if item is None or item.xData is None else len(item.xData)

    # -- export ----------------------------------------------------------------------------------------------

    def _export_target(self):
        return self.plot_widget.scene()  # plot and legend row together

    def image(self) -> QImage:
        from pyqtgraph.exporters import ImageExporter

        pyqtgraph()
        exporter = ImageExporter(self._export_target())
        exporter.parameters()["width"] = max(800, int(self.plot_widget.width()))
        return exporter.export(toBytes=True)

    def save_png(self, path: str | Path) -> Path:
        path = Path(path)
        if not self.image().save(str(path)):
            raise OSError(f"{path}: cannot write the image")
        return path

    def save_svg(self, path: str | Path) -> Path:
        from pyqtgraph.exporters import SVGExporter

        pyqtgraph()
        SVGExporter(self._export_target()).export(str(path))
        return Path(path)

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setImage(self.image())

    def _file_name(self, suffix: str) -> str:
        return self.title.lower().replace(" ", "-").replace("/", "-") + suffix

    def save_png_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save chart as PNG", self._file_name(".png"), "PNG (*.png)")
        if name:
            self.save_png(name)

    def save_svg_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save chart as SVG", self._file_name(".svg"), "SVG (*.svg)")
        if name:
            self.save_svg(name)


class BarCard(ChartCard):
    """Bars for a handful of named models, each bar labelled with its value (size, latency, accuracy)."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(title, y_label, x_label="", parent=parent)
        self._items: list = []
        self.values: dict[str, float | None] = {}

    def _configure_plot(self) -> None:
        self._plot_item.showGrid(x=False, y=True, alpha=0.2)
        self._plot_item.setMouseEnabled(x=False, y=False)
        self._legend.setVisible(False)
        self._plot_item.getAxis("bottom").setHeight(46)  # two lines of model name under each bar

    def set_bars(self, values: dict[str, float | None], fmt: str = "{:.1f}") -> None:
        pg = pyqtgraph()
        for item in self._items:
            self.plot_item.removeItem(item)
        self._items = []
        self.values = dict(values)
        names = list(values)
        present = [(i, name, value) for i, (name, value) in enumerate(values.items()) if value is not None]
        for i, name, value in present:
            bar = pg.BarGraphItem(x=[i], height=[value], width=0.6, brush=colour_for(name, i), pen=None)
            text = pg.TextItem(fmt.format(value), color="#212121", anchor=(0.5, 1.0))
            text.setPos(i, value)
            self.plot_item.addItem(bar)
            self.plot_item.addItem(text)
            self._items += [bar, text]
        for i, value in enumerate(values.values()):
            if value is None:
                missing = pg.TextItem("n/a", color="#9e9e9e", anchor=(0.5, 1.0))
                missing.setPos(i, 0)
                self.plot_item.addItem(missing)
                self._items.append(missing)
        # One word a line: four names ("teacher int8", "student fp32") run together under narrow bars.
        self.plot_item.getAxis("bottom").setTicks([[(i, name.replace(" ", "\n")) for i, name in enumerate(names)]])
        top = max([v for _, _, v in present] or [1.0])
        self.plot_item.setXRange(-0.6, len(names) - 0.4, padding=0)
        self.plot_item.setYRange(0, top * 1.2, padding=0)
        self.set_placeholder(None if present else "no figures yet")
