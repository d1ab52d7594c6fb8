"""Training panel: Start / Pause / Resume / Cancel, live plots of every loss component, learning rate, dev
accuracy and throughput, a progress bar with stage and ETA, and a log. The job runs in a JobWorker thread;
plots redraw from a 10 Hz timer, never per event, so drawing cannot slow training down."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import JobProgress, StageClock, run_flags
from workbench.core.events import (
    OUTSIDE_TRAINING,
    ArtifactWritten,
    CheckpointSaved,
    Event,
    Failed,
    Finished,
    JobPlanned,
    PhaseStarted,
    StageStarted,
    Step,
    describe,
)
from workbench.core.run_folder import RunFolder, find_run_folder
from workbench.gui.charts import ChartCard
from workbench.gui.curves import ACCURACY, LOSS, LR, THROUGHPUT, Curves
from workbench.gui.flags import AMBER, flag_lines
from workbench.gui.recipe_editor import RecipeEditor

if TYPE_CHECKING:  # the worker imports superqt (a tenth of a second): at the first Start, not at launch
    from workbench.gui.job_worker import JobWorker

REDRAW_MS = 100  # ~10 Hz: smooth enough to watch, cheap enough to leave the cores to training


def clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def run_dir_of(event: Event) -> str | None:
    """The run folder an event names, if any: events carry paths inside it (checkpoints, artifacts)."""
    if isinstance(event, Finished | Failed | StageStarted):
        return event.run_dir or None
    if isinstance(event, CheckpointSaved | ArtifactWritten):
        run = find_run_folder(Path(event.path))
        return str(run.path) if run is not None else None
    return None


class TrainingPanel(QWidget):
    run_changed = Signal(str)  # the run folder the panel shows
    running_changed = Signal(bool)
    job_finished = Signal(object)  # Finished or Failed

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.worker: JobWorker | None = None
        self.curves = Curves()
        self.events_seen: list[Event] = []
        self.run_dir: str | None = None
        self._drawn: dict[str, int] = {}  # chart -> the curves' version it shows
        self._stage: StageStarted | None = None
        self.stage_clock = StageClock()
        self.job_progress = JobProgress()
        self._last_step: Step | None = None
        buttons = self._build_controls()
        splitter = self._build_charts_and_log()
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(splitter, 1)
        self.redraw_timer = QTimer(self, interval=REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        editor.problems_changed.connect(lambda _: self._update_buttons())
        self._update_buttons()

    def _build_controls(self) -> QHBoxLayout:
        self.start_button = QPushButton("▶ Start")
        self.pause_button = QPushButton("❚❚ Pause")
        self.resume_button = QPushButton("▶ Resume")
        self.cancel_button = QPushButton("■ Cancel")
        self.start_button.setToolTip("Run the recipe as it is now (Ctrl+R)")
        self.cancel_button.setToolTip("Stop at the next step; a checkpoint is written so the run can be resumed")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.cancel)
        self.stage_label = QLabel("Ready: press Start to run the recipe.", wordWrap=True)  # long summaries wrap
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.stage_label, 1)
        self.job_bar = QProgressBar(minimumWidth=300, maximum=1000, value=0)  # the whole job, export included
        self.job_bar.setFormat("job")
        self.job_bar.setToolTip("The whole job: every stage, export and benchmark; the ETA is at the pace so far")
        buttons.addWidget(self.job_bar)
        return buttons

    def _build_charts_and_log(self) -> QSplitter:
        self.charts = {
            LOSS: ChartCard("Loss by component", "loss (log scale)", log_y=True),
            LR: ChartCard("Learning rate", "learning rate"),
            ACCURACY: ChartCard("Dev accuracy", "accuracy", fraction_y=True),
            THROUGHPUT: ChartCard("Throughput", "examples / s"),
        }
        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, chart in enumerate(self.charts.values()):
            grid.addWidget(chart, index // 2, index % 2)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(grid_widget)
        splitter.addWidget(self.log)
        splitter.setSizes([520, 120])
        return splitter

    # -- control ---------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.running

    def start(self) -> None:
        self.start_with(None)

    def start_with(self, data: Any) -> None:
        """Start the edited recipe; `data`: its data, when the Start check has just read it."""
        if self.running:
            return
        if not self.editor.valid:
            problems = "\n".join(f"{path or 'recipe'}: {message}" for path, message in self.editor.problems.items())
            QMessageBox.warning(self, "Recipe has problems", f"Fix these before starting:\n{problems}")
            return
        self._reset()
        from workbench.gui.job_worker import JobWorker

        self._launch(JobWorker(self.editor.recipe, parent=self, data=data), f"Starting {self.editor.recipe.name}…")

    def resume_run(self, run_dir: str | Path) -> None:
        """Continue a cancelled or failed run from its last checkpoint (its own recipe, not the edited one)."""
        if self.running:
            return
        self.show_run(run_dir)  # the curves so far; the resumed stage continues them
        from workbench.gui.job_worker import JobWorker

        self._launch(JobWorker(None, resume_dir=run_dir, parent=self), f"Resuming {Path(run_dir).name}…")

    def _launch(self, worker: JobWorker, message: str) -> None:
        self.worker = worker
        worker.event.connect(self.on_event)
        worker.finished.connect(self._on_finished)
        self.stage_label.setText(message)
        self.progress.setRange(0, 0)  # busy until the first stage says how long it is
        worker.start()
        self._update_buttons()
        self.running_changed.emit(True)

    def pause(self) -> None:
        if self.running:
            self.worker.pause()
            self._update_buttons()
            self._show_header()

    def resume(self) -> None:
        if self.running:
            self.worker.resume()
            self._update_buttons()
            self._show_header()  # "— paused" goes now, not at the next step

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.stage_label.setText("Cancelling: writing a checkpoint…")
            self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.running
        paused = running and self.worker.paused
        self.stage_clock.set_paused(paused)  # pauses from elsewhere too (the Run menu, a script)
        self.job_progress.clock.set_paused(paused)
        self.start_button.setEnabled(not running and self.editor.valid)
        self.pause_button.setEnabled(running and not paused and not self.worker.control.cancelled)
        self.resume_button.setEnabled(paused)
        self.cancel_button.setEnabled(running and not self.worker.control.cancelled)

    # -- events ----------------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.progress.setFormat("%p%")
        self.curves = Curves()
        self.events_seen = []
        self._drawn = {}
        self._stage = self._last_step = None
        self.job_progress = JobProgress()
        self.job_bar.setValue(0)
        self.job_bar.setFormat("job")
        self.run_dir = None
        self.stage_label.setStyleSheet("")  # the last run's flags, if any, were its own
        for chart in self.charts.values():
            chart.clear()
        self.log.clear()

    def on_event(self, event: Event) -> None:
        self.events_seen.append(event)
        self.curves.add(event)
        line = describe(event)
        if line:
            self.log.appendPlainText(line)
        run_dir = run_dir_of(event)
        if run_dir and run_dir != self.run_dir:
            self.run_dir = run_dir
            self.run_changed.emit(run_dir)
        self.job_progress.add(event)
        if isinstance(event, JobPlanned | PhaseStarted | Step):
            self._show_job()
        if isinstance(event, PhaseStarted) and event.phase in OUTSIDE_TRAINING:
            self._last_step = None
            self.progress.setRange(0, 0)  # no steps to count: busy
            self.progress.setFormat(event.phase)
            self._show_header()
        if isinstance(event, StageStarted):
            self._stage = event
            self.stage_clock.start(event.resumed_at_step)
            self.progress.setRange(0, event.total_steps)
            self.progress.setValue(event.resumed_at_step)
            self.progress.setFormat(f"{event.stage.replace('_', ' ')}: step %v of %m (%p%)")
            self.stage_label.setText(f"{event.stage.replace('_', ' ')}: starting")
        elif isinstance(event, Step):
            self._show_progress(event)

    def _show_progress(self, event: Step) -> None:
        self.progress.setValue(event.step)
        self._last_step = event
        self._show_header()

    def _show_header(self) -> None:
        """The current stage (or export / benchmark) with its step and ETA, and whether the job is paused."""
        paused = " — paused" if self.running and self.worker.paused else ""
        event, phase = self._last_step, self.job_progress.phase
        if event is not None:
            eta = self.stage_clock.eta_seconds(event.step, event.total_steps)
            self.stage_label.setText(
                f"{event.stage.replace('_', ' ')}: step {event.step}/{event.total_steps} · epoch {event.epoch:.2f} · "
                f"{event.examples_per_s:.0f} examples/s · stage ETA {clock(eta)}{paused}")
        elif phase in OUTSIDE_TRAINING:
            doing = {"scoring": "scoring the models on the test split", "export": "exporting to ONNX and int8, "
                     "checking each file", "benchmark": "timing every model"}[phase]
            self.stage_label.setText(f"{phase}: {doing}{paused}")

    def _show_job(self) -> None:
        job = self.job_progress
        if not job.total:
            return
        self.job_bar.setValue(round(1000 * job.fraction()))
        eta = job.eta_seconds()
        stage = (job.phase or "starting").replace("_", " ")
        self.job_bar.setFormat(f"{stage} · job {job.fraction():.0%}" + (f" · ETA {clock(eta)}" if eta is not None
                                                                       else ""))

    def _on_finished(self, last: Event) -> None:
        self.redraw(everything=True)
        self.progress.setRange(0, 1)
        self.progress.setFormat("%p%")
        if isinstance(last, Finished) and last.status == "finished":
            # here, not at the Finished event: till the worker ends, the redraw timer still shows the job's pace
            self.job_bar.setValue(self.job_bar.maximum())
            self.job_bar.setFormat("job finished")
            self.progress.setValue(1)
            self._show_finish(last)
        elif isinstance(last, Finished):
            self.stage_label.setText("Cancelled: the last checkpoint is kept; resume it from the Runs panel.")
        else:
            self.stage_label.setText(f"Failed: {getattr(last, 'message', '')}")
        self._update_buttons()
        self.running_changed.emit(False)
        self.job_finished.emit(last)

    def _show_finish(self, last: Finished) -> None:
        """A plain summary (the report's headline: size, speed, accuracy kept with its interval) and every flag,
        in amber: what a user repeats to others, not the raw figures."""
        from workbench.core.api import run_headline  # scipy: when a job ends, not at launch

        flags = run_flags(RunFolder(Path(last.run_dir)))
        text = f"Finished: {run_headline(Path(last.run_dir)).text}."
        self.stage_label.setText(text + ("\n" + flag_lines(flags) if flags else ""))
        self.stage_label.setStyleSheet(f"color: {AMBER};" if flags else "")

    def show_run(self, run_dir: str | Path) -> None:
        """Show a finished or interrupted run's curves and log from its metrics.jsonl."""
        if self.running:
            return
        self._reset()
        run = RunFolder(Path(run_dir))
        for record in run.metrics():
            event = Event.from_dict(record)
            if event is not None:
                self.on_event(event)
        self.run_dir = str(run_dir)  # after the replay: recorded paths say where the run was, not where it is
        status = run.status()
        if status.get("status") == "finished":
            self.progress.setFormat("finished")
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
        self.log.appendPlainText(f"run {run_dir}: {status.get('status')} {status.get('message', '')}".rstrip())
        self.stage_label.setText(f"Showing {Path(run_dir).name} ({status.get('status')}).")
        self.redraw(everything=True)
        self.run_changed.emit(str(run_dir))

    def redraw(self, everything: bool = False) -> None:
        """Bring the charts up to date: one chart per timer tick, so that the event loop never waits for all four
        charts to paint at once (each paints in ~15 ms, several times that on a busy machine)."""
        if self.running:
            self._update_buttons()  # the job's control may change from elsewhere (the Run menu, a script)
            self._show_job()  # the ETA counts down through export and benchmark, which send no steps
        if not self.isVisible() and not everything:
            return  # nobody looking: painting would only take cycles from training
        stale = [name for name in self.charts if self._drawn.get(name) != self.curves.chart_versions[name]]
        for name in stale if everything else stale[:1]:
            self._drawn[name] = self.curves.chart_versions[name]
            chart = self.charts[name]
            chart.set_curves(self.curves.charts[name], symbols=name == ACCURACY)
            chart.set_markers(self.curves.stage_starts)
            chart.set_x_extent(self.curves.x_extent)
