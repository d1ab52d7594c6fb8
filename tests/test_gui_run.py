"""Click through a whole job on tiny models: recipe, mapping, Start, live plots, try it, runs, cancel."""

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui_support import open_tiny_window, pause_at, settings  # noqa: F401 (fixtures)
from tests.tiny_onnx import write_int8_onnx
from workbench.core import preflight
from workbench.core.distill.checkpoints import load_checkpoint
from workbench.core.events import Finished, StageStarted, Step
from workbench.core.measure.inference import STUDENT, STUDENT_INT8, TEACHER
from workbench.core.run_folder import RunFolder
from workbench.core.stages import inputs
from workbench.gui import bench_figures
from workbench.gui.bench_figures import run_figures
from workbench.gui.curves import LOSS, UNTRAINED_HEAD, curve_name
from workbench.gui.panels.runs import COLUMNS


def test_click_through_a_whole_job(qtbot, recipe_path, settings, tmp_path, request, monkeypatch):  # noqa: F811
    reads = count_data_reads(monkeypatch)
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    assert window.models.teacher_card.values["layers"].text() == "2"
    assert window.models.student_card.values["shape"].text().startswith("1 layers")

    # Layer mapping: custom mode, then student layer 1 learns from teacher layer 1 (uniform said 2).
    mapping = window.mapping
    assert mapping.mapping.pairs == [(1, 2)]
    mapping.mode_buttons["custom"].click()
    for side, index in (("student", 1), ("teacher", 1)):
        qtbot.mouseClick(mapping.view.viewport(), Qt.MouseButton.LeftButton, pos=mapping.box_position(side, index))
    assert (window.recipe.mapping.mode, window.recipe.mapping.layers) == ("custom", [1])
    assert mapping.mapping.pairs == [(1, 1)] and 1 in mapping.lines

    window.show_panel("Training")
    shown_at_first_stage = []

    def on_event(event) -> None:  # connected after the panel's own slot, so it sees what the panel showed
        if isinstance(event, StageStarted) and not shown_at_first_stage:
            shown_at_first_stage.append(window.run_label.text())

    with qtbot.waitSignal(window.training.job_finished, timeout=90_000) as finished:
        qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.training.worker is not None, timeout=60_000)  # after the preflight
        window.training.worker.event.connect(on_event)
    last = finished.args[0]
    assert isinstance(last, Finished) and last.status == "finished", last
    assert len(reads) == 1, reads  # Start's check read the data; the job took it
    assert shown_at_first_stage == [f"run: {last.run_dir}"]  # the status bar names the run from its first stage
    run = RunFolder.open(last.run_dir)
    assert run.recipe().mapping.layers == [1]

    # One plotted point per logged step, for every loss component of every stage.
    window.training.redraw(everything=True)
    loss_chart = window.training.charts[LOSS]
    expected: dict[str, int] = {}
    for record in run.metrics():
        if record["event"] == "Step":
            for component in record["losses"]:
                if record["stage"] != "teacher_finetune" or component == "total":
                    name = curve_name(record["stage"], component)
                    expected[name] = expected.get(name, 0) + 1
    assert {"teacher loss", "embedding", "hidden", "attention", "prediction", "total"} <= set(expected)
    assert {name: loss_chart.point_count(name) for name in expected} == expected
    assert [item[1].text for item in loss_chart.legend.items] == list(loss_chart.curves)
    steps = sum(isinstance(e, Step) for e in window.training.events_seen)
    assert window.training.charts["learning rate"].point_count("learning rate") == steps
    accuracy = window.training.charts["dev accuracy"]
    assert accuracy.point_count("student (dev)") >= 1 and accuracy.point_count(UNTRAINED_HEAD) >= 1
    assert window.training.progress.value() == window.training.progress.maximum()
    assert "finished" in window.training.log.toPlainText()

    # Charts export for slides.
    assert loss_chart.save_png(tmp_path / "loss.png").stat().st_size > 1000
    assert "<svg" in loss_chart.save_svg(tmp_path / "loss.svg").read_text()
    loss_chart.copy_to_clipboard()
    assert not QApplication.clipboard().image().isNull()

    # Runs panel lists the new run, finished, with its figures.
    window.show_panel("Runs")
    names = [window.runs.table.item(r, 0).text() for r in range(window.runs.table.rowCount())]
    assert run.path.name in names
    row = names.index(run.path.name)
    assert window.runs.table.item(row, COLUMNS.index("status")).text().startswith("finished")  # "finished ⚠" flagged
    assert window.runs.table.item(row, COLUMNS.index("teacher acc.")).text().endswith("%")

    # Try it: teacher, student fp32 and the int8 student (exported here) with probabilities summing to 1.
    write_int8_onnx(run.path / "student", run.path / "onnx" / "student-int8.onnx")
    tryit = window.tryit
    window.show_panel("Try it")
    assert tryit.run_combo.currentData() == str(run.path)
    tryit.text.setPlainText("good great love\nbad awful hate")
    qtbot.mouseClick(tryit.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tryit.busy and tryit.table.rowCount() == 3, timeout=60_000)
    models = [tryit.table.item(r, 0).text() for r in range(3)]
    assert models == [TEACHER, STUDENT, STUDENT_INT8]
    for r in range(3):
        probabilities = tryit.table.item(r, 1).data(Qt.ItemDataRole.UserRole)
        assert len(probabilities) == 3 and np.isclose(sum(probabilities), 1)
    assert tryit.texts_table.rowCount() == 2
    # The charts are the job's own benchmark stage (bench.json), not the latencies of this one click.
    latency = tryit.charts["latency_ms"].values
    assert latency == {name: figures.latency_ms for name, figures in run_figures(run.path).items()}
    assert latency[bench_figures.TEACHER] and latency[bench_figures.STUDENT]
    evaluation = json.loads((run.path / "evaluation.json").read_text())
    assert tryit.charts["accuracy"].values[bench_figures.TEACHER] == evaluation["teacher"]["accuracy"]


def count_data_reads(monkeypatch) -> list[str]:
    """Every read of a recipe's data by the Start check (preflight) and by the job (its inputs)."""
    reads: list[str] = []

    def counted(read):
        def read_and_count(config, *args, **kwargs):
            reads.append(str(config.source))
            return read(config, *args, **kwargs)
        return read_and_count

    for module in (preflight, inputs):
        monkeypatch.setattr(module, "load_task_data", counted(module.load_task_data))
    return reads


def test_pause_then_cancel_leaves_a_resumable_checkpoint(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    training = window.training
    training.start()
    pause_at(window, "intermediate", Step)
    qtbot.waitUntil(lambda: training.resume_button.isEnabled(), timeout=60_000)  # the panel shows the pause
    assert training.worker.paused and not training.pause_button.isEnabled()
    assert any(isinstance(e, Step) and e.stage == "intermediate" for e in training.events_seen)
    with qtbot.waitSignal(training.job_finished, timeout=60_000) as finished:
        qtbot.mouseClick(training.cancel_button, Qt.MouseButton.LeftButton)
    cancelled = finished.args[0]
    assert isinstance(cancelled, Finished) and cancelled.status == "cancelled"
    run = RunFolder.open(cancelled.run_dir)
    assert run.status()["status"] == "cancelled"
    assert load_checkpoint(run.checkpoint_path).info["stage"] == "intermediate"

    # The Runs panel offers to resume it; resuming continues the intermediate stage and finishes.
    window.runs.select_run(str(run.path))
    assert window.runs.buttons["resume"].isEnabled()
    with qtbot.waitSignal(training.job_finished, timeout=60_000) as finished:
        qtbot.mouseClick(window.runs.buttons["resume"], Qt.MouseButton.LeftButton)
    assert finished.args[0].status == "finished"
    # The panel first replays the run so far from metrics.jsonl, then the resumed job continues it.
    started = [(e.stage, e.resumed_at_step) for e in training.events_seen if isinstance(e, StageStarted)]
    assert started[:2] == [("teacher_finetune", 0), ("intermediate", 0)]
    assert started[2][0] == "intermediate" and started[2][1] > 0


def test_closing_mid_run_asks_then_cancels_cleanly(qtbot, recipe_path, settings, monkeypatch, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    asked = []
    monkeypatch.setattr("workbench.gui.main_window.QMessageBox.question",
                        lambda *args: asked.append(args[1]) or QMessageBox.StandardButton.Yes)
    window.training.start()
    pause_at(window, "teacher_finetune", Step)
    qtbot.waitUntil(lambda: window.training.worker.paused, timeout=60_000)
    with qtbot.waitSignal(window.training.job_finished, timeout=60_000) as finished:
        assert not window.close()  # not yet: the job is stopping
    assert asked == ["A run is in progress"]
    assert finished.args[0].status == "cancelled"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert RunFolder.open(finished.args[0].run_dir).checkpoint_path.is_file()
