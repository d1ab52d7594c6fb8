"""Try-it panel: the run's models load off the GUI thread, with a busy state, once per set of model files."""

import threading
import time

from PySide6.QtCore import Qt, QTimer

from workbench.core.measure import inference
from workbench.core.measure.inference import NOT_EXPORTED, STUDENT, STUDENT_INT8, TEACHER
from workbench.gui.panels import tryit_work
from workbench.gui.panels.tryit import TryItPanel

LOAD_S = 0.6


def test_models_load_on_a_worker_thread_while_the_window_keeps_ticking(qtbot, tmp_path, monkeypatch):
    loads = []

    def slow_run_predictors(run_dir):  # stands in for reading three models from disk
        loads.append(threading.current_thread() is threading.main_thread())
        time.sleep(LOAD_S)
        return {TEACHER: "no task teacher in this run", STUDENT: "no student yet", STUDENT_INT8: NOT_EXPORTED}

    monkeypatch.setattr(inference, "run_predictors", slow_run_predictors)
    monkeypatch.setattr(tryit_work, "_loaded", {})
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_runs([str(tmp_path)])
    ticks = []
    probe = QTimer(interval=20)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()

    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.status.text().startswith("Loading") and panel.busy_bar.isVisible()
    assert not panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    probe.stop()
    assert loads == [False]  # loaded off the GUI thread...
    assert len(ticks) >= LOAD_S / 0.020 / 3  # ...while the event loop kept running its timers
    assert not panel.busy_bar.isVisible() and panel.run_button.isEnabled()
    assert [r.missing for r in panel.results] == ["no task teacher in this run", "no student yet", NOT_EXPORTED]

    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert loads == [False]  # the same model files: not loaded again
