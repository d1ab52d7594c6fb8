"""Interaction traps a new user met: the wheel changing a value while scrolling a form, a long message
widening the window, quitting a modified recipe without a question, and Try it showing another run's results."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QVBoxLayout, QWidget

from tests.gui_support import settings  # noqa: F401 (fixtures)
from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder
from workbench.gui.closing import ask_unsaved as real_ask_unsaved

WIDTH = 1200  # the Runs panel inside a 1280-pixel window


def wheel(widget: QWidget, steps: int = -1) -> None:
    """A mouse-wheel turn over the widget's centre, as the pointer passing over it while scrolling sends."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(QPoint(10, 10))), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_combo_and_spin_boxes_without_changing_them(qtbot):
    from workbench.gui.panels.compression import CompressionPanel
    from workbench.gui.recipe_editor import RecipeEditor

    editor = RecipeEditor(Recipe())
    panel = CompressionPanel(editor)
    qtbot.addWidget(panel)
    panel.show()
    device = editor.fields("training.device")[0].widget
    epochs = next(f.widget for path in editor._fields for f in editor.fields(path)
                  if type(f).__name__ == "SpinField" and f.widget.isVisible())
    before = editor.recipe.model_dump()
    for widget in (device, epochs):
        widget.clearFocus()
        wheel(widget)
    assert device.currentData() == "auto"
    assert editor.recipe.model_dump() == before  # scrolling changed nothing in the recipe
    device.setFocus()  # clicked or tabbed into: the wheel is the user's choice there
    qtbot.waitUntil(device.hasFocus)
    wheel(device)
    assert device.currentData() != "auto"


def test_a_long_refused_deploy_message_wraps_inside_the_window(qtbot, tmp_path, monkeypatch):
    from workbench.core.deploy import bundle
    from workbench.gui.panels.runs import RunsPanel

    run = tmp_path / "runs" / "finished"
    Recipe(name="finished").save(run / "recipe.yaml")
    RunFolder(run).set_status("finished")
    message = "cannot deploy " + "/very/long/path/segment" * 60 + ": export the int8 student first"

    def refuse(path):
        raise WorkbenchError(message)

    monkeypatch.setattr(bundle, "write_bundle", refuse)
    window = QWidget()
    QVBoxLayout(window).addWidget(panel := RunsPanel(str(tmp_path / "runs")))
    qtbot.addWidget(window)
    window.resize(WIDTH, 700)
    window.show()
    panel.refresh()
    panel.select_run(str(run))
    qtbot.mouseClick(panel.buttons["deploy"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    qtbot.wait(50)
    assert "bundle not written" in panel.heading.text()
    assert window.width() == WIDTH and window.minimumSizeHint().width() < WIDTH
    assert message in panel.heading.toolTip()  # the whole message, though cut on screen


def test_quitting_a_modified_recipe_asks_save_discard_or_cancel(qtbot, tmp_path, monkeypatch, settings):  # noqa: F811
    from workbench.gui import closing
    from workbench.gui.main_window import MainWindow

    path = Recipe(name="mine").save(tmp_path / "mine.yaml")
    window = MainWindow(Recipe.load(path), path, settings)
    qtbot.addWidget(window)
    window.show()
    monkeypatch.setattr(closing, "ask_unsaved", real_ask_unsaved)
    asked = []

    def answer(button):
        def question(parent, title, text, buttons, default):
            asked.append(buttons)
            return button
        return question

    window.close()
    assert not window.isVisible() and asked == []  # unmodified: closes without a question
    window.show()
    window.editor.set("training.batch_size", 7)
    assert "*" in window.windowTitle()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    quit_action = next(a for a in window.findChildren(QAction) if a.text() == "&Quit")
    assert quit_action.shortcut() == QKeySequence("Ctrl+Q")
    quit_action.trigger()
    assert window.isVisible()  # Cancel: stays open, nothing lost
    buttons = QMessageBox.StandardButton
    assert asked[0] == buttons.Save | buttons.Discard | buttons.Cancel
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Save))
    quit_action.trigger()
    assert not window.isVisible() and Recipe.load(path).training.batch_size == 7  # saved, then closed
    window.show()
    window.editor.set("training.batch_size", 9)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Discard))
    quit_action.trigger()
    assert not window.isVisible() and Recipe.load(path).training.batch_size == 7  # discarded


def test_try_it_clears_the_last_runs_results_when_another_run_is_chosen(qtbot, tmp_path, tiny_csv):
    from tests.tiny_run import make_tiny_run
    from workbench.gui.panels.tryit import TryItPanel

    first = make_tiny_run(tmp_path / "runs" / "first", tiny_csv)
    second = make_tiny_run(tmp_path / "runs" / "second", tiny_csv)
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_runs([str(first), str(second)], select=str(first))
    panel.text.setPlainText("great day\nawful service")
    panel.classify()
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    assert panel.results and panel.table.rowCount() == 3 and panel.texts_table.isVisible()
    panel.run_combo.setCurrentIndex(panel.run_combo.findData(str(second)))
    assert panel.results == [] and panel.table.rowCount() == 0
    assert not panel.texts_table.isVisible() and "Classify" in panel.status.text()
