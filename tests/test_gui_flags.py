"""A job whose teacher cannot learn (labels shuffled at random) ends with its flag visible wherever its numbers
appear in the window: the Training step's finish line, the Runs status (amber, not green), Try it and
presentation mode; a flagged run is never drawn on the Runs trade-off chart, and an empty chart says why."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QLabel

from tests.test_gui_runs_pareto import benchmarked_run
from tests.test_sanity import shuffled_csv
from tests.tiny import tiny_recipe
from workbench.core.events import Finished
from workbench.core.job import run_job
from workbench.gui.flags import AMBER
from workbench.gui.panels.runs import COLUMNS

FLAG = "The teacher is no better than a trivial baseline"


@pytest.fixture(scope="module")
def flagged_run(tiny_base_dir, tiny_csv, tmp_path_factory) -> Finished:
    folder = tmp_path_factory.mktemp("shuffled")
    recipe = tiny_recipe(tiny_base_dir, shuffled_csv(tiny_csv, folder / "shuffled.csv"), folder / "runs")
    last = list(run_job(recipe))[-1]
    assert isinstance(last, Finished) and last.status == "finished"
    return last


def test_the_training_step_ends_with_a_plain_summary_and_the_flag(qtbot, flagged_run, tmp_path):
    from workbench.gui.panels.training import TrainingPanel
    from workbench.gui.recipe_editor import RecipeEditor

    panel = TrainingPanel(RecipeEditor(tiny_recipe(tmp_path, tmp_path / "x.csv", tmp_path)))
    qtbot.addWidget(panel)
    panel._on_finished(flagged_run)  # what the job worker's finished signal delivers
    text = panel.stage_label.text()
    assert text.startswith("Finished: ") and "of the teacher's accuracy (95 % CI" in text
    assert "but the teacher is flagged" in text and f"⚠ {FLAG}" in text and "teacher accuracy 0." not in text
    assert AMBER in panel.stage_label.styleSheet()


def test_runs_shows_the_flagged_run_in_amber_with_its_flags(qtbot, flagged_run):
    from workbench.gui.panels.runs import RunsPanel

    panel = RunsPanel(str(flagged_run.run_dir).rsplit("/", 1)[0])
    qtbot.addWidget(panel)
    panel.refresh()
    status = panel.table.item(0, COLUMNS.index("status"))
    assert status.text() == "finished ⚠" and status.foreground().color().name() == AMBER
    assert FLAG in status.toolTip()


def test_try_it_and_presentation_show_the_flag(qtbot, flagged_run):
    from workbench.gui.panels.presentation import PresentationWindow
    from workbench.gui.panels.tryit import TryItPanel

    tryit = TryItPanel()
    qtbot.addWidget(tryit)
    tryit.set_runs([flagged_run.run_dir])
    tryit.show_run_figures()
    assert not tryit.flags.isHidden() and FLAG in tryit.flags.text()

    window = PresentationWindow()
    qtbot.addWidget(window)
    window.show_run(flagged_run.run_dir)
    shown = "\n".join(label.text() for label in window.content.findChildren(QLabel))
    assert "Not a result to present as it stands" in shown and FLAG in shown
    assert "#2e7d32" not in shown  # no ratio drawn green as a success


def test_a_flagged_run_is_left_off_the_trade_off_chart_which_says_why_when_none_passed(qtbot, tmp_path, tiny_csv):
    from workbench.gui.panels.runs import RunsPanel

    runs = tmp_path / "runs"
    benchmarked_run(runs / "healthy", tiny_csv, 2.0, 0.70)
    flagged = benchmarked_run(runs / "flagged", tiny_csv, 1.0, 0.90)
    (flagged / "sanity.json").write_text(json.dumps({"flags": [{"code": "teacher_at_baseline", "message": FLAG}]}))
    panel = RunsPanel(str(runs))
    qtbot.addWidget(panel)
    panel.refresh()
    assert [p.name for p in panel.pareto_chart.points] == ["healthy"]

    (runs / "healthy" / "bench.json").unlink()
    panel.refresh()
    assert panel.pareto_chart.points == []
    assert panel.pareto_chart._placeholder_text.startswith("No benchmarked run passed its checks")


def test_presentation_names_the_hardware_and_threads_and_marks_a_student_that_failed_parity(qtbot, tmp_path,
                                                                                            tiny_csv):
    from tests.tiny_run import four_model_bench, make_tiny_run
    from workbench.gui.panels.presentation import PresentationWindow

    run = make_tiny_run(tmp_path / "run", tiny_csv)
    four_model_bench(run)
    bench = json.loads((run / "bench.json").read_text())
    bench.update(threads=2, machine={"hardware": "x86_64, 16 CPUs (Test CPU)"})
    (run / "bench.json").write_text(json.dumps(bench))
    (run / "onnx").mkdir()
    (run / "onnx" / "parity.json").write_text(json.dumps({"results": [
        {"artifact": "student-int8.onnx", "ok": False, "verdict": "broken", "message": "BROKEN: logits moved"}]}))
    window = PresentationWindow()
    qtbot.addWidget(window)
    window.show_run(str(run))
    shown = "\n".join(label.text() for label in window.content.findChildren(QLabel))
    assert "on x86_64, 16 CPUs (Test CPU), 2 threads" in shown
    assert "(not shipped: failed its parity check)" in shown and "student-int8.onnx is not shipped: broken" in shown
