"""The Runs panel's Deploy button writes the selected run's bundle, or its web demo, in the background."""

from __future__ import annotations

import pytest
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


def test_deploy_as_a_web_demo_writes_the_page_of_the_selected_run(qtbot, tmp_path, tiny_csv):
    from workbench.core.deploy.web_assets import RUNTIME_FILES, assets_dir
    from workbench.gui.panels.runs import RunsPanel

    if not (assets_dir() / RUNTIME_FILES["wasm"]).is_file():
        pytest.skip("the web demo's JavaScript: run `make web-assets`")
    run = RunFolder(make_deployable_run(tmp_path / "runs" / "finished", tiny_csv))
    panel = RunsPanel(str(tmp_path / "runs"))
    qtbot.addWidget(panel)
    panel.refresh()
    panel.select_run(str(run.path))
    panel.deploy_format.setCurrentIndex(panel.deploy_format.findData("web"))
    qtbot.mouseClick(panel.buttons["deploy"], Qt.MouseButton.LeftButton)
    assert "Writing the web demo of finished" in panel.heading.text()
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert "Web demo written" in panel.heading.text(), panel.heading.text()
    assert (run.web_demo_dir / "demo.html").is_file() and (run.web_demo_dir / "web" / "index.html").is_file()
    assert not run.deploy_dir.exists()
