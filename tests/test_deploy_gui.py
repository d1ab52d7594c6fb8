"""The Runs panel's Deploy button writes the selected run's bundle in the background."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.tiny_deploy import make_deployable_run
from workbench.core.run_folder import RunFolder


def test_the_deploy_button_writes_the_bundle_of_the_selected_run(qtbot, tmp_path, tiny_csv):
    from workbench.gui.panels.runs import RunsPanel

    finished = RunFolder(make_deployable_run(tmp_path / "runs" / "finished", tiny_csv))
    unfinished = RunFolder(make_deployable_run(tmp_path / "runs" / "unfinished", tiny_csv))
    unfinished.set_status("cancelled")
    panel = RunsPanel(str(tmp_path / "runs"))
    qtbot.addWidget(panel)
    panel.refresh()
    panel.select_run(str(unfinished.path))
    assert not panel.buttons["deploy"].isEnabled()  # only a finished run has a model to ship
    panel.table.clearSelection()
    panel.select_run(str(finished.path))
    assert panel.buttons["deploy"].isEnabled()
    qtbot.mouseClick(panel.buttons["deploy"], Qt.MouseButton.LeftButton)
    assert "Writing the deploy bundle of finished" in panel.heading.text()
    assert not panel.buttons["deploy"].isEnabled()
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert "Deploy bundle written" in panel.heading.text(), panel.heading.text()
    assert {"model.onnx", "tokenizer.json", "labels.json", "model-card.md", "predict.py", "requirements.txt"} <= {
        p.name for p in finished.deploy_dir.iterdir()}
    assert not unfinished.deploy_dir.exists() and panel.buttons["deploy"].isEnabled()
