"""Paused time is neither stage time, nor throughput, nor ETA: in the training loop, the shared stage clock
and the Training panel; the intermediate stage's dev accuracy is drawn apart; log-axis labels keep apart."""

import threading
import time

from tests.tiny import tiny_recipe
from workbench.core.events import Evaluation, JobControl, StageFinished, StageStarted, Step
from workbench.core.job import run_job
from workbench.core.progress import StageClock
from workbench.gui.charts import ChartCard
from workbench.gui.curves import ACCURACY, UNTRAINED_HEAD, Curves
from workbench.gui.log_axis import LogAxis
from workbench.gui.panels.training import TrainingPanel
from workbench.gui.recipe_editor import RecipeEditor

PAUSE_S = 1000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class NoticedWait(threading.Event):
    """The control's run flag that says when the loop starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout=None):
        self.waiting.set()
        return super().wait(timeout)


class ShiftedClock:
    """The real clock, moved PAUSE_S on during the pause: as if the user had paused for that long."""

    def __init__(self) -> None:
        self.real, self.shift = time.perf_counter, 0.0

    def __call__(self) -> float:
        return self.real() + self.shift


def test_a_pause_is_not_stage_time_nor_throughput(tiny_base_dir, tiny_csv, tmp_path, monkeypatch):
    clock = ShiftedClock()
    monkeypatch.setattr(time, "perf_counter", clock)
    control = JobControl()
    control._running = NoticedWait()
    control._running.set()

    def resume_later() -> None:
        control._running.waiting.wait()
        clock.shift += PAUSE_S
        control.resume()

    finished, steps = {}, []
    for event in run_job(tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs"), control):
        if isinstance(event, Step) and event.stage == "prediction":
            steps.append(event)
            if len(steps) == 1:
                control.pause()
                threading.Thread(target=resume_later, daemon=True).start()
        if isinstance(event, StageFinished):
            finished[event.stage] = event
    assert control._running.waiting.is_set()  # the loop did wait
    assert finished["prediction"].seconds < PAUSE_S
    assert all(step.examples_per_s > 1 for step in steps)  # no window spanning the pause


def test_stage_clock_leaves_paused_time_out_of_eta():
    clock = FakeClock()
    stage = StageClock(clock)
    stage.start(first_step=0)
    clock.now = 10.0
    stage.set_paused(True)
    clock.now = 110.0
    assert stage.active_seconds() == 10.0
    stage.set_paused(True)  # repeated: no change
    stage.set_paused(False)
    clock.now = 120.0
    assert stage.active_seconds() == 20.0
    assert stage.eta_seconds(step=10, total=20) == 20.0


def test_training_panel_eta_excludes_the_pause(qtbot, tmp_path):
    panel = TrainingPanel(RecipeEditor(tiny_recipe(tmp_path, tmp_path / "x.csv", tmp_path)))
    qtbot.addWidget(panel)
    clock = FakeClock()
    panel.stage_clock = StageClock(clock)
    panel.on_event(StageStarted("prediction", 20, 1.0))
    clock.now = 10.0
    panel.stage_clock.set_paused(True)
    clock.now = 3610.0  # an hour paused
    panel.stage_clock.set_paused(False)
    panel.on_event(Step("prediction", 10, 20, 0.5, {"total": 1.0}, 1e-4, 30.0))
    assert "stage ETA 0:10" in panel.stage_label.text()


def test_intermediate_dev_accuracy_is_drawn_apart_from_results(qtbot):
    curves = Curves()
    for stage in ("intermediate", "prediction"):
        curves.add(StageStarted(stage, 10, 1.0))
        curves.add(Evaluation(stage, 10, 1.0, "dev", {"accuracy": 0.4 if stage == "intermediate" else 0.7}))
    assert curves.charts[ACCURACY][UNTRAINED_HEAD].y == [0.4]
    assert curves.charts[ACCURACY]["student (dev)"].y == [0.7]
    chart = ChartCard("Dev accuracy", "accuracy")
    qtbot.addWidget(chart)
    chart.set_curves(curves.charts[ACCURACY])
    assert "head not trained yet" in [item[1].text for item in chart.legend.items][0]
    dashed, solid = chart.curves[UNTRAINED_HEAD].opts["pen"], chart.curves["student (dev)"].opts["pen"]
    assert dashed.style() != solid.style()


def test_log_axis_labels_decades_and_only_roomy_minor_ticks(qtbot):
    chart = ChartCard("Loss", "loss", log_y=True)
    qtbot.addWidget(chart)
    axis = chart.plot_item.getAxis("left")
    assert isinstance(axis, LogAxis)
    values = [-2.0, -1.69897, -1.30103, -1.0, -0.30103, 0.0]  # 0.01, 0.02, 0.05, 0.1, 0.5, 1
    axis.range = [-2.0, 0.0]
    axis.resize(40, 100)  # 50 px a decade: decades only
    assert [bool(t) for t in axis.logTickStrings(values, 1.0, 1.0)] == [True, False, False, True, False, True]
    axis.resize(40, 400)  # 200 px a decade: 2 and 5 fit
    assert all(axis.logTickStrings(values, 1.0, 1.0))
