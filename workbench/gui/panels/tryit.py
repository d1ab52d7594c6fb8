"""Try-it panel: type text (or load a file of texts), run the teacher, the fp32 student and the int8 student
of a run side by side: label, class probabilities as bars, median latency, size, and whether they agree.
Summary charts show the size, batch-1 latency and test accuracy that the run's own benchmark measured
(RUN/bench.json, the last stage of every job) for the teacher, the fused int8 teacher and both students,
with the students' ratios against both teachers; "Presentation" shows them large."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import run_flags
from workbench.core.run_folder import RunFolder
from workbench.gui.background import Latest
from workbench.gui.bench_figures import BENCH_NAMES, GREY, STUDENT, STUDENT_INT8, cell_lines, run_figures
from workbench.gui.charts import BarCard
from workbench.gui.fields import guard_wheel
from workbench.gui.flags import flag_label, show_flags
from workbench.gui.panels.tryit_file import FileRun
from workbench.gui.panels.tryit_work import classify, load_predictors, test_examples
from workbench.gui.probability_bars import ProbabilityBars

if TYPE_CHECKING:  # the runner imports numpy: loaded in the background, not on the launch path
    from workbench.core.api import Predictor

SAMPLE_TEXTS = "I love this new phone, the battery lasts forever!\nthe flight was delayed again, awful service\n" \
               "meeting moved to 3pm tomorrow"
AGREE, DISAGREE = QColor("#e8f5e9"), QColor("#ffebee")
class TryItPanel(QWidget):
    # The live latency is timed here, now, on the texts above; the charts' latency is the run's benchmark
    # (bench.json): each says where it comes from, so the two never read as one figure that disagrees with itself.
    COLUMNS = ["model", "predicted label", "class probabilities", "latency now, these texts (median)", "size",
               "agrees with teacher"]

    def __init__(self, presentation_opener=None) -> None:
        super().__init__()
        self.results: list = []
        self.accuracies: dict[str, float | None] = {}
        self._background = Latest(self)
        self._open_presentation = presentation_opener
        self.training_active = False  # set by the window: torch's thread count is then the job's, not ours
        self._measured_while_training = False
        self._examples_text = SAMPLE_TEXTS  # the examples last put in the box: replaced only while untouched
        self._examples = Latest(self)
        top = self._build_input_row()
        status_row = self._build_text_and_status()
        self._build_results_tables()
        charts = self._build_charts()
        self._build_tabs(charts)
        self._build_layout(top, status_row)
        self.run_combo.currentIndexChanged.connect(lambda _: self._run_switched())

    def _build_input_row(self) -> QHBoxLayout:
        self.run_combo = guard_wheel(QComboBox())
        self.run_combo.setMinimumWidth(320)
        self.repeats = guard_wheel(QSpinBox(minimum=1, maximum=100, value=5))
        self.repeats.setToolTip("latency is the median over this many repeated runs (after one warm-up)")
        load = QPushButton("Load file…")
        load.setToolTip("Classify every line of a text file in the background (thousands of lines are fine)")
        load.clicked.connect(self.load_file)
        self.run_button = QPushButton("Classify")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.classify)
        present = QPushButton("Presentation (F11)")
        present.clicked.connect(self.present)
        top = QHBoxLayout()
        for widget in (QLabel("Run:"), self.run_combo, QLabel("Repeats:"), self.repeats, load, self.run_button):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(present)
        return top

    def _build_text_and_status(self) -> QHBoxLayout:
        self.text = QPlainTextEdit(SAMPLE_TEXTS)
        self.text.setPlaceholderText("One text per line")
        self.text.setMaximumHeight(90)
        self.status = QLabel("Pick a finished run and press Classify.", wordWrap=True)
        self.busy_bar = QProgressBar(maximumWidth=160, textVisible=False)
        self.busy_bar.setRange(0, 0)  # indeterminate: loading and latency runs have no useful fraction
        self.busy_bar.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.busy_bar)
        return status_row

    def _build_results_tables(self) -> None:
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(130)  # the three models' rows, each as tall as its probability bars
        self.texts_table = QTableWidget(0, 1)
        self.texts_table.verticalHeader().hide()
        self.texts_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.texts_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.texts_table.itemSelectionChanged.connect(self._show_selected_text)
        self.texts_table.hide()  # shown with results for more than one text
        self.file_run = FileRun()

    def _build_charts(self) -> QHBoxLayout:
        self.charts = {"size_mib": BarCard("Size on disk", "MiB"),
                       "latency_ms": BarCard("Latency, batch 1 (the run's benchmark)", "ms"),
                       "accuracy": BarCard("Test accuracy", "accuracy")}
        self.ratios = {key: QLabel(wordWrap=True, alignment=Qt.AlignmentFlag.AlignTop) for key in self.charts}
        charts = QHBoxLayout()
        for key, chart in self.charts.items():
            chart.setMinimumHeight(170)
            column = QVBoxLayout()
            column.addWidget(chart, 1)
            column.addWidget(self.ratios[key])
            charts.addLayout(column)
        return charts

    def _build_tabs(self, charts: QHBoxLayout) -> None:
        # The texts (or a file's lines) and the run's benchmark charts each get the whole lower part, in tabs:
        # stacked, a file's table left two rows at 1280×800 and squashed the charts.
        self.lines = QWidget()
        lines_layout = QVBoxLayout(self.lines)
        lines_layout.setContentsMargins(0, 0, 0, 0)
        lines_layout.addWidget(self.texts_table)
        lines_layout.addWidget(self.file_run)
        self.charts_page = QWidget()
        self.charts_page.setLayout(charts)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.lines, "Texts")
        self.tabs.addTab(self.charts_page, "The run's benchmark: size, latency, accuracy")
        self.tabs.setCurrentWidget(self.charts_page)
        self.splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([150, 450])

    def _build_layout(self, top: QHBoxLayout, status_row: QHBoxLayout) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text)
        layout.addLayout(status_row)
        self.flags = flag_label()  # the chosen run's flags, above its answers and figures
        layout.addWidget(self.flags)
        layout.addWidget(self.splitter, 1)

    # -- runs and texts --------------------------------------------------------------------------------------

    def set_runs(self, run_dirs: list[str], select: str | None = None) -> None:
        """Runs with a student to try, newest first."""
        current = select or self.run_combo.currentData()
        self.run_combo.clear()
        for run_dir in run_dirs:
            self.run_combo.addItem(Path(run_dir).name, run_dir)
        index = self.run_combo.findData(current)
        self.run_combo.setCurrentIndex(index if index >= 0 else 0)

    def _run_switched(self) -> None:
        """Another run's models: the results on screen came from the last run's, so they go (a request still
        running for it is dropped when it reports)."""
        self._background.drop()
        self._set_busy(None)
        self.file_run.cancel()
        self.file_run.hide()
        self.results = []
        self.table.setRowCount(0)
        self.texts_table.setRowCount(0)
        self.texts_table.hide()
        self.status.setText("Press Classify to run this run's models on the texts.")
        self.tabs.setCurrentWidget(self.charts_page)
        self.show_run_figures()
        run_dir = self.run_combo.currentData()
        if run_dir:
            self._examples.run(lambda: test_examples(run_dir), self._show_examples, lambda message: None)

    def _show_examples(self, texts: list[str]) -> None:
        if texts and self.text.toPlainText() == self._examples_text:  # the user's own texts stay
            self._examples_text = "\n".join(texts)
            self.text.setPlainText(self._examples_text)

    def texts(self) -> list[str]:
        return [line.strip() for line in self.text.toPlainText().splitlines() if line.strip()]

    def load_file(self, path: str | None = None) -> None:
        """Every line of a text file through the run's models, in the background (see tryit_file.py)."""
        run_dir = self.run_combo.currentData()
        if not run_dir:
            self.status.setText("Needs a finished run (see Runs) to classify a file.")
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Texts to classify", "", "Text (*.txt);;All files (*)")
        if path:
            self.texts_table.hide()  # the file's lines take its place
            self.tabs.setCurrentWidget(self.lines)
            self.file_run.start(lambda: load_predictors(run_dir), path, None if self.training_active else 1)

    # -- classify --------------------------------------------------------------------------------------------

    def classify(self) -> None:
        run_dir, texts = self.run_combo.currentData(), self.texts()
        if not run_dir or not texts:
            self.status.setText("Needs a finished run (see Runs) and at least one line of text.")
            return
        self._set_busy(f"Loading the teacher, student and int8 student of {Path(run_dir).name}…")
        self._background.run(lambda: load_predictors(run_dir), lambda loaded: self._run(loaded, run_dir, texts),
                             self._failed)

    def _run(self, predictors: dict[str, Predictor | str], run_dir: str, texts: list[str]) -> None:
        self._set_busy(f"Running the models of {Path(run_dir).name} on {len(texts)} text(s)…")
        repeats = self.repeats.value()
        # torch's thread count is process-wide: pinning it to 1 for fair latencies would slow a running job.
        threads = None if self.training_active else 1
        self._measured_while_training = self.training_active
        self._background.run(lambda: classify(predictors, run_dir, texts, repeats, threads), self._show,
                             self._failed)

    def _set_busy(self, message: str | None) -> None:
        """While models load or run: the reason, a moving bar, and no second Classify."""
        if message:
            self.status.setText(message)
        self.busy_bar.setVisible(message is not None)
        self.run_button.setEnabled(message is None)

    @property
    def busy(self) -> bool:
        return self._background.busy

    def _failed(self, message: str) -> None:
        self._set_busy(None)
        self.status.setText(f"⚠ {message}")

    def _show(self, outcome) -> None:
        self.results, self.accuracies = outcome
        self._set_busy(None)
        texts = self.texts()
        present = [r for r in self.results if r.probabilities is not None]
        self.texts_table.setColumnCount(1 + len(present))
        self.texts_table.setHorizontalHeaderLabels(["text"] + [r.name for r in present])
        self.texts_table.setRowCount(len(texts))
        disagreements = 0
        for row, text in enumerate(texts):
            self.texts_table.setItem(row, 0, QTableWidgetItem(text))
            labels = [r.predicted[row] for r in present]
            agree = len(set(labels)) <= 1
            disagreements += not agree
            for column, label in enumerate(labels, start=1):
                item = QTableWidgetItem(label)
                item.setBackground(AGREE if agree else DISAGREE)
                self.texts_table.setItem(row, column, item)
        self.texts_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.texts_table.setVisible(len(texts) > 1)
        if len(texts) > 1:
            self.tabs.setCurrentWidget(self.lines)
        if not self.file_run.busy:
            self.file_run.hide()
        hint = ""
        if any(r.probabilities is not None and self.accuracies.get(r.name) is None for r in self.results):
            hint = " Test accuracy shows once the run has scored the model (after export, or Runs → Benchmark)."
        how = ("measured while a job trains, so only indicative" if self._measured_while_training
               else "one CPU thread each, after a warm-up")
        self.status.setText(f"{len(texts)} text(s); the models disagree on {disagreements}. Latency: median of "
                            f"{self.repeats.value()} runs on the whole batch, {how}." + hint)
        self.texts_table.selectRow(0)
        self._show_text(0)
        self.show_run_figures()  # a benchmark run from the Runs panel since may have added figures

    def _show_selected_text(self) -> None:
        rows = self.texts_table.selectionModel().selectedRows() if self.texts_table.selectionModel() else []
        if rows:
            self._show_text(rows[0].row())

    def _show_text(self, row: int) -> None:
        self.table.setRowCount(len(self.results))
        teacher = next((r for r in self.results if r.probabilities is not None), None)
        for index, result in enumerate(self.results):
            name = QTableWidgetItem(result.name)
            self.table.setItem(index, 0, name)
            if result.probabilities is None:
                self.table.setItem(index, 1, QTableWidgetItem(result.missing or ""))
                for column in range(2, len(self.COLUMNS)):
                    self.table.setItem(index, column, QTableWidgetItem("–"))
                self.table.removeCellWidget(index, 2)
                continue
            probabilities = [float(p) for p in result.probabilities[row]]
            label = QTableWidgetItem(result.predicted[row])
            label.setData(Qt.ItemDataRole.UserRole, probabilities)
            self.table.setItem(index, 1, label)
            self.table.setItem(index, 2, QTableWidgetItem())
            self.table.setCellWidget(index, 2, ProbabilityBars(result.labels, probabilities))
            self.table.setItem(index, 3, QTableWidgetItem(f"{result.latency_ms:.1f} ms"))
            self.table.setItem(index, 4, QTableWidgetItem(f"{result.size_bytes / 2**20:.1f} MiB"))
            agrees = teacher is not None and result.predicted[row] == teacher.predicted[row]
            verdict = QTableWidgetItem("reference" if result is teacher else ("yes" if agrees else "no"))
            colour = AGREE if agrees else DISAGREE
            for column in (1, 5):
                (label if column == 1 else verdict).setBackground(colour)
            self.table.setItem(index, 5, verdict)
        self.table.resizeRowsToContents()

    def show_run_figures(self) -> None:
        """The charts and ratio lines from the chosen run's benchmark (bench.json) and evaluation files."""
        run_dir = self.run_combo.currentData()
        figures = run_figures(run_dir) if run_dir else {}
        flags = run_flags(RunFolder(Path(run_dir))) if run_dir else []
        show_flags(self.flags, flags)
        for key, chart in self.charts.items():
            chart.set_bars({name: getattr(figures[name], key) if figures else None for name in BENCH_NAMES},
                           "{:.3f}" if key == "accuracy" else "{:.1f}")
            lines = [f"<b>{name}</b>: " + ", ".join(f"<span style='color:{GREY if flags else colour}'>{text}</span>"
                                                    for text, colour in cell_lines(key, name, figures))
                     for name in (STUDENT, STUDENT_INT8) if figures and cell_lines(key, name, figures)]
            self.ratios[key].setText("<br>".join(lines))

    def present(self) -> None:
        if self._open_presentation:
            self._open_presentation(self.run_combo.currentData())
