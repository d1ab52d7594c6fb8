"""Runs panel: every run folder under the output folder with its status and headline figures. Select two or
more to compare their curves; open a run's folder, show it in Training, resume it, export a report, or write its
deploy bundle or web demo."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import RunSummary, list_runs
from workbench.core.run_folder import RunFolder
from workbench.gui.background import Latest
from workbench.gui.charts import ChartCard
from workbench.gui.curves import ACCURACY, LOSS, Curves, Series
from workbench.gui.flags import AMBER, flag_lines
from workbench.gui.message_label import message_label, show_message
from workbench.gui.pareto import ParetoCard
from workbench.gui.steps import data_name
from workbench.gui.tables import rows_table

COLUMNS = ["run", "recipe", "data", "status", "teacher acc.", "student acc.", "agreement", "student size",
           "int8 size", "int8 acc.", "started"]
STATUS_COLOURS = {"finished": "#2e7d32", "cancelled": "#ef6c00", "failed": "#c62828", "running": "#1565c0"}


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def mib(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} MiB"


def row_values(row: RunSummary, status: str) -> list[str]:
    return [row.name, row.recipe, data_name(row.data), status, percent(row.teacher_accuracy),
            percent(row.student_accuracy), percent(row.agreement), mib(row.student_mib), mib(row.int8_mib),
            percent(row.int8_accuracy),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(row.started))]


class RunsPanel(QWidget):
    show_requested = Signal(str)
    resume_requested = Signal(str)
    recipe_requested = Signal(str)
    try_requested = Signal(str)
    runs_listed = Signal(list)  # RunSummary list, after every refresh

    def __init__(self, output_dir: str = "runs") -> None:
        super().__init__()
        self.output_dir = output_dir
        self.rows: list[RunSummary] = []
        self.active_run: str | None = None  # the run the window is training now: not resumable meanwhile
        self._background = Latest(self)
        self.report_path: Path | None = None
        self._stale = False

        self.heading = message_label()
        self.table = rows_table(COLUMNS, 0, QTableWidget.SelectionMode.ExtendedSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a run's date and time are at its name's end
        self.table.setWordWrap(False)  # one line a run, elided, not names broken over two
        for column, width in ((0, 190), (1, 120), (2, 120)):  # names of any length: a set width (draggable),
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)  # elided, the whole name as the tooltip
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda: self._emit_selected(self.show_requested))
        bars = self._build_action_bars()
        self._build_charts_and_layout(bars)
        self._selection_changed()

    def _build_action_bars(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        self.buttons: dict[str, QPushButton] = {}
        bars = QHBoxLayout(), QHBoxLayout()  # looking at a run / making from it: one row is wider than 1280 px
        for key, text, slot in (
            ("refresh", "Refresh", self.refresh),
            ("show", "Show in Training", lambda: self._emit_selected(self.show_requested)),
            ("try", "Try it", lambda: self._emit_selected(self.try_requested)),
            ("resume", "Resume", lambda: self._emit_selected(self.resume_requested)),
            ("recipe", "Load its recipe", lambda: self._emit_selected(self.recipe_requested)),
            ("open", "Open folder", self.open_folder),
            ("bench", "Benchmark", self.benchmark),
            ("report", "Report", self.write_report),
            ("deploy", "Deploy", self.deploy),
            ("compare", "Export comparison…", self.export_report_dialog),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            bars[key in ("bench", "report", "deploy", "compare")].addWidget(button)
        self.deploy_format = QComboBox()  # what Deploy writes: the Python bundle, or the page for a browser
        self.deploy_format.addItem("as a Python bundle", "bundle")
        self.deploy_format.addItem("as a web demo", "web")
        bars[1].insertWidget(bars[1].indexOf(self.buttons["deploy"]) + 1, self.deploy_format)
        return bars

    def _build_charts_and_layout(self, bars: tuple[QHBoxLayout, QHBoxLayout]) -> None:
        self.loss_chart = ChartCard("Compare: student total loss", "loss (log scale)", log_y=True)
        self.accuracy_chart = ChartCard("Compare: student dev accuracy", "accuracy", fraction_y=True)
        charts = QWidget()
        chart_row = QHBoxLayout(charts)
        chart_row.setContentsMargins(0, 0, 0, 0)
        chart_row.addWidget(self.loss_chart)
        chart_row.addWidget(self.accuracy_chart)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.heading)
        for bar in bars:
            bar.addStretch(1)
            top_layout.addLayout(bar)
        # The runs table with the trade-off chart of every listed run beside it (not below: three charts in a
        # row would make the panel wider than a 1280-pixel screen).
        self.pareto_chart = ParetoCard()
        row = QHBoxLayout()
        row.addWidget(self.table, 3)
        row.addWidget(self.pareto_chart, 2)
        top_layout.addLayout(row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(charts)
        splitter.setSizes([330, 330])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # -- listing ---------------------------------------------------------------------------------------------

    def set_output_dir(self, output_dir: str) -> None:
        if output_dir != self.output_dir:
            self.output_dir = output_dir
            self.refresh()

    def request_refresh(self) -> None:
        """Refresh now if the panel is on screen, else when it is next shown: listing reads every run's files,
        which a training job writing checkpoints can make slow, and the GUI thread must not wait on disks."""
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        selected = set(self.selected_paths())
        self.rows = list_runs(self.output_dir)
        self.heading.setText(f"<b>{len(self.rows)} run(s)</b> in {html.escape(str(Path(self.output_dir).resolve()))}"
                             " — select two or more to compare them")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            status = "running here" if row.path == self.active_run else row.status
            for column, value in enumerate(row_values(row, status)):
                item = QTableWidgetItem(value)
                item.setToolTip(row.data if column == 2 else value)
                if column == 3:  # a finished run with flags reads amber, never a green success
                    flagged = row.status == "finished" and row.flags
                    item.setText(f"{value} ⚠" if flagged else value)
                    item.setForeground(_brush(AMBER if flagged else STATUS_COLOURS.get(row.status, "#424242")))
                    item.setToolTip(flag_lines(row.flags) if flagged else row.message)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, row.path)
                self.table.setItem(index, column, item)
            if row.path in selected:
                self.table.selectRow(index)
        self.table.blockSignals(False)
        self.pareto_chart.show_runs(self.rows)
        self._selection_changed()
        self.runs_listed.emit(list(self.rows))

    def select_run(self, path: str) -> None:
        for index, row in enumerate(self.rows):
            if Path(row.path).resolve() == Path(path).resolve():
                self.table.selectRow(index)

    def selected_paths(self) -> list[str]:
        model = self.table.selectionModel()
        rows = sorted({index.row() for index in model.selectedRows()}) if model else []
        return [self.rows[r].path for r in rows if r < len(self.rows)]

    def _selected_rows(self) -> list[RunSummary]:
        paths = set(self.selected_paths())
        return [row for row in self.rows if row.path in paths]

    def _emit_selected(self, signal) -> None:
        paths = self.selected_paths()
        if paths:
            signal.emit(paths[0])

    def _selection_changed(self) -> None:
        rows = self._selected_rows()
        one = len(rows) == 1
        for key in ("show", "recipe", "open"):
            self.buttons[key].setEnabled(one)
        self.buttons["try"].setEnabled(one and rows[0].has_student)
        self.buttons["resume"].setEnabled(one and rows[0].resumable and rows[0].path != self.active_run)
        idle = not self._background.busy
        self.buttons["report"].setEnabled(one and idle)
        self.buttons["bench"].setEnabled(one and idle and rows[0].has_student and rows[0].path != self.active_run)
        self.buttons["deploy"].setEnabled(one and idle and rows[0].status == "finished")
        self.buttons["compare"].setEnabled(bool(rows))
        self._compare(rows)

    # -- comparing -------------------------------------------------------------------------------------------

    def _compare(self, rows: list[RunSummary]) -> None:
        loss: dict[str, Series] = {}
        accuracy: dict[str, Series] = {}
        for row in rows:
            curves = Curves.from_records(RunFolder(Path(row.path)).metrics())
            loss[row.name] = curves.charts[LOSS].get("total", Series())
            accuracy[row.name] = curves.charts[ACCURACY].get("student (dev)", Series())
        for chart, series in ((self.loss_chart, loss), (self.accuracy_chart, accuracy)):
            chart.clear()
            chart.set_curves(series, symbols=chart is self.accuracy_chart)
            if not rows:
                chart.set_placeholder("select runs above to compare them")

    # -- actions ---------------------------------------------------------------------------------------------

    def open_folder(self) -> None:
        for path in self.selected_paths()[:1]:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).resolve())))

    def write_report(self, open_it: bool = True) -> None:
        """The core's report of one run (RUN/report/index.html with its charts), written in the background."""
        def write(path: str) -> Path:
            from workbench.core.api import write_report

            return write_report(path)

        def done(path: Path) -> None:
            self.report_path = path
            self.heading.setText(f"Report written: {html.escape(str(path))}")
            self._selection_changed()
            if open_it:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        self._run_on_selected("report", "Writing the report of {name}…", write, done, "report not written")

    def benchmark(self) -> None:
        """The core's benchmark of one run (RUN/bench.json): latency, size and test accuracy of every model,
        the int8 student included; the try-it panel and the report read it."""
        def bench(path: str) -> str:
            from workbench.core.api import benchmark_run

            benchmark_run(path)
            return path

        def done(path: str) -> None:
            self.refresh()
            self.heading.setText(f"Benchmark written: {html.escape(str(RunFolder(Path(path)).bench_path))}")

        self._run_on_selected("bench", "Benchmarking {name} (exports first if needed; this takes minutes)…",
                              bench, done, "benchmark failed")

    def deploy(self) -> None:
        """The core's deploy bundle of one run, written to RUN/deploy: the int8 student with its tokenizer,
        labels, model card and a predict.py that needs only onnxruntime, tokenizers and numpy; or its web demo,
        written to RUN/web-demo: demo.html, one page that runs the student in a browser offline, and web/."""
        web = self.deploy_format.currentData() == "web"

        def write(path: str):
            from workbench.core.api import write_bundle, write_web_demo

            return write_web_demo(path) if web else write_bundle(path)

        def done(result) -> None:
            self.heading.setText(f"Web demo written: {html.escape(str(result.demo))} (open it in a browser; web/ "
                                 "beside it is the same page, to host)" if web else
                                 f"Deploy bundle written: {html.escape(str(result.path))} (start with model-card.md)")
            self._selection_changed()

        what = "web demo" if web else "deploy bundle"
        self._run_on_selected("deploy", f"Writing the {what} of {{name}}…", write, done,
                              "web demo not written" if web else "bundle not written")

    def _run_on_selected(self, button: str, doing: str, work: Callable[[str], Any], done: Callable[[Any], None],
                         failure: str) -> None:
        """Run `work` on the first selected run in the background, its button off and the heading saying so."""
        paths = self.selected_paths()[:1]
        if not paths:
            return
        self.buttons[button].setEnabled(False)
        self.heading.setText(doing.format(name=Path(paths[0]).name))

        def failed(message: str) -> None:
            show_message(self.heading, message, f"⚠ {failure}: ", "#c62828")
            self._selection_changed()

        self._background.run(lambda: work(paths[0]), done, failed)

    @property
    def busy(self) -> bool:
        return self._background.busy

    def export_report_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export comparison", "runs-comparison.html", "HTML (*.html)")
        if name:
            self.export_report(name)

    def export_report(self, path: str | Path) -> Path:
        """A self-contained HTML page comparing the selected runs: their figures and the comparison charts."""
        rows = self._selected_rows()
        shown = COLUMNS.index("student size") + 1  # the figures up to the student's size
        header = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS[:shown])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row_values(r, r.status)[:shown])
                       + "</tr>" for r in rows)
        images = "".join(f"<h2>{html.escape(chart.title)}</h2><img src='data:image/png;base64,{_png64(chart)}'>"
                         for chart in (self.loss_chart, self.accuracy_chart))
        page = (f"<!doctype html><meta charset='utf-8'><title>TinyBERT Workbench report</title>"
                f"<style>body{{font-family:sans-serif}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}"
                f"img{{max-width:100%}}</style><h1>TinyBERT Workbench: {len(rows)} run(s)</h1>"
                f"<table><tr>{header}</tr>{body}</table>{images}")
        path = Path(path)
        path.write_text(page, encoding="utf-8")
        return path


def _brush(colour: str) -> QBrush:
    return QBrush(QColor(colour))


def _png64(chart: ChartCard) -> str:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    chart.image().save(buffer, "PNG")
    return base64.b64encode(bytes(data)).decode("ascii")
