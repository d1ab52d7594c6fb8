"""Try-it panel: a run that wrote an int4 student shows it as a fourth model beside teacher, fp32 and int8."""

from PySide6.QtCore import Qt

from tests.tiny_run import make_tiny_run
from workbench.core.compress.export import export_run
from workbench.core.measure.inference import STUDENT_INT4
from workbench.core.recipe import QuantizationConfig
from workbench.core.sources.split_inputs import load_split
from workbench.gui.panels import tryit_work
from workbench.gui.panels.tryit import TryItPanel


def test_the_int4_student_is_a_fourth_model_when_the_run_has_one(qtbot, tmp_path, tiny_csv, monkeypatch):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    export_run(run, QuantizationConfig(int4=True, int4_block_size=16), teacher=False, dev=load_split(run, "dev"))
    monkeypatch.setattr(tryit_work, "_loaded", {})
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.set_runs([str(run)])
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy and bool(panel.results), timeout=60_000)
    names = [r.name for r in panel.results]
    assert len(names) == 4 and names[-1] == STUDENT_INT4
    int4 = panel.results[-1]
    assert int4.probabilities is not None and int4.size_bytes > 0
    assert panel.table.rowCount() == 4 and panel.table.item(3, 0).text() == STUDENT_INT4

    (run / "onnx" / "student-int4.onnx").unlink()  # a run without int4 keeps its three models
    assert STUDENT_INT4 not in tryit_work.load_predictors(str(run))
