"""The Search panel on a tiny study: Start runs the core search on its worker, the scatter and table fill,
budgets no candidate meets give the core's message, Cancel stops the study, "Use this student" loads a
trial's recipe into the editor, and the window lists the panel after Runs."""

from __future__ import annotations

from tests.gui_support import open_tiny_window, settings  # noqa: F401
from tests.tiny_search import tiny_search_recipe
from workbench.core.search.events import SearchFinished, TrialDone
from workbench.gui.panels.search import SearchPanel
from workbench.gui.recipe_editor import RecipeEditor


def _panel(qtbot, tmp_path, trials):
    recipe = tiny_search_recipe(tmp_path, trials=trials)
    editor = RecipeEditor(recipe)
    panel = SearchPanel(editor)
    qtbot.addWidget(panel)
    panel.show()
    return editor, panel


def test_search_panel_runs_a_study_and_uses_a_student(qtbot, tmp_path):
    editor, panel = _panel(qtbot, tmp_path, trials=2)
    latency = editor.fields("search.budget.max_latency_ms")[0]
    qtbot.keyClicks(latency.widget, "0.000001")
    assert editor.recipe.search.budget.max_latency_ms == 1e-6
    panel.buttons["start"].click()
    assert not panel.buttons["start"].isEnabled() and panel.buttons["cancel"].isEnabled()
    with qtbot.waitSignal(panel.worker.finished, timeout=120_000) as finished:
        pass
    assert isinstance(finished.args[0], SearchFinished)
    assert "no candidate meets the budget" in panel.message.text() and "Closest: trial" in panel.message.text()
    assert panel.table.rowCount() == 2 and panel.table.item(0, 2).text() == "pruned"
    assert len(panel.plot.untrained.data) == 2 and len(panel.plot.scatter.data) == 0  # measured, never trained
    assert len(panel.plot.reference_lines) == 3
    panel.table.selectRow(1)
    with qtbot.waitSignal(panel.student_chosen):
        panel.buttons["use"].click()
    chosen = panel.rows[1]["candidate"]
    assert editor.recipe.name.endswith("trial-1") and editor.recipe.quantization.enabled
    assert (editor.recipe.pruning.ffn_ratio > 0) == ("FFN" in chosen)


def test_cancel_stops_the_study(qtbot, tmp_path):
    editor, panel = _panel(qtbot, tmp_path, trials=20)
    editor.set("search.budget.max_latency_ms", 1e-6)
    panel.start()
    panel.worker.event.connect(lambda event: isinstance(event, TrialDone) and panel.cancel())
    with qtbot.waitSignal(panel.worker.finished, timeout=120_000) as finished:
        pass
    assert finished.args[0].status == "cancelled" and len(finished.args[0].rows) < 20
    assert "search cancelled" in panel.status.text()


def test_closing_the_window_mid_search_cancels_the_study_and_waits_for_its_thread(qtbot, tmp_path, settings,  # noqa: F811
                                                                                 monkeypatch, request):
    from PySide6.QtWidgets import QMessageBox

    path = tiny_search_recipe(tmp_path, trials=50, max_latency_ms=1e-6).save(tmp_path / "study.yaml")
    window = open_tiny_window(qtbot, path, settings, request)
    asked = []
    monkeypatch.setattr("workbench.gui.closing.QMessageBox.question",
                        lambda *args: asked.append(args[1]) or QMessageBox.StandardButton.Yes)
    window.search.start()
    worker = window.search.worker
    worker.add_probe(lambda event: isinstance(event, TrialDone) and worker.control.pause())  # mid-study
    qtbot.waitUntil(lambda: worker.paused and bool(window.search.rows), timeout=120_000)
    with qtbot.waitSignal(worker.finished, timeout=120_000) as finished:
        assert not window.close()  # not yet: the search is stopping
    assert asked == ["A search is in progress"]
    assert finished.args[0].status == "cancelled" and len(finished.args[0].rows) < 50
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not worker.running and worker._worker is None  # superqt's thread has ended, not left behind


def test_the_window_lists_search_after_runs():
    from workbench.gui.main_window import PANELS

    assert PANELS.index("Search") == PANELS.index("Runs") + 1


def test_search_says_what_trials_cost_counts_them_with_an_eta_and_a_cancel_is_not_an_error(qtbot, tmp_path):
    from workbench.core.events import StageStarted
    from workbench.core.search.events import TrialProgress
    from workbench.core.search.frontier import TrialRow

    editor, panel = _panel(qtbot, tmp_path, trials=12)
    assert panel.cost_hint.text().startswith("12 trials ≈ 12 training jobs")
    editor.set_many({"search.trials": None, "search.time_limit_minutes": 30})
    assert panel.cost_hint.text().endswith("until 30 minutes have passed.")
    now = [0.0]
    panel.clock = type(panel.clock)(lambda: now[0])
    panel.trials_planned = 4  # what Start takes from the recipe
    panel.on_event(TrialProgress(0, StageStarted("intermediate", 10, 1.0)))
    assert panel.status.text().startswith("trial 0 (1 of 4): intermediate")
    now[0] = 60.0
    panel.on_event(TrialDone(TrialRow(0, "complete", "2 layers", 1.0, 3.0, dev_accuracy=0.7).to_dict()))
    panel.on_event(TrialProgress(1, StageStarted("intermediate", 10, 1.0)))
    assert panel.status.text().startswith("trial 1 (2 of 4) · search ETA 3:00")
    panel.show_summary(SearchFinished(str(tmp_path), "cancelled", message="no candidate was measured against the "
                                      "budget (no budget)"))
    assert "Search cancelled after 0 trial(s)" in panel.message.text() and "c62828" not in panel.message.text()
