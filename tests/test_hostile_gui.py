"""The window's entry points met by a careless or hostile user: Start (a recipe that runs a model's own code, a
cache folder that is a file), Load file (a folder, a missing file, binary data, latin-1 text) and Deploy (a
folder of the receiver's files). Each is answered by one line in the window, nothing is lost, nothing is
printed to the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui_support import open_tiny_window, settings  # noqa: F401 (a fixture)
from tests.tiny_deploy import make_deployable_run
from tests.tiny_run import make_tiny_run
from workbench.core.run_folder import RunFolder


@pytest.fixture
def dialogs(monkeypatch):
    """The message boxes the window shows, as (title, text), each answered No."""
    shown: list[tuple[str, str]] = []

    def record(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "warning", record)
    return shown


def test_start_asks_before_a_recipe_runs_the_models_own_code(qtbot, recipe, tmp_path, settings, request,  # noqa: F811
                                                             dialogs, capfd):
    recipe.teacher.trust_remote_code = True
    window = open_tiny_window(qtbot, recipe.save(tmp_path / "r.yaml"), settings, request)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    assert dialogs and "runs the model's own Python code from" in dialogs[0][1] and "Start it?" in dialogs[0][1]
    assert not window.checked_start.busy and not window.training.running  # answered No: nothing starts
    assert window.training.stage_label.text() == "Not started: the model's own code was not confirmed"
    assert not list(Path(recipe.output_dir).glob("*-*"))
    assert "Traceback" not in capfd.readouterr().err


def test_start_refuses_a_cache_folder_that_is_a_file(qtbot, recipe, tmp_path, settings, request, dialogs):  # noqa: F811
    recipe.teacher.cache_dir = str(tmp_path / "not-a-folder")
    Path(recipe.teacher.cache_dir).write_text("x")
    window = open_tiny_window(qtbot, recipe.save(tmp_path / "r.yaml"), settings, request)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.checked_start.busy, timeout=60_000)
    assert dialogs == [("The recipe cannot start", f"teacher.cache_dir {recipe.teacher.cache_dir}: is a file; give "
                                                   "a folder for the fine-tuned teachers")]
    assert not window.training.running


@pytest.mark.parametrize(("name", "content", "expect"), [
    ("folder", None, "is a folder; give a text file, one text a line"),
    ("absent.txt", "absent", "no such file; give a text file, one text a line"),
    ("image.png", bytes(range(256)) * 64, "holds binary data"),
])
def test_load_file_answers_what_is_no_text_file_in_one_line(qtbot, tmp_path, tiny_csv, capfd, name, content, expect):
    from workbench.gui.panels.tryit import TryItPanel

    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.set_runs([str(make_tiny_run(tmp_path / "run", tiny_csv))])
    panel.load_file(str(path))
    qtbot.waitUntil(lambda: not panel.file_run.busy, timeout=60_000)
    status = panel.file_run.status.text()
    assert status.startswith("⚠ ") and expect in status and "Error" not in status, status
    assert "Traceback" not in capfd.readouterr().err


def test_load_file_reads_latin1_text_as_written(qtbot, tmp_path, tiny_csv):
    from workbench.gui.panels.tryit import TryItPanel

    path = tmp_path / "texts.txt"
    path.write_bytes("Le café était délicieux\nTrès bon hôtel à Zürich\n".encode("latin-1"))
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.set_runs([str(make_tiny_run(tmp_path / "run", tiny_csv))])
    panel.load_file(str(path))
    qtbot.waitUntil(lambda: not panel.file_run.busy, timeout=60_000)
    assert [text for text, _ in panel.file_run.results.rows] == ["Le café était délicieux", "Très bon hôtel à Zürich"]


def test_deploy_keeps_a_folder_of_the_receivers_files(qtbot, tmp_path, tiny_csv):
    from workbench.gui.panels.runs import RunsPanel

    run = RunFolder(make_deployable_run(tmp_path / "runs" / "finished", tiny_csv))
    run.deploy_dir.mkdir()
    (run.deploy_dir / "notes.txt").write_text("mine")
    panel = RunsPanel(str(tmp_path / "runs"))
    qtbot.addWidget(panel)
    panel.refresh()
    panel.select_run(str(run.path))
    qtbot.mouseClick(panel.buttons["deploy"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert "bundle not written" in panel.heading.text() and "holds no earlier bundle" in panel.heading.text()
    assert [p.name for p in run.deploy_dir.iterdir()] == ["notes.txt"]
