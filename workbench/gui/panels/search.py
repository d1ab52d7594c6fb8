"""Search panel: the recipe's budgets and candidate space, Start / Pause / Cancel of a budget search, a live
scatter of the candidates (measured int8 latency against dev accuracy, marker size by model size, over-budget
and pruned ones grey, the frontier drawn, the reference models as vertical lines), the table of trials, and
"Use this student", which loads a trial's recipe into the editor as a full job.

Every rule (what is over budget, which trials are on the frontier) is the core's (workbench.core.search).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import (
    CandidateMeasured,
    ReferencesMeasured,
    SearchFinished,
    StageClock,
    StudyOpened,
    TrialDone,
    TrialProgress,
    TrialRow,
    WorkbenchError,
    mark,
)
from workbench.core.events import Evaluation, Failed, StageStarted
from workbench.gui.fields import ComboField, LineField, ParseProblem, SpinField, add_row
from workbench.gui.message_label import message_label, show_message
from workbench.gui.panels.runs import percent
from workbench.gui.panels.training import clock
from workbench.gui.recipe_editor import RecipeEditor
from workbench.gui.tables import rows_table

if TYPE_CHECKING:
    from workbench.gui.search_worker import SearchWorker

COLUMNS = ["trial", "candidate", "state", "int8 ms", "speed-up (×) vs int8 teacher", "MiB", "dev acc.", "kept",
           "kept (int8 teacher)", "why"]


class OptionalFloatField(LineField):
    """A number or nothing (no limit)."""

    def __init__(self, path: str, tip: str = "") -> None:
        super().__init__(path, "float", "no limit", tip)

    def value(self) -> Any:
        return super().value() if self.widget.text().strip() else None


class FloatListField(LineField):
    """Numbers separated by commas (pruning ratios)."""

    def __init__(self, path: str, tip: str = "") -> None:
        super().__init__(path, "int_list", "", tip)

    def value(self) -> Any:
        try:
            return [float(part) for part in self.widget.text().replace(",", " ").split()]
        except ValueError:
            raise ParseProblem(f"'{self.widget.text()}' is not numbers separated by commas") from None


class SearchPanel(QWidget):
    student_chosen = Signal(str)  # "trial N of STUDY": its recipe is now the editor's

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.worker: SearchWorker | None = None
        self.study_dir: str | None = None
        self.rows: dict[int, dict[str, Any]] = {}
        self.references: dict[str, dict[str, Any]] = {}
        self.status = QLabel("Set the budgets, then Start: every candidate is timed on this machine before it trains.")
        self.message = message_label()
        self.cost_hint = QLabel(wordWrap=True)
        self.cost_hint.setStyleSheet("color: #616161;")
        self.clock = StageClock()  # the search's own pace for its ETA, pauses left out
        self.trials_done = 0
        self.trials_planned: int | None = None
        editor.recipe_changed.connect(self._show_cost)
        self._show_cost(editor.recipe)
        self.buttons = {key: QPushButton(text) for key, text in (
            ("start", "Start search"), ("pause", "Pause"), ("cancel", "Cancel"), ("open", "Open study…"),
            ("use", "Use this student"))}
        for key, slot in (("start", self.start), ("pause", self.toggle_pause), ("cancel", self.cancel),
                          ("open", self.open_study_dialog), ("use", self.use_selected)):
            self.buttons[key].clicked.connect(slot)
        self.plot = None  # the FrontierPlot, built at the first drawing: pyqtgraph loads after the window shows
        self.plot_area = QWidget()
        QVBoxLayout(self.plot_area).setContentsMargins(0, 0, 0, 0)
        self.table = rows_table(COLUMNS, 1, QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._layout()
        self._update_buttons()

    # -- layout ----------------------------------------------------------------------------------------------

    def _layout(self) -> None:
        budget, space = QGroupBox("Budget (measured on this machine)"), QGroupBox("Candidates and study")
        form = QFormLayout(budget)
        for label, field in (
            ("max int8 latency (ms)", OptionalFloatField("search.budget.max_latency_ms")),
            ("min speed-up over the int8 teacher (×)",
             OptionalFloatField("search.budget.min_speedup_int8_teacher", "e.g. 2.5")),
            ("at batch", SpinField("search.budget.batch")), ("sequence length", SpinField("search.budget.seq_len")),
            ("threads", SpinField("search.budget.threads")),
            ("max size (MiB)", OptionalFloatField("search.budget.max_size_mib")),
            ("min share of the teacher's accuracy kept",
             OptionalFloatField("search.budget.min_kept_teacher", "e.g. 0.98")),
            ("min share of the int8 teacher's accuracy kept",
             OptionalFloatField("search.budget.min_kept_int8_teacher", "e.g. 0.98"))):
            add_row(form, label, self.editor.bind(field))
        other = QFormLayout(space)
        for label, field in (
            ("student layer counts to try", LineField("search.space.layer_counts", "int_list",
                                                      "e.g. 2, 3, 4 (layers kept from the teacher)")),
            ("FFN pruning ratios", FloatListField("search.space.ffn_ratios")),
            ("head pruning ratios", FloatListField("search.space.heads_ratios")),
            ("hidden-width pruning ratios", FloatListField("search.space.hidden_ratios")),
            ("trials", SpinField("search.trials", special="no limit")),
            ("time limit (minutes)", OptionalFloatField("search.time_limit_minutes")),
            ("pruner", ComboField("search.pruner", [("successive halving", "successive-halving"),
                                                   ("Hyperband", "hyperband"), ("none", "none")]))):
            add_row(other, label, self.editor.bind(field))
        other.addRow("", self.cost_hint)
        settings = QHBoxLayout()
        settings.addWidget(budget, 1)
        settings.addWidget(space, 1)
        bar = QHBoxLayout()
        for button in self.buttons.values():
            bar.addWidget(button)
        bar.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot_area)
        splitter.addWidget(self.table)
        splitter.setSizes([380, 220])
        layout = QVBoxLayout(self)
        layout.addLayout(settings)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # -- running ---------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.worker and self.worker.running)

    def start(self, resume_dir: str | None = None) -> None:
        if self.running:
            return
        if not resume_dir and not self.editor.valid:
            QMessageBox.warning(self, "The recipe has problems", "Fix the fields marked in red first.")
            return
        self.rows, self.references = {}, {}
        self.message.setText("")
        self.clock.start(0)
        self.trials_done = 0
        self.trials_planned = None if resume_dir else self.editor.recipe.search.trials
        self._redraw()
        from workbench.gui.search_worker import SearchWorker  # superqt: at the first Start, not at launch

        self.worker = SearchWorker(None if resume_dir else self.editor.recipe, resume_dir, self)
        self.worker.event.connect(self.on_event)
        self.worker.finished.connect(lambda last: self._update_buttons())
        self.worker.start()
        self.status.setText("starting: measuring the reference models…")
        self._update_buttons()

    def toggle_pause(self) -> None:
        if not self.running:
            return
        (self.worker.resume if self.worker.paused else self.worker.pause)()
        self.clock.set_paused(self.worker.paused)
        self._update_buttons()

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.status.setText("cancelling after the current step…")

    def on_event(self, event) -> None:
        if isinstance(event, StudyOpened):
            self.study_dir = event.study_dir
            self.status.setText(f"study: {event.study_dir}")
        elif isinstance(event, ReferencesMeasured):
            self.references = event.models
        elif isinstance(event, CandidateMeasured):
            state = "pruned" if event.over_budget else "training"
            self.rows[event.trial] = TrialRow(event.trial, state, event.description, event.cost["latency_ms"],
                                              event.cost["size_mib"], reason="; ".join(event.over_budget)).to_dict()
        elif isinstance(event, TrialDone):
            self.rows[event.row["number"]] = event.row
            self.trials_done += 1
        elif isinstance(event, TrialProgress):
            self._show_progress(event)
            return
        elif isinstance(event, SearchFinished):
            self.show_summary(event)
            return
        elif isinstance(event, Failed):
            self.message.setText(f"<span style='color:#c62828'>✗ {event.message}</span>")
            return
        self._redraw()

    def show_summary(self, summary: SearchFinished) -> None:
        self.study_dir = summary.study_dir
        self.rows = {row["number"]: row for row in summary.rows}
        if summary.best:
            best = summary.best
            self.message.setText(f"<b>Best under budget: trial {best['number']}</b> — {best['candidate']}, "
                                 f"{best['latency_ms']:.2f} ms, {best['size_mib']:.1f} MiB, dev accuracy "
                                 f"{percent(best['dev_accuracy'])}")
        elif summary.status == "cancelled":  # the user's choice, not a failure: said in grey
            show_message(self.message, f"Search cancelled after {len(summary.rows)} trial(s), before any candidate "
                         "could be compared with the budget; resume it with Open study… and Start, or change the "
                         "budget and start again.", colour="#616161")
        else:
            show_message(self.message, summary.message, colour="#c62828")
        self.status.setText(f"search {summary.status}: {summary.study_dir}")
        self._redraw()

    def open_study(self, study_dir: str) -> None:
        from workbench.core.api import StudyFolder, open_finished

        try:
            folder, summary = open_finished(study_dir)
        except WorkbenchError as error:
            QMessageBox.warning(self, "Cannot open the study", str(error))
            return
        self.references = StudyFolder(folder.path).references().get("models", {})
        self.show_summary(summary)

    def open_study_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a study folder", self.editor.recipe.output_dir)
        if folder:
            self.open_study(folder)

    def use_selected(self) -> None:
        """Load the selected trial's recipe (a full job of its student) into the editor."""
        from workbench.core.api import trial_recipe

        number = self.selected_trial()
        if number is None or not self.study_dir:
            return
        try:
            self.editor.load(trial_recipe(self.study_dir, number))
        except WorkbenchError as error:
            QMessageBox.warning(self, "Cannot use this student", str(error))
            return
        self.student_chosen.emit(f"trial {number} of {self.study_dir}")

    def selected_trial(self) -> int | None:
        selected = self.table.selectionModel().selectedRows()
        return int(self.table.item(selected[0].row(), 0).text()) if selected else None

    # -- drawing ---------------------------------------------------------------------------------------------

    def _show_cost(self, recipe) -> None:
        trials, minutes = recipe.search.trials, recipe.search.time_limit_minutes
        if trials:
            self.cost_hint.setText(f"{trials} trials ≈ {trials} training jobs: each candidate trains like a short "
                                   "job (the pruner stops weak ones early), after its speed is measured.")
        else:
            self.cost_hint.setText("No trial limit: the search trains candidates, one job each, until "
                                   + (f"{minutes:g} minutes have passed." if minutes else "you cancel it."))

    def _trial(self, number: int) -> str:
        """'trial 4 (5 of 12) · search ETA' (at the pace of the trials done so far), or 'trial 4' without a limit."""
        if not self.trials_planned:
            return f"trial {number}"
        eta = self.clock.eta_seconds(self.trials_done, self.trials_planned) if self.trials_done else None
        return (f"trial {number} ({self.trials_done + 1} of {self.trials_planned})"
                + (f" · search ETA {clock(eta)}" if eta else ""))

    def _show_progress(self, progress: TrialProgress) -> None:
        inner, trial = progress.event, self._trial(progress.trial)
        if isinstance(inner, StageStarted):
            self.status.setText(f"{trial}: {inner.stage} ({inner.total_steps} steps)")
        elif isinstance(inner, Evaluation):
            self.status.setText(f"{trial}: {inner.stage} epoch {inner.epoch:.1f}, dev accuracy "
                                f"{percent(inner.metrics['accuracy'])}")

    def _redraw(self) -> None:
        from workbench.core.api import SearchBudget

        budget = self.editor.recipe.search.budget if self.editor.valid else SearchBudget()
        rows = mark([TrialRow.from_dict(row) for row in self.rows.values()], budget)
        self._frontier_plot().show_rows(rows, self.references)
        self._fill_table(rows)
        self._update_buttons()

    def _frontier_plot(self):
        if self.plot is None:
            from workbench.gui.search_plot import FrontierPlot

            self.plot = FrontierPlot()
            self.plot_area.layout().addWidget(self.plot)
        return self.plot

    def _fill_table(self, rows: list[TrialRow]) -> None:
        selected = self.selected_trial()
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = [str(row.number), row.candidate, row.state + (" ★" if row.on_frontier else ""),
                     "–" if row.latency_ms is None else f"{row.latency_ms:.2f}",
                     "–" if row.speedup_int8_teacher is None else f"{row.speedup_int8_teacher:.2f}×",
                     "–" if row.size_mib is None else f"{row.size_mib:.1f}", percent(row.dev_accuracy),
                     percent(row.kept_teacher), percent(row.kept_int8_teacher), row.reason]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if row.over_budget or row.state != "complete":
                    item.setForeground(QBrush(QColor("#9e9e9e")))
                self.table.setItem(index, column, item)
            if row.number == selected:
                self.table.selectRow(index)

    def _update_buttons(self) -> None:
        running = self.running
        self.buttons["start"].setEnabled(not running)
        self.buttons["pause"].setEnabled(running)
        self.buttons["pause"].setText("Resume" if running and self.worker.paused else "Pause")
        self.buttons["cancel"].setEnabled(running)
        # Any measured candidate can become a full job: an untrained one is the user's call to make.
        self.buttons["use"].setEnabled(self.selected_trial() is not None and bool(self.study_dir))
